"""Options of the neural engine (``engine.options`` of a job).

Kept free of torch and diffusers so a job can be validated, and its JSON
Schema exported, on a machine without the ``neural`` extra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from focuspull.errors import JobError

#: diagnostic channels this engine can add to the output (``output.aux_channels``)
AUX_CHANNELS = ("coc.radius", "neural.mix")


@dataclass(frozen=True)
class NeuralOptions:
    """Any-to-Bokeh one-step video diffusion (needs the user's checkpoints, non-commercial licence)."""

    weights: str | None = field(
        default=None,
        metadata={
            "doc": "Folder with unet/, vae/, image_encoder/ and feature_extractor/. Default: $FOCUSPULL_WEIGHTS, "
            "else $FOCUSPULL_MODELS/any-to-bokeh, else ~/.cache/focuspull/models/any-to-bokeh."
        },
    )
    precision: Literal["auto", "float16", "bfloat16", "float32"] = field(
        default="auto", metadata={"doc": "auto: float16 on CUDA, float32 on the CPU."}
    )
    working_width: int = field(
        default=1024,
        metadata={"doc": "Long side of the model's working box in pixels (multiple of 64; the model was trained at 1024).", "minimum": 64},
    )
    working_height: int = field(
        default=576,
        metadata={"doc": "Short side of the working box in pixels (multiple of 64; trained at 576).", "minimum": 64},
    )
    clip_frames: int = field(default=8, metadata={"doc": "Frames per model clip (trained with 8).", "minimum": 2})
    overlap_frames: int = field(
        default=4, metadata={"doc": "Frames shared by consecutive clips, blended with a cosine cross-fade.", "minimum": 1}
    )
    decode_chunk_frames: int = field(
        default=8,
        metadata={"doc": "Frames the temporal VAE decoder sees at once (a multiple of clip_frames - overlap_frames).", "minimum": 1},
    )
    model_colorspace: str = field(
        default="sRGB - Texture",
        metadata={"doc": "Display-referred OCIO colour space the model was trained in (8-bit sRGB images)."},
    )
    restore_highlights: bool = field(
        default=True,
        metadata={"doc": "Add back the light the model clips (outside the model space's 0..1) from the physical engine's render."},
    )
    sharp_radius_px: float = field(
        default=0.5,
        metadata={"doc": "Pixels whose CoC radius (plate pixels) is at most this keep the plate's exact values.", "minimum": 0.0},
    )
    blend_radius_px: float | None = field(
        default=None,
        metadata={
            "doc": "CoC radius (plate pixels) from which pixels come wholly from the model. Default: two working-size "
            "pixels in plate pixels, at least sharp_radius_px + 1.",
            "exclusive_minimum": 0.0,
        },
    )
    clip_normalize: bool = field(
        default=False,
        metadata={"doc": "Apply CLIP mean/std to the image-encoder input. The released inference skips it (False matches the weights)."},
    )
    strength_embedding_dtype: Literal["mixed", "float16", "float32"] = field(
        default="mixed",
        metadata={
            "doc": "Rounding of the Fourier features of k. mixed: as the model was trained (k and exponents in float16, "
            "sine in float32); float16: as the released demo runs (all float16); float32: exact (the reference fixture)."
        },
    )
    mpi_object_attention: bool = field(
        default=False,
        metadata={
            "doc": "Let the fuser blocks attend the MPI object tokens of their planes. The released model masks them all "
            "out (False reproduces it); True is the paper's design, untested with the released weights."
        },
    )
    mpi_alpha: float = field(
        default=1.5, metadata={"doc": "Exponent alpha of the MPI plane spacing s = d_f ** alpha.", "exclusive_minimum": 0.0}
    )
    disparity_range: tuple[float, float] | None = field(
        default=None,
        metadata={
            "doc": "[min, max] disparity that maps to the model's 0..1. Default: the range of the frames being rendered. "
            "Set it for farm chunks so every chunk normalises the same way."
        },
    )
    aux_channels: tuple[str, ...] = field(
        default=(), metadata={"doc": f"Diagnostic channels to add: {', '.join(AUX_CHANNELS)}."}
    )

    def __post_init__(self) -> None:
        for name in ("working_width", "working_height"):
            value = getattr(self, name)
            if value % 64:
                raise JobError(f"engine.options.{name}: {value} is not a multiple of 64")
        if self.working_height > self.working_width:
            raise JobError(
                f"engine.options.working_height: {self.working_height} is larger than working_width "
                f"{self.working_width}; give the long side as the width (portrait plates turn the box)"
            )
        if self.overlap_frames >= self.clip_frames:
            raise JobError(
                f"engine.options.overlap_frames: {self.overlap_frames} must be smaller than clip_frames {self.clip_frames}"
            )
        stride = self.clip_frames - self.overlap_frames
        if self.decode_chunk_frames % stride:
            raise JobError(
                f"engine.options.decode_chunk_frames: {self.decode_chunk_frames} is not a multiple of the clip stride "
                f"{stride} (clip_frames - overlap_frames)"
            )
        if self.blend_radius_px is not None and self.blend_radius_px <= self.sharp_radius_px:
            raise JobError(
                f"engine.options.blend_radius_px: {self.blend_radius_px} must be larger than sharp_radius_px {self.sharp_radius_px}"
            )
        if self.disparity_range is not None and not self.disparity_range[1] > self.disparity_range[0]:
            raise JobError(f"engine.options.disparity_range: {list(self.disparity_range)} is not [min, max] with max > min")
        unknown = [name for name in self.aux_channels if name not in AUX_CHANNELS]
        if unknown:
            raise JobError(
                f"engine.options.aux_channels: {', '.join(unknown)} not available from the neural engine; "
                f"expected {', '.join(AUX_CHANNELS)}"
            )
