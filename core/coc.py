"""The lens law: the signed circle-of-confusion radius in pixels (its one definition).

    r_px = K * (d - d_f)            (+ in front of the focus plane, - behind it)

shaped by two artist controls: an in-focus width w (disparities within w/2
of d_f stay sharp, the rest of the law is shifted towards d_f so it stays
continuous) and separate front/back multipliers. Every engine, the workspace
overlays and the diagnostic channels call :func:`signed_coc_px`; the neural
engine's conditioning calls it with K = 1 on normalised disparity.

The function is written with arithmetic and ``abs`` only, so it takes numpy
arrays, torch tensors or plain floats alike (and broadcasts a (T, 1, 1, 1)
focus against (T, 1, H, W) disparity) without importing either library.
"""

from __future__ import annotations

import numbers
from typing import TypeVar

Array = TypeVar("Array")


def _ramp(x):  # max(x, 0), exact in floating point, for any array type
    return (x + abs(x)) * 0.5


def _scalar(value):
    # numpy float64 scalars would promote float32 images to float64: plain floats do not
    return float(value) if isinstance(value, numbers.Real) else value


def signed_coc_px(
    disparity: Array,
    focus_disparity: float,
    strength_px: float,
    *,
    in_focus_width: float = 0.0,
    front_scale: float = 1.0,
    back_scale: float = 1.0,
) -> Array:
    """Signed CoC radius in pixels of the plate K is given for.

    ``disparity`` d (larger = nearer); ``focus_disparity`` d_f;
    ``strength_px`` K; ``in_focus_width`` w in disparity units (>= 0);
    ``front_scale``/``back_scale`` multiply the radius in front of / behind
    the focus plane. Returns an array like ``disparity``.
    """
    focus, strength = _scalar(focus_disparity), _scalar(strength_px)
    half_width = _scalar(in_focus_width) * 0.5
    offset = disparity - focus
    front = _ramp(offset - half_width)  # > 0 only nearer than the in-focus band
    back = _ramp(-offset - half_width)  # > 0 only farther than it
    return strength * (front * _scalar(front_scale) - back * _scalar(back_scale))


def coc_px(disparity: Array, focus_disparity: float, strength_px: float, **shape: float) -> Array:
    """|signed_coc_px|: the blur radius regardless of side."""
    return abs(signed_coc_px(disparity, focus_disparity, strength_px, **shape))
