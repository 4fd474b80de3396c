"""The lens aperture: the shape of a defocused point light.

The CoC radius r of the law ``r_px = K * |d - d_f|`` is the circumradius of
the bokeh: a disk of radius r, a polygon whose corners lie on the circle of
radius r, a ring whose outer edge is that circle. ``aspect`` squeezes it
horizontally (anamorphic lenses: 0.5 gives ovals twice as tall as wide, the
vertical radius stays r). Fields a real lens changes during a shot (rotation,
aspect) are curves; the pipeline evaluates them per frame.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from focuspull.curves import Curve
from focuspull.errors import JobError

APERTURE_SHAPES = ("disk", "polygon", "image")


@dataclass(frozen=True)
class ApertureSpec:
    """Aperture shape shared by the engines that can honour it."""

    shape: Literal["disk", "polygon", "image"] = field(
        default="disk",
        metadata={"doc": "disk, polygon (iris blades) or image (a custom kernel read from kernel_path)."},
    )
    blades: int = field(default=6, metadata={"doc": "Number of iris blades of a polygon aperture.", "minimum": 3, "maximum": 64})
    roundness: float = field(
        default=0.0,
        metadata={"doc": "Curvature of the blades: 0 = straight polygon edges, 1 = a disk.", "minimum": 0.0, "maximum": 1.0},
    )
    rotation_deg: Curve = field(
        default_factory=lambda: Curve.constant(0.0),
        metadata={"doc": "Rotation of the aperture, degrees counter-clockwise; 0 puts a polygon corner at the top."},
    )
    aspect: Curve = field(
        default_factory=lambda: Curve.constant(1.0),
        metadata={"doc": "Bokeh width / height (anamorphic squeeze); 0.5 = ovals twice as tall as wide. Must be > 0."},
    )
    inner_radius: float = field(
        default=0.0,
        metadata={
            "doc": "Catadioptric (mirror lens) ring: the dark centre's size as a fraction of the bokeh, 0 = none.",
            "minimum": 0.0,
            "maximum": 0.95,
        },
    )
    kernel_path: str | None = field(
        default=None,
        metadata={"doc": "Image file of a custom kernel (shape 'image'); its brightness is the kernel, fit to the CoC diameter."},
    )
    cat_eye: float = field(
        default=0.0,
        metadata={
            "doc": "Optical vignetting: how much the bokeh is clipped to a cat's-eye toward the frame corners "
            "(0 = none, 1 = half as wide radially in the corners).",
            "minimum": 0.0,
            "maximum": 1.0,
        },
    )

    def __post_init__(self) -> None:
        if self.shape not in APERTURE_SHAPES:
            raise JobError(f"aperture.shape: {self.shape!r} is not one of {', '.join(APERTURE_SHAPES)}")
        if self.shape == "image" and not self.kernel_path:
            raise JobError("aperture.kernel_path: required when aperture.shape is 'image'")
        if self.shape != "image" and self.kernel_path:
            raise JobError("aperture.kernel_path: only used when aperture.shape is 'image'")
        for key in self.aspect.keys:
            if not key.value > 0:
                raise JobError(f"aperture.aspect: {key.value} at frame {key.frame:g} must be greater than 0")
