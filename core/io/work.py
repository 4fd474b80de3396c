"""The window each refocused layer is rendered in: its data window grown by the
frame's largest CoC (within the display window plus overscan), and the
layer's pixels re-cut to it. Works on the pipeline's ``Shot`` and
``FrameData``; the window maths is in :mod:`focuspull.io.windows`."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from focuspull.io.windows import Window, place, work_window

__all__ = ["blur_margin_px", "honours_pixel_aspect", "padded", "shot_window", "work_windows"]


def honours_pixel_aspect(shot: Any) -> bool:
    """True when the engine draws kernels that can live in display space: the
    physical engine draws them from the aperture (with its aspect); the neural
    model has no kernel to squeeze and sees the plate as it is stored."""
    return shot.job is not None and shot.job.engine.name == "physical"


def blur_margin_px(shot: Any, data: Any) -> tuple[int, int]:
    """(x, y) pixels by which the frame's blurred light may spread past its data
    window: the largest CoC of any refocused layer (front/back scales and the
    aperture's squeeze included), plus a little for the kernels' anti-aliased edge."""
    index = shot.index(data.frame)
    params = shot.params
    focus, strength = float(params.focus_disparity[index]), abs(float(params.strength_px[index]))
    scale = max(1.0, abs(float(params.front_scale[index])), abs(float(params.back_scale[index])))
    offset = 0.0
    for disparity in [unit.disparity for unit in data.units] or [data.disparity]:
        d = np.abs(disparity - focus)
        d = d[np.isfinite(d)]
        offset = max(offset, float(d.max()) if d.size else 0.0)
    radius = strength * offset * scale * 1.05
    if radius < 0.5:
        return 0, 0
    aspect = abs(float(params.aspect[index]))
    par = data.image.pixel_aspect if honours_pixel_aspect(shot) else 1.0
    # the physical kernel is radius * par rows tall and radius * aspect wide
    return math.ceil(radius * max(1.0, aspect)) + 2, math.ceil(radius * par) + 2


def work_windows(shot: Any, data: Any, fixed: Window | None = None) -> dict[int, Any]:
    """Part -> the window its refocused layers are rendered (and written) in:
    the data window grown by the blur margin, within display window + overscan.
    ``fixed``: one window for every frame (an engine that needs one frame size)."""
    if fixed is not None:
        return {unit.layer.part: fixed for unit in data.units}
    margin = blur_margin_px(shot, data)
    windows: dict[int, Any] = {}
    for unit in data.units:
        part = data.image.parts[unit.layer.part]
        windows[unit.layer.part] = work_window(
            unit.window, Window.display(part.spec), margin[0], margin[1], shot.job.output.overscan_px
        )
    return windows


def padded(data: Any, unit: Any, windows: dict[int, Any]) -> Any:
    """``data`` with ``unit``'s pixels re-cut to its work window: zero (nothing)
    outside the data window, at the frame's farthest disparity. Nothing there
    occludes, no plane lies behind it whose hidden (filled) part could show
    through, and a frame of one depth stays one plane (light is conserved)."""
    target = windows[unit.layer.part]
    if target == unit.window:
        return dataclasses.replace(data, rgba=unit.rgba, disparity=unit.disparity)
    finite = unit.disparity[np.isfinite(unit.disparity)]
    farthest = float(finite.min()) if finite.size else 0.0
    return dataclasses.replace(
        data, rgba=place(unit.rgba, unit.window, target, "zero"), disparity=place(unit.disparity, unit.window, target, farthest)
    )


def shot_window(shot: Any, frames: Any) -> Window:
    """The union of the main layer's data windows over ``frames`` (headers only):
    where an engine that needs one frame size renders every frame."""
    from focuspull.io.header import read_header

    part = shot.plan[0].layer.part if shot.plan else 0
    window = Window(0, 0, 0, 0)
    for frame in frames:
        x0, y0, x1, y1 = read_header(shot.input.path(frame), frame)["parts"][part]["data_window"]
        window = window.union(Window(x0, y0, x1 + 1, y1 + 1))
    return window
