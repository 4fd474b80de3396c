"""The workspace on a plain Linux desktop: the X11 plugin's libraries, and a real window in Xvfb.

The first tests need no display: they check how missing system libraries are
found (from ``ldd``'s answer) and named. The last one starts an X server
(Xvfb), opens ``focuspull ui`` in it with Qt's xcb platform, grabs the X
screen and checks the plate is on it; it skips (saying why) without Xvfb or
the xcb libraries: ``apt-get install xvfb libxcb-cursor0 libxcb-icccm4
libxcb-keysyms1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
"""


def test_missing_xcb_libraries_are_named_with_their_packages():
    from focuspull.ui.platform_libs import install_hint, missing_libraries

    missing = missing_libraries(ldd_output=LDD_OUTPUT)
    assert missing == ["libxcb-cursor.so.0", "libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    hint = install_hint(missing)
    assert hint.startswith("sudo apt-get install libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1")
    assert "dnf install xcb-util-cursor xcb-util-keysyms xcb-util-wm" in hint


def test_doctor_names_what_the_x11_plugin_lacks(monkeypatch, tmp_path):
    from focuspull.cli import doctor
    from focuspull.ui import platform_libs

    monkeypatch.setattr(platform_libs, "xcb_plugin", lambda: tmp_path / "libqxcb.so")
    monkeypatch.setattr(platform_libs, "missing_libraries",
                        lambda plugin=None, ldd_output=None: ["libxcb-cursor.so.0", "libxcb-keysyms.so.1"])
    check = doctor.check_ui()
    assert check.status == doctor.WARN and "libxcb-cursor.so.0" in check.detail
    assert check.fix.startswith("sudo apt-get install libxcb-cursor0 libxcb-keysyms1")
    monkeypatch.setattr(platform_libs, "missing_libraries", lambda plugin=None, ldd_output=None: [])
    assert doctor.check_ui().status == doctor.OK


def test_focuspull_ui_says_what_to_install_instead_of_crashing(monkeypatch, caplog):
    from focuspull.cli import main as cli_main
    from focuspull.ui import platform_libs

    monkeypatch.setenv("QT_QPA_PLATFORM", "xcb")
    monkeypatch.setattr(platform_libs, "missing_libraries", lambda plugin=None, ldd_output=None: ["libxcb-icccm.so.4"])
    assert cli_main(["ui"]) == 2
    assert "sudo apt-get install libxcb-icccm4" in caplog.text


# -- a real X server ----------------------------------------------------------------------------
def _xvfb_or_skip() -> str:
    if not sys.platform.startswith("linux"):
        pytest.skip("X11 runs on Linux here")
    pytest.importorskip("PySide6")
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("no Xvfb: apt-get install xvfb")
    from focuspull.ui.platform_libs import install_hint, missing_libraries

    missing = missing_libraries()
    if missing:
        pytest.skip(f"Qt's xcb plugin lacks {', '.join(missing)}: {install_hint(missing)}")
    return xvfb


@pytest.fixture
def x_display():
    """A fresh Xvfb server; yields its DISPLAY (":N")."""
    xvfb = _xvfb_or_skip()
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd) as pipe:
            number = pipe.readline().strip()  # Xvfb writes its display number once it accepts clients
        if not number:
            pytest.skip("Xvfb did not start")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


REAL_WINDOW = textwrap.dedent("""
    import json, sys
    from focuspull.ui.app import _application, wait_until_idle
    app = _application(None, offscreen=False)
    from focuspull.ui import FocusPullWindow
    plate, out, png = sys.argv[1:4]
    window = FocusPullWindow()
    window.resize(900, 640)
    window.move(40, 30)
    window.show()
    ws = window.workspace
    assert ws.model.open_pattern(plate, output=out)
    ws.model.set_frame(1002)
    assert wait_until_idle(ws, 120)
    for _ in range(20):
        app.processEvents()
    screen = app.primaryScreen().grabWindow(0)  # the X server's pixels, not a widget rendering
    screen.save(png)
    view = ws.viewer.view
    points = {}
    for x, y in ((6.5, 6.5), (74.5, 32.5), (30.5, 30.5), (48.5, 58.5)):
        p = view.mapToGlobal(view.image_to_widget(x, y).toPoint())
        points[f"{x},{y}"] = [p.x(), p.y()]
    print(json.dumps({"platform": app.platformName(), "points": points, "screen": [screen.width(), screen.height()]}))
    window.close()
""")


def test_a_real_window_in_xvfb_shows_the_plate(x_display, tmp_path):
    import json

    from PySide6 import QtGui

    from focuspull.color import ColorConfig
    from focuspull.demo import DemoShot, write_plate
    from focuspull.io import SequencePattern, read_image

    plate = write_plate(DemoShot(width_px=96, height_px=64, num_frames=3), tmp_path / "plate")
    png = tmp_path / "screen.png"
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb"}
    proc = subprocess.run([sys.executable, "-c", REAL_WINDOW, plate, str(tmp_path / "o" / "r.####.exr"), str(png)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["platform"] == "xcb" and report["screen"] == [1280, 800]

    screen = QtGui.QImage(str(png))
    pixels = np.array([[screen.pixelColor(x, y).value() for x in range(0, 1280, 8)] for y in range(0, 800, 8)])
    assert len(np.unique(pixels)) > 20  # a window with content, not an empty screen
    image = read_image(SequencePattern.parse(plate).path(1002))
    rgb = image.pixels[..., [image.channels.index(c) for c in "RGB"]]
    expected = (np.clip(ColorConfig.load().display_view(rgb), 0, 1) * 255 + 0.5).astype(int)
    for key, (sx, sy) in report["points"].items():
        x, y = (float(v) for v in key.split(","))
        c = screen.pixelColor(sx, sy)
        got = (c.red(), c.green(), c.blue())
        assert np.abs(np.subtract(got, expected[int(y), int(x)])).max() <= 3, (key, got, expected[int(y), int(x)])
