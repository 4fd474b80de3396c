"""Aperture shapes and lens options of the physical engine, measured on point lights."""

from __future__ import annotations

import math

import pytest
import torch

from focuspull.aperture import ApertureSpec
from focuspull.curves import Curve
from focuspull.engines.physical import PhysicalOptions
from focuspull.engines.physical.kernels import KernelShape, render_kernel
from focuspull.errors import JobError
from physical_scenes import disk_mask, footprint_radius, moments, point_light, render

SIZE = 72
C = SIZE // 2
RADIUS = 14.0  # full-resolution plane (below twice the pyramid radius)


def _footprint(aperture: ApertureSpec, radius: float = RADIUS, size: int = SIZE, y: int | None = None, x: int | None = None,
               per_frame: dict | None = None) -> torch.Tensor:
    y = size // 2 if y is None else y
    x = size // 2 if x is None else x
    rgb, disp = point_light(size, size, y, x, value=50.0, disparity=0.6)
    return render(rgb, disp, focus=0.5, strength=radius / 0.1, aperture=aperture, per_frame=per_frame).rgba[0, 0]


def _boundary(image: torch.Tensor, cy: float, cx: float, angles: int = 360) -> torch.Tensor:
    """Extent of the footprint along rays from its centre: the integral of value/centre value."""
    theta = torch.arange(angles, dtype=torch.float64) * 2 * math.pi / angles
    rho = torch.arange(0, SIZE / 2, 0.25, dtype=torch.float64)
    h, w = image.shape
    # angle counter-clockwise from +x, y up
    ys = cy - rho[None, :] * torch.sin(theta[:, None])
    xs = cx + rho[None, :] * torch.cos(theta[:, None])
    grid = torch.stack([(xs + 0.5) / w * 2 - 1, (ys + 0.5) / h * 2 - 1], dim=-1).to(torch.float32)[None]
    samples = torch.nn.functional.grid_sample(image[None, None], grid, align_corners=False)[0, 0].to(torch.float64)
    centre = float(image[int(cy) - 1 : int(cy) + 2, int(cx) - 1 : int(cx) + 2].mean())
    return samples.sum(dim=1) * 0.25 / centre


def _corner_count_and_angle(boundary: torch.Tensor) -> tuple[int, float]:
    """Dominant harmonic of the boundary (the blade count) and the angle of a corner, degrees."""
    spectrum = torch.fft.rfft(boundary - boundary.mean())
    n = int(torch.argmax(spectrum[2:40].abs())) + 2
    phase = float(torch.angle(spectrum[n]))
    corner = (-phase / n) * 180 / math.pi % (360 / n)
    return n, corner


def _angle_diff(a: float, b: float, period: float) -> float:
    d = (a - b) % period
    return min(d, period - d)


@pytest.mark.parametrize("blades,rotation", [(5, 0.0), (6, 20.0), (8, -10.0)])
def test_polygon_footprint_has_the_blade_count_and_rotation(blades: int, rotation: float) -> None:
    out = _footprint(ApertureSpec(shape="polygon", blades=blades, rotation_deg=Curve.constant(rotation)))
    n, corner = _corner_count_and_angle(_boundary(out, C, C))
    assert n == blades
    # rotation 0 puts a corner at the top (90 degrees)
    assert _angle_diff(corner, 90 + rotation, 360 / blades) < 2.0
    assert float(out.sum()) == pytest.approx(50.0, rel=1e-3)


def test_roundness_one_is_a_disk() -> None:
    polygon = _footprint(ApertureSpec(shape="polygon", blades=5, roundness=1.0))
    disk = _footprint(ApertureSpec())
    assert torch.allclose(polygon, disk, atol=1e-4)
    half_round = _footprint(ApertureSpec(shape="polygon", blades=5, roundness=0.5))
    sharp = _footprint(ApertureSpec(shape="polygon", blades=5))
    # the blade harmonic weakens as the blades curve
    amp = lambda img: float(torch.fft.rfft(_boundary(img, C, C))[5].abs())
    assert amp(disk) < 0.2 * amp(half_round) and amp(half_round) < 0.7 * amp(sharp)


@pytest.mark.parametrize("aspect", [0.5, 1.6])
def test_anamorphic_aspect(aspect: float) -> None:
    out = _footprint(ApertureSpec(aspect=Curve.constant(aspect)), radius=12.0, size=96)
    m = moments(out)
    assert math.sqrt(m["sxx"] / m["syy"]) == pytest.approx(aspect, rel=0.06)
    # the vertical radius stays the CoC radius: a disk of radius r has variance r^2 / 4 per axis
    assert 2 * math.sqrt(m["syy"] - 1 / 12) == pytest.approx(12.0, abs=0.5)


def test_keyframed_rotation_and_aspect_come_per_frame() -> None:
    rgb, disp = point_light(SIZE, SIZE, C, C, value=50.0, disparity=0.6)
    aperture = ApertureSpec(shape="polygon", blades=6, rotation_deg=Curve.from_json({"keys": [[1, 0.0], [2, 30.0]]}))
    per_frame = {"rotation_deg": [0.0, 15.0], "aspect": [1.0, 0.6]}
    out = render(torch.stack([rgb, rgb]), torch.stack([disp, disp]), focus=0.5, strength=RADIUS / 0.1,
                 aperture=aperture, per_frame=per_frame).rgba
    _, corner0 = _corner_count_and_angle(_boundary(out[0, 0], C, C))
    assert _angle_diff(corner0, 90.0, 60.0) < 2.0
    m0, m1 = moments(out[0, 0]), moments(out[1, 0])
    assert math.sqrt(m0["sxx"] / m0["syy"]) == pytest.approx(1.0, abs=0.03)
    assert math.sqrt(m1["sxx"] / m1["syy"]) < 0.7


def test_catadioptric_ring() -> None:
    out = _footprint(ApertureSpec(inner_radius=0.6))
    assert float(out.sum()) == pytest.approx(50.0, rel=1e-3)
    inner = disk_mask(SIZE, SIZE, C, C, 0.6 * RADIUS - 1.5)
    ring = disk_mask(SIZE, SIZE, C, C, RADIUS - 1.5) & ~disk_mask(SIZE, SIZE, C, C, 0.6 * RADIUS + 1.5)
    assert float(out[inner].max()) < 1e-4
    # the ring is evenly lit: area (1 - 0.6^2) pi r^2
    expected = 50.0 / (math.pi * RADIUS**2 * (1 - 0.36))
    assert float(out[ring].mean()) == pytest.approx(expected, rel=0.05)


def test_custom_kernel_image(tmp_path) -> None:
    import numpy as np
    import OpenImageIO as oiio

    # a bright horizontal bar across the middle of the kernel image
    pixels = np.zeros((33, 33, 3), dtype=np.float32)
    pixels[14:19, :, :] = 1.0
    path = str(tmp_path / "bar.exr")
    out_file = oiio.ImageOutput.create(path)
    out_file.open(path, oiio.ImageSpec(33, 33, 3, oiio.FLOAT))
    out_file.write_image(pixels)
    out_file.close()
    flat = _footprint(ApertureSpec(shape="image", kernel_path=path))
    upright = _footprint(ApertureSpec(shape="image", kernel_path=path, rotation_deg=Curve.constant(90.0)))
    mf, mu = moments(flat), moments(upright)
    assert mf["sxx"] > 10 * mf["syy"]
    assert mu["syy"] > 10 * mu["sxx"]
    # the bar spans the CoC diameter: uniform along x over [-r, r] has variance r^2 / 3
    assert math.sqrt(3 * mf["sxx"]) == pytest.approx(RADIUS, abs=1.0)
    assert float(flat.sum()) == pytest.approx(50.0, rel=1e-3)


def test_cat_eye_narrows_the_bokeh_radially_toward_the_corners() -> None:
    size = 160
    aperture = ApertureSpec(cat_eye=1.0)
    centre = _footprint(aperture, radius=10.0, size=size, y=80, x=80)
    corner = _footprint(aperture, radius=10.0, size=size, y=22, x=22)
    plain = _footprint(ApertureSpec(), radius=10.0, size=size, y=80, x=80)
    mc, mk, mp = moments(centre), moments(corner), moments(plain)
    # no vignetting on the optical axis
    assert mc["sxx"] == pytest.approx(mp["sxx"], rel=0.02) and abs(mc["sxy"]) < 0.01
    # along the diagonal toward the frame centre versus across it
    radial = (mk["sxx"] + mk["syy"]) / 2 + mk["sxy"]
    tangential = (mk["sxx"] + mk["syy"]) / 2 - mk["sxy"]
    assert radial < 0.6 * tangential
    assert tangential > 0.65 * mp["sxx"]  # the long axis keeps most of the width (a lens shape tapers)
    # light is kept (to the 1-2 % that renormalising spatially varying kernels costs)
    assert float(corner.sum()) == pytest.approx(50.0, rel=0.02)
    assert abs(mk["cy"] - 22) < 0.5 and abs(mk["cx"] - 22) < 0.5  # the point does not move


def test_kernels_are_normalised_and_small_radii_are_the_identity() -> None:
    for shape in (KernelShape(), KernelShape(shape="polygon", blades=7, rotation_deg=13.0), KernelShape(aspect=0.5)):
        for radius in (0.3, 1.0, 2.5, 9.0):
            k = render_kernel(radius, shape)
            assert float(k.sum()) == pytest.approx(1.0, abs=1e-6)
    identity = render_kernel(0.4, KernelShape())
    assert identity.shape == (1, 1) and float(identity[0, 0]) == 1.0


def test_front_and_back_multipliers() -> None:
    size = 96
    rgb = torch.zeros(3, size, size)
    rgb[:, 30, 30] = 50.0  # in front of focus
    rgb[:, 66, 66] = 50.0  # behind focus
    disp = torch.full((1, size, size), 0.5)
    disp[0, :48, :48] = 0.6
    disp[0, 48:, 48:] = 0.4
    options = PhysicalOptions(front_scale=Curve.constant(0.5), back_scale=Curve.constant(1.5))
    out = render(rgb, disp, focus=0.5, strength=100.0, options=options).rgba[0]
    assert footprint_radius(out[:, :48, :48], 30, 30) == pytest.approx(5.0, abs=0.7)
    assert footprint_radius(out[:, 48:, 48:], 18, 18) == pytest.approx(15.0, abs=0.7)


def test_in_focus_width_keeps_a_depth_range_sharp() -> None:
    size = 96
    rgb = torch.zeros(3, size, size)
    rgb[:, 30, 30] = 50.0  # 0.05 in front of focus: inside the sharp range
    rgb[:, 66, 66] = 50.0  # 0.2 behind focus: 0.1 beyond the range
    disp = torch.full((1, size, size), 0.5)
    disp[0, :48, :48] = 0.55
    disp[0, 48:, 48:] = 0.3
    options = PhysicalOptions(in_focus_width=Curve.constant(0.2))
    out = render(rgb, disp, focus=0.5, strength=100.0, options=options).rgba[0]
    assert float(out[0, 30, 30]) == 50.0
    assert footprint_radius(out[:, 48:, 48:], 18, 18) == pytest.approx(10.0, abs=0.7)


def test_keyframed_options_arrive_through_frame_params() -> None:
    rgb, disp = point_light(SIZE, SIZE, C, C, value=50.0, disparity=0.6)
    per_frame = {"front_scale": [1.0, 0.5]}
    out = render(torch.stack([rgb, rgb]), torch.stack([disp, disp]), focus=0.5, strength=RADIUS / 0.1,
                 per_frame=per_frame).rgba
    assert footprint_radius(out[0], C, C) == pytest.approx(RADIUS, abs=0.7)
    assert footprint_radius(out[1], C, C) == pytest.approx(RADIUS / 2, abs=0.7)


def test_highlight_recovery_for_clipped_plates() -> None:
    size = 96
    rgb = torch.full((3, size, size), 0.2)
    rgb[:, 30, 30] = 1.0  # a clipped highlight, defocused
    rgb[:, 70, 70] = 1.0  # a clipped highlight, in focus
    disp = torch.full((1, size, size), 0.6)
    disp[0, 50:, 50:] = 0.5
    options = PhysicalOptions(highlight_gain=4.0, highlight_threshold=0.9, highlight_softness=0.1)
    boosted = render(rgb, disp, focus=0.5, strength=100.0, options=options).rgba[0]
    plain = render(rgb, disp, focus=0.5, strength=100.0).rgba[0]
    excess = lambda img: float((img[:, :48, :48] - 0.2).sum())
    # the defocused highlight carries 4x its light above the surround: (4 - 0.2) vs (1 - 0.2) per channel
    assert excess(boosted) == pytest.approx(excess(plain) * (4.0 - 0.2) / (1.0 - 0.2), rel=0.02)
    # pixels in focus, and pixels below the ramp, are untouched
    assert torch.equal(boosted[:, 62:, 62:], rgb[:, 62:, 62:])
    assert torch.allclose(boosted[:, :20, :20], plain[:, :20, :20])


def test_aperture_validation() -> None:
    with pytest.raises(JobError, match="kernel_path"):
        ApertureSpec(shape="image")
    with pytest.raises(JobError, match="aspect"):
        ApertureSpec(aspect=Curve.constant(0.0))
    from focuspull.settings import from_mapping

    with pytest.raises(JobError, match="aperture.blades"):
        from_mapping(ApertureSpec, {"shape": "polygon", "blades": 2}, "aperture")
    spec = from_mapping(ApertureSpec, {"shape": "polygon", "blades": 7, "rotation_deg": {"keys": [[1001, 0], [1010, 45]]}}, "aperture")
    assert spec.rotation_deg(1010) == 45.0
