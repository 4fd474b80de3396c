"""The contract every engine implements.

Engines see scene-linear float32 tensors and per-frame parameters as tensors
of shape (T,) (``FrameParams``), so a keyframed value is just another batch
dimension. They know nothing of files, colour spaces or curves.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import torch

    from focuspull.aperture import ApertureSpec
    from focuspull.color import ColorConfig
    from focuspull.params import FrameParams


@dataclass(frozen=True)
class EngineInput:
    """A batch of T frames and their per-frame parameters.

    rgba:      (T, C, H, W) scene-linear float32, C = 3 (RGB) or 4
               (RGBA, premultiplied). Values above 1.0 are light, not errors.
    disparity: (T, 1, H, W) float32, larger = nearer, 0 = infinitely far.
    params:    the batch's FrameParams (T values each: d_f, K, the law's
               shape, aperture and keyframed options; host frame numbers in
               ``params.frames``). Engines read per-frame values here, never
               from Curve fields of their options.
    """

    rgba: "torch.Tensor"
    disparity: "torch.Tensor"
    params: "FrameParams"

    @property
    def num_frames(self) -> int:
        return int(self.rgba.shape[0])

    @property
    def frames(self) -> tuple[int, ...]:
        return self.params.frames


@dataclass(frozen=True)
class ShotStatistics:
    """Whole-shot facts an engine may need before the first frame.

    Disparity is normalised over the whole shot, never per frame or per clip,
    so the blur does not pump (the neural engine's model expects 0..1).
    """

    disparity_min: float
    disparity_max: float
    frames: tuple[int, ...]
    width: int
    height: int


@dataclass(frozen=True)
class EngineOutput:
    """Rendered frames plus optional named diagnostic channels.

    rgba: (T, C, H, W) with the same C as the input.
    aux:  name -> (T, 1, H, W), written as extra EXR channels (e.g. "coc.radius").
    """

    rgba: "torch.Tensor"
    aux: Mapping[str, "torch.Tensor"] = field(default_factory=dict)


class Engine(abc.ABC):
    """Base class: render a batch; stream a shot.

    Subclasses set ``name`` and implement ``render``. An engine that needs
    temporal context (the neural one) overrides ``context_frames`` and
    ``render_stream``.
    """

    name: ClassVar[str]
    #: frames of context needed on each side of a frame (for chunked renders).
    context_frames: ClassVar[int] = 0
    #: when True the pipeline scans the shot's depth first and calls begin_shot.
    needs_shot_statistics: ClassVar[bool] = False

    def __init__(
        self,
        options: Any,
        aperture: "ApertureSpec",
        device: "torch.device",
        color: "ColorConfig | None" = None,
    ) -> None:
        self.options = options
        self.aperture = aperture
        self.device = device
        # The job's OCIO config; the working space is its scene_linear role.
        # Engines that need a display-referred space convert with it internally.
        self.color = color

    def begin_shot(self, stats: ShotStatistics) -> None:
        """Called once before the first batch when ``needs_shot_statistics``."""

    @abc.abstractmethod
    def render(self, batch: EngineInput) -> EngineOutput:
        """Render every frame of the batch."""

    def render_stream(self, batches: Iterator[EngineInput]) -> Iterator[EngineOutput]:
        """Render a shot given as consecutive batches; one output per batch.

        The default renders each batch independently, which is right for any
        engine whose frames do not depend on their neighbours.
        """
        for batch in batches:
            yield self.render(batch)

    def header_attributes(self) -> dict[str, str]:
        """Parameters worth recording in the output EXR header."""
        return {"focuspull/engine": self.name}
