"""Workspace responsiveness: time to the first coarse preview, and the longest GUI-thread stall while scrubbing.

    python bench/bench_ui.py [--size 1920x1080] [--frames 8] [--repeats 5] [--scrub-s 4] [--plate-dir DIR]

Writes a procedural demo plate (1080p by default; kept in --plate-dir for the
next run), opens it in the workspace on Qt's offscreen platform, shows the
preview, and measures on the GUI thread:

* **first coarse preview**: from a change (strength, a focus key, the
  frame, the aperture) to the viewer receiving the 1/8 coarse picture of it
  (composed, ready to paint); and to the engine's 1/4 picture.
* **stall**: a 2 ms timer on the GUI thread records every tick while a
  script scrubs the timeline (a frame every 40 ms, back and forth over the
  shot) with the preview on, then with the plate; the longest gap between
  ticks, less the timer's period, is the longest the interface was frozen.

Prints a markdown table. Timings on a shared machine are noisy: the
minimum and the median of ``--repeats`` runs are given.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def plate_for(size: tuple[int, int], frames: int, folder: Path) -> str:
    from focuspull.demo import DemoShot, write_plate
    from focuspull.io import SequencePattern

    shot = DemoShot(width_px=size[0], height_px=size[1], num_frames=frames)
    target = folder / f"demo_{size[0]}x{size[1]}_{frames}"
    pattern = str(target / "demo_plate.####.exr")
    if len(SequencePattern.parse(pattern).frames_on_disk()) != frames:
        pattern = write_plate(shot, target)
    return pattern


def process_until(app, condition, timeout_s: float = 120.0) -> float:
    """Run the event loop until ``condition()``; returns when it became true (monotonic seconds)."""
    from PySide6 import QtCore

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
        if condition():
            return time.monotonic()
        time.sleep(0.0005)
    raise TimeoutError(f"the workspace did not get there in {timeout_s:g} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scrub-s", type=float, default=4.0)
    parser.add_argument("--plate-dir", type=Path, default=Path(tempfile.gettempdir()) / "focuspull-bench-ui")
    args = parser.parse_args(argv)
    size = tuple(int(v) for v in args.size.lower().split("x"))

    from PySide6 import QtCore, QtWidgets

    from focuspull.ui import FocusPullWindow

    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["bench"])
    started = time.monotonic()
    pattern = plate_for(size, args.frames, args.plate_dir)  # type: ignore[arg-type]
    print(f"plate {pattern} ready in {time.monotonic() - started:.1f}s", file=sys.stderr)

    window = FocusPullWindow()
    window.resize(1200, 760)
    window.show()
    ws = window.workspace
    model, pipeline = ws.model, ws.pipeline
    assert model.open_pattern(pattern, output=str(args.plate_dir / "out" / "r.####.exr"))
    process_until(app, lambda: len(model.cache.frames()) == args.frames)
    model.set_source("preview")
    process_until(app, pipeline.settled)

    arrivals: list[tuple[float, int, int, str]] = []
    if os.environ.get("BENCH_DEBUG"):
        pipeline.shown.connect(lambda c: print("  shown", c.frame, c.revision, c.label, file=sys.stderr))
        pipeline.previewer.ready.connect(lambda r: print("  ready", r.frame, r.revision, r.label, file=sys.stderr))
    pipeline.shown.connect(lambda c: arrivals.append((time.monotonic(), c.frame, c.revision, c.label)))

    def time_change(change) -> tuple[float, str, float]:
        """Seconds from ``change()`` to the first preview of it on screen (and which), and to the engine's 1/4."""
        arrivals.clear()
        t0 = time.monotonic()
        change()
        frame, revision = model.frame, model.revision
        def first(prefix: str) -> tuple[float, str] | None:
            return next(((t, label) for t, f, r, label in arrivals
                         if (f, r) == (frame, revision) and label.startswith(prefix) and "updating" not in label), None)

        process_until(app, lambda: first("1/") is not None or first("full") is not None)
        process_until(app, lambda: first("1/4 res engine") is not None)
        (t_first, label), (t_engine, _) = first("1/") or first("full"), first("1/4 res engine")
        return t_first - t0, label, t_engine - t0

    frames = model.frames
    strengths = [10.0, 20.0, 30.0, 40.0]
    changes = {
        "strength": lambda i: model.set_key("strength", model.frame, strengths[i % len(strengths)]),
        # the near post and the far wall in turn (see focuspull.demo)
        "focus click": lambda i: model.focus_at(*((size[0] * 0.775, size[1] * 0.5) if i % 2 else (size[0] * 0.07, size[1] * 0.1))),
        "frame": lambda i: model.set_frame(frames[(frames.index(model.frame) + 1) % len(frames)]),
        "aperture": lambda i: model.edit_job(model.job.replace(
            aperture=dataclasses.replace(model.job.aperture, blades=5 + i % 4, shape="polygon")), "aperture"),
    }
    rows = []
    for name, change in changes.items():
        coarse, labels, engine = zip(*(time_change(lambda: change(i)) for i in range(args.repeats)))
        rows.append((name, coarse, labels, engine))
        model.end_flash()

    def scrub(source: str) -> tuple[float, int]:
        model.set_source(source)
        process_until(app, pipeline.settled)
        ticks: list[float] = []
        period_ms = 2
        tick = QtCore.QTimer()
        tick.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        tick.timeout.connect(lambda: ticks.append(time.monotonic()))
        order = list(frames) + list(reversed(frames))
        steps = iter(range(10**9))
        scrubber = QtCore.QTimer()
        scrubber.timeout.connect(lambda: model.set_frame(order[next(steps) % len(order)]))
        tick.start(period_ms)
        scrubber.start(40)
        end = time.monotonic() + args.scrub_s
        while time.monotonic() < end:
            app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 5)
        scrubber.stop()
        tick.stop()
        gaps = [b - a for a, b in zip(ticks, ticks[1:])]
        return max(gaps) * 1000 - period_ms, len(ticks)

    stalls = {source: [scrub(source) for _ in range(max(1, args.repeats // 2))] for source in ("preview", "plate")}
    window.close()

    def ms(values) -> str:
        return f"{min(values) * 1000:.0f} / {statistics.median(values) * 1000:.0f}"

    cpu = platform.processor() or platform.machine()
    print(f"\n{size[0]}x{size[1]} demo plate, {args.frames} frames in memory, preview refining to 1/2; "
          f"{os.cpu_count()} CPU cores ({cpu}), Python {platform.python_version()}, torch threads "
          f"{__import__('torch').get_num_threads()}; {args.repeats} runs (min / median)\n")
    print("| change | first preview on screen, ms | it was | engine's 1/4 preview, ms |")
    print("|---|---|---|---|")
    for name, coarse, labels, engine in rows:
        kinds = ", ".join(f"{labels.count(k)}x {k}" for k in sorted(set(labels)))
        print(f"| {name} | {ms(coarse)} | {kinds} | {ms(engine)} |")
    print("\n| scrub (a frame every 40 ms) | longest GUI-thread stall, ms (min / max of runs) |")
    print("|---|---|")
    for source, runs in stalls.items():
        values = [stall for stall, _ in runs]
        print(f"| {source} view, {args.scrub_s:g} s | {min(values):.0f} / {max(values):.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
