"""Focus modes: a screen point (edge-aware, in display-window pixels, tracked by
optical flow), a subject matte (mean/median), temporal smoothing; each with a
known answer."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import OpenImageIO as oiio
import pytest

from focuspull.cli import main
from focuspull.errors import ImageDataError, JobError
from focuspull.focus import display_to_data, focus_disparity, pick_point, resolve_per_frame, smooth
from focuspull.job import Job

W, H = 96, 64
NEAR, FAR = 0.9, 0.1


def job(focus, kind="disparity", strength=10):
    return Job.from_dict({
        "schema": "focuspull.job/1", "input": {"pattern": "p.####.exr"}, "depth": {"kind": kind},
        "focus": focus, "strength": strength, "output": {"pattern": "o.####.exr"},
    })


def texture(seed, shape=(H, W), low=0.05, high=1.0):
    """Smooth random texture (blobs of ~6 px), so optical flow has something to follow."""
    import cv2

    rng = np.random.default_rng(seed)
    small = rng.uniform(low, high, (shape[0] // 6 + 2, shape[1] // 6 + 2)).astype(np.float32)
    return cv2.resize(small, (shape[1] + 12, shape[0] + 12), interpolation=cv2.INTER_CUBIC)[6:-6, 6:-6].clip(low, high)


def frame(number, rgb, disparity, spec=None):
    spec = spec or oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, oiio.FLOAT)
    return SimpleNamespace(frame=number, rgba=rgb.astype(np.float32), disparity=disparity.astype(np.float32),
                           image=SimpleNamespace(spec=spec))


# -- point ---------------------------------------------------------------------------------
def test_a_click_on_a_thin_subject_picks_the_subject_not_the_background():
    """A 3-px pole in front of a background that fills 12 of the 15 window columns."""
    disparity = np.full((H, W), FAR, np.float32)
    disparity[:, 30:33] = NEAR
    rgb = np.stack([texture(1) * 0.2, texture(2) * 0.3, texture(3) + 0.5], -1)  # blue-ish background
    rgb[:, 30:33] = np.stack([0.9 + 0.05 * texture(4)[:, 30:33], np.full((H, 3), 0.1), np.full((H, 3), 0.08)], -1)
    window = disparity[20 - 7: 20 + 8, 31 - 7: 31 + 8]
    assert np.median(window) == pytest.approx(FAR)  # a plain median would focus behind the pole
    assert pick_point(disparity, rgb, 31.5, 20.5, window_px=7) == pytest.approx(NEAR)


def test_point_in_display_window_pixels_from_either_origin():
    spec = oiio.ImageSpec(W, H, 3, oiio.FLOAT)
    spec.x, spec.y = 4, 2  # data window inside a larger display window
    spec.full_x, spec.full_y, spec.full_width, spec.full_height = 0, 0, W + 8, H + 4
    assert display_to_data(spec, 14.5, 9.5, "top_left") == (10.5, 7.5)
    # Nuke counts y up from the bottom of the format: 68 - 9.5 = 58.5 is the same pixel.
    assert display_to_data(spec, 14.5, 58.5, "bottom_left") == (10.5, 7.5)


def test_keyed_point_through_the_cli_with_a_data_window_and_nuke_origin(tmp_path, write_exr, capsys):
    z = np.full((H, W), 10.0)
    z[5:12, 8:14] = 2.0  # a near block around data pixel (10, 7)
    rgb = np.stack([texture(5), texture(6), texture(7)], -1)
    px = np.concatenate([rgb, np.ones((H, W, 1)), z[..., None]], -1)
    folder = tmp_path / "plate"
    folder.mkdir()
    write_exr(folder / "p.1001.exr", px, ("R", "G", "B", "A", "Z"), formats="float", data_origin=(4, 2),
              display_window=(0, 0, W + 8, H + 4))
    out = tmp_path / "o" / "r.####.exr"
    code = main(["render", str(folder / "p.####.exr"), "-o", str(out), "--focus-point", "14.5,58.5",
                 "--focus-origin", "bottom_left", "--strength", "3", "--progress", "none"])
    assert code == 0
    spec = oiio.ImageBuf(str(tmp_path / "o" / "r.1001.exr")).spec()
    assert spec.get_float_attribute("focuspull/focus_disparity") == pytest.approx(1 / 2.0)
    # Off the image: an error that names the frame and the point.
    code = main(["render", str(folder / "p.####.exr"), "-o", str(out), "--focus-point", "500,10",
                 "--strength", "3", "--progress", "jsonl"])
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code != 0 and "frame 1001" in event["message"] and "(500, 10)" in event["message"]


def moving_square(steps, speed_px=4, size=14, x0=20, y0=24):
    """A near textured square moving right over a static far textured background."""
    background = np.stack([texture(11), texture(12), texture(13)], -1)
    square = np.stack([texture(21, (size, size)), texture(22, (size, size)) * 0.3, texture(23, (size, size)) * 0.3], -1)
    frames = []
    for i in range(steps):
        x = x0 + i * speed_px
        rgb = background.copy()
        rgb[y0:y0 + size, x:x + size] = square + 0.4
        disparity = np.full((H, W), FAR)
        disparity[y0:y0 + size, x:x + size] = NEAR
        frames.append(frame(1001 + i, rgb, disparity))
    return frames


def test_a_tracked_point_follows_the_subject_from_one_key():
    data = moving_square(6)
    numbers = [f.frame for f in data]
    centre = {"mode": "point", "x": 27.0, "y": 31.0, "window_px": 2}

    def read(frames):
        return (f for f in data if f.frame in frames)

    fixed = resolve_per_frame(job(centre), numbers, width_px=W, read=read).focus_disparity
    tracked = resolve_per_frame(job({**centre, "track": True}), numbers, width_px=W, read=read).focus_disparity
    assert fixed[0] == pytest.approx(NEAR) and fixed[-1] == pytest.approx(FAR)  # the subject moved 20 px away
    np.testing.assert_allclose(tracked, NEAR)


def test_a_key_re_anchors_the_tracked_point():
    data = moving_square(4, speed_px=0)  # the square does not move ...
    # ... but a key at 1003 puts the point on the background: from there on, focus is far.
    spec = {"mode": "point", "x": {"keys": [[1001, 27.0, "constant"], [1003, 80.0, "constant"]]}, "y": 31.0,
            "track": True, "window_px": 2}
    focus = resolve_per_frame(job(spec), [1001, 1002, 1003, 1004], width_px=W,
                              read=lambda frames: iter(data)).focus_disparity
    np.testing.assert_allclose(focus, [NEAR, NEAR, FAR, FAR])


# -- matte -------------------------------------------------------------------------------------
@pytest.fixture
def matte_shot(tmp_path, write_exr):
    """Frame 1001: inside the matte the disparity is 0.2 on 3/4 of it and 1.0 on 1/4."""
    folder = tmp_path / "matte"
    folder.mkdir()
    disparity = np.full((H, W), 0.05, np.float32)
    disparity[8:24, 8:24] = 0.2
    disparity[8:12, 8:24] = 1.0
    matte = np.zeros((H, W), np.float32)
    matte[8:24, 8:24] = 1.0
    matte[30:40, 30:40] = 0.4  # soft spill below the 0.5 threshold does not count
    for f in (1001, 1002, 1003):
        write_exr(folder / f"m.{f}.exr", matte if f != 1002 else np.zeros_like(matte), ("Y",), formats="float")
    data = [frame(f, np.full((H, W, 3), 0.5), disparity) for f in (1001, 1002, 1003)]
    return folder / "m.####.exr", data


@pytest.mark.parametrize("statistic, expected", [("mean", 0.75 * 0.2 + 0.25 * 1.0), ("median", 0.2)])
def test_matte_mean_and_median(matte_shot, statistic, expected):
    pattern, data = matte_shot
    spec = {"mode": "matte", "matte": str(pattern), "statistic": statistic}
    focus = resolve_per_frame(job(spec), [1001], width_px=W, read=lambda frames: iter(data[:1])).focus_disparity
    assert focus == pytest.approx((expected,))


def test_an_empty_matte_frame_takes_its_neighbours_focus(matte_shot, caplog):
    pattern, data = matte_shot
    spec = {"mode": "matte", "matte": str(pattern), "statistic": "median"}
    focus = resolve_per_frame(job(spec), [1001, 1002, 1003], width_px=W, read=lambda frames: iter(data)).focus_disparity
    assert focus == pytest.approx((0.2, 0.2, 0.2))
    assert "empty on frame(s) 1002" in caplog.text


def test_a_matte_empty_everywhere_and_missing_matte_frames_are_errors(matte_shot, tmp_path, write_exr):
    pattern, data = matte_shot
    empty = tmp_path / "empty"
    empty.mkdir()
    write_exr(empty / "m.1001.exr", np.zeros((H, W)), ("Y",), formats="float")
    spec = {"mode": "matte", "matte": str(empty / "m.####.exr")}
    with pytest.raises(ImageDataError, match="empty .* on every frame"):
        resolve_per_frame(job(spec), [1001], width_px=W, read=lambda frames: iter(data[:1]))
    spec = {"mode": "matte", "matte": str(empty / "m.####.exr")}
    from focuspull.errors import MissingFramesError

    with pytest.raises(MissingFramesError, match=r"focus matte .*m\.####\.exr: 1 frame\(s\) missing: 1002"):
        resolve_per_frame(job(spec), [1001, 1002], width_px=W, read=lambda frames: iter(data[:2]))


def test_matte_mode_through_the_cli_sets_the_focus_of_each_frame(tmp_path, write_exr):
    plate, depth, matte = (tmp_path / n for n in ("plate", "depth", "matte"))
    for folder in (plate, depth, matte):
        folder.mkdir()
    expected = {}
    for i, f in enumerate((1001, 1002)):
        write_exr(plate / f"p.{f}.exr", np.stack([texture(f), texture(f + 1), texture(f + 2)], -1), ("R", "G", "B"),
                  formats="float")
        d = np.linspace(0.0, 1.0, W, dtype=np.float32)[None, :].repeat(H, 0)
        write_exr(depth / f"d.{f}.exr", d, ("Y",), formats="float")
        m = np.zeros((H, W), np.float32)
        m[10:30, 20 + 30 * i: 40 + 30 * i] = 1.0  # the subject moves right: focus moves back... nearer
        write_exr(matte / f"m.{f}.exr", m, ("Y",), formats="float")
        expected[f] = float(d[m >= 0.5].mean())
    out = tmp_path / "o" / "r.####.exr"
    assert main(["render", str(plate / "p.####.exr"), "-o", str(out), "--depth", str(depth / "d.####.exr"),
                 "--depth-kind", "normalized_disparity", "--focus-matte", str(matte / "m.####.exr"),
                 "--focus-statistic", "mean", "--strength", "5", "--progress", "none",
                 "--depth-edges", "off"]) == 0  # the matte statistic of the depth as supplied (no smoothing)
    for f, value in expected.items():
        spec = oiio.ImageBuf(str(tmp_path / "o" / f"r.{f}.exr")).spec()
        assert spec.get_float_attribute("focuspull/focus_disparity") == pytest.approx(value, abs=1e-6)
    assert expected[1002] > expected[1001] + 0.2


# -- smoothing and curve modes -------------------------------------------------------------------
def test_smoothing_keeps_a_constant_and_damps_jitter():
    assert smooth([0.4] * 9, 2.0) == pytest.approx([0.4] * 9)
    jitter = [0.5 + (0.1 if i % 2 else -0.1) for i in range(30)]
    smoothed = smooth(jitter, 2.0)
    assert max(abs(v - 0.5) for v in smoothed[6:-6]) < 1e-3
    # A linear ramp stays a ramp inside the shot (the symmetric kernel has no lag).
    ramp = smooth([0.1 * i for i in range(20)], 1.5)
    assert ramp[10] == pytest.approx(1.0, abs=1e-9)


def test_smoothing_applies_to_keyed_focus_too():
    spec = {"mode": "disparity", "value": {"frames": list(range(1, 21)), "values": [0.2, 0.6] * 10},
            "smooth_frames": 3.0}
    focus = resolve_per_frame(job(spec), list(range(1, 21)), width_px=W).focus_disparity
    assert max(abs(v - 0.4) for v in focus[8:12]) < 1e-3


def test_a_focus_distance_needs_metric_depth():
    with pytest.raises(JobError, match="needs metric depth"):
        focus_disparity(job({"mode": "distance", "value": 2.0}, kind="disparity"), [1])
    assert focus_disparity(job({"mode": "distance", "value": 2.0}, kind="inverse_depth"), [1]) == [0.5]


@pytest.mark.parametrize(
    "focus, message",
    [
        ({"mode": "point", "x": 3.0}, "focus.y: required"),
        ({"mode": "matte"}, "focus.matte: required"),
        ({"mode": "matte", "matte": "m.####.png", "track": True}, "focus.track: only used in focus mode 'point'"),
        ({"mode": "point", "x": 1.0, "y": 1.0, "value": 2.0}, "focus.value: not used in focus mode 'point'"),
    ],
)
def test_focus_spec_validation(focus, message):
    with pytest.raises(JobError, match=message):
        job(focus)
