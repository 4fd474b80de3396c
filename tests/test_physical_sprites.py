"""Small lights drawn as sprites: crisp, exact, occluded like their planes, budgeted; in-focus lights untouched."""

from __future__ import annotations

import pytest
import torch

from focuspull.engines.physical import PhysicalOptions, sprites
from focuspull.engines.physical.kernels import KernelShape
from physical_scenes import edge_width, footprint_radius, point_light, render, texture

K = 100.0  # px per disparity unit: disparity 0.2 against focus 0.5 is a 30 px disk behind


def _find(rgb: torch.Tensor, radius_px: float) -> sprites.Sprites | None:
    h, w = rgb.shape[-2:]
    return sprites.find(rgb, torch.full((h, w), radius_px), torch.zeros(h, w), KernelShape())


def test_a_lone_light_is_one_sprite_with_all_its_light() -> None:
    rgb = torch.zeros(3, 64, 64)
    rgb[:, 30, 20] = torch.tensor([40.0, 20.0, 10.0])
    found = _find(rgb, 30.0)
    assert found is not None and len(found) == 1
    assert (int(found.y[0]), int(found.x[0])) == (30, 20)
    assert torch.allclose(found.light[:, 0], torch.tensor([40.0, 20.0, 10.0]))
    assert float(found.radius_px[0]) == 30.0
    # the planes keep nothing of it
    sprites.take_out(rgb, found)
    assert float(rgb.abs().max()) == 0.0


def test_a_large_bright_surface_and_plain_texture_are_not_lights() -> None:
    surface = texture(64, 64, seed=3) * 0.2
    surface[:, 10:50, 10:50] = 5.0  # a window, not a light: its rim is the plane's business
    assert _find(surface, 30.0) is None


def test_a_light_keeps_only_what_stands_out_from_its_surroundings() -> None:
    rgb = torch.full((3, 48, 48), 0.5)
    rgb[:, 24, 24] = 40.0
    found = _find(rgb, 20.0)
    assert found is not None and len(found) == 1
    assert torch.allclose(found.light[:, 0], torch.full((3,), 39.5))


def test_a_light_within_half_a_pixel_of_focus_is_no_sprite() -> None:
    rgb = torch.zeros(3, 32, 32)
    rgb[:, 16, 16] = 50.0
    assert _find(rgb, 0.55) is None  # rounds to 0.5 px: the pixel keeps its light, bit for bit
    assert _find(rgb, 0.65) is not None


@pytest.mark.parametrize("radius", [0.75, 2.0, 5.0])
def test_a_small_disk_of_a_point_light_is_the_exact_pixel_averaged_disk(radius: float) -> None:
    # the planes' kernels are matched to extended content; a point light gets the exact disk
    from focuspull.engines.physical.kernels import KernelShape, render_kernel

    rgb, disp = point_light(40, 40, 20, 20, value=50.0, disparity=0.6)
    out = render(rgb, disp, focus=0.5, strength=radius / 0.1).rgba[0]
    kernel = render_kernel(radius, KernelShape())
    h = (kernel.shape[-1] - 1) // 2
    assert torch.allclose(out[0, 20 - h : 21 + h, 20 - h : 21 + h], 50.0 * kernel, atol=1e-4)
    assert float(out[0].sum()) == pytest.approx(50.0, rel=1e-5)


def test_a_two_pixel_light_gives_a_crisp_disk_of_the_law_and_its_energy() -> None:
    size, c = 140, 70
    rgb, disp = point_light(size, size, c, c, value=25.0, disparity=0.1)
    rgb[:, c, c + 1] = 25.0
    out = render(rgb, disp, focus=0.5, strength=K).rgba[0]
    assert float(out.sum()) == pytest.approx(150.0, rel=0.01)
    assert footprint_radius(out, c, c + 0.5) == pytest.approx(40.0, abs=1.0)
    assert edge_width(out, c, c + 0.5, 40.0) <= 2.0


def test_a_light_on_a_textured_surface_keeps_the_frame_energy_and_a_crisp_rim() -> None:
    size, c = 160, 80
    background = texture(size, size, seed=1) * 0.1
    rgb = background.clone()
    rgb[:, c, c] += 400.0
    disp = torch.full((1, size, size), 0.1)
    with_light = render(rgb, disp, focus=0.5, strength=K).rgba[0]
    without = render(background, disp, focus=0.5, strength=K).rgba[0]
    # light is neither made nor lost
    assert float((with_light - without).sum()) == pytest.approx(1200.0, rel=0.01)
    assert edge_width(with_light - without, c, c, 40.0) <= 2.0


def test_a_nearer_sharp_object_hides_the_sprite_as_it_hides_its_plane() -> None:
    size, c = 120, 60
    rgb, disp = point_light(size, size, c, c + 6, value=5000.0, disparity=0.2)
    wall = torch.zeros(3, size, size, dtype=torch.bool)
    wall[:, :, :c] = True
    rgb = torch.where(wall, 0.25, rgb)
    disp = torch.where(wall[:1], 0.5, disp)  # in focus, opaque, nearer than the light
    out = render(rgb, disp, focus=0.5, strength=K).rgba[0]
    # the 30 px disk reaches 24 px into the wall's side: none of it shows there
    assert float((out[:, :, : c - 2] - 0.25).abs().max()) < 1e-4
    # and it is there, full and crisp, on the open side
    assert float(out[0, c, c + 6 : c + 30].mean()) == pytest.approx(5000.0 / (torch.pi * 30.0**2), rel=0.05)


def test_lights_past_the_budget_stay_in_their_planes_brightest_first() -> None:
    size = 200
    rgb = torch.zeros(3, size, size)
    g = torch.Generator().manual_seed(0)
    ys = torch.randint(45, size - 45, (300,), generator=g)
    xs = torch.randint(45, size - 45, (300,), generator=g)
    rgb[:, ys, xs] = 10.0
    rgb[:, 100, 100] = 400.0
    h, w = rgb.shape[-2:]
    found = sprites.find(rgb, torch.full((h, w), 40.0), torch.zeros(h, w), KernelShape())
    assert found is not None
    taps = float(((2 * torch.floor(found.radius_px + 0.5) + 1) ** 2).sum())
    assert taps <= sprites.BUDGET_PX * h * w
    # an anamorphic aperture twice as tall draws each disk in a square twice as wide:
    # about a quarter as many lights fit
    tall = sprites.find(rgb, torch.full((h, w), 40.0), torch.zeros(h, w), KernelShape(aspect=2.0))
    assert tall is not None
    assert float(((2 * torch.floor(2.0 * tall.radius_px + 0.5) + 1) ** 2).sum()) <= sprites.BUDGET_PX * h * w
    assert len(tall) <= len(found) // 3
    assert len(found) < int((rgb[0] > 0).sum())  # some were left to the planes
    assert (int(found.y[0]), int(found.x[0])) == (100, 100)  # the brightest disk first
    out = render(rgb, torch.full((1, h, w), 0.1), focus=0.5, strength=K).rgba[0]
    assert float(out.sum()) == pytest.approx(float(rgb.sum()), rel=0.01)


def test_ring_maximum_is_the_brightest_pixel_three_away() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.rand(13, 17, generator=g)
    h, w = x.shape
    expected = torch.empty_like(x)
    for y in range(h):
        for col in range(w):
            ring = [x[min(max(y + dy, 0), h - 1), min(max(col + dx, 0), w - 1)]
                    for dy in range(-3, 4) for dx in range(-3, 4) if max(abs(dy), abs(dx)) == 3]
            expected[y, col] = max(ring)
    assert torch.equal(sprites._ring_max(x), expected)
