"""Key edits as pure functions: Curve in, new Curve out.

The UI never mutates a curve; it builds the edited one here and hands it to
the undo stack, so every edit is a (before, after) pair. Frames are the
host's frame numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from focuspull.curves import INTERPOLATIONS, Curve, Key
from focuspull.errors import CurveError

#: new keys ease in and out: a focus pull that starts and stops softly, and
#: the monotone smooth segment never overshoots its keys
DEFAULT_INTERPOLATION = "smooth"


def key_at(curve: Curve, frame: float) -> Key | None:
    for key in curve.keys:
        if key.frame == frame:
            return key
    return None


def is_untouched_constant(curve: Curve, frames: Sequence[int]) -> bool:
    """A single key outside the shot: a plain number in the job, not a key anyone set here."""
    return bool(frames) and len(curve.keys) == 1 and curve.keys[0].frame not in frames


def set_key(
    curve: Curve, frame: float, value: float, interpolation: str | None = None, *, frames: Sequence[int] = ()
) -> Curve:
    """Set (add or replace) the key at ``frame``.

    A replaced key keeps its interpolation unless one is given. When the curve
    is a constant that was never keyed in this shot (``frames``), the new key
    replaces it, so the first click makes one key and the second a pull.
    """
    if interpolation is not None and interpolation not in INTERPOLATIONS:
        raise CurveError(f"interpolation {interpolation!r}; expected one of {', '.join(INTERPOLATIONS)}")
    frame, value = float(frame), float(value)
    if is_untouched_constant(curve, frames):
        return Curve((Key(frame, value, interpolation or DEFAULT_INTERPOLATION),))
    existing = key_at(curve, frame)
    interp = interpolation or (existing.interpolation if existing else DEFAULT_INTERPOLATION)
    keys = [k for k in curve.keys if k.frame != frame] + [Key(frame, value, interp)]
    return Curve(tuple(sorted(keys, key=lambda k: k.frame)))


def remove_key(curve: Curve, frame: float) -> Curve:
    if key_at(curve, frame) is None:
        raise CurveError(f"no key at frame {frame:g}")
    keys = tuple(k for k in curve.keys if k.frame != frame)
    if not keys:
        raise CurveError(f"cannot delete the key at frame {frame:g}: a curve needs at least one key")
    return Curve(keys)


def move_key(curve: Curve, frame: float, new_frame: float, new_value: float) -> Curve:
    """Move the key at ``frame`` to (new_frame, new_value); another key there is an error."""
    key = key_at(curve, frame)
    if key is None:
        raise CurveError(f"no key at frame {frame:g}")
    new_frame = float(new_frame)
    if new_frame != frame and key_at(curve, new_frame) is not None:
        raise CurveError(f"frame {new_frame:g} already has a key")
    keys = [k for k in curve.keys if k.frame != frame] + [Key(new_frame, float(new_value), key.interpolation)]
    return Curve(tuple(sorted(keys, key=lambda k: k.frame)))


def set_interpolation(curve: Curve, frame: float, interpolation: str) -> Curve:
    key = key_at(curve, frame)
    if key is None:
        raise CurveError(f"no key at frame {frame:g}")
    return set_key(curve, frame, key.value, interpolation)
