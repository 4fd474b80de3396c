"""``focuspull ui [PATTERN]``: the focus-pull workspace (PySide6)."""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("focuspull")


def register(sub: argparse._SubParsersAction) -> None:
    from focuspull.cli.render import DEPTH_KIND_CHOICES

    p = sub.add_parser("ui", help="open the focus-pull workspace (needs pip install focuspull[ui])")
    p.add_argument("pattern", nargs="?", help="plate pattern, e.g. plate.####.exr")
    p.add_argument("--job", help="open this focuspull.job/1 file instead of a plate")
    p.add_argument("--screenshot", metavar="PNG", help="render the window offscreen to this PNG and exit")
    p.add_argument("--frame", type=int, help="frame to show (default: the first)")
    p.add_argument("--view", choices=("plate", "preview", "render"), default="plate",
                   help="what the viewer shows (default plate)")
    p.add_argument("--overlay", choices=("none", "depth", "depth_conditioned", "coc", "focus"), default="none")
    p.add_argument("--exposure", type=float, default=0.0, help="viewer exposure in stops")
    p.add_argument("--preview-scale", type=int, choices=(1, 2, 4), default=2,
                   help="the resolution the preview refines to, 1/N (a 1/8 coarse picture comes first)")
    p.add_argument("--size", default="1200x760", help="window WIDTHxHEIGHT (default 1200x760)")
    p.add_argument("--depth", metavar="PATTERN", help="separate depth sequence (with a plate pattern)")
    p.add_argument("--depth-channel", metavar="NAME", help="depth channel (default: Z/depth.Z of the plate)")
    p.add_argument("--depth-kind", choices=DEPTH_KIND_CHOICES,
                   help="what the depth values mean, as for render (default depth: a distance z)")
    p.add_argument("-o", "--output", help="output pattern (default: <plate folder>_refocus/<name>_refocus.####.exr)")
    p.add_argument("--ocio", metavar="CONFIG", help="OCIO config (default: $OCIO, else the built-in ACES config)")
    p.add_argument("--input-colorspace", metavar="NAME", help="OCIO colour space of the plate")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from focuspull.errors import JobError

    try:
        from focuspull.ui.app import main
    except ImportError as err:
        log.error("%s", err)
        return 2
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError as err:
        raise JobError(f"--size: {args.size!r} is not WIDTHxHEIGHT") from err
    if args.job and args.pattern:
        raise JobError("give a plate PATTERN or --job, not both")
    options = {
        "depth": args.depth,
        "depth_channel": args.depth_channel,
        "depth_kind": args.depth_kind,
        "output": args.output,
        "ocio": args.ocio,
        "input_colorspace": args.input_colorspace,
    }
    return main(
        args.pattern,
        job=args.job,
        screenshot=args.screenshot,
        frame=args.frame,
        source=args.view,
        overlay=args.overlay,
        exposure_stops=args.exposure,
        preview_scale=args.preview_scale,
        size=(width, height),
        open_options=options,
    )
