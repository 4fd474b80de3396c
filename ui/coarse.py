"""The preview's fast path: a coarse stand-in for the lens in plain numpy (no Qt, no torch).

At 1/8 resolution it takes milliseconds, so the viewer has a picture while
the engine works; it keeps energy but not occlusion, and is labelled coarse.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from focuspull.errors import FocusPullError

if TYPE_CHECKING:
    import numpy as np

    from focuspull.pipeline import FrameData

#: blur radii (in coarse pixels) of the fast path's blend ladder grow by this factor
LADDER_RATIO = 1.6


def downsample(data: "FrameData", factor: int) -> "FrameData":
    """Box-filter the plate by an integer factor; depth is point-sampled so edges stay edges."""
    if factor == 1:
        return data
    height, width = data.disparity.shape
    h, w = height // factor, width // factor
    if h < 1 or w < 1:
        raise FocusPullError(f"a {width}x{height} frame is too small for a 1/{factor} preview")
    rgba = data.rgba[: h * factor, : w * factor]
    rgba = rgba.reshape(h, factor, w, factor, rgba.shape[-1]).mean(axis=(1, 3), dtype="float32")
    mid = factor // 2
    disparity = data.disparity[mid : h * factor : factor, mid : w * factor : factor]
    return dataclasses.replace(data, rgba=rgba.astype("float32"), disparity=disparity.copy())


def box_blur(image: "np.ndarray", radius_px: int) -> "np.ndarray":
    """Mean over a (2r+1)^2 square around each pixel, edges clamped (two 1-D running sums)."""
    import numpy as np

    if radius_px < 1:
        return image
    out = image
    for axis in (0, 1):
        n = out.shape[axis]
        pad = [(0, 0)] * out.ndim
        pad[axis] = (radius_px + 1, radius_px)
        sums = np.cumsum(np.pad(out, pad, mode="edge"), axis=axis, dtype=np.float64)
        hi = np.take(sums, np.arange(n) + 2 * radius_px + 1, axis=axis)
        lo = np.take(sums, np.arange(n), axis=axis)
        out = ((hi - lo) / (2 * radius_px + 1)).astype(np.float32)
    return out


def coarse_defocus(rgba: "np.ndarray", radius_px: "np.ndarray") -> "np.ndarray":
    """A fast stand-in for the lens: each pixel takes the plate blurred to its own |CoC|.

    The plate is blurred to a ladder of radii (a square of the disc's area,
    side r*sqrt(pi)); each pixel blends the two rungs around its |r|. Pixels
    with |r| below half a pixel are the plate itself. Energy is kept (every
    rung is a normalised mean) but occlusion is not modelled: a sharp subject's
    edge lets the blurred background through, which the engine's pass fixes.
    """
    import numpy as np

    r = np.abs(np.asarray(radius_px, np.float32))
    r_max = float(r.max()) if r.size else 0.0
    if r_max < 0.5:
        return rgba.copy()
    ladder = [0.0]
    rung = 1.0
    while ladder[-1] < r_max:
        ladder.append(min(rung, r_max))
        rung *= LADDER_RATIO
    half_sides = [int(round(radius * np.sqrt(np.pi) / 2 - 0.5)) for radius in ladder]
    stack = np.stack([rgba if i == 0 else box_blur(rgba, side) for i, side in enumerate(half_sides)])
    levels = np.asarray(ladder, np.float32)
    upper = np.clip(np.searchsorted(levels, r, side="left"), 1, len(levels) - 1)
    lower = upper - 1
    w = np.clip((r - levels[lower]) / (levels[upper] - levels[lower]), 0.0, 1.0)[..., None]
    rows, cols = np.indices(r.shape)
    out = stack[lower, rows, cols] * (1.0 - w) + stack[upper, rows, cols] * w
    return out.astype(np.float32)
