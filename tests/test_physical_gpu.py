"""The physical engine on CUDA: the same answers as on the CPU (marked gpu; skipped without CUDA).

Run on a GPU machine by ``bench/gpu_physical.sh``. The engine works in
float32 on every device; half-precision plates are converted on the way in.
"""

from __future__ import annotations

import pytest
import torch

from focuspull.aperture import ApertureSpec
from focuspull.engines.base import EngineInput
from focuspull.engines.physical import PhysicalEngine, PhysicalOptions
from focuspull.params import FrameParams
from physical_scenes import disk_mask, footprint_radius, point_light, texture, two_subjects_far_apart

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _render(rgba, disp, focus, strength, device, aperture=None, options=None):
    engine = PhysicalEngine(options or PhysicalOptions(), aperture or ApertureSpec(), torch.device(device))
    batch = EngineInput(rgba[None].to(device), disp[None].to(device), FrameParams.of(1, focus, strength))
    return engine.render(batch).rgba[0]


@pytest.mark.parametrize("radius", [0.75, 5.0, 40.0, 120.0])
def test_point_light_on_cuda_has_the_law_radius_and_its_energy(radius: float) -> None:
    size = int(2 * radius + 40)
    c = size // 2
    rgb, disp = point_light(size, size, c, c, value=50.0, disparity=0.6)
    out = _render(rgb, disp, 0.5, radius / 0.1, "cuda")
    assert out.device.type == "cuda"
    out = out.cpu()
    assert float(out.sum()) == pytest.approx(150.0, rel=0.01)
    if radius >= 1:
        assert abs(footprint_radius(out, c, c) - radius) <= 1.0


@pytest.mark.parametrize("aperture", [ApertureSpec(), ApertureSpec(shape="polygon", blades=7), ApertureSpec(cat_eye=0.8)])
def test_cuda_matches_cpu_on_a_scene_with_depth_edges(aperture: ApertureSpec) -> None:
    h, w = 96, 160
    rgb = texture(h, w, seed=2)
    rgb[:, 20, 30] = 80.0
    disp = torch.linspace(0.0, 1.0, w)[None, None, :].expand(1, h, w).clone()
    disp[0][disk_mask(h, w, 48, 100, 14)] = 0.95  # a blurred foreground over the ramp
    cpu = _render(rgb, disp, 0.5, 40.0, "cpu", aperture)
    gpu = _render(rgb, disp, 0.5, 40.0, "cuda", aperture).cpu()
    assert torch.allclose(cpu, gpu, atol=2e-3, rtol=1e-3)


def test_cuda_blurs_each_plane_in_one_box_and_matches_the_cpus_tiles() -> None:
    # the CPU tiles planes spread over the frame; CUDA blurs each in one box (kernel launches)
    rgb, disp = two_subjects_far_apart()
    cpu = _render(rgb, disp, 0.4, 60.0, "cpu")
    gpu = _render(rgb, disp, 0.4, 60.0, "cuda").cpu()
    a, b = cpu / (1 + cpu.abs()), gpu / (1 + gpu.abs())
    assert float((a - b).abs().max()) < 0.005
    assert float(gpu.sum()) == pytest.approx(float(cpu.sum()), rel=1e-4)


def test_half_precision_plates_render_on_cuda() -> None:
    h, w = 64, 96
    rgb = texture(h, w, seed=3)
    disp = torch.linspace(0.0, 1.0, w)[None, None, :].expand(1, h, w).clone()
    full = _render(rgb, disp, 0.5, 30.0, "cuda").cpu()
    half = _render(rgb.half(), disp.half(), 0.5, 30.0, "cuda").cpu()
    assert half.dtype == torch.float32
    # the plate and the depth were rounded to half floats (3 decimal digits) on the way in
    assert torch.allclose(full, half, atol=0.02, rtol=0.01)


def test_in_focus_pixels_are_bit_exact_on_cuda() -> None:
    rgb = texture(64, 96, seed=4)
    disp = torch.full((1, 64, 96), 0.5)
    disp[0, :, 70:] = 0.9
    out = _render(rgb, disp, 0.5, 20.0, "cuda").cpu()
    assert torch.equal(out[:, :, :50], rgb[:, :, :50])
