"""Runs of reduced-resolution planes composited at their own resolution (composite.ReducedRun)."""

from __future__ import annotations

import pytest
import torch

from focuspull.engines.physical import composite
from focuspull.engines.physical import engine as physical_engine
from physical_scenes import point_light, render, texture


def test_run_visibility_is_the_enlarged_cover_in_any_box() -> None:
    g = torch.Generator().manual_seed(1)
    layer = torch.rand(4, 9, 11, generator=g)
    factor = 4
    run = composite.ReducedRun([[(layer, -8, 12)]], factor, alpha_index=3)
    run.start([(layer, -8, 12)])
    run.add([])  # the first plane now hides the planes after the next one
    enlarged, oy, ox = composite.enlarge((run.cover, run.top, run.left), factor)
    for box in [(0, 20, 10, 15), (-20, 5, 30, 30), (25, 50, 3, 7), (0, 0, 60, 80), (50, 70, 5, 5)]:
        y, x, h, w = box
        expected = torch.ones(1, h, w)
        pair = composite.overlap(enlarged, oy - y, ox - x, expected)
        if pair is not None:
            pair[1].copy_((1.0 - pair[0]).clamp(0.0, 1.0))
        assert torch.allclose(run.visible(y, x, h, w), expected, atol=1e-6), box


@pytest.fixture
def plane_by_plane(monkeypatch: pytest.MonkeyPatch):
    """Render with every plane composited at full resolution, one by one."""

    def render_one_by_one(*args, **kwargs):
        with monkeypatch.context() as m:
            m.setattr(physical_engine, "_RUN_MIN_PLANES", 10**6)
            return render(*args, **kwargs)

    return render_one_by_one


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The number of planes of each run composited (to know the runs were used)."""
    sizes: list[int] = []
    original = composite.ReducedRun.__init__

    def counting(self, planes, *args, **kwargs):
        sizes.append(len(planes))
        original(self, planes, *args, **kwargs)

    monkeypatch.setattr(composite.ReducedRun, "__init__", counting)
    return sizes


def _receding_background(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    # a textured wall receding from r = -10 to r = -40 px (focus 0.5, K = 100): two runs
    rgb = texture(height, width, seed=7)
    disparity = (0.4 - 0.3 * torch.linspace(0, 1, width))[None, None, :].expand(1, height, width).clone()
    return rgb, disparity


def test_a_run_with_nothing_in_front_composites_as_its_planes_one_by_one(plane_by_plane, runs) -> None:
    rgb, disparity = _receding_background(96, 256)
    out = render(rgb, disparity, focus=0.5, strength=100.0).rgba[0]
    assert runs and max(runs) >= 4
    reference = plane_by_plane(rgb, disparity, focus=0.5, strength=100.0).rgba[0]
    # a pixel shared by two planes is seen whole (the plane just before does not hide it)
    assert float((out - reference).abs().max()) < 2e-3 * float(reference.abs().max())
    assert abs(float(out.sum() / reference.sum()) - 1.0) < 1e-4


def test_a_sharp_subject_hides_a_run_behind_it_completely(plane_by_plane, runs) -> None:
    rgb, disparity = _receding_background(96, 256)
    # an in-focus grey square in front of the wall
    rgb[:, 30:70, 100:160] = 0.25
    disparity[:, 30:70, 100:160] = 0.5
    out = render(rgb, disparity, focus=0.5, strength=100.0).rgba[0]
    assert runs
    assert torch.equal(out[:, 31:69, 101:159], torch.full((3, 38, 58), 0.25))
    reference = plane_by_plane(rgb, disparity, focus=0.5, strength=100.0).rgba[0]
    assert float((out - reference).abs().max()) < 2e-3 * float(reference.abs().max())


def test_a_light_in_a_run_is_hidden_by_the_runs_nearer_planes(plane_by_plane, runs) -> None:
    # a far light (r = -40 px) behind a nearer wall of the same run (r = -28 px), and one in the open
    height, width = 160, 240
    rgb, disparity = point_light(height, width, 80, 60, value=400.0, disparity=0.1)
    rgb[:, 80, 180] = 400.0
    disparity[:, :, :90] = 0.22  # the wall hides the first light completely
    rgb[:, :, :90] = 0.1
    out = render(rgb, disparity, focus=0.5, strength=100.0).rgba[0]
    assert runs
    reference = plane_by_plane(rgb, disparity, focus=0.5, strength=100.0).rgba[0]
    # the open light is all there, the hidden one adds nothing: as plane by plane
    assert float(out[:, :, 130:].sum()) == pytest.approx(float(reference[:, :, 130:].sum()), rel=1e-3)
    assert float(out[:, 40:120, :40].max()) == pytest.approx(0.1, abs=1e-3)
    assert float((out - reference).abs().max()) < 1e-2 * float(reference.abs().max())
