"""Where a frame's planes are: per-slab grids of pixel blocks, and the boxes a plane is blurred in.

Each pixel belongs to one slab of the plane ladder; a coarse grid of
``BLOCK_PX`` blocks records which blocks hold each slab, so a plane (two
slabs) is blurred on crops around its pixels rather than on the whole frame.
A plane spread over the frame in a few regions is cut into tiles, each
trimmed to its content, and neighbouring tiles are joined back where one
piece costs less than two.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: block size of the coarse slab-index map used to find each slab's bounding box
BLOCK_PX = 16
#: planes whose bounding box is mostly empty are blurred in tiles of at least this size
_TILE_PX = 256
#: ... when the tiles' padded area is below this fraction of the box's
_TILE_GAIN = 0.7


def _block_keys(slab: torch.Tensor) -> tuple[torch.Tensor, int, int, int]:
    """Per pixel, one integer for its (slab, block) pair; and the lowest slab, the grid's rows and cols."""
    height, width = slab.shape
    rows, cols = -(-height // BLOCK_PX), -(-width // BLOCK_PX)
    block_y = (torch.arange(height, device=slab.device) // BLOCK_PX * cols)[:, None]
    block_x = (torch.arange(width, device=slab.device) // BLOCK_PX)[None, :]
    low = int(slab.min())
    return (slab - low) * (rows * cols) + block_y + block_x, low, rows, cols


def slab_blocks(slab: torch.Tensor) -> dict[int, torch.Tensor]:
    """Which blocks of pixels hold each slab: slab -> (rows, cols) bool, on the CPU."""
    keys, low, rows, cols = _block_keys(slab)
    held = torch.bincount(keys.flatten()).cpu() > 0
    held = F.pad(held, (0, -held.numel() % (rows * cols))).view(-1, rows, cols)
    found = held.flatten(1).any(dim=1).tolist()
    return {low + k: held[k] for k in range(held.shape[0]) if found[k]}


def slab_block_max(slab: torch.Tensor, value: torch.Tensor, where: torch.Tensor) -> dict[int, torch.Tensor]:
    """Per slab, the largest positive ``value`` (one per pixel of ``where``) of its pixels in each block: slab -> (rows, cols), on the CPU.

    One reduction over (slab, block) pairs: a depth edge that jumps over many
    slabs does not claim the slabs in between, as a min/max pyramid would.
    Blocks without such pixels hold 0.
    """
    if value.numel() == 0:
        return {}
    keys, low, rows, cols = _block_keys(slab)
    keys = keys[where]
    grids = torch.zeros(int(keys.max()) // (rows * cols) + 1, rows * cols, dtype=torch.float32, device=slab.device)
    grids.view(-1).scatter_reduce_(0, keys, value, reduce="amax")
    grids = grids.view(-1, rows, cols).cpu()
    found = (grids > 0).flatten(1).any(dim=1).tolist()
    return {low + k: grids[k] for k in range(grids.shape[0]) if found[k]}


def _grid_box(grid: torch.Tensor, height: int, width: int) -> tuple[int, int, int, int]:
    """Pixel bounding box (y0, y1, x0, x1) of the true blocks of a grid."""
    rows = torch.nonzero(grid.any(dim=1)).flatten()
    cols = torch.nonzero(grid.any(dim=0)).flatten()
    return (
        int(rows[0]) * BLOCK_PX,
        min((int(rows[-1]) + 1) * BLOCK_PX, height),
        int(cols[0]) * BLOCK_PX,
        min((int(cols[-1]) + 1) * BLOCK_PX, width),
    )


def plane_boxes(grid: torch.Tensor, radius: float, height: int, width: int, tiled: bool = True) -> list[tuple[int, int, int, int]]:
    """Boxes to blur a plane in: its bounding box, or (``tiled``) tiles of it when that is cheaper.

    A plane often holds a compact subject and a thin band of ground far apart;
    their common box is mostly empty. Tiles, each cut to the content inside it
    and padded by the kernel, then cost less FFT work.
    """
    box = _grid_box(grid, height, width)
    if not tiled:
        return [box]
    pad = 2 * radius + 2
    tile = max(_TILE_PX, int(8 * radius)) // BLOCK_PX
    rows, cols = grid.shape
    pieces = []
    for ty in range(0, rows, tile):
        for tx in range(0, cols, tile):
            part = grid[ty : ty + tile, tx : tx + tile]
            if bool(part.any()):
                y0, y1, x0, x1 = _grid_box(part, height - ty * BLOCK_PX, width - tx * BLOCK_PX)
                pieces.append((y0 + ty * BLOCK_PX, y1 + ty * BLOCK_PX, x0 + tx * BLOCK_PX, x1 + tx * BLOCK_PX))
    pieces = merged_boxes(merged_boxes(pieces, pad, by_rows=True), pad, by_rows=False)
    cost = sum(_padded_area(b, pad) for b in pieces)
    return pieces if cost < _TILE_GAIN * _padded_area(box, pad) else [box]


def _padded_area(box: tuple[int, int, int, int], pad: float) -> float:
    """What blurring a box costs: its area grown by the kernel's reach."""
    return (box[1] - box[0] + pad) * (box[3] - box[2] + pad)


def merged_boxes(boxes: list[tuple[int, int, int, int]], pad: float, by_rows: bool) -> list[tuple[int, int, int, int]]:
    """Neighbouring boxes (along rows, or along columns) joined where their common padded box is no larger than both padded.

    Every piece costs a fixed overhead beyond its pixels; two tiles of one
    region side by side share their padding once joined.
    """
    out: list[tuple[int, int, int, int]] = []
    for b in sorted(boxes, key=(lambda b: (b[0], b[2])) if by_rows else (lambda b: (b[2], b[0]))):
        if out:
            a = out[-1]
            joined = (min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3]))
            if _padded_area(joined, pad) <= _padded_area(a, pad) + _padded_area(b, pad):
                out[-1] = joined
                continue
        out.append(b)
    return out


def align_box(box: tuple[int, int, int, int], factor: int) -> tuple[int, int, int, int]:
    """The box grown outward to multiples of ``factor`` (a reduced plane's pixel grid)."""
    y0, y1, x0, x1 = box
    return (y0 // factor * factor, -(-y1 // factor) * factor, x0 // factor * factor, -(-x1 // factor) * factor)
