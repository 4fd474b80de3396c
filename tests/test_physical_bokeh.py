"""Bokeh disks of a point light from 1 to 150 px: the law's radius, the light's energy, a flat interior, a crisp rim."""

from __future__ import annotations

import pytest

from focuspull.engines.physical import PhysicalOptions
from focuspull.engines.physical.ladder import pyramid_factor
from physical_scenes import edge_width, footprint_radius, point_light, render


def _disk(radius: float):
    size = int(2 * radius + 40)
    c = size // 2
    rgb, disp = point_light(size, size, c, c, value=50.0, disparity=0.6)
    return render(rgb, disp, focus=0.5, strength=radius / 0.1).rgba[0], c


@pytest.mark.parametrize("radius", [1.0, 3.0, 7.5, 20.0, 34.0, 60.0, 100.0, 150.0])
def test_disk_radius_energy_and_flat_interior(radius: float) -> None:
    out, c = _disk(radius)
    # the disk reaches close to the frame border: the border must not renormalise it
    assert abs(footprint_radius(out, c, c) - radius) <= 1.0
    assert float(out.sum()) == pytest.approx(150.0, rel=0.01)
    if radius >= 3:
        interior = out[0, c - int(0.6 * radius) : c + int(0.6 * radius) + 1, c]
        assert float(interior.std() / interior.mean()) < 0.02


@pytest.mark.parametrize("radius", [3.0, 7.5, 12.0, 15.0, 15.5, 20.0, 34.0, 60.0, 100.0, 150.0])
def test_disk_rim_is_crisp_at_every_radius(radius: float) -> None:
    # up to twice pyramid_radius_px the planes are blurred at full resolution; past it
    # the light is drawn as a sprite with the kernel of its own radius
    out, c = _disk(radius)
    assert edge_width(out, c, c, radius) <= 2.0


@pytest.mark.parametrize("radius", [34.0, 60.0])
def test_without_sprites_a_reduced_plane_rim_is_as_soft_as_the_plane_step(radius: float) -> None:
    # what the sprites fix: a plane of radius r past twice pyramid_radius_px is blurred at
    # 1/f resolution and its neighbours are f px apart, so the rim spreads over several px
    size = int(2 * radius + 40)
    c = size // 2
    rgb, disp = point_light(size, size, c, c, value=50.0, disparity=0.6)
    options = PhysicalOptions(crisp_highlights=False)
    out = render(rgb, disp, focus=0.5, strength=radius / 0.1, options=options).rgba[0]
    factor = pyramid_factor(radius, options.pyramid_radius_px)
    assert factor > 1
    assert 2.0 < edge_width(out, c, c, radius) <= 2.0 * factor
    assert float(out.sum()) == pytest.approx(150.0, rel=0.01)
