"""Scene-linear pixels -> what the viewer shows: exposure, OCIO display/view, 8 bits.

This is the only place in focuspull where pixels are clipped and quantised,
and only for the screen: the job, the preview and the render stay
scene-linear float.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from focuspull.color import ColorConfig


def display_rgb(
    rgb: "np.ndarray",
    color: "ColorConfig",
    display: str | None = None,
    view: str | None = None,
    exposure_stops: float = 0.0,
) -> "np.ndarray":
    """(H, W, 3+) scene-linear -> (H, W, 3) display-referred float32 in 0..1.

    Exposure is a gain of 2**stops applied in scene linear, before the view
    transform, as in a compositor's viewer.
    """
    import numpy as np

    linear = np.ascontiguousarray(rgb[..., :3], dtype=np.float32)
    if exposure_stops:
        linear = linear * np.float32(2.0**exposure_stops)
    out = color.display_view(linear, display, view)
    return np.clip(np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=0.0), 0.0, 1.0)


def quantize(rgb01: "np.ndarray") -> "np.ndarray":
    """0..1 float -> uint8, rounded to nearest."""
    import numpy as np

    return (np.clip(rgb01, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def resize_nearest(rgb: "np.ndarray", height: int, width: int) -> "np.ndarray":
    """Nearest-neighbour resize: a reduced preview up to the shown size, or a plate down to it."""
    import numpy as np

    h, w = rgb.shape[:2]
    if (h, w) == (height, width):
        return rgb
    rows = np.minimum((np.arange(height) * h) // height, h - 1)
    cols = np.minimum((np.arange(width) * w) // width, w - 1)
    return rgb[rows][:, cols]


def display_step(view_scale: float) -> int:
    """Plate pixels per shown pixel when the viewer shows the plate reduced (1 at or above 1:1).

    Transforming only the pixels that reach the screen keeps a 4K plate fit
    in a small viewer as quick to scrub as an HD one.
    """
    if view_scale >= 0.5:
        return 1
    return max(1, int(1.0 / view_scale))
