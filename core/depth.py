"""Depth values -> disparity d, the input of every engine.

The conventions a compositor meets (``depth.kind``):

* ``depth``: camera distance z in scene units (Arnold, RenderMan, V-Ray Z;
  ZDefocus math "depth"); d = 1/z. Sky and empty pixels (z = 0, +inf or NaN)
  are infinitely far: d = 0. A negative distance is invalid.
* ``inverse_depth``: 1/z as Nuke's ScanlineRender writes it by default
  (ZDefocus math "far = 0"); d is the value. 0 and NaN (empty) are infinitely
  far; negative and +inf (a point on the lens) are invalid.
* ``disparity``: larger = nearer, any scale, used as is; finite and >= 0.
* ``normalized_disparity``: disparity in 0..1 (0 = farthest, 1 = nearest),
  e.g. an 8-bit map from a monocular estimator read as 0..1; a value outside
  0..1 means the map is not what the job says.

``depth`` and ``inverse_depth`` are metric: d is in 1/scene units, so focus
can be a distance and a physical lens can set K. A frame without any depth
(every pixel infinitely far, or all zeros) is an error, as is NaN in a
disparity map: each names the file, the frame and how many pixels are bad,
because a compositor has to find that frame.

A depth pass of another resolution but the same picture aspect is resampled
(in disparity, so sky stays infinitely far and nothing is averaged in z);
another aspect is an error.
"""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from focuspull.errors import ImageDataError

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: the conventions (``depth.kind``); metric kinds give d = 1/z in 1/scene units,
#: so focus can be a distance and a physical lens can set K
DEPTH_KINDS = ("depth", "inverse_depth", "disparity", "normalized_disparity")
METRIC_KINDS = ("depth", "inverse_depth")
#: other names a compositor may know a convention by (Nuke ZDefocus "far = 0")
DEPTH_KIND_ALIASES = {"distance": "depth", "far_zero": "inverse_depth"}
#: every name a job may give (the schema's enum)
DEPTH_KIND_NAMES = DEPTH_KINDS + tuple(DEPTH_KIND_ALIASES)
#: relative difference of width/height ratios still treated as "the same picture"
ASPECT_TOLERANCE = 0.01
#: half-float rounding of a 0..1 map may step just outside it
_NORMALIZED_SLACK = 1e-3


def distance_to_disparity(distance: float) -> float:
    """d = 1/z for one distance in scene units (an infinite distance is d = 0)."""
    return 0.0 if math.isinf(distance) else 1.0 / distance


def disparity_to_distance(disparity: float) -> float:
    """z = 1/d for one disparity (d <= 0 is infinitely far)."""
    return math.inf if disparity <= 0 else 1.0 / disparity


def to_disparity(values: "np.ndarray", kind: str, *, source: str, frame: int) -> "np.ndarray":
    """Convert one frame of depth values (H, W) to disparity (H, W) float32."""
    import numpy as np

    values = np.asarray(values, dtype=np.float32)
    if kind == "depth":
        _no_negative(values, source, frame, "depth", "depth must be a distance >= 0 (0 and inf mean infinitely far)")
        far = (values == 0) | ~np.isfinite(values)
        if far.all():
            raise ImageDataError(
                f"{source}: frame {frame}: every depth pixel is 0, inf or NaN; "
                "this is not a depth pass (wrong channel, or another --depth-kind?)"
            )
        with np.errstate(divide="ignore"):
            disparity = np.where(far, np.float32(0), np.float32(1) / values).astype(np.float32)
        _log_far(far, source, frame, "0/inf/NaN")
        return disparity
    if kind == "inverse_depth":
        on_lens = int(np.count_nonzero(np.isposinf(values)))
        if on_lens:
            raise ImageDataError(
                f"{source}: frame {frame}: {on_lens} inverse-depth pixel(s) are +inf (a point on the lens); "
                "is this a distance pass (--depth-kind depth)?"
            )
        _no_negative(values, source, frame, "inverse-depth",
                     "1/z must be >= 0 (0 is infinitely far); Maya-style -1/z needs negating first")
        far = np.isnan(values) | (values == 0)
        if far.all():
            raise ImageDataError(
                f"{source}: frame {frame}: every inverse-depth pixel is 0 or NaN (all infinitely far); "
                "this is not a 1/z pass (wrong channel, or another --depth-kind?)"
            )
        _log_far(far, source, frame, "0/NaN")
        return np.where(far, np.float32(0), values).astype(np.float32)
    if kind in ("disparity", "normalized_disparity"):
        bad = ~np.isfinite(values)
        if bad.any():
            raise ImageDataError(f"{source}: frame {frame}: {int(bad.sum())} disparity pixel(s) are NaN or inf")
        _no_negative(values, source, frame, "disparity", "disparity must be >= 0 (larger = nearer)")
        if kind == "normalized_disparity":
            over = int(np.count_nonzero(values > 1.0 + _NORMALIZED_SLACK))
            if over:
                raise ImageDataError(
                    f"{source}: frame {frame}: {over} pixel(s) of a normalized disparity map are above 1 "
                    f"(max {float(values.max()):g}); use --depth-kind disparity for a map of another scale"
                )
        if not values.any():
            raise ImageDataError(
                f"{source}: frame {frame}: every disparity pixel is 0 (all infinitely far); "
                "this frame has no depth (wrong channel or an empty render?)"
            )
        return values
    raise ValueError(f"unknown depth kind {kind!r}; expected one of {', '.join(DEPTH_KINDS)}")


def _no_negative(values: "np.ndarray", source: str, frame: int, what: str, expected: str) -> None:
    import numpy as np

    negative = int(np.count_nonzero(values < 0))
    if negative:
        raise ImageDataError(
            f"{source}: frame {frame}: {negative} {what} pixel(s) are negative "
            f"(min {float(np.nanmin(values)):g}); {expected}"
        )


def _log_far(far: "np.ndarray", source: str, frame: int, what: str) -> None:
    if far.any():
        log.debug("%s: frame %d: %d pixel(s) at %s treated as infinitely far", source, frame, int(far.sum()), what)


# -- resolution -----------------------------------------------------------------
def same_aspect(size: tuple[int, int], other: tuple[int, int], tolerance: float = ASPECT_TOLERANCE) -> bool:
    """True when two (width, height) sizes show the same picture aspect within ``tolerance``."""
    a = size[0] / size[1]
    b = other[0] / other[1]
    return abs(a - b) <= tolerance * b


def check_depth_size(
    depth_size: tuple[int, int], plate_size: tuple[int, int], *, path: str, frame: int
) -> bool:
    """True when the depth must be resampled to the plate; an error for another aspect."""
    if tuple(depth_size) == tuple(plate_size):
        return False
    if not same_aspect(depth_size, plate_size):
        raise ImageDataError(
            f"{path}: frame {frame}: depth is {depth_size[0]}x{depth_size[1]} but the plate is "
            f"{plate_size[0]}x{plate_size[1]}, another picture aspect; depth must cover the plate's data window"
        )
    return True


def resample(values: "np.ndarray", size: tuple[int, int]) -> "np.ndarray":
    """Resample an (H, W) map to ``size`` = (width, height).

    Enlarging is bilinear with pixel centres aligned; reducing averages each
    output pixel's footprint (a half-resolution copy is the 2x2 box average).
    Call it on disparity, not on z: disparity mixes sky (0) and near values
    sensibly, z (inf) does not.
    """
    import numpy as np
    import torch
    import torch.nn.functional as F

    width, height = size
    if values.shape == (height, width):
        return np.asarray(values, dtype=np.float32)
    src = torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))[None, None]
    if height <= values.shape[0] and width <= values.shape[1]:
        out = F.interpolate(src, size=(height, width), mode="area")
    else:
        out = F.interpolate(src, size=(height, width), mode="bilinear", align_corners=False)
    return out[0, 0].numpy()
