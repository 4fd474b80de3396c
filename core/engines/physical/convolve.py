"""Convolution of plane stacks with aperture kernels: direct, FFT and pyramid.

All convolutions are *full* linear convolutions: the output of an (h, w)
input blurred by a kernel of half size p is (h + 2p, w + 2p) and nothing is
lost at the edges, so energy is kept exactly (up to float rounding).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: kernels up to this half size are applied directly (exact zeros outside the
#: support, and faster than an FFT for small kernels)
DIRECT_MAX_HALF = 2


def fast_size(n: int) -> int:
    """The smallest integer >= n whose prime factors are 2, 3 and 5 (fast FFT sizes)."""
    n = max(int(n), 1)
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1


def convolve_sum(parts: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
    """Sum over ``(x, kernel)`` of the full convolutions ``x * kernel``.

    Every x is (c, h, w) of the same shape; every kernel is (2p+1, 2p+1) with
    the same p. Returns (c, h + 2p, w + 2p): output pixel (i, j) lies at input
    position (i - p, j - p).
    """
    c, h, w = parts[0][0].shape
    p = (parts[0][1].shape[-1] - 1) // 2
    if p == 0:
        out = parts[0][0] * parts[0][1][0, 0]
        for x, k in parts[1:]:
            out = out + x * k[0, 0]
        return out
    if p <= DIRECT_MAX_HALF:
        # a few shifted multiply-adds: exact zeros outside the support, and much
        # faster on CPU than a grouped conv2d
        out = torch.zeros(c, h + 2 * p, w + 2 * p, dtype=parts[0][0].dtype, device=parts[0][0].device)
        for x, k in parts:
            weights = k.tolist()
            for dy in range(2 * p + 1):
                for dx in range(2 * p + 1):
                    if weights[dy][dx] != 0.0:
                        out[:, dy : dy + h, dx : dx + w].add_(x, alpha=weights[dy][dx])
        return out
    size = (fast_size(h + 2 * p), fast_size(w + 2 * p))
    spectrum = None
    for x, k in parts:
        term = torch.fft.rfft2(x, s=size) * torch.fft.rfft2(k.to(x.dtype), s=size)
        spectrum = term if spectrum is None else spectrum + term
    return torch.fft.irfft2(spectrum, s=size)[:, : h + 2 * p, : w + 2 * p]


def spread_subpixel(x: torch.Tensor, abs_radius: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Full convolution of x (c, h, w) with a kernel per pixel: its radius's, from a table.

    ``table`` (n, 2p+1, 2p+1) holds kernels at radii 0, 1/(n-1), ..., 1 px;
    pixel (i, j) is spread by the table blended linearly at ``abs_radius[i, j]``
    (clamped to 1). Returns (c, h + 2p, w + 2p) like ``convolve_sum``. Pixels
    whose kernel is the identity come back exactly (weight 1, zeros elsewhere).
    """
    n, size, _ = table.shape
    p = (size - 1) // 2
    c, h, w = x.shape
    position = abs_radius.clamp(0.0, 1.0) * (n - 1)
    lower = position.floor().long().clamp_(max=n - 2)
    frac = position - lower
    out = torch.zeros(c, h + 2 * p, w + 2 * p, dtype=x.dtype, device=x.device)
    flat = table.reshape(n, -1).to(x.dtype)
    # taps that every tabulated kernel leaves at zero are skipped; taps with the same
    # weights at every radius (a symmetric aperture's) share one weighted copy of x
    taps = torch.nonzero(flat.abs().amax(dim=0) > 0).flatten()
    columns, group = torch.unique(flat[:, taps], dim=1, return_inverse=True)
    for k in range(columns.shape[1]):
        column = columns[:, k]
        weighted = x * torch.lerp(column[lower], column[lower + 1], frac)
        for tap in taps[group == k].tolist():
            dy, dx = divmod(tap, size)
            out[:, dy : dy + h, dx : dx + w].add_(weighted)
    return out


def downsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Reduce by an integer factor with the adjoint of ``upsample`` (a tent filter).

    Each input pixel is split bilinearly between the two nearest output pixel
    centres on each axis, so a point keeps its sub-pixel position (a box filter
    would move it by up to half a reduced pixel) and the total is kept
    (divided by factor^2). Input dimensions must be multiples of the factor;
    content closer than one factor to the border is partly lost, so callers
    pad with zeros first.
    """
    if factor == 1:
        return x
    if factor % 2:
        raise ValueError(f"downsample: factor {factor} must be a power of two")
    c, h, w = x.shape
    # weights of the pixel at offset j inside a block toward the block's own output
    # pixel and the previous / next one (the first half leans back, the second forward)
    centre = [(j + 0.5) / factor for j in range(factor)]
    own = [0.5 + q if j < factor // 2 else 1.5 - q for j, q in enumerate(centre)]
    prev = [0.5 - q if j < factor // 2 else 0.0 for j, q in enumerate(centre)]
    nxt = [q - 0.5 if j >= factor // 2 else 0.0 for j, q in enumerate(centre)]
    rows = _tent_axis(x.reshape(c, h // factor, factor, w), own, prev, nxt)
    cols = rows.transpose(1, 2).reshape(c, w // factor, factor, h // factor)
    return _tent_axis(cols, own, prev, nxt).transpose(1, 2) / (factor * factor)


def _tent_axis(blocks: torch.Tensor, own: list[float], prev: list[float], nxt: list[float]) -> torch.Tensor:
    """(c, n, f, m) blocks along axis 1 -> (c, n, m): each output gets its block and half of each neighbour."""
    c, n, f, m = blocks.shape
    out = torch.zeros(c, n, m, dtype=blocks.dtype, device=blocks.device)
    for q in range(f):
        row = blocks[:, :, q]
        out.add_(row, alpha=own[q])
        if nxt[q]:
            out[:, 1:].add_(row[:, :-1], alpha=nxt[q])
        if prev[q]:
            out[:, :-1].add_(row[:, 1:], alpha=prev[q])
    return out


def upsample(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Bilinear upsampling by an integer factor, pixel centres aligned.

    Each input sample spreads total weight factor^2 (away from the border), so
    with ``downsample`` the total energy is kept. Pad the input with a ring of
    zeros first so the border is interpolated toward zero, not clamped.
    """
    if factor == 1:
        return x
    return F.interpolate(x[None], scale_factor=factor, mode="bilinear", align_corners=False)[0]
