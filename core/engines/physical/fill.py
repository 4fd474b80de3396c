"""Occlusion fill: guess the hidden part of a depth plane from its visible neighbours.

The input is one view: where a foreground object stands, the background
behind it is missing. A defocused foreground edge is partly transparent, so
the lens shows some of that hidden background; and a defocused background
spreads light from behind the foreground's silhouette. Both need the hidden
part of each plane, which a pull-push (mip) interpolation of the plane's
premultiplied content supplies: averages are pulled up a pyramid and pushed
back down into the holes, so a hole takes the colour of the plane around it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: a pyramid cell whose behind-content weight reaches this is trusted as is
_TRUST_WEIGHT = 0.25
#: x / (1 + |x|) of the brightest colour a fill may guess (x = 999)
_MAX_COMPRESSED = 0.999


def pull_push(values: torch.Tensor, weight: torch.Tensor, reach_px: float | None = None) -> torch.Tensor:
    """Normalised interpolation of ``values / weight`` into the places where weight is 0.

    values: (C, H, W) weighted sums (premultiplied by weight); weight: (1, H, W) >= 0.
    Returns (C, H, W): values / weight where the weight is large, and a smooth
    average of the nearest weighted content elsewhere. ``reach_px``: how far
    into a hole an estimate is needed; deeper, the pyramid may stop (the
    result there is then 0, as where there is no content at all).
    """
    return _pull_push(torch.cat([values, weight]), reach_px)


def _pull_push(stack: torch.Tensor, reach_px: float | None) -> torch.Tensor:
    """``pull_push`` of (C+1, H, W): weighted sums, then the weight."""
    levels = [stack]
    # a level's cells are 2^k px: one coarser than the reach still sees across it
    depth = None if reach_px is None else max(1, math.ceil(math.log2(max(reach_px, 1.0))) + 1)
    while min(levels[-1].shape[-2:]) > 1 and (depth is None or len(levels) <= depth):
        levels.append(_half(levels[-1]))
    top = levels[-1]
    estimate = torch.where(top[-1:] > 0, top[:-1] / top[-1:].clamp_min(1e-12), 0.0)
    for level in reversed(levels[:-1]):
        v, w = level[:-1], level[-1:]
        coarse = F.interpolate(estimate[None], size=v.shape[-2:], mode="bilinear", align_corners=False)[0]
        estimate = torch.lerp(coarse, v / w.clamp_min(1e-12), (w * (1.0 / _TRUST_WEIGHT)).clamp_(0.0, 1.0))
    return estimate


def _half(x: torch.Tensor) -> torch.Tensor:
    """2x2 mean of (C, H, W), a lone last row/column averaged alone (``avg_pool2d`` with ceil_mode).

    Strided adds: several times faster on CPU than ``avg_pool2d``, equal up to float rounding.
    """
    c, h, w = x.shape
    he, we = h - h % 2, w - w % 2
    out = torch.empty(c, (h + 1) // 2, (w + 1) // 2, dtype=x.dtype, device=x.device)
    rows = x[:, 0:he:2] + x[:, 1:he:2]
    torch.add(rows[..., 0:we:2], rows[..., 1:we:2], out=out[:, : he // 2, : we // 2])
    # a lone row or column is its own mean: counted twice (a lone corner four times)
    if w % 2:
        torch.mul(rows[..., -1], 2.0, out=out[:, : he // 2, -1])
    if h % 2:
        last = x[:, -1]
        torch.add(last[:, 0:we:2], last[:, 1:we:2], out=out[:, -1, : we // 2]).mul_(2.0)
        if w % 2:
            torch.mul(last[:, -1], 4.0, out=out[:, -1, -1])
    return out.mul_(0.25)


def fill_hidden(data: torch.Tensor, nearer: torch.Tensor, reach_px: float | None = None) -> torch.Tensor:
    """Add a plane's guessed hidden content under nearer content, in place; returns ``data``.

    data:   (C+1, H, W) the plane's premultiplied stack times its weight: colour
            (3 channels), alpha when there is one, and last the weight itself;
    nearer: (1, H, W) the fraction of each pixel that belongs to nearer planes;
    reach_px: how far under the nearer content (px) the guess is seen.

    Under a nearer pixel the plane gets the local average of its content
    *relative to everything at or behind it*, so two background planes that
    border a hole share it instead of both claiming it whole. Colours are
    averaged as x / (1 + |x|): an HDR highlight next to a depth edge must not
    spread its light over the whole hidden area (it would glow back out of it).
    The guess is made at half resolution (the finest level of the pyramid would
    not be trusted in a hole anyway) and enlarged under the nearer pixels.
    """
    weight = data[-1:]
    # weight * c / (1 + |c|) with c = colour / weight, without dividing by a zero weight
    compressed = data[:3].abs().add_(weight).clamp_min_(1e-12)
    torch.div(data[:3], compressed, out=compressed).mul_(weight)
    behind = (1.0 - nearer).clamp_min_(0.0)
    # the pyramid's base at half resolution, part by part (no full-resolution copy of them all)
    base = torch.cat([_half(compressed), _half(data[3:]), _half(behind)])
    estimate = _pull_push(base, None if reach_px is None else reach_px / 2)
    mean_weight = estimate[-1:]
    share = mean_weight.clamp(0.0, 1.0)
    inverse = torch.where(mean_weight > 0, 1.0 / mean_weight.clamp_min(1e-12), 0.0)
    colour = (estimate[:3] * inverse).clamp(-_MAX_COMPRESSED, _MAX_COMPRESSED)
    guess = share * torch.cat([colour / (1 - colour.abs()), estimate[3:-1] * inverse, torch.ones_like(share)])
    # enlarged by pixel repetition (the guess is smooth, and the plane's blur follows):
    # each of the four pixels of a 2x2 block gets its half-resolution pixel
    for dy in (0, 1):
        for dx in (0, 1):
            part = data[:, dy::2, dx::2]
            part.addcmul_(nearer[:, dy::2, dx::2], guess[:, : part.shape[1], : part.shape[2]])
    return data
