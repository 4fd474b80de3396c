"""Cat's-eye vignetting: the aperture clipped more toward the frame's corners.

Seen from off the optical axis, the lens's rear element clips the aperture:
the kernel is two clipping circles parted along the radius by ``amount``
radii in the corners. The kernel therefore varies over the frame; it is
taken per cell of a ``GRID`` x ``GRID`` grid, and a piece is blurred as a
bilinear partition of unity over the cells' centres (the shares sum to one,
so energy is kept).
"""

from __future__ import annotations

import math

import torch

from focuspull.engines.physical import convolve
from focuspull.engines.physical.kernels import KernelShape, render_kernel

#: cells per side of the grid the kernel is taken on
GRID = 5


def shape_at(shape: KernelShape, amount: float, cy: float, cx: float, height: int, width: int) -> KernelShape:
    """The aperture seen from frame position (cy, cx) of a (height, width) frame."""
    half_diag = 0.5 * math.hypot(height, width)
    return KernelShape(**{**vars(shape), "clip_x": amount * (cx - width / 2) / half_diag,
                          "clip_y": amount * (cy - height / 2) / half_diag})


def cell_shape(shape: KernelShape, amount: float, y: int, x: int, height: int, width: int) -> KernelShape:
    """The aperture of the grid cell that holds pixel (y, x): the one its sprite is drawn with."""
    cell_h, cell_w = height / GRID, width / GRID
    cy = (min(int(y / cell_h), GRID - 1) + 0.5) * cell_h
    cx = (min(int(x / cell_w), GRID - 1) + 0.5) * cell_w
    return shape_at(shape, amount, cy, cx, height, width)


def convolve_varying(
    x: torch.Tensor,
    radius_px: float,
    shape: KernelShape,
    amount: float,
    half: int,
    factor: int,
    origin: tuple[int, int],
    frame_size: tuple[int, int],
) -> torch.Tensor:
    """Full convolution of x (c, h, w) (1/factor resolution, top-left at frame ``origin``) with the kernel of each place.

    Each cell's share of x is blurred with the kernel clipped for the cell
    centre's position, every kernel of half size ``half``.
    """
    height, width = frame_size
    _, h, w = x.shape
    y0, x0 = origin
    centres_y = [(i + 0.5) * height / GRID for i in range(GRID)]
    centres_x = [(j + 0.5) * width / GRID for j in range(GRID)]
    wy = _hat_weights((torch.arange(h, dtype=torch.float32, device=x.device) + 0.5) * factor + y0, centres_y)
    wx = _hat_weights((torch.arange(w, dtype=torch.float32, device=x.device) + 0.5) * factor + x0, centres_x)
    out = None
    for i, cy in enumerate(centres_y):
        if not bool(wy[i].any()):
            continue
        for j, cx in enumerate(centres_x):
            if not bool(wx[j].any()):
                continue
            cell = wy[i][:, None] * wx[j][None, :]
            kernel = render_kernel(radius_px, shape_at(shape, amount, cy, cx, height, width), half).to(x.device)
            y = convolve.convolve_sum([(x * cell, kernel)])
            out = y if out is None else out + y
    assert out is not None  # the cells' weights sum to one: some cell holds the piece
    return out


def _hat_weights(coords: torch.Tensor, centres: list[float]) -> torch.Tensor:
    """Piecewise-linear partition of unity over cell centres: (len(centres), len(coords))."""
    c = torch.tensor(centres, dtype=coords.dtype, device=coords.device)
    n = len(centres)
    pos = torch.clamp(coords, c[0], c[-1])
    if n == 1:
        return torch.ones(1, coords.numel(), dtype=coords.dtype, device=coords.device)
    spacing = c[1] - c[0]
    idx = torch.clamp(((pos - c[0]) / spacing).floor().long(), 0, n - 2)
    frac = (pos - c[idx]) / spacing
    weights = torch.zeros(n, coords.numel(), dtype=coords.dtype, device=coords.device)
    weights.scatter_(0, idx[None], (1 - frac)[None])
    weights.scatter_add_(0, (idx + 1)[None], frac[None])
    return weights
