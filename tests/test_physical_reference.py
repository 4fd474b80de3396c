"""The thin-lens reference (bench/reference.py) and the engine's accuracy against it."""

from __future__ import annotations

import math
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))

import reference  # noqa: E402
from physical_scenes import disk_mask, footprint_radius, render  # noqa: E402

H, W = 64, 96


def _layer(rgb: torch.Tensor, alpha: torch.Tensor, disparity: float) -> reference.Layer:
    return reference.Layer(torch.cat([rgb * alpha, alpha[None]]), disparity)


def test_reference_point_light_is_a_disk_of_the_law() -> None:
    rgba = torch.zeros(4, H, W)
    rgba[3] = 1.0
    rgba[:3, 32, 48] = 50.0
    scene = reference.Scene((reference.Layer(rgba, 0.6),), focus_disparity=0.5, strength_px=80.0)  # r = 8 px
    truth = reference.thin_lens(scene)
    assert torch.allclose(truth[:3].sum(dim=(1, 2)), torch.full((3,), 50.0), rtol=1e-4)
    assert footprint_radius(truth[:3], 32, 48) == pytest.approx(8.0, abs=0.5)
    # away from the frame border the opaque layer stays opaque
    assert torch.allclose(truth[3, 10:-10, 10:-10], torch.ones(H - 20, W - 20), atol=1e-5)


def test_reference_keeps_an_in_focus_occluder_sharp() -> None:
    g = torch.Generator().manual_seed(0)
    back = _layer(torch.rand(3, H, W, generator=g) * 3, torch.ones(H, W), 0.2)
    mask = disk_mask(H, W, 32, 48, 14).float()
    front_rgb = torch.rand(3, H, W, generator=g)
    scene = reference.Scene((back, _layer(front_rgb, mask, 0.7)), focus_disparity=0.7, strength_px=20.0)
    truth = reference.thin_lens(scene, samples=256)
    inside = disk_mask(H, W, 32, 48, 13)
    assert torch.allclose(truth[:3, inside], front_rgb[:, inside], atol=1e-5)


def test_scores_and_masks() -> None:
    disparity = torch.zeros(1, 40, 40)
    disparity[0, :, 20:] = 1.0
    flat, edge = reference.region_masks(disparity, border_px=4, edge_px=8)
    # the edge lies between columns 19 and 20; pixels up to 8 px from either side count
    assert [bool(edge[20, x]) for x in (10, 11, 28, 29)] == [False, True, True, False]
    assert bool(flat[20, 10]) and not bool(flat[2, 10]) and not bool(edge[2, 19])  # the border band is in neither
    a = torch.full((3, 40, 40), 1.0)
    b = a.clone()
    b[:, flat] = 3.0  # x/(1+x): 0.5 -> 0.75, error 0.25 -> 12.04 dB
    assert reference.psnr_tonemapped(a, b, flat) == pytest.approx(-20 * math.log10(0.25), abs=1e-3)
    assert reference.psnr_tonemapped(a, b, edge) > 150


def _occlusion_scene(front_disparity: float, focus: float) -> reference.Scene:
    g = torch.Generator().manual_seed(3)
    yy = torch.arange(H, dtype=torch.float32)[:, None].expand(H, W)
    back_rgb = torch.stack([0.2 + 0.6 * (yy / H), 0.5 + 0 * yy, 0.9 - 0.6 * (yy / H)]) + 0.1 * torch.rand(3, H, W, generator=g)
    back = _layer(back_rgb, torch.ones(H, W), 0.2)
    mask = disk_mask(H, W, 32, 48, 16).float()
    front = _layer(torch.tensor([3.0, 0.3, 0.1])[:, None, None].expand(3, H, W), mask, front_disparity)
    return reference.Scene((back, front), focus_disparity=focus, strength_px=20.0)


@pytest.mark.parametrize("front,focus", [(0.7, 0.2), (0.7, 0.7)])
def test_engine_beats_a_plain_layered_renderer_at_depth_edges(front: float, focus: float) -> None:
    # a defocused foreground disk over a sharp background, and a sharp one over a defocused background
    scene = _occlusion_scene(front, focus)
    truth = reference.thin_lens(scene, samples=400)
    image, disparity = reference.engine_inputs(scene)
    border = int(scene.max_radius_px + 1)
    flat, edge = reference.region_masks(disparity, border)
    engine = render(image[:3], disparity, focus=focus, strength=20.0).rgba[0]
    layered = reference.plain_layered(image[:3], disparity, focus, 20.0)
    gather = reference.plain_gather(image[:3], disparity, focus, 20.0)
    score = lambda out, mask: reference.psnr_tonemapped(out, truth, mask)
    assert score(engine, flat) > 40.0
    assert score(engine, edge) > score(layered, edge) + 1.0
    assert score(engine, edge) > score(gather, edge) + 1.0


def test_occlusion_fill_shows_background_behind_a_defocused_edge() -> None:
    from focuspull.engines.physical import PhysicalOptions

    scene = _occlusion_scene(0.7, 0.2)
    truth = reference.thin_lens(scene, samples=400)
    image, disparity = reference.engine_inputs(scene)
    filled = render(image[:3], disparity, focus=0.2, strength=20.0).rgba[0]
    unfilled = render(image[:3], disparity, focus=0.2, strength=20.0, options=PhysicalOptions(fill_occluded=False)).rgba[0]
    # just inside the silhouette, the lens sees background through the blurred edge
    band = disk_mask(H, W, 32, 48, 15) & ~disk_mask(H, W, 32, 48, 11)
    assert float(truth[2, band].mean()) > float(unfilled[2, band].mean()) + 0.05
    err = lambda out: float((out[:3, band] - truth[:3, band]).abs().mean())
    assert err(filled) < 0.5 * err(unfilled)
