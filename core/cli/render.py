"""``focuspull render``: a shot from flags, or a job file."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from focuspull.errors import FocusPullError, JobError

log = logging.getLogger("focuspull")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "render",
        help="refocus a frame sequence",
        description="Refocus a sequence. Curves: a number, FRAME:VALUE[:INTERP],... (constant|linear|smooth) or @curve.json.",
    )
    p.add_argument("input", nargs="?", help="input pattern, e.g. plate.####.exr")
    p.add_argument("-o", "--output", help="output pattern, e.g. out/refocus.####.exr")
    p.add_argument("--job", help="render this focuspull.job/1 file (flags below override its frames, device, progress)")
    p.add_argument("--write-job", metavar="PATH", help="write the job file and exit without rendering")
    p.add_argument("--frames", help="frames to render: 1001-1100, 1001-1100x2, 1001,1005,1010-1012 (default: all on disk)")
    p.add_argument("--depth", metavar="PATTERN", help="separate depth sequence (its first channel unless --depth-channel)")
    p.add_argument("--depth-channel", metavar="NAME", help="depth channel, e.g. Z or depth.Z (default: Z/depth.Z of the plate)")
    p.add_argument("--depth-kind", choices=("depth", "disparity"), default="depth",
                   help="depth: distance z (focus is a distance); disparity: larger = nearer (focus is a disparity)")
    p.add_argument("--focus", metavar="CURVE", help="focus distance (depth) or disparity, keyframeable")
    p.add_argument("--strength", metavar="CURVE", help="K: CoC radius in px = K * |d - d_f|, keyframeable")
    p.add_argument("--engine", default="physical", help="physical (default) or neural")
    p.add_argument("--option", metavar="KEY=VALUE", action="append", default=[],
                   help="engine option (VALUE is JSON, else a string); repeatable")
    p.add_argument("--aperture", metavar="KEY=VALUE", action="append", default=[],
                   help="aperture option (VALUE is JSON or a curve); repeatable")
    p.add_argument("--input-colorspace", metavar="NAME", help="OCIO colour space of the plate (default: scene_linear role)")
    p.add_argument("--output-colorspace", metavar="NAME", help="colour space to write (default: the input's)")
    p.add_argument("--ocio", metavar="CONFIG", help="OCIO config (default: $OCIO, else the built-in ACES config)")
    p.add_argument("--pixel-type", choices=("half", "float"), default="half")
    p.add_argument("--compression", help="EXR compression (default: the input's)")
    p.add_argument("--aux", metavar="CHANNEL", action="append", default=[],
                   help="add a diagnostic channel (coc.radius, focus.matte, plane.index); repeatable")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="default auto: CUDA when present")
    p.add_argument("--progress", choices=("auto", "bar", "jsonl", "none"), default="auto",
                   help="bar on a terminal, jsonl = one JSON event per line on stdout")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from focuspull.progress import make_progress

    progress = make_progress(args.progress)
    try:
        job = build_job(args)
        frames = None
        if args.job and args.frames:
            from focuspull.io import parse_frames

            frames = parse_frames(args.frames)
    except FocusPullError as err:
        progress.error(err.code, str(err))
        return _failed(err)
    if args.write_job:
        job.save(args.write_job)
        log.info("wrote %s", args.write_job)
        return 0

    from focuspull.pipeline import render_job

    try:
        report = render_job(job, progress, frames=frames)  # reports its own error event
    except FocusPullError as err:
        return _failed(err)
    log.info("wrote %d frame(s) to %s in %.1fs", len(report.frames), report.output, report.seconds)
    return 0


def _failed(err: FocusPullError) -> int:
    sys.stderr.write(f"focuspull: error: {err}\n")
    return 2


def build_job(args: argparse.Namespace) -> Any:
    """The job the flags describe (or the job file with overrides)."""
    from focuspull.curves import Curve
    from focuspull.job import Job

    if args.job:
        job = Job.load(args.job)
        if args.device:
            job = job.replace(engine=_replace(job.engine, device=args.device))
        return job
    missing = [flag for flag, value in (("INPUT", args.input), ("-o/--output", args.output),
                                        ("--focus", args.focus), ("--strength", args.strength)) if not value]
    if missing:
        raise JobError(f"render: missing {', '.join(missing)} (or give --job job.json)")
    depth: dict[str, Any] = {"kind": args.depth_kind}
    if args.depth:
        depth.update(source="sequence", pattern=args.depth)
    if args.depth_channel:
        depth["channel"] = args.depth_channel
    data = {
        "schema": "focuspull.job/1",
        "input": {"pattern": args.input, "frames": args.frames, "colorspace": args.input_colorspace},
        "depth": depth,
        "focus": Curve.parse_cli(args.focus, "--focus").to_json(),
        "strength": Curve.parse_cli(args.strength, "--strength").to_json(),
        "aperture": _key_values(args.aperture, "--aperture"),
        "engine": {"name": args.engine, "options": _key_values(args.option, "--option"), "device": args.device or "auto"},
        "output": {
            "pattern": args.output,
            "colorspace": args.output_colorspace,
            "pixel_type": args.pixel_type,
            "compression": args.compression,
            "aux_channels": args.aux,
        },
        "ocio_config": args.ocio,
    }
    return Job.from_dict(data)


def _key_values(items: list[str], flag: str) -> dict[str, Any]:
    from focuspull.curves import Curve

    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise JobError(f"{flag}: {item!r} is not KEY=VALUE")
        try:
            out[key] = json.loads(text)
        except ValueError:
            # Allow curves and plain strings: 1001:0,1040:30 or hexagon.
            out[key] = Curve.parse_cli(text, f"{flag} {key}").to_json() if ":" in text and text[0].isdigit() else text
    return out


def _replace(obj: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(obj, **changes)
