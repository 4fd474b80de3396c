"""Depth edges refined against the plate.

A depth map's edges often sit a few pixels off the subject's silhouette
(eroded or dilated by an estimator, blurred by resampling); the render then
lets the subject's colour glow into the blurred background, or keeps a sharp
band of background around it. The plate knows where the silhouette is: each
stretch of depth edge is moved, along its normal, to the plate's colour edge:

1. **The band.** Depth edges are found on a lightly smoothed copy (a jump of
   more than ``EDGE_STEP`` x the frame's spread within 3 px); the pixels
   within radius / 2 + 1 px of them, on both sides, are where the edge may
   truly be.
2. **Layers along the normal.** Each band pixel's layer is its distance
   from the other side of the depth edge (Euclidean, rounded: 1 next to it):
   1, 2, ... on the near side, -1, -2, ... on the far side.
3. **Each stretch of edge** decides where the plate's edge is: over a
   window of ``SEGMENT_SHARE`` x radius around a pixel, the mean colour of
   each layer is taken from the window's pixels of the same edge (the same
   two surfaces: another edge nearby or a junction of three layers has its
   own layers), and the plate's edge is between the two neighbouring layers
   whose means differ most, among differences that the layers' own texture
   does not explain (beyond 3 standard errors: ``SHIFT_Z`` in squares). Where that jump
   is ``SHIFT_FACTOR`` times the one across the depth edge itself, the
   pixels between the two edges change side (they take the disparity of the
   surface just across: the mean of the nearest or farthest surface within
   radius / 2 + 1 px, not its extreme, which on a noisy map is the noise's), and the
   two layers at the plate's edge are matted: each pixel goes with the
   layer mean its colour is nearer to (an alpha beyond 0.5 along the line
   between them), since a distance rounded to a layer is half a pixel off.
   The whole stretch decides, not a pixel's colour, so the edge is found
   where the sides' colours overlap pixel by pixel (texture averages out
   along the edge), and it moves in (a dilated subject loses its band of
   background) and out (an eroded one grows back) on the same evidence. A
   pixel of a third surface between the two (a thin strip of a middle
   layer) stays; where the plate shows no edge, the depth's edge stays.
4. **Noise along the edge** is averaged away with the pixels of the same
   surface nearby (within ``SAME_SURFACE`` x the spread of the pixel's own
   disparity, every other pixel of a (2 x ``BAND_RADIUS_PX`` + 1)^2 window), never across it:
   in the band and ``GUIDED_REACH_PX`` beyond it, where the guided filter's window would
   still reach across the edge and mix the two surfaces' depths.
5. **Elsewhere** (no depth edge near), a guided filter (He et al.) with the
   plate's luminance as guide averages noise away while keeping the small
   depth steps that follow the plate; where the depth is constant over its
   window it is kept exactly, so an in-focus surface stays on the focus
   plane bit for bit.

Everything is relative to the frame's disparity spread, so it works for any
disparity unit. The guide is the plate's colour through a 1/2.2 power (a
viewer's contrast), values above 1 saturated. Window sums and maxima are
separable running sums and doubling maxima, the distance layers are found
for the band's pixels only (nearest offsets first), and the layers' colours
are gathered for every other pixel each way (a stretch's decision is shared
with its neighbours): a 1080p frame costs about 1.4 s on one core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from focuspull.depth_conditioning.spread import disparity_spread

if TYPE_CHECKING:
    import numpy as np
    import torch

#: a depth edge: a jump of this fraction of the spread within the 3x3 of a 5x5-smoothed map
EDGE_STEP = 0.04
#: disparities closer than this fraction of the spread are one surface
SAME_SURFACE = 0.1
#: smallest colour deviation of a layer (display 0..1 per channel): flat colour is not certainty
COLOUR_FLOOR = 0.03
#: half-size of the stretch of edge that decides together, as a share of the edge radius
SEGMENT_SHARE = 0.8
#: a colour jump between layers is an edge only beyond this many squared standard errors of the difference
SHIFT_Z = 9.0
#: ... and the stretch moves only where it is this many times the jump across the depth edge
SHIFT_FACTOR = 2.0
#: ... and at least this (display colour units)
SHIFT_FLOOR = 0.03
#: an in-between disparity with at most this many alike neighbours (of 8) is a line along the edge
#: (a soft edge's ramp: 2 along it, 3 where it steps diagonally), not a strip of a third surface
RAMP_ALIKE = 3
#: a layer needs this many pixels in the window to have a mean colour
SHIFT_MIN_COUNT = 4
#: half-size of the window of the same-surface mean along depth edges (every other pixel of it)
BAND_RADIUS_PX = 6
#: guided filter: half-size of its window and its regulariser (in guide units squared)
GUIDED_RADIUS_PX = 3
GUIDED_EPS = 0.1 ** 2
#: how far beyond the band the guided filter's window (and its coefficients' mean) would reach across an edge
GUIDED_REACH_PX = 3
#: band pixels averaged at once (bounds memory: chunk x window)
_CHUNK = 65536


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
    same = SAME_SURFACE * spread
    out = guided_filter(guide.mean(dim=0), d, GUIDED_RADIUS_PX, GUIDED_EPS)
    # where the depth is constant over the filter's window there is nothing to smooth: keep it
    # exactly (the filter's rounding would otherwise move an in-focus pixel off the focus plane)
    out = torch.where(local_range(d, GUIDED_RADIUS_PX) > 0, out, d)
    reach = radius_px // 2 + 1
    smooth = box_mean(d, 2)
    edges = depth_edges(smooth, spread)
    band = max_filter(edges, reach) > 0
    if bool(band.any()):
        moved = _shift_to_colour_edge(d, guide, band, round(SEGMENT_SHARE * radius_px), reach, same)
        # the guided filter's window reaches GUIDED_REACH_PX: nearer an edge it would mix the two surfaces
        wide = reach + GUIDED_REACH_PX
        near_edge = max_filter(edges, wide) > 0
        smoothed = _same_surface_mean(moved, near_edge, BAND_RADIUS_PX, same)
        # a band around a jump that is only noise (no step survives a 5x5 mean) is filtered like the rest
        real = local_range(smooth, wide) > same
        out = torch.where(near_edge & real, smoothed, out)
    # the guided filter's local linear model can overshoot near sky (0) or the nearest
    # surface; a filter adds no depth the map did not have
    return out.clamp_(float(d.min()), float(d.max())).numpy()


def depth_edges(smooth: "torch.Tensor", spread: float) -> "torch.Tensor":
    """(H, W) float, 1 on the depth edges of the 5x5 mean ``smooth`` of a map (its bands are their max_filter)."""
    return (local_range(smooth, 1) > EDGE_STEP * spread).float()


def _shift_to_colour_edge(d: "torch.Tensor", guide: "torch.Tensor", band: "torch.Tensor", window_px: int,
                          reach_px: int, same: float) -> "torch.Tensor":
    """``d`` with each stretch of depth edge moved to the plate's colour edge along its normal
    (steps 2 and 3 of the module's description)."""
    import torch

    # sides from a window twice the reach: every pixel that a layer can reach has one
    wide_hi, wide_lo = max_filter(d, 2 * reach_px), -max_filter(-d, 2 * reach_px)
    near = d > 0.5 * (wide_hi + wide_lo)
    layer = _distance_layers(near, band, reach_px)
    hi, lo = max_filter(d, reach_px), -max_filter(-d, reach_px)
    ys, xs = band.nonzero(as_tuple=True)
    # a stretch's decision: made at every other pixel both ways, shared with the neighbours
    columns = (d.shape[1] + 1) // 2
    cells, which = torch.unique((ys // 2) * columns + xs // 2, return_inverse=True)
    count, mean, variance = _layer_colours(layer, guide, hi, lo, (cells // columns) * 2, (cells % columns) * 2,
                                           window_px, reach_px, same)
    jump = (mean[1:] - mean[:-1]).norm(dim=1)  # (L - 1, M): between layer j and j + 1
    present = (count[1:] >= SHIFT_MIN_COUNT) & (count[:-1] >= SHIFT_MIN_COUNT)
    # a jump that the layers' own texture explains is not an edge: squared z of the difference of means
    error = (variance + COLOUR_FLOOR ** 2) / count.clamp(min=1)
    edge_like = torch.where(present & (jump ** 2 > SHIFT_Z * (error[1:] + error[:-1])), jump, torch.zeros_like(jump))
    current = reach_px - 1  # index of the jump between layers -1 and 1: the depth edge
    best = edge_like.argmax(dim=0)
    strongest = edge_like.gather(0, best[None])[0]
    moves = ((best != current) & present[current] & (strongest > SHIFT_FACTOR * jump[current])
             & (strongest > SHIFT_FLOOR))
    # the plate's edge is between layer indices best and best + 1 (0 = layer -reach .. 2 reach - 1 = reach)
    index = torch.where(layer > 0, layer + reach_px - 1, layer + reach_px)[ys, xs]
    layers_at = mean.permute(2, 0, 1)[which]  # (N, L, 3)
    best = best[which]
    far_mean = layers_at.gather(1, best[:, None, None].expand(-1, 1, 3))[:, 0]
    near_mean = layers_at.gather(1, (best + 1)[:, None, None].expand(-1, 1, 3))[:, 0]
    # the two layers at the plate's edge are matted: a rounded distance is half a pixel off
    gap = near_mean - far_mean
    alpha = ((guide[:, ys, xs].T - far_mean) * gap).sum(dim=1) / (gap * gap).sum(dim=1).clamp(min=1e-12)
    at_edge = (index == best) | (index == best + 1)
    goes_near = torch.where(at_edge, alpha > 0.5, index > best)
    was_near = layer[ys, xs] > 0
    own, across_hi, across_lo = d[ys, xs], hi[ys, xs], lo[ys, xs]
    # a pixel of a third surface between the two (a strip of a middle layer) is not either side's; an
    # in-between value that is only a line along the edge is the old edge's soft ramp: where the edge
    # moves it takes the value of the side it is on (left as it was, it would be a line of middle
    # depth px away from the subject: a ghost outline)
    on_a_side = torch.minimum((own - across_hi).abs(), (own - across_lo).abs()) <= same
    ramp = ~on_a_side & (_alike_neighbours(d, ys, xs, same) <= RAMP_ALIKE)
    moves = moves[which] & (layer[ys, xs] != 0) & ((on_a_side & (goes_near != was_near)) | ramp)
    out = d.clone()
    moved_ys, moved_xs = ys[moves], xs[moves]
    out[moved_ys, moved_xs] = _surface_across(d, moved_ys, moved_xs, goes_near[moves], reach_px, same)
    return out


def _surface_across(d: "torch.Tensor", ys: "torch.Tensor", xs: "torch.Tensor", nearer: "torch.Tensor",
                    reach_px: int, same: float) -> "torch.Tensor":
    """The disparity a pixel (ys, xs) takes when it changes side: the mean of the nearest (``nearer``)
    or farthest surface within ``reach_px``, its pixels within ``same`` of the extreme. (The extreme
    itself is the extreme of the noise: ~2.5 sigma off the surface on a noisy map.)"""
    import torch
    import torch.nn.functional as F

    r = reach_px
    sign = torch.where(nearer, 1.0, -1.0)[:, None]
    padded = F.pad(d[None, None], (r, r, r, r), value=float("nan"))[0, 0].reshape(-1)
    row, offsets = _flat_window(d.shape[1], r)
    out = torch.empty(ys.numel(), dtype=d.dtype)
    chunk = _CHUNK // 8
    for start in range(0, ys.numel(), chunk):
        c = (ys[start : start + chunk] + r) * row + (xs[start : start + chunk] + r)
        s = sign[start : start + chunk]
        values = torch.nan_to_num(s * padded[c[:, None] + offsets[None, :]], nan=-float("inf"))  # nearest = largest
        extreme = values.max(dim=1, keepdim=True).values
        surface = values >= extreme - same
        mean = torch.where(surface, values, 0.0).sum(dim=1) / surface.sum(dim=1)
        out[start : start + c.numel()] = s[:, 0] * mean
    return out


def _flat_window(width: int, radius_px: int) -> "tuple[int, torch.Tensor]":
    """For a map padded by ``radius_px`` on every side and flattened: its row length, and the flat
    offsets of the (2 radius + 1)^2 window around a pixel (a gather of a pixel's window is one index)."""
    import torch

    r = radius_px
    row = width + 2 * r
    dy, dx = torch.meshgrid(torch.arange(-r, r + 1), torch.arange(-r, r + 1), indexing="ij")
    return row, (dy * row + dx).reshape(-1)


def _alike_neighbours(d: "torch.Tensor", ys: "torch.Tensor", xs: "torch.Tensor", same: float) -> "torch.Tensor":
    """How many of the 8 neighbours of each pixel (ys, xs) are within ``same`` of its disparity."""
    import torch
    import torch.nn.functional as F

    padded = F.pad(d[None, None], (1, 1, 1, 1), mode="replicate")[0, 0]
    own = d[ys, xs]
    count = torch.zeros_like(own)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                count += ((padded[ys + 1 + dy, xs + 1 + dx] - own).abs() <= same).to(own.dtype)
    return count


def _distance_layers(near: "torch.Tensor", band: "torch.Tensor", reach_px: int) -> "torch.Tensor":
    """(H, W) int: each ``band`` pixel's Euclidean distance to the nearest pixel of the other side,
    rounded (1 next to it), positive on the near side and negative on the far side, up to
    ``reach_px``; 0 beyond and outside the band. Offsets are tried nearest first, each only for the
    band pixels still without a distance (most have one within 2 px)."""
    import torch
    import torch.nn.functional as F

    r = reach_px
    padded = (F.pad(near[None, None].float(), (r, r, r, r), mode="replicate")[0, 0] > 0).reshape(-1)
    row = near.shape[1] + 2 * r
    ys, xs = band.nonzero(as_tuple=True)
    centres = (ys + r) * row + (xs + r)
    sides = padded[centres]
    distance = torch.zeros(centres.numel())
    lengths: dict[float, list[int]] = {}
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            length = (dy * dy + dx * dx) ** 0.5
            if 0 < length <= r + 0.5:
                lengths.setdefault(length, []).append(dy * row + dx)
    open_ = torch.arange(centres.numel())  # pixels without a distance yet
    for length in sorted(lengths):
        offsets = torch.tensor(lengths[length])
        found = (padded[centres[open_, None] + offsets[None, :]] != sides[open_, None]).any(dim=1)
        distance[open_[found]] = length
        open_ = open_[~found]
        if not open_.numel():
            break
    layer = distance.round().clamp(min=1)
    layer = torch.where((distance > 0) & (layer <= r), layer, torch.zeros_like(layer)).long()
    out = torch.zeros(near.shape, dtype=torch.long)
    out[ys, xs] = torch.where(sides, layer, -layer)
    return out


def _layer_colours(layer: "torch.Tensor", guide: "torch.Tensor", hi: "torch.Tensor", lo: "torch.Tensor",
                   ys: "torch.Tensor", xs: "torch.Tensor", window_px: int, reach_px: int,
                   same: float) -> "tuple[torch.Tensor, torch.Tensor, torch.Tensor]":
    """(L, N) pixel counts, (L, 3, N) mean colours and (L, N) colour variances (summed over the
    channels) of the L = 2 reach distance layers around the pixels (ys, xs), from the window's
    pixels of the same edge (within ``same`` of the pixel's two surfaces: another edge nearby, a
    junction, has its own layers)."""
    import torch
    import torch.nn.functional as F

    r = window_px
    levels = 2 * reach_px
    index = torch.where(layer > 0, layer + reach_px - 1, layer + reach_px)  # -reach..-1, 1..reach -> 0..2 reach - 1
    index = torch.where(layer == 0, torch.full_like(index, levels), index)  # in no layer

    def padded(x: "torch.Tensor", value: float = 0.0) -> "torch.Tensor":
        return F.pad(x[None], (r, r, r, r), value=value)[0].reshape(*x.shape[:-2], -1)

    # what a pixel adds to its layer's sums, pixel by pixel (one gather a window): 1, colour, |colour|^2
    table = padded(torch.cat([torch.ones_like(guide[:1]), guide, (guide * guide).sum(dim=0, keepdim=True)]))
    table = table.T.contiguous()
    hi_p, lo_p = padded(hi[None])[0], padded(lo[None])[0]
    index_p = padded(index[None].to(guide.dtype), float(levels))[0].long()
    row, offsets = _flat_window(guide.shape[2], r)
    centres = (ys + r) * row + (xs + r)
    sums = torch.zeros(centres.numel(), levels + 1, 5)
    chunk = max(1, _CHUNK // 16)
    for start in range(0, centres.numel(), chunk):
        c = centres[start : start + chunk]
        at = c[:, None] + offsets[None, :]
        same_edge = ((hi_p[at] - hi_p[c][:, None]).abs() <= same) & ((lo_p[at] - lo_p[c][:, None]).abs() <= same)
        which = torch.where(same_edge, index_p[at], levels)
        sums[start : start + c.numel()].scatter_add_(1, which[..., None].expand(-1, -1, 5), table[at])
    sums = sums[:, :levels].permute(1, 2, 0)  # (L, 5, N)
    count = sums[:, 0]
    mean = sums[:, 1:4] / count[:, None].clamp(min=1e-6)
    variance = (sums[:, 4] / count.clamp(min=1e-6) - (mean * mean).sum(dim=1)).clamp(min=0.0)
    return count, mean, variance


def _same_surface_mean(d: "torch.Tensor", band: "torch.Tensor", radius_px: int, same: float) -> "torch.Tensor":
    """``d`` with each band pixel the mean of the window's pixels within ``same`` of its value (step 4)."""
    import torch
    import torch.nn.functional as F

    r = radius_px
    padded = F.pad(d[None, None], (r, r, r, r), mode="replicate")[0, 0].reshape(-1)
    row = d.shape[1] + 2 * r
    steps = torch.arange(-r, r + 1, 2)  # every other pixel: twice the reach for the same cost
    offsets = (steps[:, None] * row + steps[None, :]).reshape(-1)
    ys, xs = band.nonzero(as_tuple=True)
    centres = (ys + r) * row + (xs + r)
    means = torch.empty(centres.numel(), dtype=d.dtype)
    for start in range(0, centres.numel(), _CHUNK):
        c = centres[start : start + _CHUNK]
        own = padded[c]
        # differences from the pixel's own value: a constant surface stays bit for bit
        differences = padded[c[:, None] + offsets[None, :]] - own[:, None]
        alike = (differences.abs() <= same).to(d.dtype)
        means[start : start + c.numel()] = own + (differences * alike).sum(dim=1) / alike.sum(dim=1)
    out = d.clone()
    out[ys, xs] = means
    return out


def guided_filter(guide: "torch.Tensor", src: "torch.Tensor", radius_px: int, eps: float) -> "torch.Tensor":
    """Guided filter of (H, W) ``src`` with (H, W) ``guide``: locally a * guide + b.

    The fast form (He and Sun 2015): the local linear model's coefficients, smooth by nature,
    are computed on 2x2 averages and enlarged bilinearly; only a * guide + b is per pixel."""
    import torch
    import torch.nn.functional as F

    small = F.avg_pool2d(torch.stack([guide, src])[None], 2, ceil_mode=True)[0]
    radius = max(1, round(radius_px / 2))
    count = window_count(small.shape[-2:], radius)
    g, p = small
    mean_i, mean_p, mean_ip, mean_ii = box_sum(torch.stack([g, p, g * p, g * g]), radius) / count
    a = (mean_ip - mean_i * mean_p) / (mean_ii - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    coefficients = box_sum(torch.stack([a, b]), radius) / count
    mean_a, mean_b = F.interpolate(coefficients[None], size=src.shape, mode="bilinear", align_corners=False)[0]
    return mean_a * guide + mean_b


# -- window operations, separable and independent of the radius --------------------------------------------
def box_sum(x: "torch.Tensor", radius_px: int) -> "torch.Tensor":
    """Sum of ``x`` (..., H, W) over the (2 r + 1)^2 window around each pixel, zero outside the frame.

    Running sums in float32: over a 4K frame a window mean of 0..1 values is off by about 1e-5."""
    import torch.nn.functional as F

    size = 2 * radius_px + 1
    out = x
    for dim in (-1, -2):
        pad = [0, 0, 0, 0]
        pad[0 if dim == -1 else 2] = radius_px + 1
        pad[1 if dim == -1 else 3] = radius_px
        running = F.pad(out, pad).cumsum(dim=dim)
        length = running.shape[dim]
        out = running.narrow(dim, size, length - size) - running.narrow(dim, 0, length - size)
    return out


def window_count(size: "tuple[int, int]", radius_px: int) -> "torch.Tensor":
    """(H, W): how many pixels of the (2 r + 1)^2 window around each pixel are inside the frame."""
    import torch

    def along(length: int) -> "torch.Tensor":
        i = torch.arange(length)
        return ((i + radius_px).clamp(max=length - 1) - (i - radius_px).clamp(min=0) + 1).float()

    return along(size[0])[:, None] * along(size[1])[None, :]


def box_mean(x: "torch.Tensor", radius_px: int) -> "torch.Tensor":
    """Mean of (H, W) ``x`` over the window's pixels inside the frame."""
    return box_sum(x, radius_px) / window_count(x.shape, radius_px)


def max_filter(x: "torch.Tensor", radius_px: int) -> "torch.Tensor":
    """Maximum of (H, W) ``x`` over the (2 r + 1)^2 window (frame edges ignored), by doubling:
    log2(window) maxima of shifted copies per direction instead of one comparison per window pixel."""
    import torch

    out = x
    for dim in (1, 0):
        size = 2 * radius_px + 1
        length = out.shape[dim]
        pad_shape = list(out.shape)
        pad_shape[dim] = radius_px
        edge = torch.full(pad_shape, float("-inf"), dtype=out.dtype)
        padded = torch.cat([edge, out, edge], dim=dim)  # window [i, i + size) of padded = around i
        span, best = 1, padded
        while 2 * span <= size:  # best[i] = max of padded[i : i + 2 span]
            n = best.shape[dim] - span
            best = torch.maximum(best.narrow(dim, 0, n), best.narrow(dim, span, n))
            span *= 2
        # two overlapping windows of length span cover [i, i + size)
        out = torch.maximum(best.narrow(dim, 0, length), best.narrow(dim, size - span, length))
    return out


def local_range(d: "torch.Tensor", radius_px: int) -> "torch.Tensor":
    """Max minus min of (H, W) ``d`` over the (2 r + 1)^2 window."""
    return max_filter(d, radius_px) + max_filter(-d, radius_px)
