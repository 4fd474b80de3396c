"""Small lights drawn as sprites: the exact disk of their own radius, at full resolution.

A point light needs its disk exactly: the law's radius, a crisp rim, all its
light. The planes give an approximation of it: each pixel is shared between
two planes around its radius (f px apart where planes of large radius are
blurred at 1/f resolution, so the rim spreads over about 2 f px), and extended
content is blurred with kernels whose second moment is matched to a plate's
already pixel-averaged content (``kernels.plate_radius``), a little smaller
than a point light's disk under a pixel. So the light a small bright pixel has
above the ring of pixels around it is taken out of the planes and drawn as a
*sprite*: the pixel-averaged aperture kernel of the pixel's own radius, added
to the two planes the pixel is shared between in the same proportions, so
nearer content hides it as it hides the planes. What is taken out is drawn and
kernels sum to one: light is kept.

Sprites cost (2r + 1)^2 per light pixel (more for an anamorphic aperture): they are chosen brightest disk
first (light over disk area, the rim's contrast) within a budget of
``BUDGET_PX`` frame pixels of taps; lights past the budget stay in their
planes (softer rim, same light).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from focuspull.engines.physical.kernels import KernelShape, kernel_taps, render_kernel
from focuspull.engines.physical.ladder import plane_weight
from focuspull.engines.physical.maxfilter import window_max

#: a light pixel's luminance is at least this many times the brightest pixel of the ring around it
PEAK_RATIO = 4.0
#: ... and exceeds it by at least this many times the frame's mean luminance
MIN_EXCESS = 1.0
#: kernel taps of all sprites of a frame, in frame pixels
BUDGET_PX = 4.0
#: sprite radii are rounded to this step (px): kernels are cached per radius
RADIUS_STEP_PX = 0.25
#: taps scattered at once (bounds the temporary memory)
_CHUNK_TAPS = 1 << 21


@dataclass(frozen=True)
class Sprites:
    """Light pixels drawn as sprites: where, rounded |radius|, light, and their place among the planes.

    Where, radius and place are on the CPU whatever the device: drawing groups
    the lights by kernel and places them, which on a GPU would otherwise read
    the device back once per plane and kernel.
    """

    y: torch.Tensor  #: (N,) long, frame row (CPU)
    x: torch.Tensor  #: (N,) long, frame column (CPU)
    radius_px: torch.Tensor  #: (N,) float, |CoC radius| rounded to RADIUS_STEP_PX (CPU)
    light: torch.Tensor  #: (3, N) colour taken out of the planes (on the device)
    position: torch.Tensor  #: (N,) where the pixel sits on the ladder of planes, slab + share (CPU)

    def __len__(self) -> int:
        return int(self.y.numel())


#: a light fits inside a ring of pixels this far from it (a 7x7 window's border): lights up to 5 px wide
RING_PX = 3


def _ring_offsets(device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    side = torch.arange(-RING_PX, RING_PX + 1, device=device)
    dy, dx = torch.meshgrid(side, side, indexing="ij")
    on_ring = (dy.abs() == RING_PX) | (dx.abs() == RING_PX)
    return dy[on_ring], dx[on_ring]


def _ring_max(luma: torch.Tensor) -> torch.Tensor:
    """(H, W) brightest pixel on the ring RING_PX away from each pixel (the border replicated)."""
    height, width = luma.shape
    n = 2 * RING_PX + 1
    padded = F.pad(luma[None, None], (RING_PX,) * 4, mode="replicate")[0, 0]
    # the ring's top and bottom sides (n wide) and its left and right sides (corners excluded)
    across = window_max(padded, n, 1)
    down = window_max(padded[1:-1], n - 2, 0)
    ring = torch.maximum(across[:height], across[n - 1 :])
    return torch.maximum(ring, torch.maximum(down[:, :width], down[:, n - 1 :]))


def find(colour: torch.Tensor, abs_radius: torch.Tensor, position: torch.Tensor, shape: KernelShape) -> Sprites | None:
    """Light pixels blurred by more than half a pixel; None when there are none.

    colour (3, H, W) scene-linear; abs_radius, position (H, W) as the engine computes them;
    shape: the aperture (an anamorphic one's kernels take more taps).
    A light stands out from every pixel of the ring RING_PX around it (so it is at most
    2 RING_PX - 1 px wide: the corner of a large bright surface is not a light), and
    what it has above the ring's mean colour is its sprite.
    """
    height, width = abs_radius.shape
    # the law's radius, rounded: at 0.5 px and under a pixel keeps its light (exactly)
    rounded = torch.round(abs_radius / RADIUS_STEP_PX) * RADIUS_STEP_PX
    candidate = rounded > 0.5
    if not bool(candidate.any()):
        return None
    luma_w = torch.tensor([0.2126, 0.7152, 0.0722], dtype=colour.dtype, device=colour.device)
    luma = torch.einsum("c,chw->hw", luma_w, colour)
    ring = _ring_max(luma)
    mean_luma = float(luma.mean().clamp_min(1e-6))
    candidate &= (luma > PEAK_RATIO * ring) & (luma - ring > MIN_EXCESS * mean_luma)
    index = torch.nonzero(candidate.flatten()).flatten()
    if index.numel() == 0:
        return None
    y, x = index // width, index % width
    dy, dx = _ring_offsets(index.device)
    around_index = (y[:, None] + dy).clamp(0, height - 1) * width + (x[:, None] + dx).clamp(0, width - 1)
    around = colour.flatten(1)[:, around_index].mean(dim=-1)
    light = (colour.flatten(1)[:, index] - around).clamp_min(0.0)
    radius = rounded.flatten()[index]
    taps = kernel_taps(radius, shape)
    # brightest disk first: light over area is the rim's contrast against its surroundings
    order = torch.argsort((luma_w @ light) / taps, descending=True)
    keep = order[torch.cumsum(taps[order], 0) <= BUDGET_PX * height * width]
    if keep.numel() == 0:
        return None
    index = index[keep]
    return Sprites(
        y=y[keep].cpu(),
        x=x[keep].cpu(),
        radius_px=radius[keep].cpu(),
        light=light[:, keep],
        position=position.flatten()[index].cpu(),
    )


def take_out(colour: torch.Tensor, sprites: Sprites) -> None:
    """Remove each sprite pixel's light from ``colour`` (3, H, W), in place: what the planes keep."""
    height, width = colour.shape[-2:]
    colour.view(3, height * width)[:, (sprites.y * width + sprites.x).to(colour.device)] -= sprites.light


def draw(
    sprites: Sprites, plane: int, kernel_at: Callable[[int, int], KernelShape]
) -> tuple[torch.Tensor, int, int] | None:
    """Plane ``plane``'s share of the sprites as a (3, h, w) layer and its top-left in the frame.

    ``kernel_at(y, x)`` is the aperture at a frame pixel (a cat's eye varies over the frame).
    """
    weight = plane_weight(sprites.position, plane)
    mine = torch.nonzero(weight > 0).flatten()
    if mine.numel() == 0:
        return None
    device = sprites.light.device
    y, x = sprites.y[mine], sprites.x[mine]
    light = sprites.light[:, mine.to(device)] * weight[mine].to(device)
    groups: dict[tuple[float, KernelShape], list[int]] = {}
    for n, (r, yy, xx) in enumerate(zip(sprites.radius_px[mine].tolist(), y.tolist(), x.tolist())):
        groups.setdefault((r, kernel_at(yy, xx)), []).append(n)
    kernels = {key: render_kernel(*key) for key in groups}  # on the CPU
    reach = max((k.shape[-1] - 1) // 2 for k in kernels.values())
    oy, ox = int(y.min()) - reach, int(x.min()) - reach
    h, w = int(y.max()) + reach + 1 - oy, int(x.max()) + reach + 1 - ox
    layer = torch.zeros(3, h * w, dtype=light.dtype, device=device)
    for key, members in groups.items():
        kernel = kernels[key]
        size = kernel.shape[-1]
        taps = torch.nonzero(kernel.flatten() > 0).flatten()
        offset = ((taps // size - (size - 1) // 2) * w + taps % size - (size - 1) // 2).to(device)
        values = kernel.flatten()[taps].to(device, light.dtype)
        ids = torch.tensor(members)
        centre = ((y[ids] - oy) * w + (x[ids] - ox)).to(device)
        ids = ids.to(device)
        step = max(1, _CHUNK_TAPS // taps.numel())
        for start in range(0, ids.numel(), step):
            part = slice(start, start + step)
            where = centre[part, None] + offset[None]
            spread = light[:, ids[part], None] * values[None, None, :]
            layer.index_add_(1, where.flatten(), spread.reshape(3, -1))
    return layer.view(3, h, w), oy, ox
