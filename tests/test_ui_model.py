"""The workspace's view-model without Qt: the job, the shot, the frame, keys and undo.

Each test states its known answer on a tiny procedural demo plate (the near
post at z = 2, the far wall at z = 20); none of them needs PySide6.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from focuspull.demo import DemoShot, write_plate
from focuspull.ui import model as m
from focuspull.ui.undo import UndoStack

from outlier_depth import OUTLIER, outlier_plate

FIRST = 1001
SHOT = DemoShot(width_px=96, height_px=64, first_frame=FIRST, num_frames=4)
POST = (74.5, 32.5)  # the near post, z = 2
WALL = (6.5, 6.5)  # the far wall, z = 20


@pytest.fixture(scope="module")
def plate(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_plate(SHOT, tmp_path_factory.mktemp("demo") / "plate")


@pytest.fixture
def model(plate, tmp_path) -> m.WorkspaceModel:
    model = m.WorkspaceModel()
    assert model.open_pattern(plate, output=str(tmp_path / "out" / "r.####.exr"))
    return model


def test_the_view_model_imports_no_qt():
    code = "import sys, focuspull.ui.model, focuspull.ui.coarse; print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_undo_stack_undoes_redoes_merges_and_knows_the_saved_state():
    stack: UndoStack[int] = UndoStack()
    stack.push(0, 1, "a")
    stack.push(1, 2, "b", merge_key="spin")
    stack.push(2, 3, "b", merge_key="spin")  # a spin box stepped twice: one step
    assert len(stack) == 2 and stack.undo_text == "b"
    assert stack.undo() == 1 and stack.undo() == 0 and stack.undo() is None
    assert stack.redo() == 1
    stack.set_clean()
    stack.push(1, 5, "c", merge_key="spin")
    stack.push(5, 6, "c", merge_key="spin")
    assert not stack.is_clean and stack.undo() == 1 and stack.is_clean
    assert not stack.can_redo or stack.redo() == 6


def test_two_clicks_on_two_frames_make_a_pull_and_undo_restores_job_and_shot(model):
    seen: list[frozenset] = []
    model.changed.connect(seen.append)
    job0, shot0 = model.job, model.shot
    model.set_frame(FIRST)
    model.focus_at(*POST)
    assert m.FLASH in seen[-1] and model.flash == m.FocusFlash(FIRST, model.revision)
    model.set_frame(FIRST + 3)
    assert seen[-1] == frozenset({m.FRAME})
    model.focus_at(*WALL)
    keys = model.job.focus.value.keys
    assert [k.frame for k in keys] == [FIRST, FIRST + 3]
    assert [k.value for k in keys] == pytest.approx([SHOT.near_distance, SHOT.far_distance], rel=1e-4)
    assert model.shot.params.focus_disparity[0] == pytest.approx(1 / SHOT.near_distance, rel=1e-4)
    model.undo()
    model.undo()
    assert model.job == job0 and model.shot.params == shot0.params
    model.redo()
    assert [k.frame for k in model.job.focus.value.keys] == [FIRST]


def test_value_box_steps_merge_into_one_undo_step_and_bad_values_are_refused(model):
    model.set_active_curve("strength")
    model.set_frame(FIRST + 1)
    for k in (3.0, 4.0, 5.0):
        assert model.set_value(k)
    assert len(model.undo_stack) == 1 and model.shot.params.strength_px[1] == pytest.approx(5.0)
    messages: list[tuple[str, bool]] = []
    model.message.connect(lambda text, error: messages.append((text, error)))
    model.set_active_curve("focus")
    job = model.job
    assert not model.set_value(0.0)  # a focus distance of 0 cannot render
    assert model.job == job and len(model.undo_stack) == 1
    assert messages[-1][1] and "must be > 0" in messages[-1][0]


def test_hover_readout_follows_a_new_key_at_once(model):
    model.set_frame(FIRST)
    model.set_hover(POST)
    assert model.pixel_readout() == ""  # the hover never reads a frame; the loader puts it in memory
    model.frame_data()
    before = model.pixel_readout()
    assert "z 2" in before and "CoC +0.0px" not in before  # the default focus is elsewhere
    model.focus_at(*POST)  # no mouse move after the click
    assert model.pixel_readout().endswith("CoC +0.0px")
    model.set_hover(WALL)
    law = model.coc_law()
    expected = law["strength_px"] * (1 / SHOT.far_distance - law["focus_disparity"])
    assert model.pixel_readout().endswith(f"CoC {expected:+.1f}px")


def test_typed_frames_and_output_are_validated_edits(model, tmp_path):
    assert model.set_frames(f"{FIRST}-{FIRST + 1}")
    assert model.job.input.frames == f"{FIRST}-{FIRST + 1}" and model.frames == (FIRST, FIRST + 1)
    assert not model.set_frames("10x-3")
    assert model.job.input.frames == f"{FIRST}-{FIRST + 1}"
    assert not model.set_output(model.job.input.pattern)  # never over the plate
    assert model.set_output(str(tmp_path / "b" / "b.####.exr"))
    model.undo()
    assert model.job.output.pattern == str(tmp_path / "out" / "r.####.exr")


def test_structural_edit_installs_a_new_shot_and_empties_the_cache(model):
    model.frame_data(FIRST)
    assert FIRST in model.cache
    seen: list[frozenset] = []
    model.changed.connect(seen.append)
    assert model.set_depth_kind("disparity")
    assert m.SHOT in seen[-1] and FIRST not in model.cache
    assert model.job.focus_mode == "disparity" and model.active_curve in model.curves()


def test_view_settings_are_checked(model):
    with pytest.raises(ValueError, match="overlay"):
        model.set_overlay("zebra")
    with pytest.raises(ValueError, match="preview scale"):
        model.set_preview_scale(3)
    model.set_source("render")
    model.set_wipe(0.25)
    assert model.wipe == 0.25
    model.set_source("plate")  # nothing to compare the plate with
    assert model.wipe is None


def test_coc_uses_the_resolved_frame_values(model):
    model.focus_at(*WALL)
    d = np.array([[1 / SHOT.far_distance, 1 / SHOT.near_distance]], np.float32)
    k = model.coc_law()["strength_px"]
    np.testing.assert_allclose(model.coc_px(model.frame, d), [[0.0, k * (0.5 - 0.05)]], atol=1e-5)


def test_an_aperture_edit_keeps_the_frames_and_the_colour_config(model):
    import dataclasses

    model.frame_data(FIRST)
    color = model.shot.color
    seen: list[frozenset] = []
    model.changed.connect(seen.append)
    model.edit_job(model.job.replace(aperture=dataclasses.replace(model.job.aperture, shape="polygon", blades=5)),
                   "aperture")
    assert model.shot.job.aperture.blades == 5
    assert m.SHOT not in seen[-1] and FIRST in model.cache  # the pixels read are still the pixels
    assert model.shot.color is color  # its display processors are not built again


def test_depth_conditioning_switches_are_undoable_edits_and_frames_keep_raw_and_conditioned(tmp_path, write_exr):
    pattern, depth, ramp = outlier_plate(tmp_path, write_exr)
    model = m.WorkspaceModel()
    assert model.open_pattern(pattern, depth=depth, depth_kind="disparity", output=str(tmp_path / "out" / "r.#.exr"))
    assert model.set_depth_step("refine_edges", "off")
    assert model.job.depth.refine_edges == "off" and model.undo_stack.undo_text == "Depth refine edges off"
    x, y = OUTLIER
    data = model.frame_data()
    assert data.raw_disparity[y, x] == 1.0  # the raw depth keeps the outlier
    assert data.disparity[y, x] == pytest.approx(ramp[y, x], abs=1e-6)  # outliers on (auto): gone, its neighbours' median
    assert model.set_depth_step("remove_outliers", "off")
    data = model.frame_data()
    assert data.disparity[y, x] == 1.0 and data.raw_disparity is None  # nothing conditioned
    model.undo()
    assert model.job.depth.remove_outliers == "auto" and model.frame_data().disparity[y, x] < 1.0
    with pytest.raises(ValueError):
        model.set_depth_step("refine_edges", "maybe")


def test_stabilise_switch_and_edge_radius_are_undoable_job_edits(tmp_path, write_exr):
    pattern, depth, _ = outlier_plate(tmp_path, write_exr)
    model = m.WorkspaceModel()
    assert model.open_pattern(pattern, depth=depth, depth_kind="disparity", output=str(tmp_path / "out" / "r.#.exr"))
    assert model.job.depth.stabilize == "auto" and model.shot.conditioning.stabilize == 0.0  # supplied: off
    assert model.set_depth_step("stabilize", "on")
    assert model.job.depth.stabilize == "on" and model.undo_stack.undo_text == "Depth stabilize on"
    assert model.shot.conditioning.stabilize == 0.5  # what the render will run
    assert model.set_depth_edge_radius(12) and model.set_depth_edge_radius(14)
    assert model.job.depth.edge_radius_px == 14 and model.undo_stack.undo_text.startswith("Depth edge radius")
    model.undo()  # the two radius steps were one edit
    assert model.job.depth.edge_radius_px == 9 and model.job.depth.stabilize == "on"
    model.undo()
    assert model.job.depth.stabilize == "auto"
    assert not model.set_depth_edge_radius(1)  # outside the schema's 3..32: refused, nothing recorded
    assert model.job.depth.edge_radius_px == 9 and model.undo_stack.undo_text == ""
