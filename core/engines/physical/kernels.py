"""Aperture kernels: the normalised, anti-aliased footprint of a point light.

A kernel is rendered by supersampling an inside/outside test of the aperture
shape over each pixel, so edges are anti-aliased and the footprint's area is
that of the shape (a disk of radius r covers pi r^2 pixels). Kernels always sum
to one: blurring never changes energy, so an HDR point of value 50 becomes a
disk of the same total light.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import torch

from focuspull.errors import ImageReadError


@dataclass(frozen=True)
class KernelShape:
    """Everything that decides a kernel's shape at one frame (hashable, for caching)."""

    shape: str = "disk"
    blades: int = 6
    roundness: float = 0.0
    rotation_deg: float = 0.0
    aspect: float = 1.0
    inner_radius: float = 0.0
    kernel_path: str | None = None
    #: cat's-eye clip: offset of the two clipping circles, in units of the radius, (x, y) with y down
    clip_x: float = 0.0
    clip_y: float = 0.0


#: sub-pixel radii are tabulated in steps of 1/SUBPIXEL_STEPS px; kernels in between are blended
SUBPIXEL_STEPS = 16
#: what a pixel's area adds to a disk's r^2 (4 x its variance of 1/12 px^2 per axis)
PIXEL_R2 = 1.0 / 3.0


def kernel_half_size(radius_px: float, shape: KernelShape) -> int:
    """Half the side of the square that holds the kernel (the kernel is 2h+1 wide)."""
    return int(math.floor(radius_px * max(shape.aspect, 1.0) + 0.5))


def kernel_taps(radius_px: torch.Tensor, shape: KernelShape) -> torch.Tensor:
    """Per radius, the (2h+1)^2 taps of the square ``kernel_half_size`` gives its kernel."""
    return (2 * torch.floor(radius_px * max(shape.aspect, 1.0) + 0.5) + 1) ** 2


def render_kernel(radius_px: float, shape: KernelShape, half_size: int | None = None) -> torch.Tensor:
    """(2h+1, 2h+1) float32 kernel of a point light blurred to ``radius_px``, summing to 1."""
    h = kernel_half_size(radius_px, shape) if half_size is None else half_size
    return _render_kernel_cached(float(radius_px), shape, int(h)).clone()


@lru_cache(maxsize=64)
def subpixel_kernels(shape: KernelShape) -> torch.Tensor:
    """(SUBPIXEL_STEPS + 1, 2h+1, 2h+1) kernels of radii 0, 1/SUBPIXEL_STEPS, ..., 1 px (h of radius 1).

    The focus plane spreads each pixel by the kernel of its own radius below
    1 px, interpolated linearly in the radius: every blend sums to one, and the
    last entry is the 1 px plane's kernel, so the image is continuous at 1 px.
    Do not modify the returned (cached) tensor.
    """
    h = kernel_half_size(1.0, shape)
    return torch.stack([_render_kernel_cached(plate_radius(j / SUBPIXEL_STEPS), shape, h) for j in range(SUBPIXEL_STEPS + 1)])


def plate_radius(radius_px: float) -> float:
    """The radius of the pixel-averaged kernel that blurs a plate's extended content by a disk of ``radius_px`` (<= 1 px).

    A plate pixel is already the average of the scene over its area. The
    pixel-averaged disk (``render_kernel``) is exact for a point light at a
    pixel centre, but on extended content it adds the pixel's own variance
    (1/12 px^2 per axis) once more: under a pixel of blur that doubles the
    loss of detail. Taking it out of the disk's (radius^2 - 1/3, the
    continuous second moments) removes it, so a disk up to about 0.76 px
    leaves extended content as it is. Point lights are drawn with the exact
    disk as sprites (``sprites``).
    """
    return math.sqrt(max(radius_px * radius_px - PIXEL_R2, 0.0))


@lru_cache(maxsize=512)
def _render_kernel_cached(radius_px: float, shape: KernelShape, h: int) -> torch.Tensor:
    size = 2 * h + 1
    if radius_px <= 0.5 or h == 0:
        # a CoC below half a pixel stays inside its pixel: the identity
        k = torch.zeros(size, size)
        k[h, h] = 1.0
        return k
    # more subsamples for small kernels, where one pixel is a large part of the edge
    sub = 16 if radius_px < 4 else 8 if radius_px < 16 else 4
    offsets = (torch.arange(sub, dtype=torch.float64) + 0.5) / sub - 0.5
    grid = torch.arange(-h, h + 1, dtype=torch.float64)
    ys = (grid[:, None] + offsets[None, :]).reshape(-1)
    xs = ys.clone()
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    value = _shape_value(x / radius_px, y / radius_px, shape)
    k = value.reshape(size, sub, size, sub).mean(dim=(1, 3))
    total = k.sum()
    if total <= 0:
        k = torch.zeros(size, size, dtype=torch.float64)
        k[h, h] = 1.0
        total = k.sum()
    return (k / total).to(torch.float32)


def _shape_value(x: torch.Tensor, y: torch.Tensor, shape: KernelShape) -> torch.Tensor:
    """Transmission of the aperture at normalised image offsets (x right, y down; radius 1)."""
    # the anamorphic squeeze acts in frame axes, after the aperture's own rotation
    xs = x / shape.aspect
    ys = y
    value = torch.ones_like(xs)
    if shape.clip_x or shape.clip_y:
        # optical vignetting: the pupil seen off-axis is the intersection of two
        # circles offset along the radius; centred so the point does not move
        cx, cy = shape.clip_x / 2, shape.clip_y / 2
        inside = ((xs - cx) ** 2 + (ys - cy) ** 2 <= 1.0) & ((xs + cx) ** 2 + (ys + cy) ** 2 <= 1.0)
        value = value * inside
    rho = torch.sqrt(xs * xs + ys * ys)
    # angle counter-clockwise from +x with y up, minus the aperture's rotation
    theta = torch.atan2(-ys, xs) - math.radians(shape.rotation_deg)
    if shape.shape == "image":
        return value * _image_value(xs, ys, theta, rho, shape.kernel_path)
    if shape.shape == "polygon":
        n = shape.blades
        sector = 2 * math.pi / n
        # a corner at the top (90 degrees) when rotation is 0
        phi = torch.remainder(theta - math.pi / 2, sector) - sector / 2
        boundary = math.cos(math.pi / n) / torch.cos(phi)
        boundary = (1 - shape.roundness) * boundary + shape.roundness
    else:
        boundary = torch.ones_like(rho)
    inside = rho <= boundary
    if shape.inner_radius > 0:
        inside = inside & (rho >= shape.inner_radius * boundary)
    return value * inside


def _image_value(xs: torch.Tensor, ys: torch.Tensor, theta: torch.Tensor, rho: torch.Tensor, path: str | None) -> torch.Tensor:
    image = load_kernel_image(path)
    # rotate the sample points back into the image's frame
    u = rho * torch.cos(theta)
    v = -rho * torch.sin(theta)
    grid = torch.stack([u, v], dim=-1).to(torch.float32)[None]
    sampled = torch.nn.functional.grid_sample(
        image[None, None], grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return sampled[0, 0].to(xs.dtype)


@lru_cache(maxsize=8)
def load_kernel_image(path: str | None) -> torch.Tensor:
    """A custom kernel image as (S, S) float32 brightness, padded square, max 1."""
    if not path:
        raise ImageReadError("aperture.kernel_path: no kernel image given")
    try:
        import OpenImageIO as oiio
    except ImportError as err:  # pragma: no cover - core dependency
        raise ImportError("reading a kernel image needs OpenImageIO (pip install openimageio)") from err
    buf = oiio.ImageBuf(path)
    if buf.has_error:
        raise ImageReadError(f"aperture.kernel_path: cannot read kernel image {path}: {buf.geterror()}")
    pixels = buf.get_pixels(oiio.FLOAT)
    if pixels is None or pixels.size == 0:
        raise ImageReadError(f"aperture.kernel_path: kernel image {path} has no pixels")
    data = torch.from_numpy(pixels.copy()).to(torch.float32)
    if data.ndim == 2:
        data = data[..., None]
    colour = data[..., : min(3, data.shape[-1])]
    gray = colour.mean(dim=-1)
    if not torch.isfinite(gray).all() or gray.min() < 0 or gray.max() <= 0:
        raise ImageReadError(f"aperture.kernel_path: kernel image {path} must be finite, non-negative and not black")
    hgt, wid = gray.shape
    side = max(hgt, wid)
    square = torch.zeros(side, side)
    top, left = (side - hgt) // 2, (side - wid) // 2
    square[top : top + hgt, left : left + wid] = gray
    return square / square.max()
