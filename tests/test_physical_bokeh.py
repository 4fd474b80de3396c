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


@pytest.mark.parametrize("radius", [3.0, 7.5, 12.0, 15.0])
def test_disk_rim_is_crisp_on_full_resolution_planes(radius: float) -> None:
    # planes up to twice pyramid_radius_px (16 px by default) are blurred at full resolution
    out, c = _disk(radius)
    assert edge_width(out, c, c, radius) <= 2.0


@pytest.mark.parametrize("radius", [20.0, 34.0, 60.0])
def test_disk_rim_on_reduced_planes_is_as_soft_as_the_plane_step(radius: float) -> None:
    # the known limit: beyond 16 px a plane of radius r is blurred at 1/f resolution and
    # neighbouring planes are f px apart, so the rim spreads over up to 2 f px (f = 2 from
    # 16 px, 4 from 32 px, 8 from 64 px); pyramid_radius_px trades this for time
    out, c = _disk(radius)
    assert edge_width(out, c, c, radius) <= 2.0 * pyramid_factor(radius, PhysicalOptions().pyramid_radius_px)
