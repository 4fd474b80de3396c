"""Viewer overlays: depth, signed circle of confusion, and the in-focus matte.

All three take the signed CoC of the law every engine uses
(``focuspull.coc.signed_coc_px``, applied per frame with
``FrameParams.signed_coc_px``), so an artist can tell front from back:
positive radii are nearer than the focus plane (d > d_f), negative are behind
it. Per-side scales and the in-focus width come with the law, so the matte
shows what the engine keeps sharp.

Overlays work on display-referred 0..1 images: they are a picture for the
artist, never written anywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

#: "depth" is the depth as read; "depth_conditioned" what the engine uses, after depth conditioning
OVERLAYS = ("none", "depth", "depth_conditioned", "coc", "focus")
OVERLAY_LABELS = {"none": "No overlay", "depth": "Depth (raw)", "depth_conditioned": "Depth (conditioned)",
                  "coc": "Signed CoC", "focus": "In focus (peaking)"}

#: |CoC| at or below this many pixels counts as in focus (a sharp plate
#: pixel is about half a pixel of blur anyway)
DEFAULT_FOCUS_THRESHOLD_PX = 1.0

_FRONT = (1.0, 0.45, 0.1)  # nearer than the focus: warm
_BACK = (0.1, 0.55, 1.0)  # behind the focus: cool
_PEAK = (0.15, 1.0, 0.2)


def in_focus_matte(coc_px: "np.ndarray", threshold_px: float = DEFAULT_FOCUS_THRESHOLD_PX) -> "np.ndarray":
    """1 where |CoC| <= threshold, fading to 0 at twice the threshold."""
    import numpy as np

    threshold_px = max(float(threshold_px), 1e-6)
    return np.clip(2.0 - np.abs(coc_px) / np.float32(threshold_px), 0.0, 1.0).astype(np.float32)


def depth_rgb(disparity: "np.ndarray") -> "np.ndarray":
    """Disparity normalised over the frame as grey: near is white, far is black."""
    import numpy as np

    lo, hi = float(disparity.min()), float(disparity.max())
    grey = (disparity - lo) / (hi - lo) if hi > lo else np.zeros_like(disparity)
    return np.repeat(grey.astype(np.float32)[..., None], 3, axis=-1)


def coc_rgb(base_rgb01: "np.ndarray", coc_px: "np.ndarray") -> "np.ndarray":
    """A dimmed grey plate tinted warm in front and cool behind, by |CoC| over the frame's largest."""
    import numpy as np

    grey = base_rgb01.mean(axis=-1, keepdims=True) * 0.5
    scale = max(float(np.abs(coc_px).max()), 1.0)
    amount = np.clip(np.abs(coc_px) / scale, 0.0, 1.0)[..., None]
    tint = np.where((coc_px >= 0)[..., None], np.asarray(_FRONT, np.float32), np.asarray(_BACK, np.float32))
    return (grey * (1 - amount) + tint * amount).astype(np.float32)


def focus_rgb(base_rgb01: "np.ndarray", coc_px: "np.ndarray", threshold_px: float = DEFAULT_FOCUS_THRESHOLD_PX) -> "np.ndarray":
    """The image with what is in focus painted green (like a camera's focus peaking)."""
    import numpy as np

    matte = in_focus_matte(coc_px, threshold_px)[..., None] * np.float32(0.65)
    return (base_rgb01 * (1 - matte) + np.asarray(_PEAK, np.float32) * matte).astype(np.float32)


def apply_overlay(
    kind: str,
    base_rgb01: "np.ndarray",
    disparity: "np.ndarray",
    coc_px: "np.ndarray | None",
    threshold_px: float = DEFAULT_FOCUS_THRESHOLD_PX,
) -> "np.ndarray":
    if kind == "none":
        return base_rgb01
    if kind in ("depth", "depth_conditioned"):  # the caller passes the raw or the conditioned disparity
        return depth_rgb(disparity)
    if coc_px is None:
        raise ValueError(f"overlay {kind!r} needs the CoC")
    if kind == "coc":
        return coc_rgb(base_rgb01, coc_px)
    if kind == "focus":
        return focus_rgb(base_rgb01, coc_px, threshold_px)
    raise ValueError(f"unknown overlay {kind!r}; expected one of {', '.join(OVERLAYS)}")
