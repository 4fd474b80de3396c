"""Between the plate (scene-linear, any size) and the model (display-referred, ~576x1024).

In: resize in linear light (antialiased) to fit the working box without
squashing, encode to the model's display space with OCIO, clip to 0..1 (the
model knows nothing else), mirror-pad to multiples of 64.
Out: crop, decode back to scene-linear with OCIO, upsample to the plate, and
recombine guided by the circle of confusion: pixels whose CoC radius is at
most ``sharp_radius_px`` are the plate's own values, bit for bit.
Highlights: what the display encoding cannot hold (values the model clips) is
taken from the physical engine's render ``P`` of the same frame as
``P - roundtrip(P)``, roundtrip = decode(clip01(encode(.))), and added to the
model's defocused pixels.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

if TYPE_CHECKING:
    from focuspull.color import ColorConfig

__all__ = ["ColorBridge", "WorkingGeometry", "coc_mix", "mirror_pad", "recombine"]

log = logging.getLogger(__name__)

MULTIPLE = 64


@dataclass(frozen=True)
class WorkingGeometry:
    """How a plate of ``plate_size`` sits in the model's working image.

    ``scale``: working pixels per plate pixel (the same on both axes);
    ``content``: (height, width) of the resized plate; ``padded``: (height,
    width) of the model input, multiples of 64, content at the top left and
    mirrored padding on the right and bottom.
    """

    plate_size: tuple[int, int]
    content: tuple[int, int]
    padded: tuple[int, int]
    scale: float

    @classmethod
    def fit(cls, height: int, width: int, box_long: int = 1024, box_short: int = 576) -> "WorkingGeometry":
        """Fit the plate inside the box (long side of the box along the plate's long side)."""
        box_w, box_h = (box_long, box_short) if width >= height else (box_short, box_long)
        scale = min(box_w / width, box_h / height)
        content = (max(1, round(height * scale)), max(1, round(width * scale)))
        padded = tuple(max(MULTIPLE, math.ceil(c / MULTIPLE) * MULTIPLE) for c in content)
        # The effective scale is the width ratio actually used (rounding).
        return cls((height, width), content, padded, content[1] / width)  # type: ignore[arg-type]


def mirror_pad(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pad (..., h, w) to (..., height, width) on the bottom/right by reflection, any amount."""
    h, w = x.shape[-2:]
    if (h, w) == (height, width):
        return x
    rows = torch.tensor([_mirror(i, h) for i in range(height)], device=x.device)
    cols = torch.tensor([_mirror(j, w) for j in range(width)], device=x.device)
    return x.index_select(-2, rows).index_select(-1, cols)


def _mirror(i: int, n: int) -> int:
    if n <= 1:
        return 0
    period = 2 * (n - 1)
    m = i % period
    return m if m < n else period - m


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Antialiased bilinear resize of (N, C, H, W) in float32 (identity when the size matches)."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x.float(), size=size, mode="bilinear", align_corners=False, antialias=True)


class ColorBridge:
    """Scene-linear <-> the model's display-referred space.

    With an OCIO config: its scene_linear role <-> ``model_space``. Without
    one (an engine built without a config, e.g. in unit tests) the plate is
    taken as linear Rec.709 and the sRGB transfer function is used.
    """

    def __init__(self, color: "ColorConfig | None", model_space: str) -> None:
        self.color = color
        if color is not None:
            self.linear = color.scene_linear
            self.display = color.resolve(model_space)
        else:
            self.linear, self.display = "lin_rec709 (assumed)", "sRGB (built-in)"

    def encode(self, rgb: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) scene-linear -> display values (not clipped)."""
        if self.color is None:
            return _srgb_encode(rgb.float())
        return self._ocio(rgb, self.linear, self.display)

    def decode(self, rgb: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) display values -> scene-linear."""
        if self.color is None:
            return _srgb_decode(rgb.float())
        return self._ocio(rgb, self.display, self.linear)

    def roundtrip(self, rgb: torch.Tensor) -> torch.Tensor:
        """What survives the model's 0..1 range: decode(clip01(encode(x)))."""
        return self.decode(self.encode(rgb).clamp(0.0, 1.0))

    def _ocio(self, rgb: torch.Tensor, src: str, dst: str) -> torch.Tensor:
        assert self.color is not None
        pixels = rgb.detach().float().permute(0, 2, 3, 1).cpu().numpy()
        out = np.stack([self.color.convert(np.ascontiguousarray(p), src, dst) for p in pixels])
        return torch.from_numpy(np.ascontiguousarray(out)).permute(0, 3, 1, 2).to(rgb.device)


def _srgb_encode(x: torch.Tensor) -> torch.Tensor:
    a = x.abs()
    y = torch.where(a <= 0.0031308, 12.92 * a, 1.055 * a.clamp_min(1e-12).pow(1 / 2.4) - 0.055)
    return torch.copysign(y, x)


def _srgb_decode(x: torch.Tensor) -> torch.Tensor:
    a = x.abs()
    y = torch.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055).pow(2.4))
    return torch.copysign(y, x)


def coc_mix(radius_px: torch.Tensor, sharp_px: float, blend_px: float) -> torch.Tensor:
    """Weight of the model's pixel: 0 up to ``sharp_px``, 1 from ``blend_px``, smoothstep between."""
    t = ((radius_px - sharp_px) / (blend_px - sharp_px)).clamp(0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def recombine(plate_rgb: torch.Tensor, model_rgb: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
    """plate where mix == 0 and model where mix == 1 (both exactly), linear in between."""
    blended = plate_rgb + mix * (model_rgb - plate_rgb)
    return torch.where(mix > 0, torch.where(mix < 1, blended, model_rgb), plate_rgb)
