"""Where a plane is blurred: its bounding box, or tiles joined back where that is cheaper."""

from __future__ import annotations

import pytest
import torch

from focuspull.aperture import ApertureSpec
from focuspull.engines.base import EngineInput
from focuspull.engines.physical import PhysicalEngine, PhysicalOptions
from focuspull.engines.physical import engine as physical_engine
from focuspull.engines.physical.blocks import BLOCK_PX, merged_boxes, plane_boxes
from focuspull.params import FrameParams
from physical_scenes import two_subjects_far_apart


def test_tiles_side_by_side_are_joined_and_tiles_far_apart_are_not() -> None:
    pad = 10
    row = [(0, 100, 0, 100), (0, 100, 100, 200), (0, 100, 200, 300)]
    assert merged_boxes(row, pad, by_rows=True) == [(0, 100, 0, 300)]
    apart = [(0, 100, 0, 100), (0, 100, 500, 600)]
    assert merged_boxes(apart, pad, by_rows=True) == apart
    column = [(0, 100, 0, 100), (100, 200, 0, 100), (600, 700, 0, 100)]
    assert merged_boxes(column, pad, by_rows=False) == [(0, 200, 0, 100), (600, 700, 0, 100)]


def test_a_plane_in_two_distant_regions_is_blurred_in_two_pieces_covering_both() -> None:
    block = BLOCK_PX
    grid = torch.zeros(40, 60, dtype=torch.bool)
    grid[2:20, 2:20] = True  # a compact subject: 18 x 18 blocks, several tiles joined into one
    grid[36:38, 45:58] = True  # a strip of ground far away
    height, width = 40 * block, 60 * block
    pieces = plane_boxes(grid, 4.0, height, width)
    assert len(pieces) == 2
    covered = torch.zeros(height, width, dtype=torch.bool)
    for y0, y1, x0, x1 in pieces:
        covered[y0:y1, x0:x1] = True
    assert bool(covered[grid.repeat_interleave(block, 0).repeat_interleave(block, 1)].all())
    # together far smaller than the common bounding box
    assert sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1 in pieces) < 0.3 * (36 * block) * (56 * block)


def test_without_tiles_a_plane_is_blurred_in_its_bounding_box() -> None:
    grid = torch.zeros(40, 60, dtype=torch.bool)
    grid[2:20, 2:20] = True
    grid[36:38, 45:58] = True
    height, width = 40 * BLOCK_PX, 60 * BLOCK_PX
    assert plane_boxes(grid, 4.0, height, width, tiled=False) == [(2 * BLOCK_PX, 38 * BLOCK_PX, 2 * BLOCK_PX, 58 * BLOCK_PX)]


def test_the_gpu_path_of_one_box_per_plane_renders_what_tiles_render(monkeypatch) -> None:
    # on a GPU the engine blurs each plane in one box (every tensor operation is a kernel launch);
    # the same frame in tiles, as on the CPU, differs only by what each tile's fill sees
    rgb, disp = two_subjects_far_apart()
    boxes: list[int] = []
    counted = physical_engine.blocks.plane_boxes

    def count(*args, **kwargs):
        found = counted(*args, **kwargs)
        boxes.append(len(found))
        return found

    monkeypatch.setattr(physical_engine.blocks, "plane_boxes", count)
    engine = PhysicalEngine(PhysicalOptions(), ApertureSpec(), torch.device("cpu"))
    batch = EngineInput(rgb[None], disp[None], FrameParams.of(1, 0.4, 60.0))
    tiled = engine.render(batch).rgba[0]
    assert max(boxes) >= 2  # the subjects' planes are tiled on the CPU
    boxes.clear()
    engine._tiled = False  # what a CUDA engine does
    whole = engine.render(batch).rgba[0]
    assert max(boxes) == 1
    assert float(whole.sum()) == pytest.approx(float(tiled.sum()), rel=1e-4)
    a, b = tiled / (1 + tiled.abs()), whole / (1 + whole.abs())
    assert float((a - b).abs().max()) < 0.005  # 0.0007 measured


def test_only_the_cpu_tiles() -> None:
    for device, tiled in (("cpu", True), ("cuda", False), ("mps", False)):
        assert PhysicalEngine(PhysicalOptions(), ApertureSpec(), torch.device(device))._tiled is tiled
