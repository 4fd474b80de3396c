"""Depth edges refined against the plate.

A depth map's edges often sit a few pixels off the subject's silhouette
(eroded or dilated by an estimator, blurred by resampling); the render then
lets the subject's colour glow into the blurred background, or keeps a sharp
band of background around it. The plate knows where the silhouette is:

1. **Depth edges** are found on a lightly smoothed copy (a jump of more than
   ``EDGE_STEP`` x the frame's spread within 3 px); the band within
   radius / 2 + 1 px of them is where an edge may be misplaced.
2. **In the band**, each pixel takes the weighted median of the disparity
   around it (every third pixel of a (2 radius + 1)^2 window), weighted by
   how close the plate's colour there is to its own. A pixel that looks like
   the subject takes the subject's disparity even where the map says
   background, and the other way round, as long as fewer than half of the
   like-coloured pixels around it are wrong: edges up to about
   radius / 2 px off snap back to the plate's edge. A median keeps a
   straight depth edge where the plate shows none. A pixel moves to
   another depth only on clear evidence: the samples near the new value
   must outweigh those near its old one by ``SWITCH_MARGIN`` of the total
   weight, and the plate must show the edge (the mean colours of the two
   depths' samples differ by more than ``EDGE_COLOUR``); where the plate's
   colours do not tell the two sides apart (busy texture on both, or no
   colour change at all), the edge stays where the depth put it.
3. **Elsewhere** (no depth edge near), a guided filter (He et al.) with the
   plate's luminance as guide averages noise away while keeping the small
   depth steps that follow the plate; where the depth is constant over its
   window it is kept exactly, so an in-focus surface stays on the focus
   plane bit for bit.

Everything is relative to the frame's disparity spread, so it works for any
disparity unit. The guide is the plate's colour through a 1/2.2 power (a
viewer's contrast), values above 1 saturated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from focuspull.depth_conditioning.spread import disparity_spread

if TYPE_CHECKING:
    import numpy as np
    import torch

#: a depth edge: a jump of this fraction of the spread within the 3x3 of a 5x5-smoothed map
EDGE_STEP = 0.04
#: colour distance (display 0..1, RGB Euclidean) at which a neighbour's weight falls to 1/e^0.5
COLOUR_SIGMA = 0.08
#: disparities closer than this fraction of the spread are one surface (a move within it is denoising)
SAME_SURFACE = 0.1
#: the plate shows a depth edge when the mean colours of its two sides differ by this much (display 0..1)
EDGE_COLOUR = 0.2
#: share of the window's weight by which a new depth must out-vote the pixel's own to replace it
SWITCH_MARGIN = 0.1
#: guided filter: half-size of its window and its regulariser (in guide units squared)
GUIDED_RADIUS_PX = 3
GUIDED_EPS = 0.03 ** 2
#: the window is sampled every this many pixels
_SAMPLE_STEP = 3
#: band pixels processed at once (bounds memory: chunk x window samples)
_CHUNK = 32768


def refine_edges(disparity: "np.ndarray", rgb: "np.ndarray", radius_px: int = 9) -> "np.ndarray":
    """Refined copy of (H, W) ``disparity`` against the plate's (H, W, >=3) scene-linear ``rgb``."""
    import numpy as np
    import torch

    d = torch.from_numpy(np.ascontiguousarray(disparity, dtype=np.float32))
    if d.shape != rgb.shape[:2]:
        raise ValueError(f"disparity {tuple(d.shape)} and plate {rgb.shape[:2]} differ in size")
    guide = torch.from_numpy(np.ascontiguousarray(rgb[..., :3], dtype=np.float32)).permute(2, 0, 1)
    guide = guide.clamp(0.0, 1.0).pow(1.0 / 2.2)
    spread = disparity_spread(d)
    band = edge_band(d, spread, radius_px // 2 + 1)
    out = guided_filter(guide.mean(dim=0), d, GUIDED_RADIUS_PX, GUIDED_EPS)
    # where the depth is constant over the filter's window there is nothing to smooth: keep it
    # exactly (the filter's rounding would otherwise move an in-focus pixel off the focus plane)
    out = torch.where(_local_range(d, GUIDED_RADIUS_PX) > 0, out, d)
    if bool(band.any()):
        out[band] = _weighted_median(d, guide, band, radius_px, SAME_SURFACE * spread)
    # the guided filter's local linear model can overshoot near sky (0) or the nearest
    # surface; a filter adds no depth the map did not have
    return out.clamp_(float(d.min()), float(d.max())).numpy()


def edge_band(d: "torch.Tensor", spread: float, radius_px: int) -> "torch.Tensor":
    """(H, W) bool: pixels within ``radius_px`` of a depth edge."""
    import torch.nn.functional as F

    x = d[None, None]
    smooth = F.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)
    local_range = F.max_pool2d(smooth, 3, stride=1, padding=1) + F.max_pool2d(-smooth, 3, stride=1, padding=1)
    edge = (local_range > EDGE_STEP * spread).float()
    return F.max_pool2d(edge, 2 * radius_px + 1, stride=1, padding=radius_px)[0, 0] > 0


def _mean(x: "torch.Tensor", mask: "torch.Tensor") -> "torch.Tensor":
    """Row means of ``x`` over ``mask`` (0 where the mask is empty)."""
    return (x * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)


def _local_range(d: "torch.Tensor", radius_px: int) -> "torch.Tensor":
    import torch.nn.functional as F

    x = d[None, None]
    size = 2 * radius_px + 1
    return (F.max_pool2d(x, size, stride=1, padding=radius_px) + F.max_pool2d(-x, size, stride=1, padding=radius_px))[0, 0]


def guided_filter(guide: "torch.Tensor", src: "torch.Tensor", radius_px: int, eps: float) -> "torch.Tensor":
    """Guided filter of (H, W) ``src`` with (H, W) ``guide``: locally a * guide + b."""
    import torch.nn.functional as F

    def box(x: "torch.Tensor") -> "torch.Tensor":
        return F.avg_pool2d(x[None, None], 2 * radius_px + 1, stride=1, padding=radius_px,
                            count_include_pad=False)[0, 0]

    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def _weighted_median(
    d: "torch.Tensor", guide: "torch.Tensor", band: "torch.Tensor", radius_px: int, same: float
) -> "torch.Tensor":
    """Colour-weighted median of ``d`` around each band pixel (in ``band.nonzero`` order), where it
    is clearly supported; values within ``same`` of each other are one depth."""
    import torch
    import torch.nn.functional as F

    height, width = d.shape
    r = radius_px
    padded_d = F.pad(d[None, None], (r, r, r, r), mode="replicate")[0, 0].reshape(-1)
    padded_g = F.pad(guide[None], (r, r, r, r), mode="replicate")[0].reshape(3, -1)
    row = width + 2 * r
    # every third pixel of the window, the centre included: an even sampling keeps the
    # vote of the near (possibly wrong) pixels and the far ones in proportion
    reach = _SAMPLE_STEP * (r // _SAMPLE_STEP)
    steps = torch.arange(-reach, reach + 1, _SAMPLE_STEP)
    offsets = (steps[:, None] * row + steps[None, :]).reshape(-1)
    ys, xs = band.nonzero(as_tuple=True)
    centres = (ys + r) * row + (xs + r)
    out = torch.empty(centres.numel(), dtype=d.dtype)
    inv = -0.5 / (COLOUR_SIGMA * COLOUR_SIGMA)
    for start in range(0, centres.numel(), _CHUNK):
        c = centres[start : start + _CHUNK]
        index = c[:, None] + offsets[None, :]
        values = padded_d[index]
        distance = torch.zeros_like(values)
        colours = []
        for channel in range(3):
            g = padded_g[channel]
            colours.append(g[index])
            distance += (colours[-1] - g[c][:, None]) ** 2
        weights = torch.exp(distance * inv)
        order = values.argsort(dim=1)
        sorted_values = values.gather(1, order)
        cumulative = weights.gather(1, order).cumsum(dim=1)
        total = cumulative[:, -1]
        pick = (cumulative < 0.5 * total[:, None]).sum(dim=1, keepdim=True).clamp(max=values.shape[1] - 1)
        median = sorted_values.gather(1, pick)[:, 0]
        own = padded_d[c]
        near_new = (values - median[:, None]).abs() <= same
        near_own = (values - own[:, None]).abs() <= same
        support_new = (weights * near_new).sum(dim=1)
        support_own = (weights * near_own).sum(dim=1)
        # the plate must show the edge: the two depths' samples differ in mean colour
        gap = sum((_mean(x, near_new) - _mean(x, near_own)) ** 2 for x in colours)
        shown = gap > EDGE_COLOUR * EDGE_COLOUR
        jump = (median - own).abs() > same
        keep = jump & ((support_new < support_own + SWITCH_MARGIN * total) | ~shown)
        out[start : start + c.numel()] = torch.where(keep, own, median)
    return out
