"""Isolated outliers: single disparity pixels that match none of their neighbours.

Estimators and 8-bit depth maps leave salt-and-pepper pixels: one pixel far
nearer or farther than everything around it. Such a pixel becomes a sharp
dot on an in-focus face (its CoC is wrong) and a twinkle over time. A pixel
is an outlier when it is nearer, or farther, than all of its eight
neighbours by more than ``tolerance`` x the frame's spread; it takes the
median of the eight. (A pixel between its neighbours' values, as on an
anti-aliased depth edge, is not an outlier.)
A real thin structure (a one-pixel pole or wire) has neighbours along its
length at its own depth, so it stays, unlike under a plain median filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from focuspull.depth_conditioning.spread import disparity_spread

if TYPE_CHECKING:
    import numpy as np

#: a neighbour "agrees" within this fraction of the frame's disparity spread
TOLERANCE = 0.05


def remove_outliers(disparity: "np.ndarray", tolerance: float = TOLERANCE) -> "np.ndarray":
    """A copy of (H, W) ``disparity`` with isolated pixels replaced by their neighbours' median."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    d = torch.from_numpy(np.ascontiguousarray(disparity, dtype=np.float32))
    if min(d.shape) < 3:
        return d.numpy().copy()
    limit = tolerance * disparity_spread(d)
    # reflected, not replicated: a border pixel must not count itself as its neighbour
    padded = F.pad(d[None, None], (1, 1, 1, 1), mode="reflect")[0, 0]
    height, width = d.shape
    shifted = [padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
    highest, lowest = shifted[0].clone(), shifted[0].clone()
    for view in shifted[1:]:
        torch.maximum(highest, view, out=highest)
        torch.minimum(lowest, view, out=lowest)
    isolated = (d > highest + limit) | (d < lowest - limit)
    if not bool(isolated.any()):
        return d.numpy().copy()
    median = torch.stack([view[isolated] for view in shifted]).median(dim=0).values
    out = d.clone()
    out[isolated] = median
    return out.numpy()
