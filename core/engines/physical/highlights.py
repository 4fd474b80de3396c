"""Highlight recovery for display-referred plates: which clipped pixels were lights.

A display-referred plate (sRGB video, JPEG) clips every light at white, so a
defocused light spreads only the energy of white and becomes a dim grey
disk. Multiplying near-clipped pixels before the blur (``highlight_gain``)
restores the light, but applied everywhere it also brightens a white wall,
a sky or a shirt. ``highlight_gain: "auto"`` boosts only *small* clipped
regions: the near-clipped mask is opened (eroded, then dilated) with a
square of ``highlight_max_size_px``; what survives is a large bright
surface and keeps its value; what vanishes (a clipped region that fits in
that square: a lamp, a specular glint, a street light) is a light and gets
``AUTO_GAIN``. Pixels above ``CLIP_CEILING`` are real scene-linear HDR
values, not clipped ones, and are never boosted in auto mode.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: gain of small clipped regions in auto mode (3 stops: a clipped street light is at least that bright)
AUTO_GAIN = 8.0
#: luminance above which a pixel is real HDR light, not a clipped display value
CLIP_CEILING = 1.01


def small_regions(near_clipped: torch.Tensor, max_size_px: int) -> torch.Tensor:
    """(H, W) float mask: 1 on near-clipped pixels of regions that fit in a ``max_size_px`` square."""
    size = int(max_size_px) | 1  # an odd window
    x = near_clipped.to(torch.float32)[None, None]
    eroded = -F.max_pool2d(-x, size, stride=1, padding=size // 2)
    # dilated a little further than eroded: the soft rim around a large surface stays large
    large = F.max_pool2d(eroded, size + 4, stride=1, padding=(size + 4) // 2)[0, 0]
    large = large[: near_clipped.shape[0], : near_clipped.shape[1]]
    return x[0, 0] * (1.0 - large)
