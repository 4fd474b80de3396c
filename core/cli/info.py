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
    header = read_header(pattern.path(frames[0]))
    return {
        "pattern": pattern.canonical(),
        "frames": format_frames(frames),
        "count": len(frames),
        "missing": format_frames(missing) if missing else "",
        **header,
    }


def run(args: argparse.Namespace) -> int:
    info = describe(args.pattern)
    if args.json:
        sys.stdout.write(json.dumps(info, indent=2, default=str) + "\n")
    else:
        width = max(map(len, info))
        for key, value in info.items():
            if isinstance(value, dict):
                value = ", ".join(f"{k}={v}" for k, v in value.items())
            elif isinstance(value, (list, tuple)):
                value = " ".join(map(str, value))
            sys.stdout.write(f"{key:<{width}}  {value}\n")
    return 0
