"""The workspace's pieces that need no window: key edits, sampling, overlays,
the preview's reduced resolution, the frame cache, entry points."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported

import subprocess
import sys
import types

import numpy as np
import pytest

pytest.importorskip("PySide6")

from focuspull.curves import Curve, Key  # noqa: E402
from focuspull.errors import CurveError, FocusPullError, JobError  # noqa: E402
from focuspull.job import Job  # noqa: E402
from focuspull.ui import keys as keyops  # noqa: E402

FRAMES = (1001, 1002, 1003, 1004)


# -- key edits ---------------------------------------------------------------------
def test_first_key_replaces_an_untouched_constant_then_keys_add_up():
    constant = Curve.constant(5.0)  # a plain number in a job: one key at frame 0
    one = keyops.set_key(constant, 1002, 2.0, frames=FRAMES)
    assert one.keys == (Key(1002.0, 2.0, keyops.DEFAULT_INTERPOLATION),)
    two = keyops.set_key(one, 1004, 20.0, frames=FRAMES)
    assert [(k.frame, k.value) for k in two.keys] == [(1002, 2.0), (1004, 20.0)]
    assert two(1003) == pytest.approx(11.0)  # smooth with flat ends is symmetric at the midpoint


def test_replacing_a_key_keeps_its_interpolation_unless_given():
    curve = Curve((Key(1001, 1.0, "constant"), Key(1004, 4.0, "linear")))
    assert keyops.set_key(curve, 1001, 2.0, frames=FRAMES).keys[0] == Key(1001, 2.0, "constant")
    assert keyops.set_key(curve, 1001, 2.0, "linear", frames=FRAMES).keys[0] == Key(1001, 2.0, "linear")
    # a single key inside the shot is a real key: a new one is added, not swapped
    single = Curve((Key(1001, 1.0, "smooth"),))
    assert len(keyops.set_key(single, 1003, 3.0, frames=FRAMES).keys) == 2


def test_move_delete_and_interpolation_edits():
    curve = Curve((Key(1001, 1.0, "smooth"), Key(1003, 3.0, "smooth")))
    moved = keyops.move_key(curve, 1003, 1004, 5.0)
    assert moved.keys[1] == Key(1004, 5.0, "smooth")
    with pytest.raises(CurveError, match="already has a key"):
        keyops.move_key(curve, 1003, 1001, 1.0)
    assert keyops.remove_key(curve, 1001).keys == (Key(1003, 3.0, "smooth"),)
    with pytest.raises(CurveError, match="at least one key"):
        keyops.remove_key(Curve((Key(1001, 1.0),)), 1001)
    held = keyops.set_interpolation(curve, 1001, "constant")
    assert held(1002.9) == 1.0
    with pytest.raises(CurveError, match="no key"):
        keyops.set_interpolation(curve, 1002, "linear")


# -- sampling ---------------------------------------------------------------------------
def _job(kind: str) -> Job:
    return Job.from_dict({"schema": "focuspull.job/1", "input": {"pattern": "p.####.exr"}, "depth": {"kind": kind},
                          "focus": 1.0, "strength": 1.0, "output": {"pattern": "o.####.exr"}})


def test_focus_value_is_a_distance_for_metric_depth_and_a_disparity_otherwise():
    from focuspull.ui.sampling import focus_value

    assert focus_value(_job("depth"), 0.25) == 4.0
    assert focus_value(_job("inverse_depth"), 0.25) == 4.0
    assert focus_value(_job("disparity"), 0.25) == 0.25
    with pytest.raises(JobError, match="infinitely far"):
        focus_value(_job("depth"), 0.0)


def test_pick_is_the_core_point_sampler_and_robust_to_a_few_outliers():
    from focuspull.pipeline import FrameData
    from focuspull.ui.sampling import pick_disparity

    disparity = np.full((32, 32), 0.25, np.float32)
    disparity[10, 10] = 9.0  # a firefly in the depth pass
    data = FrameData(1001, None, np.ones((32, 32, 4), np.float32), disparity)
    assert pick_disparity(data, 10.5, 10.5, 3) == pytest.approx(0.25)
    with pytest.raises(FocusPullError, match="outside"):
        pick_disparity(data, 40.0, 3.0, 3)


@pytest.mark.parametrize("origin", ["top_left", "bottom_left"])
def test_data_to_display_inverts_the_core_mapping(origin):
    from focuspull.focus import display_to_data
    from focuspull.ui.sampling import data_to_display

    spec = types.SimpleNamespace(full_x=0, full_y=0, x=20, y=10, full_height=200, height=120)
    x, y = data_to_display(spec, 33.5, 17.25, origin)
    assert display_to_data(spec, x, y, origin) == pytest.approx((33.5, 17.25))


# -- overlays ------------------------------------------------------------------------------
def test_in_focus_matte_fades_between_one_and_two_thresholds():
    from focuspull.ui.overlays import in_focus_matte

    coc = np.array([0.0, -1.0, 1.5, -2.0, 5.0], np.float32)
    np.testing.assert_allclose(in_focus_matte(coc, 1.0), [1.0, 1.0, 0.5, 0.0, 0.0])


def test_exposure_is_a_gain_in_scene_linear_before_the_view():
    from focuspull.color import ColorConfig
    from focuspull.ui.display import display_rgb

    color = ColorConfig.load()
    rgb = np.array([[[0.05, 0.1, 0.2], [0.4, 0.3, 0.2]]], np.float32)
    np.testing.assert_allclose(display_rgb(rgb, color, exposure_stops=1.0),
                               np.clip(color.display_view(rgb * 2.0), 0, 1), atol=1e-6)


# -- preview at reduced resolution ----------------------------------------------------------------
def test_reduced_preview_box_filters_the_plate_and_scales_k():
    import torch

    from focuspull.engines.base import EngineOutput
    from focuspull.params import FrameParams
    from focuspull.pipeline import FrameData, Shot
    from focuspull.ui.coarse import downsample
    from focuspull.ui.preview import render_preview

    rgba = np.arange(4 * 6 * 4, dtype=np.float32).reshape(4, 6, 4)
    disparity = np.arange(24, dtype=np.float32).reshape(4, 6)
    data = FrameData(1001, None, rgba, disparity)
    small = downsample(data, 2)
    np.testing.assert_allclose(small.rgba[0, 0], rgba[:2, :2].mean(axis=(0, 1)))
    np.testing.assert_array_equal(small.disparity, disparity[1::2, 1::2])  # point-sampled: depth edges stay edges

    seen = {}

    class Recorder:
        device = torch.device("cpu")

        def render(self, batch):
            seen["batch"] = batch
            return EngineOutput(rgba=batch.rgba * 2)

    shot = Shot(job=None, input=None, output=None, depth=None, frames=(1001,), color=None, input_colorspace="",
                output_colorspace="", engine_options=None, params=FrameParams.of((1001,), 0.3, 16.0))
    out = render_preview(Recorder(), shot, data, scale=2)
    assert out.shape == (2, 3, 4)
    np.testing.assert_allclose(out, small.rgba * 2)
    assert float(seen["batch"].params.strength_px[0]) == 8.0  # K is in pixels of the plate it blurs
    assert float(seen["batch"].params.focus_disparity[0]) == pytest.approx(0.3)
    assert shot.params.strength_px[0] == 16.0  # the shot's own values are untouched


def test_coarse_defocus_keeps_focus_and_energy_and_blurs_by_the_coc():
    from focuspull.ui.coarse import box_blur, coarse_defocus

    rgba = np.zeros((41, 41, 4), np.float32)
    rgba[20, 20] = 100.0  # a point light
    flat = np.full((41, 41), 0.0, np.float32)
    np.testing.assert_array_equal(coarse_defocus(rgba, flat), rgba)  # in focus: the plate itself
    out = coarse_defocus(rgba, np.full((41, 41), 6.0, np.float32))
    assert out[..., 0].sum() == pytest.approx(100.0, rel=1e-4)  # light is spread, not lost
    side = int(round(6.0 * np.sqrt(np.pi) / 2 - 0.5))  # a square of the disc's area
    spread = np.argwhere(out[..., 0] > 1e-6)
    assert spread.min(axis=0).tolist() == [20 - side, 20 - side] and spread.max(axis=0).tolist() == [20 + side, 20 + side]
    # between two rungs of the ladder the result blends them
    mid = coarse_defocus(rgba, np.full((41, 41), 1.3, np.float32))
    assert 0 < mid[20, 20, 0] < 100.0 and mid[..., 0].sum() == pytest.approx(100.0, rel=1e-4)
    np.testing.assert_allclose(box_blur(np.ones((5, 7, 3), np.float32), 2), 1.0, rtol=1e-6)  # edges clamped


def test_coarse_preview_is_nearer_the_engine_than_the_plate_is():
    """The fast path is an approximation of the physical engine: closer to its render than no blur at all."""
    import torch

    from focuspull.demo import DemoShot, make_frame
    from focuspull.engines.physical import PhysicalEngine, PhysicalOptions
    from focuspull.aperture import ApertureSpec
    from focuspull.pipeline import FrameData, Shot
    from focuspull.ui.coarse import coarse_defocus
    from focuspull.coc import signed_coc_px
    from focuspull.params import FrameParams
    from focuspull.ui.preview import render_preview

    rgba, z = make_frame(DemoShot(width_px=160, height_px=96), 1001)
    data = FrameData(1001, None, rgba.astype(np.float32), (1.0 / z).astype(np.float32))
    shot = Shot(job=None, input=None, output=None, depth=None, frames=(1001,), color=None, input_colorspace="",
                output_colorspace="", engine_options=None, params=FrameParams.of((1001,), 0.05, 12.0))
    engine = PhysicalEngine(PhysicalOptions(), ApertureSpec(), torch.device("cpu"))
    reference = render_preview(engine, shot, data, 1)
    coarse = coarse_defocus(data.rgba, signed_coc_px(data.disparity, 0.05, 12.0))
    err_coarse = np.abs(coarse[..., :3] - reference[..., :3]).mean()
    err_plate = np.abs(data.rgba[..., :3] - reference[..., :3]).mean()
    # measured: about 0.53 of the plate's error (square kernels, no occlusion, no highlight boost)
    assert err_coarse < 0.7 * err_plate, (err_coarse, err_plate)


# -- session -----------------------------------------------------------------------------------
def test_default_output_is_a_sibling_folder():
    from focuspull.ui.session import default_output

    assert default_output("/shots/a/plate/plate.####.exr") == "/shots/a/plate_refocus/plate_refocus.####.exr"
    assert default_output("/shots/a/plate/plate.%04d.exr") == "/shots/a/plate_refocus/plate_refocus.####.exr"


def test_new_job_focuses_the_centre_and_blurs_two_percent_of_the_width(tmp_path):
    from focuspull.demo import DemoShot, write_plate
    from focuspull.pipeline import prepare
    from focuspull.ui.session import DEFAULT_MAX_COC_FRACTION, load_frame_data, new_job

    shot = DemoShot(width_px=96, height_px=64, num_frames=2)
    pattern = write_plate(shot, tmp_path / "plate")
    job = new_job(pattern, output=str(tmp_path / "out" / "r.####.exr"))
    prepared = prepare(job)
    data = load_frame_data(prepared, prepared.frames[0])
    d_f, k = prepared.params.focus_disparity[0], prepared.params.strength_px[0]
    assert job.focus_mode == "distance"
    assert np.abs(k * (data.disparity - d_f)).max() == pytest.approx(DEFAULT_MAX_COC_FRACTION * 96, rel=1e-3)
    h, w = data.disparity.shape
    assert d_f == pytest.approx(float(np.median(data.disparity[h // 2 - 3 : h // 2 + 4, w // 2 - 3 : w // 2 + 4])),
                                rel=0.05)


def test_frame_cache_evicts_least_recently_used_within_its_budget():
    from focuspull.pipeline import FrameData
    from focuspull.ui.session import FrameCache, frame_bytes

    def frame(n):
        image = types.SimpleNamespace(pixels=np.zeros((4, 4, 5), np.float32))
        return FrameData(n, image, np.zeros((4, 4, 4), np.float32), np.zeros((4, 4), np.float32))

    size = frame_bytes(frame(0))
    cache = FrameCache(budget_bytes=3 * size)
    for n in (1, 2, 3):
        cache.put(frame(n))
    assert cache.get(1) is not None  # 1 is now the most recently used
    assert cache.put(frame(4)) == [2]
    assert cache.frames() == {1, 3, 4} and cache.nbytes == 3 * size


def test_pattern_from_a_picked_file():
    from focuspull.ui.session import pattern_from_file

    assert pattern_from_file("/a/plate.1001.exr") == "/a/plate.####.exr"
    assert pattern_from_file("/a/plate_v2.0012.exr") == "/a/plate_v2.####.exr"
    assert pattern_from_file("/a/still.exr") == "/a/still.exr"


# -- entry points -------------------------------------------------------------------------------
def test_import_without_pyside6_names_the_extra():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'PySide6' or name.startswith('PySide6.'):\n"
        "            raise ImportError('No module named ' + repr(name))\n"
        "sys.meta_path.insert(0, Block())\n"
        "import focuspull.ui.model\n"  # the view-model needs no Qt
        "try:\n"
        "    from focuspull.ui import FocusPullWidget\n"
        "except ImportError as err:\n"
        "    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pip install focuspull[ui]" in out.stdout, out.stderr


def test_register_nuke_panel_registers_the_widget_class_path(monkeypatch):
    from focuspull.ui import register_nuke_panel
    from focuspull.ui.widget import FocusPullWidget

    calls = []
    panels = types.ModuleType("nukescripts.panels")
    panels.registerWidgetAsPanel = lambda *args: calls.append(args) or "panel"
    nukescripts = types.ModuleType("nukescripts")
    nukescripts.panels = panels
    monkeypatch.setitem(sys.modules, "nukescripts", nukescripts)
    monkeypatch.setitem(sys.modules, "nukescripts.panels", panels)
    main = types.ModuleType("__main__")
    monkeypatch.setitem(sys.modules, "__main__", main)

    assert register_nuke_panel() == "panel"
    [(path, name, panel_id, create)] = calls
    assert (name, create) == ("FocusPull", False) and panel_id
    # Nuke evaluates the class path in its script namespace
    assert eval(path, vars(main)) is FocusPullWidget


def test_register_nuke_panel_outside_nuke_says_so(monkeypatch):
    from focuspull.ui import register_nuke_panel

    monkeypatch.setitem(sys.modules, "nukescripts", None)
    with pytest.raises(ImportError, match="inside Nuke"):
        register_nuke_panel()


def test_cli_ui_command_is_registered():
    from focuspull.cli import build_parser

    args = build_parser().parse_args(["ui", "plate.####.exr", "--screenshot", "a.png", "--frame", "1001"])
    assert (args.pattern, args.screenshot, args.frame, args.view) == ("plate.####.exr", "a.png", 1001, "plate")


def test_cli_ui_refuses_a_pattern_and_a_job():
    from focuspull.cli import main

    assert main(["ui", "plate.####.exr", "--job", "job.json", "--screenshot", "x.png"]) == 2


def test_display_step_reduces_only_below_half_size():
    from focuspull.ui.display import display_step, resize_nearest

    assert [display_step(s) for s in (4.0, 1.0, 0.5, 0.3, 0.2, 0.1)] == [1, 1, 1, 3, 5, 10]
    image = np.arange(6 * 8).reshape(6, 8)
    np.testing.assert_array_equal(resize_nearest(image, 3, 4), image[::2, ::2])
    np.testing.assert_array_equal(resize_nearest(image[::2, ::2], 6, 8), np.repeat(np.repeat(image[::2, ::2], 2, 0), 2, 1))
