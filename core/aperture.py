"""The lens aperture: the shape of a defocused point light."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class ApertureSpec:
    """Aperture shape shared by the engines that can honour it."""

    shape: Literal["disk"] = field(default="disk", metadata={"doc": "Shape of the bokeh."})
