"""Click to focus: a robust disparity under the cursor, in the job's focus units.

One pixel of a depth pass is a poor sample (anti-aliased edges mix two
depths, renders have fireflies in Z), so the focus comes from the median of
a small window: the subject that covers most of the window wins.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from focuspull.errors import FocusPullError, JobError

if TYPE_CHECKING:
    import numpy as np

    from focuspull.job import Job

#: half size of the sampling window: 9x9 pixels at full resolution
DEFAULT_RADIUS_PX = 4


def median_disparity(disparity: "np.ndarray", x_px: float, y_px: float, radius_px: int = DEFAULT_RADIUS_PX) -> float:
    """Median disparity of the (2r+1)^2 window around pixel (x, y), cut at the frame edges.

    ``x_px``/``y_px`` are continuous image coordinates (pixel i spans i..i+1,
    origin top left), as the viewer reports them.
    """
    import numpy as np

    height, width = disparity.shape[:2]
    col, row = int(math.floor(x_px)), int(math.floor(y_px))
    if not (0 <= col < width and 0 <= row < height):
        raise FocusPullError(f"point ({x_px:.1f}, {y_px:.1f}) is outside the {width}x{height} frame")
    if radius_px < 0:
        raise ValueError(f"radius_px {radius_px} must be >= 0")
    window = disparity[max(row - radius_px, 0) : row + radius_px + 1, max(col - radius_px, 0) : col + radius_px + 1]
    return float(np.median(window))


def focus_value(job: "Job", disparity: float) -> float:
    """The value a focus key stores for a focus disparity: a distance 1/d or d itself."""
    if job.focus_mode == "distance":
        if not disparity > 0:
            raise JobError(
                f"the depth under the cursor is infinitely far (disparity {disparity:g}); "
                "a focus distance must be finite: pick a point on a surface"
            )
        return 1.0 / disparity
    if disparity < 0:
        raise JobError(f"disparity {disparity:g} must be >= 0")
    return disparity


def focus_units(job: "Job") -> str:
    """How the focus value reads in the UI."""
    return "distance" if job.focus_mode == "distance" else "disparity"
