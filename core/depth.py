"""Depth values -> disparity d, the input of every engine.

* ``depth``: distance z in scene units; d = 1/z. Sky and empty pixels of a
  depth pass (z = 0, +inf or NaN) are infinitely far: d = 0. A negative
  distance is invalid.
* ``disparity``: larger = nearer, used as is; it must be finite and >= 0.

Every check names the file, the frame and how many pixels are bad, because a
compositor has to find that frame.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from focuspull.errors import ImageDataError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

DEPTH_KINDS = ("depth", "disparity")


def to_disparity(values: "np.ndarray", kind: str, *, source: str, frame: int) -> "np.ndarray":
    """Convert one frame of depth values (H, W) to disparity (H, W) float32."""
    import numpy as np

    values = np.asarray(values, dtype=np.float32)
    if kind == "depth":
        negative = int(np.count_nonzero(values < 0))
        if negative:
            raise ImageDataError(
                f"{source}: frame {frame}: {negative} depth pixel(s) are negative "
                f"(min {float(np.nanmin(values)):g}); depth must be a distance >= 0 (0 and inf mean infinitely far)"
            )
        far = (values == 0) | ~np.isfinite(values)
        if far.all():
            raise ImageDataError(
                f"{source}: frame {frame}: every depth pixel is 0, inf or NaN; "
                "this is not a depth pass (wrong channel, or use --depth-kind disparity?)"
            )
        with np.errstate(divide="ignore"):
            disparity = np.where(far, np.float32(0), np.float32(1) / values).astype(np.float32)
        if far.any():
            log.debug("%s: frame %d: %d pixel(s) at 0/inf/NaN treated as infinitely far", source, frame, int(far.sum()))
        return disparity
    if kind == "disparity":
        bad = ~np.isfinite(values)
        if bad.any():
            raise ImageDataError(f"{source}: frame {frame}: {int(bad.sum())} disparity pixel(s) are NaN or inf")
        negative = int(np.count_nonzero(values < 0))
        if negative:
            raise ImageDataError(
                f"{source}: frame {frame}: {negative} disparity pixel(s) are negative (min {float(values.min()):g}); "
                "disparity must be >= 0 (larger = nearer)"
            )
        return values
    raise ValueError(f"unknown depth kind {kind!r}; expected one of {', '.join(DEPTH_KINDS)}")
