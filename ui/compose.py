"""What the viewer shows, composed off the GUI thread: source, wipe, display transform, overlays.

:func:`compose` turns a :class:`ComposeRequest` (a snapshot of the view
settings and the pixels to show) into an 8-bit QImage at the size the viewer
draws it. It runs as a background task: the display transform of a large
plate takes longer than a frame of interaction, so the GUI thread only puts
the finished image on screen. It works in horizontal bands and checks the
cancel token between them, so a newer request (a scrub) is not kept waiting.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from focuspull.coc import signed_coc_px
from focuspull.errors import FocusPullError
from focuspull.ui._qt import QtGui
from focuspull.ui.display import display_rgb, quantize, resize_nearest
from focuspull.ui.overlays import apply_overlay, focus_rgb
from focuspull.ui.session import raw_disparity
from focuspull.ui.tasks import CancelToken

if TYPE_CHECKING:
    import numpy as np

    from focuspull.color import ColorConfig
    from focuspull.pipeline import FrameData

log = logging.getLogger(__name__)

#: rows transformed between two checks of the cancel token
BAND_ROWS = 64


@dataclass(frozen=True)
class Windows:
    """The display window relative to the data window, in plate pixels (x, y, width, height)."""

    data: tuple[int, int, int, int]
    display: tuple[int, int, int, int]

    @classmethod
    def of(cls, spec: Any, height: int, width: int) -> "Windows":
        full_w = int(getattr(spec, "full_width", 0) or width)
        full_h = int(getattr(spec, "full_height", 0) or height)
        dx = int(getattr(spec, "full_x", 0)) - int(getattr(spec, "x", 0))
        dy = int(getattr(spec, "full_y", 0)) - int(getattr(spec, "y", 0))
        return cls((0, 0, width, height), (dx, dy, full_w, full_h))


@dataclass(frozen=True)
class ComposeRequest:
    frame: int
    revision: int
    plate: "FrameData"
    color: "ColorConfig"
    source: str  # plate | preview | render
    result: "np.ndarray | None" = None  # the preview's rgba (any resolution), when source is preview
    render_path: str | None = None  # the rendered file, when source is render
    render_colorspace: str | None = None
    result_scale: int = 1  # the preview is 1/result_scale of the plate
    label: str = ""  # what the result is ("1/8 res coarse", ...)
    display: str | None = None
    view: str | None = None
    exposure_stops: float = 0.0
    overlay: str = "none"
    wipe: float | None = None
    flash: bool = False  # paint the in-focus matte (after a click to focus)
    coc_law: Mapping[str, float] = field(default_factory=dict)  # arguments of the CoC law at this frame
    focus_threshold_px: float = 1.0
    step: int = 1  # plate pixels per composed pixel


@dataclass(frozen=True)
class Composed:
    frame: int
    revision: int
    source: str
    image: QtGui.QImage
    plate_size: tuple[int, int]  # (width, height) of the data window
    windows: Windows
    message: str
    wipe: float | None
    flash: bool
    label: str  # the preview shown ("" for none)
    quick: bool = False  # a reduced picture shown while the full one is made


def _read_render(request: ComposeRequest) -> tuple["np.ndarray | None", str]:
    from focuspull.io import read_image

    path = request.render_path
    assert path is not None
    name = os.path.basename(path)
    if not os.path.exists(path):
        return None, f"plate — not rendered yet: {name}"
    try:
        image = read_image(path, request.frame)
        rgb = image.pixels[..., list(image.rgba_indices[:3])]
        rgb = request.color.to_working(rgb, request.render_colorspace)
    except FocusPullError as err:
        return None, f"plate — cannot read the render: {err}"
    return _in_plate_window(rgb, image.spec, request.plate), f"render {name}"


def _in_plate_window(rgb: "np.ndarray", spec: Any, plate: "FrameData") -> "np.ndarray":
    """The render's pixels over the plate's data window (a render's window may have grown to hold the
    light blurred past the plate's edge, as a lens would; outside its own window it is black)."""
    import numpy as np

    height, width = plate.rgba.shape[:2]
    plate_spec = getattr(plate.image, "spec", None)
    dx = int(getattr(spec, "x", 0)) - int(getattr(plate_spec, "x", 0))
    dy = int(getattr(spec, "y", 0)) - int(getattr(plate_spec, "y", 0))
    if (dx, dy) == (0, 0) and rgb.shape[:2] == (height, width):
        return rgb
    out = np.zeros((height, width, 3), np.float32)
    top, left = max(dy, 0), max(dx, 0)
    bottom, right = min(dy + rgb.shape[0], height), min(dx + rgb.shape[1], width)
    if bottom > top and right > left:
        out[top:bottom, left:right] = rgb[top - dy : bottom - dy, left - dx : right - dx]
    return out


def _display(request: ComposeRequest, rgb: "np.ndarray", cancel: CancelToken) -> "np.ndarray":
    import numpy as np

    bands = []
    for top in range(0, rgb.shape[0], BAND_ROWS):
        cancel.check()
        bands.append(display_rgb(rgb[top : top + BAND_ROWS], request.color, request.display, request.view,
                                 request.exposure_stops))
    return np.concatenate(bands, axis=0) if bands else rgb[..., :3]


def _reduce(rgb: "np.ndarray", shown: tuple[int, int], step: int) -> "np.ndarray":
    """``rgb`` at the shown size: every step-th pixel of a plate-size image (a strided view, no gather
    holding the GIL while the GUI thread waits), else a nearest-neighbour resize of a reduced preview."""
    reduced = rgb[::step, ::step]
    return reduced if reduced.shape[:2] == shown else resize_nearest(rgb, *shown)


def compose(request: ComposeRequest, cancel: CancelToken | None = None) -> Composed:
    """The viewer's image for ``request`` (display-referred 8 bits, 1/step of the plate)."""
    import numpy as np

    cancel = cancel or CancelToken()
    plate = request.plate
    height, width = plate.disparity.shape
    step = max(int(request.step), 1)
    base, message = plate.rgba, "plate"
    if request.source == "preview":
        if request.result is not None:
            base, message = request.result, f"preview {request.label}"
            # a reduced preview is composed at its own size (the viewer enlarges it): no work on pixels it lacks
            step = max(step, int(request.result_scale))
        else:
            message = "plate — preview rendering…"
    elif request.source == "render":
        rgb, message = _read_render(request)
        base = rgb if rgb is not None else plate.rgba
    shown = (-(-height // step), -(-width // step))
    rgb = _display(request, _reduce(base, shown, step), cancel)

    if request.wipe is not None and request.source != "plate":
        split = int(round(request.wipe * shown[1]))
        if split > 0:
            rgb[:, :split] = _display(request, _reduce(plate.rgba, shown, step)[:, :split], cancel)
        message = f"A/B: plate | {message}"

    disparity = plate.disparity[::step, ::step][: shown[0], : shown[1]]
    coc = None
    if request.overlay in ("coc", "focus") or request.flash:
        coc = signed_coc_px(disparity, **request.coc_law)
    shown_depth = raw_disparity(plate)[::step, ::step][: shown[0], : shown[1]] if request.overlay == "depth" else disparity
    rgb = apply_overlay(request.overlay, rgb, shown_depth, coc, request.focus_threshold_px)
    if request.flash and coc is not None:
        rgb = focus_rgb(rgb, coc, request.focus_threshold_px)
        message += "  · focus plane"
    cancel.check()
    image = rgb8_to_qimage(quantize(np.asarray(rgb)))
    windows = Windows.of(getattr(plate.image, "spec", None), height, width)
    return Composed(request.frame, request.revision, request.source, image, (width, height), windows, message,
                    request.wipe if request.source != "plate" else None, request.flash,
                    request.label if request.source == "preview" and request.result is not None else "")


def rgb8_to_qimage(rgb8: "np.ndarray") -> QtGui.QImage:
    """(H, W, 3) uint8 -> a QImage that owns a copy of the pixels (safe to make on any thread)."""
    import numpy as np

    rgb8 = np.ascontiguousarray(rgb8, dtype=np.uint8)
    height, width = rgb8.shape[:2]
    image = QtGui.QImage(rgb8.data, width, height, 3 * width, QtGui.QImage.Format.Format_RGB888)
    # a copy that owns its pixels (the numpy buffer is not kept alive by the QImage), in the
    # format the raster painter draws fastest, so the GUI thread's paint stays short
    return image.convertToFormat(QtGui.QImage.Format.Format_RGB32)
