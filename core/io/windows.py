"""Data windows: where a frame's pixels are, and where blurred light may go.

A window is a half-open pixel rectangle ``[x0, x1) x [y0, y1)`` in the EXR's
pixel coordinates (y down). Each frame (and each part) keeps its own data
window; the render works in the data window grown by the blur margin, within
the display window plus the overscan margin, as Nuke's ZDefocus grows the
bounding box.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Window", "work_window", "place"]


@dataclass(frozen=True)
class Window:
    x0: int
    y0: int
    x1: int
    y1: int

    @classmethod
    def data(cls, spec: Any) -> "Window":
        return cls(spec.x, spec.y, spec.x + spec.width, spec.y + spec.height)

    @classmethod
    def display(cls, spec: Any) -> "Window":
        return cls(spec.full_x, spec.full_y, spec.full_x + spec.full_width, spec.full_y + spec.full_height)

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def origin(self) -> tuple[int, int]:
        return self.x0, self.y0

    def grow(self, x_px: int, y_px: int | None = None) -> "Window":
        y_px = x_px if y_px is None else y_px
        return Window(self.x0 - x_px, self.y0 - y_px, self.x1 + x_px, self.y1 + y_px)

    def intersect(self, other: "Window") -> "Window":
        return Window(max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1))

    def union(self, other: "Window") -> "Window":
        """The bounding box of both (an empty one counts as nothing)."""
        if other.empty:
            return self
        if self.empty:
            return other
        return Window(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    @property
    def empty(self) -> bool:
        return self.x1 <= self.x0 or self.y1 <= self.y0

    def __str__(self) -> str:  # as EXR tools print a dataWindow: inclusive corners
        return f"({self.x0} {self.y0}) - ({self.x1 - 1} {self.y1 - 1})"


def work_window(data: Window, display: Window, margin_x: int, margin_y: int, overscan_px: int) -> Window:
    """The data window grown by the blur margin, limited to the display window
    plus ``overscan_px``; never smaller than the data window itself."""
    allowed = display.grow(overscan_px)
    return data.union(data.grow(margin_x, margin_y).intersect(allowed))


def place(array: np.ndarray, source: Window, target: Window, fill: str | float = "zero") -> np.ndarray:
    """``array`` (H, W[, C]) covering ``source``, re-cut to cover ``target``.

    Outside ``source`` the new pixels are zero (``fill="zero"``: EXR's meaning
    of "outside the data window"), repeat the nearest edge pixel
    (``fill="edge"``) or take a given value (a number).
    """
    if source == target:
        return array
    inner = source.intersect(target)
    value = 0.0 if fill in ("zero", "edge") else float(fill)
    if inner.empty:
        if fill == "edge":
            raise ValueError(f"window {target} does not overlap {source}: nothing to extend")
        return np.full((target.height, target.width) + array.shape[2:], value, dtype=array.dtype)
    crop = array[inner.y0 - source.y0 : inner.y1 - source.y0, inner.x0 - source.x0 : inner.x1 - source.x0]
    pad = [(inner.y0 - target.y0, target.y1 - inner.y1), (inner.x0 - target.x0, target.x1 - inner.x1)]
    pad += [(0, 0)] * (array.ndim - 2)
    if fill == "edge":
        return np.pad(crop, pad, mode="edge")
    return np.pad(crop, pad, mode="constant", constant_values=value)
