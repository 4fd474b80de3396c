"""Where a plane is blurred: its bounding box, or tiles joined back where that is cheaper."""

from __future__ import annotations

import torch

from focuspull.engines.physical.blocks import BLOCK_PX, merged_boxes, plane_boxes


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
