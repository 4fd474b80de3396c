"""Content for the physical engine's benchmark: scenes with depth edges everywhere, and real footage.

``depth_edge_scene`` is made in code (seeded, any size, features scaled with
the width): a far wall strewn with small HDR lights, a floor receding from the
bottom of the frame to the horizon, foliage-like cards with holes at many
depths, thin posts and wires in front, and a subject card at the focus.
``breakdance`` reads a frame of ``../shared/data/breakdance`` (sRGB JPEG plate,
8-bit normalised disparity, per-frame focus and K at 1024 px wide).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

BREAKDANCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "breakdance"


@dataclass(frozen=True)
class Frame:
    """Scene-linear RGB (3, H, W), disparity (1, H, W), focus disparity and K (px) of one frame."""

    rgb: torch.Tensor
    disparity: torch.Tensor
    focus_disparity: float
    strength_px: float

    @property
    def max_radius_px(self) -> float:
        return float((self.strength_px * (self.disparity - self.focus_disparity)).abs().max())

    def radius_px(self) -> torch.Tensor:
        """|r| = K |d - d_f|: the CoC law with the engine's default options."""
        return (self.strength_px * (self.disparity - self.focus_disparity)).abs()


def _noise(channels: int, height: int, width: int, cell: int, g: torch.Generator) -> torch.Tensor:
    coarse = torch.rand(channels, height // cell + 2, width // cell + 2, generator=g)
    return F.interpolate(coarse[None], size=(height, width), mode="bicubic", align_corners=False)[0].clamp(0, 1)


def depth_edge_scene(height: int, width: int, max_radius_px: float, seed: int = 0) -> Frame:
    """The synthetic shot at this size, with K chosen so the largest CoC radius is ``max_radius_px``."""
    g = torch.Generator().manual_seed(seed)
    s = width / 1920  # feature scale
    yy = torch.linspace(0, 1, height)[:, None].expand(height, width)
    xx = torch.linspace(0, width / height, width)[None, :].expand(height, width)  # in frame heights
    # far wall: textured, with many small HDR lights (1-2 px, 5..100)
    rgb = 0.05 + 0.3 * _noise(3, height, width, max(int(24 * s), 2), g) * torch.tensor([1.0, 0.8, 0.6])[:, None, None]
    disp = torch.full((height, width), 0.04)
    lights = int(600 * width * height / (1920 * 1080))
    ys = torch.randint(0, int(height * 0.55), (lights,), generator=g)
    xs = torch.randint(0, width - 1, (lights,), generator=g)
    values = 5.0 + 95.0 * torch.rand(lights, generator=g) ** 3
    for y, x, v in zip(ys.tolist(), xs.tolist(), values.tolist()):
        rgb[:, y, x] = v * torch.tensor([1.0, 0.85, 0.6])
        if v > 40:
            rgb[:, y, x + 1] = v * 0.5
    # floor: from the horizon (55 % down) to the bottom, nearer toward the camera
    horizon = 0.55
    floor = yy > horizon
    depth_floor = 0.06 + 0.94 * ((yy - horizon) / (1 - horizon)).clamp(0, 1)
    disp = torch.where(floor, depth_floor, disp)
    z = 1.0 / depth_floor
    tiles = 0.1 + 0.15 * ((torch.floor((xx - 0.9) * z * 4) + torch.floor(z * 4)) % 2)
    rgb = torch.where(floor[None], torch.stack([tiles, tiles * 0.9, tiles * 0.8]), rgb)
    # foliage-like cards: leaves with holes at many depths
    cards = int(80 * width / 1920 * height / 1080) + 10
    holes = _noise(1, height, width, max(int(10 * s), 2), g)[0] > 0.62
    grain = 0.7 + 0.6 * _noise(1, height, width, max(int(6 * s), 2), g)[0]
    for _ in range(cards):
        cy, cx = float(torch.rand(1, generator=g)) * 0.9, float(torch.rand(1, generator=g)) * width / height
        ry, rx = 0.03 + 0.06 * float(torch.rand(1, generator=g)), 0.02 + 0.05 * float(torch.rand(1, generator=g))
        angle = math.pi * float(torch.rand(1, generator=g))
        d = 0.1 + 0.85 * float(torch.rand(1, generator=g))
        shade = 0.15 + 0.5 * float(torch.rand(1, generator=g))
        # work in the card's bounding box (coordinates are in frame heights)
        extent = max(rx, ry)
        y0, y1 = max(int((cy - extent) * height), 0), min(int((cy + extent) * height) + 1, height)
        x0, x1 = max(int((cx - extent) * height), 0), min(int((cx + extent) * height) + 1, width)
        if y1 <= y0 or x1 <= x0:
            continue
        box = (slice(y0, y1), slice(x0, x1))
        u = (xx[box] - cx) * math.cos(angle) + (yy[box] - cy) * math.sin(angle)
        v = -(xx[box] - cx) * math.sin(angle) + (yy[box] - cy) * math.cos(angle)
        leaf = ((u / rx) ** 2 + (v / ry) ** 2 < 1) & ~holes[box] & (disp[box] < d)  # in front of what is there
        colour = torch.tensor([0.25 * shade, shade, 0.2 * shade])[:, None, None] * grain[box]
        rgb[(slice(None),) + box] = torch.where(leaf[None], colour, rgb[(slice(None),) + box])
        disp[box] = torch.where(leaf, torch.full_like(disp[box], d), disp[box])
    # the subject at focus: a striped card in the middle
    subject = ((xx - 0.85 * width / height) .abs() < 0.12) & ((yy - 0.5).abs() < 0.25)
    stripes = 0.2 + 0.6 * (torch.sin(yy * 300 * height / 1080) > 0)
    rgb = torch.where(subject[None], torch.stack([stripes, stripes * 0.7, stripes * 0.5]), rgb)
    disp = torch.where(subject, torch.full_like(disp, 0.5), disp)
    # thin occluders: posts and wires, 2-5 px wide, in front
    for k in range(12):
        d = 0.6 + 0.38 * float(torch.rand(1, generator=g))
        half = (1.0 + 1.5 * float(torch.rand(1, generator=g))) * max(s, 0.25) / height
        if k % 3 == 2:  # a wire across the frame
            slope = 0.3 * (float(torch.rand(1, generator=g)) - 0.5)
            y0 = float(torch.rand(1, generator=g)) * 0.6
            thin = (yy - (y0 + slope * xx)).abs() < half
        else:  # a post from the bottom
            x0 = float(torch.rand(1, generator=g)) * xx.max().item()
            thin = ((xx - x0).abs() < 2 * half) & (yy > 0.1 * float(torch.rand(1, generator=g)))
        rgb = torch.where(thin[None], torch.tensor([0.4, 0.35, 0.3])[:, None, None], rgb)
        disp = torch.where(thin, torch.full_like(disp, d), disp)
    focus = 0.5
    strength = max_radius_px / float((disp - focus).abs().max())
    return Frame(rgb.contiguous(), disp[None].contiguous(), focus, strength)


def breakdance_params() -> dict[int, tuple[float, float]]:
    """frame -> (focus disparity, K at 1024 px wide), the plate's keyed parameters."""
    with open(BREAKDANCE / "params.csv") as f:
        return {int(r["frame"]): (float(r["focus_disparity"]), float(r["k"])) for r in csv.DictReader(f)}


def breakdance(frame: int = 1001, width: int | None = None) -> Frame:
    """A breakdance frame in scene-linear light at its keyed focus and K (scaled to the width)."""
    import numpy as np
    import OpenImageIO as oiio

    focus, k_1024 = breakdance_params()[frame]
    srgb = oiio.ImageBuf(str(BREAKDANCE / "rgb" / f"breakdance.{frame}.jpg")).get_pixels(oiio.FLOAT)[..., :3]
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4).astype(np.float32)
    disparity = oiio.ImageBuf(str(BREAKDANCE / "disparity" / f"breakdance_disp.{frame}.png")).get_pixels(oiio.FLOAT)[..., 0]
    rgb = torch.from_numpy(linear).permute(2, 0, 1).contiguous()
    disp = torch.from_numpy(disparity.astype(np.float32))[None]
    if width and width != rgb.shape[-1]:
        height = round(rgb.shape[-2] * width / rgb.shape[-1])
        rgb = F.interpolate(rgb[None], size=(height, width), mode="area")[0]
        disp = F.interpolate(disp[None], size=(height, width), mode="area")[0]
    return Frame(rgb, disp, focus, k_1024 * rgb.shape[-1] / 1024)
