"""The workspace on the offscreen Qt platform, on a tiny procedural demo plate.

Each test states its known answer: the viewer's pixels are the display
transform of the plate file, a click keys the median depth under the cursor,
timeline edits change the job and undo restores it, the preview renders on
another thread while the GUI keeps running, a render writes every frame.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported

import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6 import QtCore, QtGui  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from focuspull.color import ColorConfig  # noqa: E402
from focuspull.demo import DemoShot, write_plate  # noqa: E402
from focuspull.io import SequencePattern, read_image  # noqa: E402
from focuspull.job import Job  # noqa: E402

FIRST = 1001
SHOT = DemoShot(width_px=96, height_px=64, first_frame=FIRST, num_frames=4)
# Plate pixels (x, y) on known surfaces of the demo at 96x64 (see focuspull.demo):
POST = (74.5, 32.5)  # the near post, z = 2 (x = (0.55 + 1) / 2 * 96)
WALL = (6.5, 6.5)  # the far wall, z = 20


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_plate(SHOT, tmp_path_factory.mktemp("demo") / "plate")


@pytest.fixture
def window(qtbot, plate, tmp_path):
    from focuspull.ui import FocusPullWindow

    win = FocusPullWindow()
    qtbot.addWidget(win)
    win.resize(900, 640)
    win.show()
    qtbot.waitExposed(win)
    assert win.workspace.model.open_pattern(plate, output=str(tmp_path / "out" / "refocus.####.exr")), win.workspace.status.text()
    return win


def settle(qtbot, ws, timeout_ms: int = 60000) -> None:
    """Wait until the viewer shows the current frame and job (composed off the GUI thread)."""
    qtbot.waitUntil(ws.pipeline.settled, timeout=timeout_ms)


def expected_display(path: str) -> np.ndarray:
    """The plate file through the config's default display/view, as 8 bits (computed here, not by the UI)."""
    image = read_image(path)
    rgb = image.pixels[..., [image.channels.index(c) for c in "RGB"]]
    shown = ColorConfig.load().display_view(rgb)
    return (np.clip(shown, 0, 1) * 255 + 0.5).astype(int)


def view_pixel(grab: QtGui.QImage, view, x: float, y: float, offset: QtCore.QPoint = QtCore.QPoint()) -> tuple:
    p = view.image_to_widget(x, y)
    c = grab.pixelColor(int(p.x()) + offset.x(), int(p.y()) + offset.y())
    return c.red(), c.green(), c.blue()


POINTS = [(6.5, 6.5), (74.5, 32.5), (30.5, 30.5), (48.5, 58.5), (90.5, 3.5)]


def test_window_shows_the_display_transformed_plate(window, plate, qtbot):
    ws = window.workspace
    ws.model.set_frame(FIRST + 1)
    expected = expected_display(SequencePattern.parse(plate).path(FIRST + 1))
    colours = {tuple(expected[int(y), int(x)]) for x, y in POINTS}
    assert len(colours) >= 4  # the points sample different surfaces, so a blank view cannot pass
    settle(qtbot, ws)
    grab = ws.viewer.view.grab().toImage()
    for x, y in POINTS:
        got = view_pixel(grab, ws.viewer.view, x, y)
        assert np.abs(np.subtract(got, expected[int(y), int(x)])).max() <= 2, (x, y, got)


def test_exposure_brightens_by_the_display_transform_of_twice_the_light(window, plate, qtbot):
    ws = window.workspace
    ws.model.set_exposure(1.0)
    image = read_image(SequencePattern.parse(plate).path(FIRST))
    rgb = image.pixels[..., [image.channels.index(c) for c in "RGB"]] * 2.0
    expected = (np.clip(ColorConfig.load().display_view(rgb), 0, 1) * 255 + 0.5).astype(int)
    settle(qtbot, ws)
    grab = ws.viewer.view.grab().toImage()
    x, y = 30.5, 30.5
    assert np.abs(np.subtract(view_pixel(grab, ws.viewer.view, x, y), expected[int(y), int(x)])).max() <= 2


def test_screenshot_png_shows_the_plate(window, plate, tmp_path):
    from focuspull.ui import save_screenshot

    ws = window.workspace
    ws.model.set_frame(FIRST + 2)
    png = save_screenshot(window, tmp_path / "shot.png")
    grab = QtGui.QImage(png)
    assert (grab.width(), grab.height()) == (window.width(), window.height())
    offset = ws.viewer.view.mapTo(window, QtCore.QPoint(0, 0))
    expected = expected_display(SequencePattern.parse(plate).path(FIRST + 2))
    for x, y in POINTS:
        got = view_pixel(grab, ws.viewer.view, x, y, offset)
        assert np.abs(np.subtract(got, expected[int(y), int(x)])).max() <= 2, (x, y, got)


def test_cli_screenshot_matches_the_window(qtbot, plate, tmp_path):
    from focuspull.cli import main as cli_main
    from focuspull.ui import FocusPullWindow

    png = tmp_path / "cli.png"
    out = str(tmp_path / "out" / "r.####.exr")
    assert cli_main(["ui", plate, "-o", out, "--screenshot", str(png), "--frame", str(FIRST + 3), "--size", "800x600"]) == 0
    grab = QtGui.QImage(str(png))
    assert (grab.width(), grab.height()) == (800, 600)
    win = FocusPullWindow()
    qtbot.addWidget(win)
    win.resize(800, 600)
    win.show()
    assert win.workspace.model.open_pattern(plate, output=out)
    win.workspace.model.set_frame(FIRST + 3)
    settle(qtbot, win.workspace)
    view = win.workspace.viewer.view
    offset = view.mapTo(win, QtCore.QPoint(0, 0))
    expected = expected_display(SequencePattern.parse(plate).path(FIRST + 3))
    for x, y in POINTS:
        got = view_pixel(grab, view, x, y, offset)
        assert np.abs(np.subtract(got, expected[int(y), int(x)])).max() <= 2, (x, y, got)


def _click(qtbot, ws, x: float, y: float) -> None:
    settle(qtbot, ws)  # the viewer knows the plate's size once it shows it
    view = ws.viewer.view
    QTest.mouseClick(view, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier,
                     view.image_to_widget(x, y).toPoint())


def _point_mode_distance(plate: str, frame: int, x: float, y: float, tmp_path: Path) -> float:
    """The focus distance the core renders for a point-mode job clicked at (x, y)."""
    from focuspull.pipeline import prepare

    job = Job.from_dict({
        "schema": "focuspull.job/1",
        "input": {"pattern": plate, "frames": str(frame)},
        "depth": {"kind": "depth"},
        "focus": {"mode": "point", "x": x, "y": y},
        "strength": 1.0,
        "output": {"pattern": str(tmp_path / "point" / "p.####.exr")},
    })
    return 1.0 / prepare(job).params.focus_disparity[0]


def test_two_clicks_on_two_frames_make_a_focus_pull(window, plate, tmp_path, qtbot):
    ws = window.workspace
    assert ws.model.job.focus_mode == "distance"
    ws.model.set_frame(FIRST)
    _click(qtbot, ws, *POST)
    keys = ws.model.job.focus.value.keys
    assert [k.frame for k in keys] == [FIRST]  # the untouched default is replaced, not kept as a key
    assert keys[0].value == pytest.approx(SHOT.near_distance, rel=1e-4)  # the post
    # the same focus the core renders for a point-mode job clicked there
    assert keys[0].value == pytest.approx(_point_mode_distance(plate, FIRST, *POST, tmp_path), rel=1e-6)
    ws.model.set_frame(FIRST + 3)
    _click(qtbot, ws, *WALL)
    keys = ws.model.job.focus.value.keys
    assert [k.frame for k in keys] == [FIRST, FIRST + 3]
    assert keys[1].value == pytest.approx(SHOT.far_distance, rel=1e-4)  # the wall
    # the shot's per-frame focus follows: d_f = 1/S at the keys, eased in between
    d_f = ws.model.shot.params.focus_disparity
    assert d_f[0] == pytest.approx(1 / SHOT.near_distance, rel=1e-4)
    assert d_f[3] == pytest.approx(1 / SHOT.far_distance, rel=1e-4)
    assert SHOT.near_distance < ws.model.job.focus.value(FIRST + 1) < ws.model.job.focus.value(FIRST + 2) < SHOT.far_distance
    # one undo step per click
    ws.model.undo()
    assert [k.frame for k in ws.model.job.focus.value.keys] == [FIRST]


def test_click_on_a_point_mode_job_keys_the_point(qtbot, plate, tmp_path):
    from focuspull.ui import FocusPullWindow

    job = Job.from_dict({
        "schema": "focuspull.job/1",
        "input": {"pattern": plate},
        "depth": {"kind": "depth"},
        "focus": {"mode": "point", "x": 48, "y": 32},
        "strength": 2.0,
        "output": {"pattern": str(tmp_path / "o" / "r.####.exr")},
    })
    win = FocusPullWindow()
    qtbot.addWidget(win)
    win.resize(900, 640)
    win.show()
    ws = win.workspace
    assert ws.model.load_job(job)
    ws.model.set_frame(FIRST + 2)
    _click(qtbot, ws, *POST)
    spec = ws.model.job.focus
    # the point in display-window pixels (the same as the data window here), to the widget's pixel
    assert (spec.x(FIRST + 2), spec.y(FIRST + 2)) == pytest.approx(POST, abs=0.5 / ws.viewer.view.scale())
    assert ws.model.shot.params.focus_disparity[2] == pytest.approx(1 / SHOT.near_distance, rel=1e-4)


def test_click_in_disparity_mode_keys_the_disparity(qtbot, plate, tmp_path):
    from focuspull.ui import FocusPullWindow

    win = FocusPullWindow()
    qtbot.addWidget(win)
    win.resize(900, 640)
    win.show()
    ws = win.workspace
    # The Z values read as a disparity map: the key is the median value itself, not its inverse.
    assert ws.model.open_pattern(plate, depth_kind="disparity", output=str(tmp_path / "o" / "r.####.exr"))
    assert ws.model.job.focus_mode == "disparity"
    _click(qtbot, ws, *WALL)
    # The Z values read as a disparity map: the key is the value itself, not its inverse.
    assert ws.model.job.focus.value.keys[0].value == pytest.approx(SHOT.far_distance, rel=1e-4)


def test_timeline_edits_change_the_job_and_undo_restores_it(window, qtbot):
    ws = window.workspace
    tl = ws.timeline.timeline
    ws.model.set_frame(FIRST)
    ws.model.focus_at(*POST)
    ws.model.set_frame(FIRST + 3)
    ws.model.focus_at(*WALL)
    before = ws.model.job
    stack = ws.model.undo_stack
    depth_before = stack.index

    # drag the key at the last frame one frame left, keeping its height
    start = tl.key_position(FIRST + 3).toPoint()
    target = QtCore.QPoint(int(tl.frame_to_x(FIRST + 2)), start.y())
    QTest.mousePress(tl, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(tl, QtCore.QPoint((start.x() + target.x()) // 2, start.y()))
    QTest.mouseMove(tl, target)
    QTest.mouseRelease(tl, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier, target)
    keys = ws.model.job.focus.value.keys
    assert [k.frame for k in keys] == [FIRST, FIRST + 2]
    lo, hi = tl.value_range
    assert keys[1].value == pytest.approx(before.focus.value.keys[1].value, abs=(hi - lo) / tl.plot_rect().height() * 1.5)

    # interpolation from the key's menu: constant holds the first key's value up to the next key
    menu = tl.build_key_menu(float(FIRST))
    [constant] = [a for a in menu.actions() if a.text() == "Constant"]
    constant.trigger()
    assert ws.model.job.focus.value.keys[0].interpolation == "constant"
    assert ws.model.job.focus.value(FIRST + 1.5) == pytest.approx(ws.model.job.focus.value.keys[0].value)

    # double-click adds a key at the frame under the cursor
    pos = QtCore.QPoint(int(tl.frame_to_x(FIRST + 1)), int(tl.value_to_y(10.0)))
    QTest.mouseDClick(tl, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier, pos)
    keys = ws.model.job.focus.value.keys
    assert [k.frame for k in keys] == [FIRST, FIRST + 1, FIRST + 2]
    assert keys[1].value == pytest.approx(10.0, rel=0.05)

    # Delete removes the selected key
    tl.setFocus()
    tl.select_key(float(FIRST + 1))
    QTest.keyClick(tl, QtCore.Qt.Key.Key_Delete)
    assert [k.frame for k in ws.model.job.focus.value.keys] == [FIRST, FIRST + 2]

    # the strength curve is keyed through the value box at the current frame
    ws.model.set_active_curve("strength")
    ws.model.set_frame(FIRST + 1)
    ws.keys.value_spin.setValue(12.5)
    assert ws.model.job.strength.value(FIRST + 1) == pytest.approx(12.5)
    assert ws.model.shot.params.strength_px[1] == pytest.approx(12.5)
    after = ws.model.job

    while stack.index > depth_before:
        ws.model.undo()
    assert ws.model.job == before
    assert ws.model.shot.params.focus_disparity == pytest.approx([1 / v for v in before.focus.value.evaluate(ws.model.shot.frames)])
    while stack.can_redo:
        ws.model.redo()
    assert ws.model.job == after


def test_invalid_edit_is_refused_and_not_recorded(window):
    ws = window.workspace
    depth = len(ws.model.undo_stack)
    job = ws.model.job
    ws.model.set_frame(FIRST)
    ws.keys.value_spin.setValue(0.0)  # a focus distance of 0 cannot render
    assert ws.model.job == job
    assert len(ws.model.undo_stack) == depth
    assert "must be > 0" in ws.status.text()


class SlowEngine:
    """The real engine, made slow, recording the thread and the frame of each render."""

    def __init__(self, engine, delay_s: float) -> None:
        self.engine, self.delay_s = engine, delay_s
        self.device = engine.device
        self.threads: list[int] = []
        self.frames: list[int] = []

    def render(self, batch):
        self.threads.append(threading.get_ident())
        self.frames.append(batch.frames[0])
        time.sleep(self.delay_s)
        return self.engine.render(batch)


def test_progressive_preview_coarse_at_once_then_the_engine_off_the_gui_thread(qtbot, plate, tmp_path):
    from focuspull.pipeline import make_engine
    from focuspull.ui import FocusPullWindow

    engines: list[SlowEngine] = []

    def factory(shot):
        engines.append(SlowEngine(make_engine(shot), delay_s=1.0))
        return engines[-1]

    win = FocusPullWindow(engine_factory=factory)
    qtbot.addWidget(win)
    win.resize(900, 640)
    win.show()
    ws = win.workspace
    assert ws.model.open_pattern(plate, output=str(tmp_path / "o" / "r.####.exr"))
    qtbot.waitUntil(lambda: len(ws.model.cache.frames()) == 4, timeout=30000)
    shown: list[tuple[float, int, str]] = []
    ws.pipeline.shown.connect(lambda c: shown.append((time.monotonic(), c.frame, c.label)))
    ticks = []
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(10)

    ws.model.set_preview_scale(1)
    asked = time.monotonic()
    ws.model.set_source("preview")
    qtbot.waitUntil(lambda: any(label for _, _, label in shown), timeout=30000)
    t, frame, label = next(item for item in shown if item[2])
    assert (frame, label) == (FIRST, "1/8 res coarse")
    assert t - asked < 0.9  # the coarse picture does not wait for the engine's 1 s render
    qtbot.waitUntil(lambda: bool(engines and engines[0].frames), timeout=30000)  # the engine is in its render

    started = time.monotonic()
    ws.model.set_frame(FIRST + 1)  # scrub while the engine renders: returns at once, restarts the preview
    ws.model.set_frame(FIRST + 2)
    assert time.monotonic() - started < 0.3
    qtbot.waitUntil(lambda: any(f == FIRST + 2 and label for _, f, label in shown), timeout=30000)
    t, _, label = next(item for item in shown if item[1] == FIRST + 2 and item[2])
    assert label == "1/8 res coarse" and t - started < 0.9  # while the engine still sleeps in its render
    settle(qtbot, ws)
    timer.stop()

    # then the engine at 1/4 and at the chosen resolution, each shown as it came
    assert [label for _, f, label in shown if f == FIRST + 2 and label] == [
        "1/8 res coarse", "1/4 res engine", "full res engine"]
    assert ws.viewer.view.message == "preview full res engine"
    assert ws.pipeline.preview.rgba.shape[:2] == (SHOT.height_px, SHOT.width_px)
    # the frame scrubbed past never reached the engine; the first frame's render was dropped after its 1/4 pass
    assert engines[0].frames == [FIRST, FIRST + 2, FIRST + 2]
    gui = threading.get_ident()
    assert all(t != gui for t in engines[0].threads) and ws.pipeline.preview.thread_id != gui
    # the event loop kept turning while the engine slept
    assert sum(1 for t in ticks if t > started) >= 50


def test_scrubbing_to_frames_not_yet_read_never_waits_for_the_read(qtbot, plate, tmp_path, monkeypatch):
    import focuspull.ui.cache as cache_module
    from focuspull.ui import FocusPullWindow

    real = cache_module.load_frame_data

    def slow_read(shot, frame):
        time.sleep(0.4)
        return real(shot, frame)

    monkeypatch.setattr(cache_module, "load_frame_data", slow_read)
    win = FocusPullWindow(cache_bytes=10**9)
    qtbot.addWidget(win)
    win.show()
    ws = win.workspace
    assert ws.model.open_pattern(plate, output=str(tmp_path / "o" / "r.####.exr"))
    started = time.monotonic()
    for frame in (FIRST + 3, FIRST + 2, FIRST + 1):
        ws.model.set_frame(frame)
        qtbot.wait(20)
    assert time.monotonic() - started < 0.3  # three reads would take 1.2 s
    assert "loading frame" in ws.viewer.view.message
    settle(qtbot, ws)
    assert ws.pipeline.last.frame == FIRST + 1  # the frame stopped on is shown once read


def test_preview_keeps_in_focus_pixels_and_blurs_the_rest(window, qtbot):
    ws = window.workspace
    ws.model.set_frame(FIRST)
    ws.model.focus_at(*WALL)  # focus on the wall
    ws.model.set_active_curve("strength")
    ws.keys.value_spin.setValue(20.0)
    ws.model.set_preview_scale(1)
    ws.model.set_source("preview")
    settle(qtbot, ws)
    result = ws.pipeline.preview
    assert result.revision == ws.model.revision and result.scale == 1 and result.method == "engine"
    plate_rgba = ws.model.frame_data(FIRST).rgba
    # top-left wall corner: in focus and far from anything nearer, so unchanged
    np.testing.assert_allclose(result.rgba[:6, :6], plate_rgba[:6, :6], atol=1e-5)
    # the near post: CoC = 20 * (1/2 - 1/20) = 9 px, it is blurred
    x, y = int(POST[0]), int(POST[1])
    assert np.abs(result.rgba[y, x, :3] - plate_rgba[y, x, :3]).max() > 0.02


def test_render_writes_every_frame_and_shows_the_result(window, qtbot, tmp_path):
    ws = window.workspace
    ws.model.set_frame(FIRST)
    ws.model.focus_at(*POST)
    ws.model.end_flash()
    with qtbot.waitSignal(ws.renderer.finished, timeout=120000):
        ws.start_render()
        assert ws.actions.cancel.isEnabled() and not ws.actions.render.isEnabled()
    out = SequencePattern.parse(ws.model.job.output.pattern)
    assert out.frames_on_disk() == tuple(range(FIRST, FIRST + 4))
    assert ws.render_bar.progress.value() == ws.render_bar.progress.maximum() == 4
    assert ws.model.source == "render"
    # the viewer shows the rendered file, through the display transform
    expected = expected_display(out.path(FIRST))
    settle(qtbot, ws)
    grab = ws.viewer.view.grab().toImage()
    for x, y in POINTS:
        got = view_pixel(grab, ws.viewer.view, x, y)
        assert np.abs(np.subtract(got, expected[int(y), int(x)])).max() <= 2, (x, y, got)


def test_render_cancel_stops_before_the_remaining_frames(window, qtbot):
    ws = window.workspace
    with qtbot.waitSignal(ws.renderer.cancelled, timeout=120000):
        ws.start_render()
        ws.cancel_render()
    written = SequencePattern.parse(ws.model.job.output.pattern).frames_on_disk()
    assert len(written) < 4
    assert not ws.renderer.running and ws.actions.render.isEnabled()


def test_save_and_open_jobs(window, qtbot, plate, tmp_path):
    from focuspull.ui import FocusPullWindow

    ws = window.workspace
    ws.model.set_frame(FIRST)
    ws.model.focus_at(*POST)
    ws.model.set_frame(FIRST + 3)
    ws.model.focus_at(*WALL)
    path = tmp_path / "job.json"
    ws.model.save_job(str(path))
    assert Job.load(path) == ws.model.job
    assert ws.model.undo_stack.is_clean

    # a job as a host node writes it (dense per-frame samples of its curves) opens with them
    frames = list(range(FIRST, FIRST + 4))
    host_job = Job.from_dict({
        "schema": "focuspull.job/1",
        "input": {"pattern": plate, "frames": f"{FIRST}-{FIRST + 3}"},
        "depth": {"source": "channel", "channel": "Z", "kind": "depth"},
        "focus": {"frames": frames, "values": [2.0, 4.0, 8.0, 16.0]},
        "strength": {"frames": frames, "values": [10.0, 10.0, 12.0, 12.0]},
        "output": {"pattern": str(tmp_path / "host" / "r.####.exr")},
    })
    host_path = tmp_path / "host.json"
    host_job.save(host_path)
    other = FocusPullWindow()
    qtbot.addWidget(other)
    other.show()
    assert other.workspace.model.open_job(str(host_path))
    assert other.workspace.model.job == Job.load(host_path)
    assert other.workspace.model.shot.frames == tuple(frames)
    assert other.workspace.model.shot.params.focus_disparity == pytest.approx([0.5, 0.25, 0.125, 0.0625])
    assert other.workspace.timeline.timeline.active_curve() == host_job.focus.value


def test_overlays_follow_the_focus(window, qtbot):
    ws = window.workspace
    ws.model.set_frame(FIRST)
    ws.model.focus_at(*WALL)
    ws.model.end_flash()  # the click's flash of the focus plane is over
    ws.model.set_active_curve("strength")
    ws.keys.value_spin.setValue(10.0)  # the post's CoC: 10 * (1/2 - 1/20) = 4.5 px
    ws.model.set_overlay("focus")
    settle(qtbot, ws)
    grab = ws.viewer.view.grab().toImage()
    wall = view_pixel(grab, ws.viewer.view, *WALL)
    post = view_pixel(grab, ws.viewer.view, *POST)
    assert wall[1] > wall[0] + 60 and wall[1] > wall[2] + 60  # painted green: in focus
    assert not (post[1] > post[0] + 60)  # the post is out of focus
    ws.model.set_overlay("depth")
    settle(qtbot, ws)
    grab = ws.viewer.view.grab().toImage()
    d = 1.0 / read_image(SequencePattern.parse(ws.model.job.input.pattern).path(FIRST)).channel("Z")
    near = (1 / SHOT.near_distance - d.min()) / (d.max() - d.min())  # grey of the post: disparity over the frame's range
    assert view_pixel(grab, ws.viewer.view, *POST) == pytest.approx((255 * near,) * 3, abs=2)
    assert view_pixel(grab, ws.viewer.view, *WALL) == (0, 0, 0)  # the farthest: black


def test_playback_steps_through_cached_frames(window, qtbot):
    ws = window.workspace
    qtbot.waitUntil(lambda: len(ws.model.cache.frames()) == 4, timeout=30000)
    seen = []
    ws.model.changed.connect(lambda aspects: seen.append(ws.model.frame) if "frame" in aspects else None)
    ws.playback.toggle()
    qtbot.waitUntil(lambda: len(seen) >= 5, timeout=10000)
    ws.playback.toggle()
    assert seen[:5] == [FIRST + 1, FIRST + 2, FIRST + 3, FIRST, FIRST + 1]


# -- typed fields, hover, flash, windows, wipe -------------------------------------------------
def test_typed_frames_commit_before_render_without_enter(window, qtbot):
    ws = window.workspace
    edit = ws.render_bar.frames_edit
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, f"{FIRST}-{FIRST + 1}")  # typed, no Enter
    assert ws.model.job.input.frames is None
    with qtbot.waitSignal(ws.renderer.finished, timeout=120000):
        QTest.mouseClick(ws.render_bar.buttons["Render"], QtCore.Qt.MouseButton.LeftButton)
    assert ws.model.job.input.frames == f"{FIRST}-{FIRST + 1}"
    assert SequencePattern.parse(ws.model.job.output.pattern).frames_on_disk() == (FIRST, FIRST + 1)


def test_typed_fields_commit_when_they_lose_focus(window, qtbot, tmp_path):
    ws = window.workspace
    window.activateWindow()
    edit = ws.render_bar.output_edit
    edit.setFocus()
    qtbot.waitUntil(edit.hasFocus, timeout=5000)
    edit.selectAll()
    target = str(tmp_path / "typed" / "t.####.exr")
    QTest.keyClicks(edit, target)
    assert ws.model.job.output.pattern != target
    ws.render_bar.frames_edit.setFocus()  # focus moves on: the output is committed
    qtbot.waitUntil(lambda: ws.model.job.output.pattern == target, timeout=5000)
    # a refused value is not kept: the field shows the job's value again
    edit = ws.render_bar.frames_edit
    QTest.keyClicks(edit, "10x-")
    edit.clearFocus()
    qtbot.waitUntil(lambda: edit.text() == "", timeout=5000)
    assert ws.model.job.input.frames is None and "frames" in ws.status.text()


def test_hover_readout_follows_the_click_that_set_a_key(window, qtbot):
    ws = window.workspace
    settle(qtbot, ws)
    view = ws.viewer.view
    QTest.mouseMove(view, view.image_to_widget(*POST).toPoint())
    qtbot.waitUntil(lambda: "CoC" in ws.keys.pixel_info.text(), timeout=5000)
    assert "CoC +0.0px" not in ws.keys.pixel_info.text()
    QTest.mouseClick(view, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.NoModifier,
                     view.image_to_widget(*POST).toPoint())
    assert ws.keys.pixel_info.text().endswith("CoC +0.0px")  # the depth just put in focus, without moving


def test_click_to_focus_flashes_the_focus_plane_in_the_plate_view(window, qtbot):
    ws = window.workspace
    ws.model.set_frame(FIRST)
    ws.model.set_active_curve("strength")
    ws.keys.value_spin.setValue(20.0)  # the wall is 9 px out when the post is in focus
    settle(qtbot, ws)
    before = view_pixel(ws.viewer.view.grab().toImage(), ws.viewer.view, *POST)
    _click(qtbot, ws, *POST)
    settle(qtbot, ws)
    assert ws.model.source == "plate" and ws.pipeline.last.flash
    grab = ws.viewer.view.grab().toImage()
    post, wall = view_pixel(grab, ws.viewer.view, *POST), view_pixel(grab, ws.viewer.view, *WALL)
    assert post[1] > post[0] + 60 and post[1] > post[2] + 60 and post != before  # painted green: in focus
    assert not (wall[1] > wall[0] + 60)  # out of focus: the plate as it was
    assert "focus plane" in ws.viewer.view.message
    qtbot.waitUntil(lambda: ws.model.flash is None, timeout=5000)  # a moment later the plate is back
    settle(qtbot, ws)
    after = view_pixel(ws.viewer.view.grab().toImage(), ws.viewer.view, *POST)
    assert np.abs(np.subtract(after, before)).max() <= 2


@pytest.fixture(scope="module")
def cg_plate(tmp_path_factory) -> tuple[str, tuple[int, int, int, int]]:
    """A 96x64 format whose data window is a 40x24 region at (30, 20): a CG element."""
    import OpenImageIO as oiio

    folder = tmp_path_factory.mktemp("cg")
    x, y, w, h = 30, 20, 40, 24
    for frame in (FIRST, FIRST + 1):
        spec = oiio.ImageSpec(w, h, 5, oiio.FLOAT)
        spec.channelnames = ("R", "G", "B", "A", "Z")
        spec.x, spec.y = x, y
        spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, 96, 64
        pixels = np.zeros((h, w, 5), np.float32)
        pixels[..., :4] = (0.6, 0.5, 0.4, 1.0)
        pixels[..., 4] = 3.0
        out = oiio.ImageOutput.create(str(folder / f"cg.{frame}.exr"))
        out.open(str(folder / f"cg.{frame}.exr"), spec)
        out.write_image(pixels)
        out.close()
    return str(folder / "cg.####.exr"), (x, y, w, h)


def _open_in_window(qtbot, pattern: str, tmp_path):
    """A 900x640 workspace window showing the plate ``pattern`` (the caller keeps it alive)."""
    from focuspull.ui import FocusPullWindow

    win = FocusPullWindow()
    qtbot.addWidget(win)
    win.resize(900, 640)
    win.show()
    ws = win.workspace
    assert ws.model.open_pattern(pattern, output=str(tmp_path / "o" / "r.####.exr")), ws.status.text()
    return win


def test_display_window_is_framed_with_the_data_window_inside(qtbot, cg_plate, tmp_path):
    from focuspull.ui.viewer import DISPLAY_FILL

    pattern, (x, y, w, h) = cg_plate
    win = _open_in_window(qtbot, pattern, tmp_path)
    ws = win.workspace
    settle(qtbot, ws)
    view = ws.viewer.view
    assert ws.pipeline.last.windows.display == (-x, -y, 96, 64)  # the format, in data-window pixels
    grab = view.grab().toImage()

    def at(px: float, py: float) -> tuple:  # a point given in display-window pixels
        return view_pixel(grab, view, px - x, py - y)

    inside = at(x + w / 2, y + h / 2)
    assert inside[0] > 100 and inside != at(5, 5)  # the element's colour
    fill = (DISPLAY_FILL.red(), DISPLAY_FILL.green(), DISPLAY_FILL.blue())
    assert at(5, 5) == fill and at(90, 60) == fill  # inside the format, outside the data window
    # fit frames the whole format, not just the element: it spans the view's width or height
    top_left, bottom_right = view.image_to_widget(-x, -y), view.image_to_widget(96 - x, 64 - y)
    assert (bottom_right.x() - top_left.x() >= view.width() - 2) or (bottom_right.y() - top_left.y() >= view.height() - 2)
    outside = grab.pixelColor(int(top_left.x()) - 3, int(top_left.y()) + 10) if top_left.x() > 3 else \
        grab.pixelColor(int(top_left.x()) + 10, int(top_left.y()) - 3)
    assert (outside.red(), outside.green(), outside.blue()) == (38, 38, 38)  # the viewer's background


def test_ab_wipe_shows_the_plate_left_and_the_render_right(window, qtbot):
    ws = window.workspace
    ws.model.set_frame(FIRST)
    ws.model.focus_at(*WALL)
    ws.model.end_flash()
    ws.model.set_active_curve("strength")
    ws.keys.value_spin.setValue(20.0)
    ws.render_bar.frames_edit.setText(str(FIRST))
    ws.render_bar.frames_edit.setModified(True)
    with qtbot.waitSignal(ws.renderer.finished, timeout=120000):
        ws.start_render()
    assert ws.model.source == "render"
    ws.viewer.wipe_check.setChecked(True)
    assert ws.model.wipe == 0.5
    settle(qtbot, ws)
    view = ws.viewer.view
    grab = view.grab().toImage()
    plate = expected_display(ws.model.shot.input.path(FIRST))
    render = expected_display(ws.model.shot.output.path(FIRST))
    left, right = (20.5, 32.5), POST  # both blurred in the render; the post is right of the split at x = 48
    assert np.abs(np.subtract(plate[int(left[1]), int(left[0])], render[int(left[1]), int(left[0])])).max() > 6
    assert np.abs(np.subtract(view_pixel(grab, view, *left), plate[int(left[1]), int(left[0])])).max() <= 2
    assert np.abs(np.subtract(view_pixel(grab, view, *right), render[int(right[1]), int(right[0])])).max() <= 2
    assert ws.viewer.view.message.startswith("A/B: plate | render")
    # Ctrl-drag moves the split: the whole frame is now the plate
    QTest.mousePress(view, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.ControlModifier,
                     view.image_to_widget(95.0, 10.0).toPoint())
    QTest.mouseRelease(view, QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.KeyboardModifier.ControlModifier,
                       view.image_to_widget(95.0, 10.0).toPoint())
    assert ws.model.wipe == pytest.approx(95 / 96, abs=0.02)
    settle(qtbot, ws)
    grab = view.grab().toImage()
    assert np.abs(np.subtract(view_pixel(grab, view, *right), plate[int(right[1]), int(right[0])])).max() <= 2


def test_a_render_whose_data_window_grew_is_shown_over_the_plates(qtbot, cg_plate, tmp_path):
    pattern, (x, y, w, h) = cg_plate
    win = _open_in_window(qtbot, pattern, tmp_path)
    ws = win.workspace
    ws.model.set_key("focus", FIRST, 10.0)  # the element (z = 3) is out of focus: its edges spread
    ws.model.set_key("strength", FIRST, 20.0)  # by 20 * (1/3 - 1/10) = 4.7 px
    ws.render_bar.frames_edit.setText(str(FIRST))
    ws.render_bar.frames_edit.setModified(True)
    with qtbot.waitSignal(ws.renderer.finished, timeout=120000):
        ws.start_render()
    settle(qtbot, ws)
    assert ws.viewer.view.message.startswith("render")
    render = read_image(ws.model.shot.output.path(FIRST))
    dx, dy = render.spec.x - x, render.spec.y - y  # the render's window relative to the plate's
    assert dx < 0 and dy < 0 and render.spec.width > w  # it grew to hold the spread edges
    rgb = render.pixels[..., [render.channels.index(c) for c in "RGB"]]
    expected = (np.clip(ColorConfig.load().display_view(rgb), 0, 1) * 255 + 0.5).astype(int)
    grab = ws.viewer.view.grab().toImage()
    for px, py in ((0.5, h / 2), (2.5, 3.5), (w / 2, h / 2), (w - 1.5, h - 2.5)):  # near the edges and inside
        got = view_pixel(grab, ws.viewer.view, px, py)
        want = expected[int(py) - dy, int(px) - dx]
        assert np.abs(np.subtract(got, want)).max() <= 2, ((px, py), got, want, (dx, dy))


def test_depth_conditioning_switch_and_raw_vs_conditioned_depth_overlays(qtbot, tmp_path, write_exr):
    """A disparity ramp with one outlier pixel: the raw overlay shows it (the frame's nearest: white), the
    conditioned overlay shows the ramp there (its neighbours' median); the Edges switch edits the saved job."""
    import json

    from focuspull.ui import FocusPullWindow

    from outlier_depth import OUTLIER, outlier_plate

    pattern, depth, ramp = outlier_plate(tmp_path, write_exr)
    win = FocusPullWindow()
    qtbot.addWidget(win)
    win.resize(900, 640)
    win.show()
    qtbot.waitExposed(win)
    ws = win.workspace
    assert ws.model.open_pattern(pattern, depth=depth, depth_kind="disparity", output=str(tmp_path / "out" / "r.#.exr"))
    combo = ws.timeline.depth_step_combos["refine_edges"]
    assert combo.currentData() == "auto"
    combo.setCurrentIndex(combo.findData("off"))
    combo.activated.emit(combo.currentIndex())
    assert ws.model.job.depth.refine_edges == "off"
    stabilise = ws.timeline.depth_step_combos["stabilize"]
    stabilise.setCurrentIndex(stabilise.findData("on"))
    stabilise.activated.emit(stabilise.currentIndex())
    ws.timeline.edge_radius_spin.setValue(13)
    assert (ws.model.job.depth.stabilize, ws.model.job.depth.edge_radius_px) == ("on", 13)
    saved = ws.model.save_job(str(tmp_path / "shot.json"))
    written = json.loads(Path(saved).read_text())["depth"]
    assert (written["refine_edges"], written["stabilize"], written["edge_radius_px"]) == ("off", "on", 13)
    ws.model.undo()  # the radius comes back in the spin box
    assert ws.timeline.edge_radius_spin.value() == 9
    ws.model.undo()  # and stabilisation (which the workspace's frames would include) to auto
    assert stabilise.currentData() == "auto"

    x, y = OUTLIER
    ws.model.set_overlay("depth")
    settle(qtbot, ws)
    raw = view_pixel(ws.viewer.view.grab().toImage(), ws.viewer.view, x + 0.5, y + 0.5)
    ws.model.set_overlay("depth_conditioned")
    settle(qtbot, ws)
    conditioned = view_pixel(ws.viewer.view.grab().toImage(), ws.viewer.view, x + 0.5, y + 0.5)
    assert raw == (255, 255, 255)  # the outlier is the frame's nearest pixel
    grey = 255 * (ramp[y, x] - ramp.min()) / (ramp.max() - ramp.min())  # the ramp over its own range
    assert conditioned == pytest.approx((grey,) * 3, abs=2)


def test_after_a_render_the_workspace_shows_the_stabilised_depth_it_wrote(qtbot, tmp_path, write_exr):
    """Stabilisation reads the whole shot, so the workspace never makes it; once a render has written it,
    the workspace shows that depth (what the engine used), and the raw overlay still the supplied one."""
    pytest.importorskip("cv2")
    from focuspull.ui import FocusPullWindow

    from outlier_depth import OUTLIER, outlier_plate

    pattern, depth, ramp = outlier_plate(tmp_path, write_exr)
    win = FocusPullWindow()
    qtbot.addWidget(win)
    ws = win.workspace
    assert ws.model.open_pattern(pattern, depth=depth, depth_kind="disparity", output=str(tmp_path / "out" / "r.#.exr"))
    assert ws.model.set_depth_step("stabilize", "on")
    assert not ws.model.shot.depth_conditioned and not (tmp_path / "out").exists()  # not made by the edit
    shown = []  # the bar while the render made the depth, before its first frame
    ws.renderer.stage.connect(lambda stage, done, total: shown.append((stage, done, total, ws.render_bar.progress.text())))
    with qtbot.waitSignal(ws.renderer.finished, timeout=120000):
        ws.start_render()
    assert shown[-1] == ("stabilize", 2, 2, "stabilising depth 2 / 2")
    assert ws.model.shot.depth_conditioned
    data = ws.model.frame_data(1)
    stable = read_image(str(tmp_path / "out" / "r_depth_stable.1.exr"))
    np.testing.assert_array_equal(data.disparity, stable.pixels[..., 0])
    x, y = OUTLIER
    assert data.raw_disparity[y, x] == 1.0 and abs(data.disparity[y, x] - ramp[y, x]) < 0.02  # raw: the outlier
