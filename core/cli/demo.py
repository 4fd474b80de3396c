"""``focuspull demo OUTDIR``: make a CG plate, render a focus pull, write a contact sheet."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger("focuspull")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="render a keyframed focus pull through a procedural CG shot")
    p.add_argument("outdir", help="folder for the plate, the render, job.json and contact_sheet.png")
    p.add_argument("--frames", type=int, default=48, help="shot length (default 48)")
    p.add_argument("--size", default="640x360", help="WIDTHxHEIGHT (default 640x360)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--progress", choices=("auto", "bar", "jsonl", "none"), default="auto")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from focuspull.demo import DemoShot, contact_sheet, demo_job, write_plate
    from focuspull.errors import JobError
    from focuspull.pipeline import prepare, render_shot
    from focuspull.progress import make_progress

    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError as err:
        raise JobError(f"--size: {args.size!r} is not WIDTHxHEIGHT") from err
    outdir = Path(args.outdir).resolve()
    shot = DemoShot(width_px=width, height_px=height, num_frames=args.frames)
    log.warning("writing the procedural plate (%d frames, %dx%d) to %s", shot.num_frames, width, height, outdir / "plate")
    plate = write_plate(shot, outdir / "plate")
    job = demo_job(shot, plate, str(outdir / "render" / "demo_refocus.####.exr"))
    job = job.replace(engine=job.engine.__class__(device=args.device))
    job.save(outdir / "job.json")

    log.warning("rendering the focus pull (post -> card -> wall)")
    prepared = prepare(job)
    report = render_shot(prepared, make_progress(args.progress))

    picks = sorted({prepared.frames[round(i * (len(prepared.frames) - 1) / 5)] for i in range(6)})
    sheet = outdir / "contact_sheet.png"
    contact_sheet(
        [("plate", [prepared.input.path(f) for f in picks]), ("refocused", [prepared.output.path(f) for f in picks])],
        sheet,
        prepared.color,
    )
    log.warning("done: %d frames in %.1fs; look at %s (top: plate, bottom: refocused; frames %s)",
                len(report.frames), report.seconds, sheet, ", ".join(map(str, picks)))
    return 0
