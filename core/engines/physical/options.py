"""Options of the physical engine (``engine.options`` in a job)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from focuspull.curves import Curve
from focuspull.errors import JobError

#: diagnostic channels the engine can write (issue: extra EXR channels on request)
AUX_CHANNELS = ("coc.radius", "focus.matte", "plane.index")


@dataclass(frozen=True)
class PhysicalOptions:
    """Layered lens renderer settings. Curve fields may be keyframed."""

    front_scale: Curve = field(
        default_factory=lambda: Curve.constant(1.0),
        metadata={"doc": "Multiplier of the CoC radius in front of the focus plane (>= 0)."},
    )
    back_scale: Curve = field(
        default_factory=lambda: Curve.constant(1.0),
        metadata={"doc": "Multiplier of the CoC radius behind the focus plane (>= 0)."},
    )
    in_focus_width: Curve = field(
        default_factory=lambda: Curve.constant(0.0),
        metadata={
            "doc": "Depth of field: a disparity range of this total width centred on the focus stays sharp; "
            "blur grows from its edges (>= 0, disparity units)."
        },
    )
    highlight_gain: float | Literal["auto"] = field(
        default=1.0,
        metadata={
            "doc": "Highlight recovery for display-referred or clipped plates: near-clipped pixels are multiplied "
            "by up to this before the blur (1 = off). auto: only small clipped regions (lights, no larger than "
            "highlight_max_size_px) get a gain of 8; large bright surfaces and real HDR values keep theirs.",
            "minimum": 1.0,
        },
    )
    highlight_max_size_px: int = field(
        default=24,
        metadata={"doc": "highlight_gain auto: a clipped region that fits in a square this wide is a light.",
                  "minimum": 1, "maximum": 512},
    )
    highlight_threshold: float = field(
        default=0.95,
        metadata={"doc": "Luminance (linear) at which highlight recovery reaches its full gain.", "exclusive_minimum": 0.0},
    )
    highlight_softness: float = field(
        default=0.2,
        metadata={"doc": "Width of the luminance ramp below the threshold over which the gain fades in.", "minimum": 0.0},
    )
    fill_occluded: bool = field(
        default=True,
        metadata={"doc": "Fill the hidden part of each depth plane from its visible neighbours (pull-push) so a "
                  "defocused foreground shows background behind its edges."},
    )
    crisp_highlights: bool = field(
        default=True,
        metadata={"doc": "Draw small lights (a pixel at least 4x brighter than every pixel 3 px around it) at full "
                  "resolution with the exact kernel of their own radius, so their bokeh disks keep a crisp rim and "
                  "the exact size at every radius."},
    )
    pyramid_radius_px: float = field(
        default=6.0,
        metadata={
            "doc": "Planes whose radius exceeds twice this are blurred at 1/2, 1/4, ... resolution so the kernel stays "
            "between this and twice this many pixels (speed); larger = closer to the exact blur of extended content "
            "(small lights are exact sprites either way), slower.",
            "minimum": 2.0,
        },
    )
    plane_step_px: float = field(
        default=1.0,
        metadata={"doc": "Spacing of the depth planes in CoC radius, in pixels of the (possibly reduced) plane resolution.",
                  "exclusive_minimum": 0.0, "maximum": 4.0},
    )
    aux_channels: tuple[str, ...] = field(
        default=(),
        metadata={"doc": "Diagnostic channels to produce: coc.radius (signed px), focus.matte, plane.index."},
    )

    def __post_init__(self) -> None:
        for name in ("front_scale", "back_scale", "in_focus_width"):
            curve: Curve = getattr(self, name)
            for key in curve.keys:
                if key.value < 0:
                    raise JobError(f"engine.options.{name}: {key.value} at frame {key.frame:g} must be >= 0")
        unknown = [c for c in self.aux_channels if c not in AUX_CHANNELS]
        if unknown:
            raise JobError(
                f"engine.options.aux_channels: unknown channel(s) {', '.join(map(repr, unknown))}; "
                f"expected any of {', '.join(AUX_CHANNELS)}"
            )
