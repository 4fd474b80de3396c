"""Ground truth for the physical engine: exact thin-lens images of layered scenes.

A scene is a stack of fronto-parallel RGBA layers (premultiplied, scene-linear,
HDR), back to front, each at one disparity. Through a thin lens with an
aperture of unit-disk shape, the image is the average over the aperture
points (u, v) of the front-to-back composite of the layers, each shifted by
K * (d_i - d_f) * (u, v) pixels. ``thin_lens`` computes that average with a
deterministic, evenly spread set of aperture points (a Vogel spiral), enough
of them that neighbouring shifts of the largest CoC are about half a pixel
apart; shifts are sub-pixel (bilinear).

``random_scene`` makes varied scenes (textures, soft-edged shapes, HDR point
lights); ``engine_inputs`` flattens a scene into what a renderer gets: the
all-in-focus composite and the visible (front-most) disparity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Layer:
    rgba: torch.Tensor  # (4, H, W) premultiplied
    disparity: float


@dataclass(frozen=True)
class Scene:
    layers: tuple[Layer, ...]  # back to front
    focus_disparity: float
    strength_px: float

    @property
    def max_radius_px(self) -> float:
        return max(abs(self.strength_px * (layer.disparity - self.focus_disparity)) for layer in self.layers)


def aperture_points(count: int) -> torch.Tensor:
    """(count, 2) points evenly spread over the unit disk (Vogel spiral), float64."""
    k = torch.arange(count, dtype=torch.float64)
    radius = torch.sqrt((k + 0.5) / count)
    angle = k * math.pi * (3 - math.sqrt(5))
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)


def composite(layers: list[torch.Tensor]) -> torch.Tensor:
    """Back-to-front 'over' of premultiplied (4, H, W) layers."""
    out = torch.zeros_like(layers[0])
    for layer in layers:
        out = layer + out * (1 - layer[3:4])
    return out


def _shift(image: torch.Tensor, dy: float, dx: float) -> torch.Tensor:
    """Translate by a sub-pixel amount (bilinear); what enters from outside is zero."""
    iy, ix = math.floor(dy), math.floor(dx)
    fy, fx = dy - iy, dx - ix
    out = torch.zeros_like(image)
    h, w = image.shape[-2:]
    for oy, wy in ((iy, 1 - fy), (iy + 1, fy)):
        for ox, wx in ((ix, 1 - fx), (ix + 1, fx)):
            weight = wy * wx
            if weight == 0:
                continue
            ys, yd = (slice(0, h - oy), slice(oy, h)) if oy >= 0 else (slice(-oy, h), slice(0, h + oy))
            xs, xd = (slice(0, w - ox), slice(ox, w)) if ox >= 0 else (slice(-ox, w), slice(0, w + ox))
            if ys.start >= ys.stop or xs.start >= xs.stop:
                continue
            out[:, yd, xd] += weight * image[:, ys, xs]
    return out


def thin_lens(scene: Scene, samples: int | None = None) -> torch.Tensor:
    """The exact thin-lens image (4, H, W) of a layered scene, disk aperture."""
    radius = scene.max_radius_px
    if samples is None:
        # about one aperture point per half pixel of the largest CoC's area
        samples = int(min(max(64, 4 * math.pi * radius * radius), 6000))
    points = aperture_points(samples)
    acc = torch.zeros_like(scene.layers[0].rgba, dtype=torch.float64)
    for u, v in points.tolist():
        shifted = []
        for layer in scene.layers:
            r = scene.strength_px * (layer.disparity - scene.focus_disparity)
            shifted.append(_shift(layer.rgba, r * v, r * u) if r else layer.rgba)
        acc += composite(shifted).to(torch.float64)
    return (acc / samples).to(torch.float32)


def engine_inputs(scene: Scene) -> tuple[torch.Tensor, torch.Tensor]:
    """(all-in-focus RGBA composite, visible disparity (1, H, W)) as a renderer sees them."""
    image = composite([layer.rgba for layer in scene.layers])
    disparity = torch.full_like(image[:1], scene.layers[0].disparity)
    for layer in scene.layers[1:]:
        disparity = torch.where(layer.rgba[3:4] > 0.5, torch.full_like(disparity, layer.disparity), disparity)
    return image, disparity


def _smooth_noise(channels: int, height: int, width: int, cell: int, g: torch.Generator) -> torch.Tensor:
    coarse = torch.rand(channels, height // cell + 2, width // cell + 2, generator=g)
    return F.interpolate(coarse[None], size=(height, width), mode="bicubic", align_corners=False)[0].clamp(0, 1)


def random_scene(height: int, width: int, seed: int, strength_px: float = 40.0, shapes: int = 3) -> Scene:
    """A textured background, a few soft-edged textured shapes at other depths, HDR point lights."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij")
    layers = []
    colour = 0.05 + 0.6 * _smooth_noise(3, height, width, 24, g) + 0.2 * _smooth_noise(3, height, width, 4, g)
    stripes = (torch.sin(xx / 3.0 + 2 * torch.rand(1, generator=g).item() * yy / 7.0) > 0.6).float()
    colour = colour * (1 + 0.8 * stripes)
    background = torch.cat([colour, torch.ones(1, height, width)])
    disparities = sorted(torch.rand(shapes + 1, generator=g).tolist())
    disparities = [0.05 + 0.9 * d for d in disparities]
    _add_lights(background, 6, g)
    layers.append(Layer(background, disparities[0]))
    for i in range(shapes):
        cy = float(torch.rand(1, generator=g)) * height
        cx = float(torch.rand(1, generator=g)) * width
        ry = (0.12 + 0.2 * float(torch.rand(1, generator=g))) * height
        rx = (0.12 + 0.2 * float(torch.rand(1, generator=g))) * width
        softness = 0.5 + 3.0 * float(torch.rand(1, generator=g))
        if i % 2 == 0:
            dist = (torch.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) - 1) * min(ry, rx)
        else:
            dist = torch.maximum((yy - cy).abs() - ry, (xx - cx).abs() - rx)
        alpha = torch.clamp(0.5 - dist / softness, 0, 1)
        tex = 0.1 + 0.9 * _smooth_noise(3, height, width, 6, g)
        rgba = torch.cat([tex * alpha, alpha[None]])
        _add_lights(rgba, 2, g)
        layers.append(Layer(rgba, disparities[i + 1]))
    focus = disparities[int(torch.randint(0, shapes + 1, (1,), generator=g))]
    return Scene(tuple(layers), focus, strength_px)


def _add_lights(rgba: torch.Tensor, count: int, g: torch.Generator) -> None:
    """HDR point lights where the layer is opaque."""
    h, w = rgba.shape[-2:]
    for _ in range(count):
        y, x = int(torch.randint(0, h, (1,), generator=g)), int(torch.randint(0, w, (1,), generator=g))
        if rgba[3, y, x] >= 0.999:
            rgba[:3, y, x] = 5.0 + 45.0 * float(torch.rand(1, generator=g))


# -- baselines --------------------------------------------------------------------
def disk_kernel(radius: float) -> torch.Tensor:
    h = int(math.floor(radius + 0.5))
    grid = torch.arange(-h, h + 1, dtype=torch.float32)
    dist = torch.sqrt(grid[:, None] ** 2 + grid[None, :] ** 2)
    k = torch.clamp(radius + 0.5 - dist, 0, 1)
    return k / k.sum()


def _blur(image: torch.Tensor, radius: float) -> torch.Tensor:
    k = disk_kernel(radius)
    p = (k.shape[-1] - 1) // 2
    if p == 0:
        return image.clone()
    c, h, w = image.shape
    size = (h + 2 * p, w + 2 * p)
    out = torch.fft.irfft2(torch.fft.rfft2(image, s=size) * torch.fft.rfft2(k, s=size), s=size)
    return out[:, p : p + h, p : p + w]


def plain_gather(image: torch.Tensor, disparity: torch.Tensor, focus: float, strength: float) -> torch.Tensor:
    """Each output pixel averages the input over a disk of its own CoC radius (no occlusion)."""
    radius = (strength * (disparity[0] - focus)).abs()
    top = int(math.ceil(float(radius.max())))
    blurred = [_normalised_blur(image, float(r)) for r in range(top + 1)]
    low = radius.floor().long().clamp(max=top)
    high = (low + 1).clamp(max=top)
    t = radius - low
    stack = torch.stack(blurred)  # (R, C, H, W)
    gather = lambda idx: torch.gather(stack, 0, idx[None, None].expand(1, image.shape[0], -1, -1))[0]
    return gather(low) * (1 - t) + gather(high) * t


def _normalised_blur(image: torch.Tensor, radius: float) -> torch.Tensor:
    ones = torch.ones_like(image[:1])
    return _blur(image, radius) / _blur(ones, radius).clamp_min(1e-6)


def plain_layered(image: torch.Tensor, disparity: torch.Tensor, focus: float, strength: float) -> torch.Tensor:
    """Hard 1-px CoC slices, each premultiplied slice blurred and composited back to front, normalised."""
    radius = strength * (disparity[0] - focus)
    index = torch.round(radius).long()
    acc = torch.zeros(image.shape[0] + 1, *image.shape[-2:])
    for r in range(int(index.min()), int(index.max()) + 1):
        mask = (index == r).float()
        if not bool(mask.any()):
            continue
        layer = _blur(torch.cat([image * mask, mask[None]]), abs(float(r)))
        acc = acc * (1 - layer[-1:].clamp(0, 1)) + layer
    return acc[:-1] / acc[-1:].clamp_min(1e-6)


# -- scoring ------------------------------------------------------------------------
def psnr_tonemapped(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> float:
    """PSNR (dB) of x / (1 + x) over the RGB of masked pixels (peak 1)."""
    ta = a[:3].clamp_min(0) / (1 + a[:3].clamp_min(0))
    tb = b[:3].clamp_min(0) / (1 + b[:3].clamp_min(0))
    mse = float(((ta - tb) ** 2)[:, mask].mean())
    return 10 * math.log10(1.0 / max(mse, 1e-20))


def region_masks(disparity: torch.Tensor, border_px: int, edge_px: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """(flat, edge) masks: edge = within edge_px of a depth edge; a border band is excluded from both."""
    d = disparity[0]
    jump = torch.zeros_like(d, dtype=torch.bool)
    jump[:, 1:] |= d[:, 1:] != d[:, :-1]
    jump[:, :-1] |= d[:, 1:] != d[:, :-1]
    jump[1:, :] |= d[1:, :] != d[:-1, :]
    jump[:-1, :] |= d[1:, :] != d[:-1, :]
    near = F.max_pool2d(jump[None, None].float(), 2 * edge_px + 1, stride=1, padding=edge_px)[0, 0] > 0
    inner = torch.zeros_like(jump)
    h, w = d.shape
    if 2 * border_px < min(h, w):
        inner[border_px : h - border_px, border_px : w - border_px] = True
    return inner & ~near, inner & near
