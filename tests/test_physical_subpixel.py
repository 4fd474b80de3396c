"""In-focus detail: a CoC below a pixel is a sub-pixel kernel of its own radius.

A pixel whose CoC radius is under 1 px is spread by the kernel of that radius
(not shared between the identity and a 1 px disk): for extended content the
pixel-averaged disk whose second moment is the law's (``plate_radius``: the
plate's pixels are already averages over their area), for point lights the
exact disk (drawn as sprites, see test_physical_sprites).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from focuspull.engines.physical import convolve
from focuspull.engines.physical.kernels import KernelShape, plate_radius, render_kernel, subpixel_kernels
from physical_scenes import laplacian_energy, point_light, render


@pytest.mark.parametrize("radius", [0.2, 0.45])
def test_a_coc_inside_its_pixel_leaves_the_pixel_unchanged(radius: float) -> None:
    rgb, disp = point_light(32, 32, 16, 16, value=50.0, disparity=0.6)
    out = render(rgb, disp, focus=0.5, strength=radius / 0.1).rgba[0]
    assert torch.equal(out, rgb)


def test_a_three_quarter_pixel_coc_is_the_exact_disk() -> None:
    # a disk of radius 0.75 covers its whole pixel (corners at 0.707): the pixel keeps 1 / (pi r^2)
    rgb, disp = point_light(32, 32, 16, 16, value=50.0, disparity=0.6)
    out = render(rgb, disp, focus=0.5, strength=7.5).rgba[0]
    assert float(out[0, 16, 16]) == pytest.approx(50.0 / (math.pi * 0.75**2), rel=0.01)
    assert float(out[0].sum()) == pytest.approx(50.0, rel=1e-5)
    assert float(out[0, 16, 17]) == pytest.approx(float(out[0, 15, 16]), rel=1e-6)  # round


def test_subpixel_kernels_meet_the_one_pixel_plane() -> None:
    # continuity at |r| = 1: the last tabulated kernel is the 1 px plane's
    table = subpixel_kernels(KernelShape())
    assert torch.equal(table[-1], render_kernel(plate_radius(1.0), KernelShape(), 1))
    assert torch.allclose(table.sum(dim=(1, 2)), torch.ones(len(table)))
    rgb, disp = point_light(32, 32, 16, 16, value=50.0, disparity=0.6)
    below = render(rgb, disp, focus=0.5, strength=9.999).rgba[0]
    above = render(rgb, disp, focus=0.5, strength=10.001).rgba[0]
    assert float((below - above).abs().max()) < 0.01


def test_spread_subpixel_blends_kernels_by_radius() -> None:
    table = subpixel_kernels(KernelShape())
    x = torch.zeros(1, 5, 5)
    x[0, 2, 2] = 1.0
    radius = torch.full((5, 5), 0.8)
    out = convolve.spread_subpixel(x, radius, table)
    expected = 0.8 * render_kernel(plate_radius(0.8125), KernelShape(), 1)
    expected = F.pad(expected + 0.2 * render_kernel(plate_radius(0.75), KernelShape(), 1), (2, 2, 2, 2))
    # 0.8 px lies 0.8 of the way from the 12/16 to the 13/16 px kernel
    assert torch.allclose(out[0], expected, atol=1e-6)


def _variance_x(kernel: torch.Tensor) -> float:
    half = (kernel.shape[-1] - 1) // 2
    offsets = torch.arange(-half, half + 1, dtype=torch.float64)
    return float((kernel.to(torch.float64).sum(dim=0) * offsets**2).sum())


@pytest.mark.parametrize("radius", [0.9, 1.0])
def test_plate_radius_removes_the_plates_own_pixel_averaging(radius: float) -> None:
    # the pixel-averaged disk blurs a plate pixel (already an area average) by one pixel's
    # variance too many, 1/12 px^2 per axis: the kernel for extended content has it less
    point_light_kernel = render_kernel(radius, KernelShape(), 2)
    content_kernel = render_kernel(plate_radius(radius), KernelShape(), 2)
    assert _variance_x(point_light_kernel) - _variance_x(content_kernel) >= 1.0 / 12.0
    assert plate_radius(0.75) < 0.5  # a disk up to about 0.76 px leaves extended content as it is


def test_textured_plane_through_focus_keeps_its_detail() -> None:
    # a plane tilted through focus: |r| from 0 to 3 px across the frame
    h, w = 96, 128
    g = torch.Generator().manual_seed(4)
    rgb = 0.05 + torch.rand(3, h, w, generator=g)
    disp = (0.5 + 0.15 * torch.linspace(-1, 1, w))[None, None, :].expand(1, h, w).clone()
    out = render(rgb, disp, focus=0.5, strength=20.0).rgba[0]
    radius = 20.0 * (disp[0] - 0.5).abs()
    # under 1 px: 0.91 (0.80 with the pixel-averaged disk; pixel-scale random texture is the
    # worst case: a disk of 0.9 px physically removes most of its finest detail)
    for limit, kept in ((1.0, 0.9), (0.5, 0.99), (0.25, 0.999)):
        sharp = radius < limit
        assert laplacian_energy(out, sharp) >= kept * laplacian_energy(rgb, sharp)


BENCH = Path(__file__).resolve().parents[1] / "bench"
BREAKDANCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "breakdance"  # ../shared/data/breakdance


def bench_scenes():
    """bench/scenes.py (not a package): reads a breakdance frame at its keyed parameters."""
    spec = importlib.util.spec_from_file_location("scenes", BENCH / "scenes.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["scenes"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.skipif(not (BREAKDANCE / "params.csv").is_file(), reason=f"{BREAKDANCE} is absent")
def test_breakdance_in_focus_pixels_keep_their_detail() -> None:
    # frame 1001 at its keyed focus and K = 32 px at 1024 wide (60 px at 1920)
    frame = bench_scenes().breakdance(1001)
    rgb, disp, focus, strength = frame.rgb, frame.disparity, frame.focus_disparity, frame.strength_px
    out = render(rgb, disp, focus=focus, strength=strength).rgba[0]
    radius = frame.radius_px()[0]
    # a CoC under a pixel across (radius < 0.5 px) is the pixel itself
    sharp = radius < 0.5
    assert int(sharp.sum()) > 20000
    assert laplacian_energy(out, sharp) >= 0.95 * laplacian_energy(rgb, sharp)
    # under a pixel of radius: the sub-pixel kernels matched to the plate's own pixel
    # averaging (0.64 when shared with a 1 px disk, 0.81 with the pixel-averaged disk)
    blurred_a_little = radius < 1.0
    assert laplacian_energy(out, blurred_a_little) >= 0.9 * laplacian_energy(rgb, blurred_a_little)
