"""Dense optical flow between frames (OpenCV's DIS) and what is built on it.

Flow follows OpenCV's convention: ``flow = dense_flow(a, b)`` gives, for each
pixel x of ``a``, the displacement to where it is in ``b``:
``a(x) ~ b(x + flow(x))``. ``warp(b, flow)`` samples ``b`` at ``x + flow(x)``,
so it moves ``b`` onto ``a``'s pixels.

Used by the depth stabiliser (motion-compensated temporal filtering) and by
the focus point tracker. OpenCV is an optional dependency (the ``depth``
extra); it is imported on first use.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: Rec. 709 luminance weights (scene-linear RGB)
_LUMA = (0.2126, 0.7152, 0.0722)
#: DIS quality presets by name
PRESETS = {"ultrafast": 0, "fast": 1, "medium": 2}


def require_cv2() -> Any:
    """The cv2 module, or an ImportError that names the extra to install."""
    try:
        import cv2
    except ImportError as err:
        raise ImportError(
            "optical flow needs OpenCV: pip install 'focuspull[depth]' (opencv-python-headless)"
        ) from err
    return cv2


def to_gray8(rgb: "np.ndarray") -> "np.ndarray":
    """(H, W, >=3) scene-linear RGB -> (H, W) uint8 for flow.

    Luminance through a 1/2.2 power, so shadows get the contrast a viewer
    shows; values above 1 saturate (flow only needs texture).
    """
    import numpy as np

    luma = rgb[..., 0] * _LUMA[0] + rgb[..., 1] * _LUMA[1] + rgb[..., 2] * _LUMA[2]
    encoded = np.power(np.clip(luma, 0.0, 1.0), 1.0 / 2.2)
    return np.ascontiguousarray(np.round(encoded * 255.0).astype(np.uint8))


class FlowEstimator:
    """DIS optical flow with a fixed preset; one instance per sequence."""

    def __init__(self, preset: str = "medium", *, full_resolution: bool = False) -> None:
        """``full_resolution``: refine down to the image's own pixels (the presets
        stop at half or quarter size), for small subjects such as a tracked point."""
        if preset not in PRESETS:
            raise ValueError(f"unknown DIS preset {preset!r}; expected one of {', '.join(PRESETS)}")
        cv2 = require_cv2()
        self._dis = cv2.DISOpticalFlow_create(PRESETS[preset])
        if full_resolution:
            self._dis.setFinestScale(0)

    def __call__(self, a: "np.ndarray", b: "np.ndarray") -> "np.ndarray":
        """Flow (H, W, 2) float32 (dx, dy) from uint8 gray ``a`` to ``b``."""
        if a.shape != b.shape:
            raise ValueError(f"flow between images of different sizes {a.shape} and {b.shape}")
        return self._dis.calc(a, b, None)


def dense_flow(a: "np.ndarray", b: "np.ndarray", preset: str = "medium") -> "np.ndarray":
    """One-off flow from gray ``a`` to ``b`` (see :class:`FlowEstimator`)."""
    return FlowEstimator(preset)(a, b)


def warp(image: "np.ndarray", flow: "np.ndarray") -> "np.ndarray":
    """Sample ``image`` (H, W) or (H, W, C) at x + flow(x), bilinear, edges clamped."""
    import numpy as np

    cv2 = require_cv2()
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x = grid_x + flow[..., 0]
    map_y = grid_y + flow[..., 1]
    return cv2.remap(image, map_x, map_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def consistency_mask(forward: "np.ndarray", backward: "np.ndarray", tolerance_px: float = 0.5,
                     relative: float = 0.05) -> "np.ndarray":
    """Pixels of the first image whose flow is confirmed by the flow back.

    ``forward`` goes from image a to b, ``backward`` from b to a. A pixel x of
    a is consistent when following ``forward`` and then ``backward`` returns
    it to x within ``tolerance_px + relative * |forward|``: occluded and
    disoccluded pixels, and where flow is wrong, fail it. Also False where
    x + forward(x) leaves the frame.
    """
    import numpy as np

    back_at_target = warp(backward, forward)
    round_trip = np.linalg.norm(forward + back_at_target, axis=-1)
    speed = np.linalg.norm(forward, axis=-1)
    height, width = forward.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    tx = grid_x + forward[..., 0]
    ty = grid_y + forward[..., 1]
    inside = (tx >= 0) & (tx <= width - 1) & (ty >= 0) & (ty <= height - 1)
    return (round_trip <= tolerance_px + relative * speed) & inside


def resize_to_width(gray: "np.ndarray", max_width: int) -> tuple["np.ndarray", float]:
    """Downscale a gray image so its width is at most ``max_width``; returns (image, scale)."""
    cv2 = require_cv2()
    height, width = gray.shape[:2]
    if width <= max_width:
        return gray, 1.0
    scale = max_width / width
    size = (max_width, max(1, round(height * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA), scale
