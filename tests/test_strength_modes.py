"""Strength modes: K given (optionally in pixels of a reference width), K from a
physical lens, and K such that the largest blur in the frame is a given size."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import OpenImageIO as oiio
import pytest

from focuspull.cli import main
from focuspull.errors import JobError
from focuspull.focus import resolve_per_frame, strength_px
from focuspull.job import Job
from focuspull.lens import coc_radius_px, lens_k


def job(strength, focus=2.0, kind="depth"):
    return Job.from_dict({
        "schema": "focuspull.job/1", "input": {"pattern": "p.####.exr"}, "depth": {"kind": kind},
        "focus": focus, "strength": strength, "output": {"pattern": "o.####.exr"},
    })


# -- lens ----------------------------------------------------------------------------------
def test_lens_k_by_hand():
    """50 mm f/2 focused at 2 m on a 36 mm filmback 1920 px wide: a point at infinity
    blurs to a disc f^2 / (N (S - f)) = 2500 / (2 * 1950) mm across."""
    k = lens_k(focal_length_mm=50, f_stop=2, focus_distance=2.0, filmback_width_mm=36, width_px=1920)
    radius_at_infinity = k * abs(0.0 - 1 / 2.0)
    assert radius_at_infinity == pytest.approx(2500 / (2 * 1950) / 2 * 1920 / 36, rel=1e-12)  # 17.09 px


@pytest.mark.parametrize("unit_mm, focus", [(1000.0, 2.0), (10.0, 350.0), (1.0, 800.0), (25.4, 60.0)])
@pytest.mark.parametrize("distance_m", [0.4, 1.0, 2.5, 10.0, math.inf])
def test_lens_k_reproduces_the_thin_lens_at_every_distance(unit_mm, focus, distance_m):
    """r = K |1/z - 1/S| equals the blur from image distances (an independent derivation)."""
    lens = dict(focal_length_mm=85, f_stop=1.4, focus_distance=focus, filmback_width_mm=24.89, width_px=4096,
                scene_unit_mm=unit_mm)
    z = distance_m * 1000.0 / unit_mm
    k = lens_k(**lens)
    expected = coc_radius_px(z, **lens)
    assert k * abs((0.0 if math.isinf(z) else 1 / z) - 1 / focus) == pytest.approx(expected, rel=1e-9)


def test_lens_mode_gives_k_per_frame_from_the_focus_pull():
    spec = {"mode": "lens", "focal_length_mm": {"keys": [[1, 35.0, "linear"], [3, 75.0, "linear"]]}, "f_stop": 2.8,
            "filmback_width_mm": 36.0, "scene_unit_mm": 10.0}
    focus = {"keys": [[1, 100.0, "linear"], [3, 500.0, "linear"]]}  # centimetres
    result = resolve_per_frame(job(spec, focus), [1, 2, 3], width_px=2048)
    for frame, f_mm, s_cm in ((1, 35.0, 100.0), (2, 55.0, 300.0), (3, 75.0, 500.0)):
        expected = lens_k(focal_length_mm=f_mm, f_stop=2.8, focus_distance=s_cm, filmback_width_mm=36.0,
                          width_px=2048, scene_unit_mm=10.0)
        assert result.strength_px[frame - 1] == pytest.approx(expected)
    assert result.focus_disparity == pytest.approx((1 / 100, 1 / 300, 1 / 500))


def test_lens_needs_metric_depth_and_a_focus_beyond_the_focal_length():
    lens = {"mode": "lens", "focal_length_mm": 50.0, "f_stop": 2.0, "filmback_width_mm": 36.0}
    with pytest.raises(JobError, match="physical lens needs metric depth"):
        strength_px(job(lens, focus=0.5, kind="normalized_disparity"), [1], width_px=100, focus=[0.5])
    with pytest.raises(JobError, match=r"strength: frame 7: focus distance 0.04 scene units is not beyond"):
        resolve_per_frame(job(lens, focus=0.04), [7], width_px=100)


@pytest.mark.parametrize(
    "strength, message",
    [
        ({"mode": "lens", "f_stop": 2.0, "filmback_width_mm": 36.0}, "strength.focal_length_mm: required"),
        ({"mode": "lens", "focal_length_mm": 50.0, "f_stop": 0.0, "filmback_width_mm": 36.0}, "f_stop: 0 at frame"),
        ({"mode": "lens", "value": 3.0, "focal_length_mm": 50.0, "f_stop": 2.0, "filmback_width_mm": 36.0},
         "strength.value: not used"),
        ({"mode": "max_blur"}, "strength.value: required"),
        ({"value": 3.0, "f_stop": 2.0}, "strength.f_stop: only used in strength mode 'lens'"),
    ],
)
def test_strength_spec_validation(strength, message):
    with pytest.raises(JobError, match=message):
        job(strength)


# -- k and a reference width ---------------------------------------------------------------------
def test_k_in_pixels_of_a_reference_width_is_scaled_to_the_plate():
    spec = {"value": {"keys": [[1, 32.0, "linear"], [2, 16.0, "linear"]]}, "reference_width_px": 1024.0}
    assert strength_px(job(spec), [1, 2], width_px=1920) == pytest.approx([60.0, 30.0])
    assert strength_px(job({"value": 32.0}), [1], width_px=1920) == [32.0]


# -- max_blur -------------------------------------------------------------------------------------------
def test_max_blur_k_makes_the_largest_coc_the_given_radius():
    frames = []
    for number, (low, high) in zip((1, 2), ((0.1, 0.9), (0.0, 0.4))):
        d = np.linspace(low, high, 32, dtype=np.float32)[None, :].repeat(8, 0)
        frames.append(SimpleNamespace(frame=number, rgba=np.ones((8, 32, 3), np.float32), disparity=d,
                                      image=SimpleNamespace(spec=oiio.ImageSpec(32, 8, 3, oiio.FLOAT))))
    spec = {"mode": "max_blur", "value": 12.0}
    result = resolve_per_frame(job(spec, focus=0.3, kind="disparity"), [1, 2], width_px=32,
                               read=lambda numbers: iter(frames))
    # frame 1: the far end is 0.6 from focus; frame 2: 0.3 (both ends); K * reach = 12 px.
    assert result.strength_px == pytest.approx((12.0 / 0.6, 12.0 / 0.3), rel=1e-6)


def test_max_blur_through_the_cli_measured_on_the_coc_channel(tmp_path, write_exr):
    W, H = 64, 40
    folder = tmp_path / "plate"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for f, far in ((1001, 8.0), (1002, 20.0)):
        z = np.where(np.arange(W)[None, :] < W // 2, 1.0, far) * np.ones((H, 1))
        px = np.concatenate([rng.uniform(0, 1, (H, W, 3)), np.ones((H, W, 1)), z[..., None]], -1)
        write_exr(folder / f"p.{f}.exr", px, ("R", "G", "B", "A", "Z"), formats="float")
    out = tmp_path / "o" / "r.####.exr"
    assert main(["render", str(folder / "p.####.exr"), "-o", str(out), "--focus", "1.0", "--max-blur", "6",
                 "--aux", "coc.radius", "--pixel-type", "float", "--progress", "none"]) == 0
    for f in (1001, 1002):
        buf = oiio.ImageBuf(str(tmp_path / "o" / f"r.{f}.exr"))
        coc = buf.get_pixels(oiio.FLOAT)[..., list(buf.spec().channelnames).index("coc.radius")]
        assert np.abs(coc).max() == pytest.approx(6.0, rel=1e-4)
