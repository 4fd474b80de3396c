"""``focuspull info PATTERN``: what a sequence holds, as a compositor would check it."""

from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="describe a frame sequence (frames, size, windows, channels)")
    p.add_argument("pattern", help="frame pattern, e.g. plate.####.exr")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def describe(pattern_text: str) -> dict[str, object]:
    from focuspull.errors import SequenceError
    from focuspull.io import SequencePattern, format_frames, read_header

    pattern = SequencePattern.parse(pattern_text)
    frames = pattern.frames_on_disk() if pattern.is_sequence else (1,)
    if not frames:
        raise SequenceError(f"{pattern_text}: no frames found on disk")
    full = range(frames[0], frames[-1] + 1)
    missing = sorted(set(full) - set(frames))
    from focuspull.io.layout import layout_from_header

    header = read_header(pattern.path(frames[0]), frames[0] if pattern.is_sequence else None)
    layout = layout_from_header(header)
    return {
        "pattern": pattern.canonical(),
        "frames": format_frames(frames),
        "count": len(frames),
        "missing": format_frames(missing) if missing else "",
        **header,
        "views": list(layout.views),
        "layers": [layer.label for view in (layout.views or ("",)) for layer in layout.layers(view)],
    }


def run(args: argparse.Namespace) -> int:
    info = describe(args.pattern)
    if args.json:
        sys.stdout.write(json.dumps(info, indent=2, default=str) + "\n")
    else:
        width = max(map(len, info))
        for key, value in info.items():
            if key == "parts":
                value = "; ".join(_part_line(i, part) for i, part in enumerate(value))
            elif isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items())
            elif isinstance(value, (list, tuple)):
                value = " ".join(map(str, value))
            sys.stdout.write(f"{key:<{width}}  {value}\n")
    return 0


def _part_line(index: int, part: dict) -> str:
    text = f"{index}: {part['name'] or '-'}"
    if part["view"]:
        text += f" (view {part['view']})"
    text += f" {' '.join(part['channels'])} window {' '.join(map(str, part['data_window']))}"
    if part["tiles"]:
        text += f" tiles {part['tiles'][0]}x{part['tiles'][1]}"
    if part["mip_levels"] > 1:
        text += f" mip levels {part['mip_levels']}"
    return text
