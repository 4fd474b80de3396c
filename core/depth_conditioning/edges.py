"""Depth edges refined against the plate.

A depth map's edges often sit a few pixels off the subject's silhouette
(eroded or dilated by an estimator, blurred by resampling); the render then
lets the subject's colour glow into the blurred background, or keeps a sharp
band of background around it. The plate knows where the silhouette is. The
refinement works like a trimap-based matting of each depth edge:

1. **The band.** Depth edges are found on a lightly smoothed copy (a jump of
   more than ``EDGE_STEP`` x the frame's spread within 3 px); the pixels
   within radius / 2 + 1 px of them, on both sides, are *unknown* (the
   edge may be anywhere in there); the rest is *known*.
2. **Two colour models per pixel**, from known pixels only, in a window of
   radius 1.5 x radius around it: the *near* side (known pixels nearer than
   the middle of the window's disparity range) and the *far* side, each a
   mean colour and an isotropic variance (box sums: the cost does not grow
   with the radius). Known pixels are outside the band, so a misplaced edge
   does not vote for itself, whatever the share of wrong pixels near it.
3. **Each band pixel** is classified by the likelihood of its colour under
   the two Gaussians. It moves to the other side's disparity (the nearest or
   farthest value within radius / 2 + 1 px: the surface just across the
   edge) only on clear evidence: the two models are apart (their means
   differ by ``SEPARATION`` x their pooled deviation), the other side is
   ``SWITCH_NATS`` more likely, and the pixel's colour is mostly the other
   side's (projected on the line between the two means, an alpha beyond
   ``ALPHA_SWITCH`` from its own side: an anti-aliased rim pixel stays).
   The pixel must be on one of the edge's two surfaces, and the window must
   hold no third one (at a junction of three layers the models mix them).
   Pushing a pixel back (near to far) takes ``PUSH_BACK`` times the evidence
   of pulling one forward: a subject's pixel sent behind glows into the
   blur, a background pixel kept in front only stays sharp.
   So an edge moves outwards (an eroded subject grows back) and inwards (a
   dilated one loses its band of background) alike; where the plate's
   colours do not tell the sides apart, the edge stays where the depth put it.
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
separable running sums and doubling maxima, so a 1080p frame costs a few
tenths of a second whatever the radius.
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
#: smallest colour deviation of a side's model (display 0..1 per channel): flat colour is not certainty
COLOUR_FLOOR = 0.03
#: the sides' mean colours must differ by this many pooled deviations for the plate to show the edge
SEPARATION = 1.5
#: a side needs this share of the window's pixels (known, on that side) to have a model
MIN_SHARE = 0.02
#: log-likelihood (nats) by which the other side must explain a pixel's colour better to take it
SWITCH_NATS = 2.0
#: a pixel changes side only when its alpha towards the other side's colour is beyond this
ALPHA_SWITCH = 0.35
#: how many times the evidence a pixel needs to move back (near -> far) than forward
PUSH_BACK = 3.0
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
    band = edge_band(smooth, spread, reach)
    if bool(band.any()):
        moved = _snap_to_plate(d, guide, band, radius_px + reach, reach, same)
        # the guided filter's window reaches GUIDED_REACH_PX: nearer an edge it would mix the two surfaces
        wide = reach + GUIDED_REACH_PX
        near_edge = edge_band(smooth, spread, wide)
        smoothed = _same_surface_mean(moved, near_edge, BAND_RADIUS_PX, same)
        # a band around a jump that is only noise (no step survives a 5x5 mean) is filtered like the rest
        real = local_range(smooth, wide) > same
        out = torch.where(near_edge & real, smoothed, out)
    # the guided filter's local linear model can overshoot near sky (0) or the nearest
    # surface; a filter adds no depth the map did not have
    return out.clamp_(float(d.min()), float(d.max())).numpy()


def edge_band(smooth: "torch.Tensor", spread: float, radius_px: int) -> "torch.Tensor":
    """(H, W) bool: pixels within ``radius_px`` of a depth edge of the 5x5 mean ``smooth`` of a map."""
    edge = local_range(smooth, 1) > EDGE_STEP * spread
    return max_filter(edge.float(), radius_px) > 0


def _snap_to_plate(d: "torch.Tensor", guide: "torch.Tensor", band: "torch.Tensor", window_px: int,
                   reach_px: int, same: float) -> "torch.Tensor":
    """``d`` with each band pixel on the side of its edge that the plate's colour says (steps 2, 3).

    The models are window means over hundreds of pixels: they are computed on 2x2 averages
    (a quarter of the work) and read bilinearly at the band's pixels."""
    import torch
    import torch.nn.functional as F

    radius = max(1, round(window_px / 2))
    small = F.avg_pool2d(torch.cat([d[None], guide, (~band).to(d.dtype)[None]])[None], 2, ceil_mode=True)[0]
    half_d, half_guide, known = small[0], small[1:4], small[4]
    half_hi, half_lo = max_filter(half_d, radius), -max_filter(-half_d, radius)
    near = (half_d > 0.5 * (half_hi + half_lo)).to(d.dtype) * known
    power = (half_guide * half_guide).sum(dim=0)
    sums = box_sum(torch.stack([known, *(known * half_guide), known * power,
                                near, *(near * half_guide), near * power]), radius) / (2 * radius + 1) ** 2
    ys, xs = band.nonzero(as_tuple=True)
    sums = _bilinear_at(sums, ys, xs)
    colour = guide[:, ys, xs]
    models = []
    for side in (sums[5:], sums[:5] - sums[5:]):
        count = side[0].clamp(min=1e-6)
        mean = side[1:4] / count
        variance = (side[4] / count - (mean * mean).sum(dim=0)).clamp(min=0.0) / 3 + COLOUR_FLOOR ** 2
        log_likelihood = -0.5 * ((colour - mean) ** 2).sum(dim=0) / variance - 1.5 * torch.log(variance)
        models.append((side[0], mean, variance, log_likelihood))
    (n_near, mean_near, var_near, ll_near), (n_far, mean_far, var_far, ll_far) = models
    gap = mean_near - mean_far
    separable = ((n_near > MIN_SHARE) & (n_far > MIN_SHARE)
                 & ((gap * gap).sum(dim=0) > SEPARATION ** 2 * (var_near + var_far)))
    # the surfaces just across the edge, and which of them the pixel is on now
    across_hi, across_lo = max_filter(d, reach_px)[ys, xs], -max_filter(-d, reach_px)[ys, xs]
    own = d[ys, xs]
    is_near = own > 0.5 * (across_hi + across_lo)
    alpha = ((colour - mean_far) * gap).sum(dim=0) / (gap * gap).sum(dim=0).clamp(min=1e-12)
    # pushing a pixel back (near -> far) needs more evidence than pulling one forward: a subject's
    # pixel sent behind spreads its colour into the blur, a background pixel kept in front only
    # stays as sharp as its neighbour
    evidence = torch.where(is_near, (ll_far - ll_near) / PUSH_BACK, ll_near - ll_far)
    clear = torch.where(is_near, alpha < ALPHA_SWITCH / PUSH_BACK, alpha > 1.0 - ALPHA_SWITCH)
    # a pixel of a third surface between the two (a thin strip of a middle layer) is not either side's
    on_a_side = torch.minimum((own - across_hi).abs(), (own - across_lo).abs()) <= same
    # the models describe the window's two extreme surfaces: they are the edge's own only where
    # the window holds no third one (at a junction of three layers a switch may jump past a thin one)
    hy, hx = (ys // 2).clamp(max=half_d.shape[0] - 1), (xs // 2).clamp(max=half_d.shape[1] - 1)
    two_surfaces = ((half_hi[hy, hx] - across_hi).abs() <= same) & ((half_lo[hy, hx] - across_lo).abs() <= same)
    switch = separable & on_a_side & two_surfaces & (evidence > SWITCH_NATS) & clear
    out = d.clone()
    out[ys, xs] = torch.where(switch, torch.where(is_near, across_lo, across_hi), own)
    return out


def _bilinear_at(half: "torch.Tensor", ys: "torch.Tensor", xs: "torch.Tensor") -> "torch.Tensor":
    """(C, N) values of the half-resolution (C, h, w) maps at full-resolution pixels (ys, xs)."""
    h, w = half.shape[-2:]
    fy = ((ys.to(half.dtype) + 0.5) / 2 - 0.5).clamp(0, h - 1)
    fx = ((xs.to(half.dtype) + 0.5) / 2 - 0.5).clamp(0, w - 1)
    y0, x0 = fy.floor().long(), fx.floor().long()
    y1, x1 = (y0 + 1).clamp(max=h - 1), (x0 + 1).clamp(max=w - 1)
    wy, wx = fy - y0, fx - x0
    top = half[:, y0, x0] * (1 - wx) + half[:, y0, x1] * wx
    bottom = half[:, y1, x0] * (1 - wx) + half[:, y1, x1] * wx
    return top * (1 - wy) + bottom * wy


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
