"""The plane ladder: fixed CoC radii that the layered renderer blurs at.

The ladder is fixed in signed-CoC space, independent of the frame: 0, +-1,
+-2, ... px near focus, then planes whose radius is large are blurred at 1/2,
1/4, ... resolution with the same spacing in reduced pixels, so the number of
planes grows with the log of the largest radius. A pixel of radius r lies in
the *slab* between the two levels around it and is shared between them
linearly, so the output is a continuous function of focus and strength.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def pyramid_factor(radius_px: float, pyramid_radius_px: float) -> int:
    """Resolution divisor for a plane of this radius (1 below twice the pyramid radius)."""
    if radius_px < 2 * pyramid_radius_px:
        return 1
    return 2 ** int(math.floor(math.log2(radius_px / pyramid_radius_px) + 1e-9))


def ladder_levels(max_abs_radius_px: float, pyramid_radius_px: float, step_px: float) -> list[float]:
    """Sorted signed levels, from below -max to above +max (at least [-1, 0, 1])."""
    positive = [0.0]
    level = 0.0
    while level <= max_abs_radius_px or len(positive) < 2:
        level = level + step_px * pyramid_factor(level, pyramid_radius_px)
        positive.append(level)
    return [-v for v in reversed(positive[1:])] + positive


def plane_weight(position: "torch.Tensor", plane: int) -> "torch.Tensor":
    """The share of plane ``plane`` in pixels at ``position`` (slab + share) on the ladder: the tent 1 - |position - plane|."""
    return (position - plane).abs_().neg_().add_(1.0).clamp_min_(0.0)
