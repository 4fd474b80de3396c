"""Tiny synthetic scenes and measurements for the physical engine's tests."""

from __future__ import annotations

import math

import torch

from focuspull.aperture import ApertureSpec
from focuspull.engines.base import EngineInput, EngineOutput
from focuspull.engines.physical import PhysicalEngine, PhysicalOptions
from focuspull.params import FrameParams, keyframed_values


def render(
    rgba: torch.Tensor,
    disparity: torch.Tensor,
    focus: float | list[float],
    strength: float | list[float],
    options: PhysicalOptions | None = None,
    aperture: ApertureSpec | None = None,
    per_frame: dict[str, list[float]] | None = None,
) -> EngineOutput:
    """Render (C,H,W)/(1,H,W) or batched (T,C,H,W)/(T,1,H,W) inputs.

    Keyframeable options and aperture values come from their (constant) curves,
    as the pipeline resolves them, unless ``per_frame`` gives them frame by frame.
    """
    if rgba.ndim == 3:
        rgba, disparity = rgba[None], disparity[None]
    frames = range(rgba.shape[0])
    options, aperture = options or PhysicalOptions(), aperture or ApertureSpec()
    values = {**keyframed_values(frames, aperture, options), **(per_frame or {})}
    params = FrameParams.of(frames, focus, strength, **values)
    engine = PhysicalEngine(options, aperture, torch.device("cpu"))
    return engine.render(EngineInput(rgba, disparity, params))


def point_light(height: int, width: int, y: int, x: int, value: float = 50.0, disparity: float = 0.6) -> tuple[torch.Tensor, torch.Tensor]:
    """A single HDR pixel on a black surface, everything at one disparity."""
    rgb = torch.zeros(3, height, width)
    rgb[:, y, x] = value
    return rgb, torch.full((1, height, width), disparity)


def texture(height: int, width: int, seed: int = 0) -> torch.Tensor:
    """Seeded random colour texture in 0.05..2 (some values above 1 on purpose)."""
    g = torch.Generator().manual_seed(seed)
    return 0.05 + 1.95 * torch.rand(3, height, width, generator=g)


def two_subjects_far_apart() -> tuple[torch.Tensor, torch.Tensor]:
    """(3, 320, 960) textured ground receding over the frame, a light, and two near subjects in opposite corners.

    At K = 60 and focus 0.4 the subjects' planes are blurred in tiles on the CPU.
    """
    h, w = 320, 960
    rgb = texture(h, w, seed=5)
    rgb[:, 40, 700] = 60.0
    disp = torch.linspace(0.2, 0.6, h)[None, :, None].expand(1, h, w).clone()
    disp[0][disk_mask(h, w, 60, 80, 40)] = 0.9
    disp[0][disk_mask(h, w, 260, 880, 40)] = 0.9
    return rgb, disp


def footprint_radius(image: torch.Tensor, cy: float, cx: float) -> float:
    """Radius of a disk footprint from its second moment, sqrt(2 <d^2>), pixel area removed."""
    m = image.sum(dim=0) if image.ndim == 3 else image
    h, w = m.shape
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    m = m.to(torch.float64)
    d2 = (yy - cy) ** 2 + (xx - cx) ** 2
    second = float((m * d2).sum() / m.sum())
    # a pixel of a uniform disk is a unit square, not a point: it adds 1/6 to <d^2>
    return math.sqrt(max(2 * (second - 1.0 / 6.0), 0.0))


def moments(image: torch.Tensor) -> dict[str, float]:
    """Centroid, principal axes (as standard deviations) and orientation of a footprint."""
    m = (image.sum(dim=0) if image.ndim == 3 else image).to(torch.float64)
    h, w = m.shape
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    total = m.sum()
    cy, cx = float((m * yy).sum() / total), float((m * xx).sum() / total)
    syy = float((m * (yy - cy) ** 2).sum() / total)
    sxx = float((m * (xx - cx) ** 2).sum() / total)
    sxy = float((m * (yy - cy) * (xx - cx)).sum() / total)
    return {"cy": cy, "cx": cx, "sxx": sxx, "syy": syy, "sxy": sxy}


def disk_mask(height: int, width: int, cy: float, cx: float, radius: float) -> torch.Tensor:
    yy, xx = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij")
    return ((yy - cy) ** 2 + (xx - cx) ** 2) <= radius**2


def laplacian_energy(image: torch.Tensor, mask: torch.Tensor) -> float:
    """Sum of the squared 4-neighbour Laplacian over the pixels of ``mask`` whose stencil stays in it."""
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])[None, None].repeat(image.shape[0], 1, 1, 1)
    lap = torch.nn.functional.conv2d(image[None].float(), kernel, groups=image.shape[0])[0]
    inner = -torch.nn.functional.max_pool2d(-mask[None, None].float(), 3, 1, 1)[0, 0, 1:-1, 1:-1] > 0.5
    return float((lap**2).sum(dim=0)[inner].sum())


def radial_profile(image: torch.Tensor, cy: float, cx: float, max_radius: float, step: float = 0.25) -> tuple[torch.Tensor, torch.Tensor]:
    """(bin radii, mean of the channel sum in each ring of width ``step``) around (cy, cx)."""
    m = (image.sum(dim=0) if image.ndim == 3 else image).to(torch.float64)
    h, w = m.shape
    yy, xx = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    d = torch.sqrt((yy - cy) ** 2 + (xx - cx) ** 2).flatten()
    bins = torch.arange(0.0, max_radius + 4.0, step, dtype=torch.float64)
    index = torch.bucketize(d, bins)
    sums = torch.zeros(len(bins) + 1, dtype=torch.float64).index_add_(0, index, m.flatten())
    counts = torch.zeros(len(bins) + 1, dtype=torch.float64).index_add_(0, index, torch.ones_like(d))
    return bins, (sums / counts.clamp_min(1))[1 : len(bins) + 1]


def edge_width(image: torch.Tensor, cy: float, cx: float, radius: float) -> float:
    """Width (px) over which a disk's rim falls from 90 % to 10 % of its interior level."""
    bins, profile = radial_profile(image, cy, cx, radius)
    level = float(profile[bins < 0.6 * radius].mean())

    def outermost(fraction: float) -> float:
        above = torch.nonzero(profile >= fraction * level).flatten()
        return float(bins[above.max()]) if len(above) else 0.0

    return outermost(0.1) - outermost(0.9)
