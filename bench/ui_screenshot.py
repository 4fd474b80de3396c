"""The screenshot in docs/ui.md, taken from a real X11 window (Xvfb), not an offscreen rendering.

    python bench/ui_screenshot.py [--out docs/ui.png] [--size 1000x660] [--frame 1012]

Writes the demo shot (640x360) into a temporary folder, starts Xvfb, opens
the workspace on the demo job with Qt's xcb platform, shows the preview of
the frame, clicks the near post (where the pull is focused then) and grabs
the window from the X server with the focus plane flashing (held for the
picture; it lasts 0.8 s in use). Needs Xvfb and the xcb libraries
(``focuspull doctor`` names them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

IN_WINDOW = textwrap.dedent("""
    import sys, time
    from focuspull.ui.app import _application, wait_until_idle
    app = _application(None, offscreen=False)
    from focuspull.ui import FocusPullWindow, model
    job, out, width, height, frame = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    window = FocusPullWindow()
    window.resize(width, height)
    window.move(0, 0)
    window.show()
    ws = window.workspace
    assert ws.model.open_job(job)
    ws.model.set_frame(frame)
    ws.model.set_source("preview")
    assert wait_until_idle(ws, 300)
    view = ws.viewer.view
    model.FLASH_S = 3600.0  # hold the flash for the picture
    ws.model.set_hover((496.5, 180.5))
    ws.model.focus_at(496.5, 180.5)  # the near post: the focus plane flashes
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (ws.pipeline.settled() and ws.pipeline.last.flash):
        app.processEvents()
    for _ in range(20):
        app.processEvents()
    shot = app.primaryScreen().grabWindow(0, 0, 0, window.width(), window.height())
    assert shot.save(out), out
    window.close()
""")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/ui.png"))
    parser.add_argument("--size", default="1000x660")
    parser.add_argument("--frame", type=int, default=1004)
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.split("x"))
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        print("needs Xvfb: apt-get install xvfb", file=sys.stderr)
        return 2
    from focuspull.demo import DemoShot, demo_job, write_plate

    with tempfile.TemporaryDirectory() as tmp:
        shot = DemoShot(num_frames=24)
        plate = write_plate(shot, Path(tmp) / "plate")
        job_path = Path(tmp) / "job.json"
        demo_job(shot, plate, str(Path(tmp) / "render" / "demo.####.exr")).save(job_path)
        read_fd, write_fd = os.pipe()
        server = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
                                   "-nolisten", "tcp"], pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
        os.close(write_fd)
        try:
            with os.fdopen(read_fd) as pipe:
                display = ":" + pipe.readline().strip()
            env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
            args.out.parent.mkdir(parents=True, exist_ok=True)
            proc = subprocess.run([sys.executable, "-c", IN_WINDOW, str(job_path), str(args.out.resolve()), str(width),
                                   str(height), str(args.frame)], env=env)
        finally:
            server.terminate()
            server.wait(timeout=30)
    if proc.returncode == 0:
        print(f"wrote {args.out}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
