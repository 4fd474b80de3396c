"""Click to focus: the disparity under the cursor, in the units the job keys focus in.

The pick is the core's own point sampler (:func:`focuspull.focus.pick_point`,
what focus mode ``point`` renders with): an edge-aware weighted median over a
window, so a click on a thin subject in front of a busy background keys the
subject, and a click on one surface is a noise-robust median. A key set by a
click therefore gives the same d_f as a point-mode job clicked at the same
place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from focuspull.depth import disparity_to_distance
from focuspull.errors import FocusPullError, JobError

if TYPE_CHECKING:
    from focuspull.job import Job
    from focuspull.pipeline import FrameData

#: focus modes whose focus is a keyframed value the UI edits as a curve
CURVE_FOCUS_MODES = ("distance", "disparity")


def pick_disparity(data: "FrameData", x_px: float, y_px: float, window_px: int) -> float:
    """Robust disparity around plate pixel (x, y) (data-window pixels, origin top left)."""
    from focuspull.focus import pick_point

    height, width = data.disparity.shape
    if not (0 <= x_px < width and 0 <= y_px < height):
        raise FocusPullError(f"point ({x_px:.1f}, {y_px:.1f}) is outside the {width}x{height} frame")
    return pick_point(data.disparity, data.rgba, x_px, y_px, window_px)


def focus_value(job: "Job", disparity: float) -> float:
    """The value a focus key stores for a focus disparity: a distance 1/d or d itself."""
    if job.focus_mode == "distance":
        if not disparity > 0:
            raise JobError(
                f"the depth under the cursor is infinitely far (disparity {disparity:g}); "
                "a focus distance must be finite: pick a point on a surface"
            )
        return disparity_to_distance(disparity)
    if disparity < 0:
        raise JobError(f"disparity {disparity:g} must be >= 0")
    return disparity


def focus_units(job: "Job") -> str:
    """How the focus value reads in the UI."""
    return "distance" if job.focus_mode == "distance" else "disparity"


def data_to_display(spec: Any, col: float, row: float, origin: str) -> tuple[float, float]:
    """(column, row) of the data window -> a point-mode (x, y) in display-window pixels.

    The inverse of :func:`focuspull.focus.display_to_data`, so a point keyed
    here lands on the same pixel when the core picks it.
    """
    full_x, full_y = getattr(spec, "full_x", 0), getattr(spec, "full_y", 0)
    data_x, data_y = getattr(spec, "x", 0), getattr(spec, "y", 0)
    full_height = getattr(spec, "full_height", 0) or getattr(spec, "height", 0)
    x = col - full_x + data_x
    y_down = row - full_y + data_y
    return x, (y_down if origin == "top_left" else full_height - y_down)
