"""The physical engine's core promises: the CoC law, energy, sharp pixels, occlusion, continuity."""

from __future__ import annotations

import pytest
import torch

from focuspull.engines.physical import PhysicalEngine, PhysicalOptions
from focuspull.engines.physical.ladder import ladder_levels
from focuspull.errors import JobError
from physical_scenes import disk_mask, footprint_radius, point_light, render, texture

H, W = 96, 128


@pytest.mark.parametrize("radius", [3.0, 6.5, 11.25, 20.0, 27.5])
def test_point_light_radius_follows_the_law(radius: float) -> None:
    # K * |d - d_f| with d - d_f = 0.1; 20 and 27.5 px run on the half-resolution pyramid
    size = 160
    rgb, disp = point_light(size, size, 80, 80, value=50.0, disparity=0.6)
    out = render(rgb, disp, focus=0.5, strength=radius / 0.1).rgba[0]
    assert abs(footprint_radius(out, 80, 80) - radius) <= 1.0
    # all light lands within the radius plus a pixel of anti-aliasing; planes blurred
    # at 1/f resolution (radius >= 16 px by default) have edges softened over ~f px
    factor = 1 if radius < 16 else 2
    inside = disk_mask(size, size, 80, 80, radius + 1.0 + 1.5 * (factor - 1))
    assert float(out[:, inside].sum()) / float(out.sum()) > 0.99
    outside = ~disk_mask(size, size, 80, 80, radius + 1.0 + 2.0 * factor)
    assert float(out[:, outside].abs().max()) < 1e-4
    # and it is a disk, not a blob: the middle is flat
    centre = out[0, 80 - int(radius / 2) : 80 + int(radius / 2) + 1, 80]
    assert float(centre.max() - centre.min()) <= 0.15 * float(centre.mean())


@pytest.mark.parametrize("strength", [0.0, 25.0, 90.0, 170.0])
def test_energy_is_conserved_and_hdr_is_not_clipped(strength: float) -> None:
    rgb, disp = point_light(H, W, 48, 64, value=50.0, disparity=0.6)
    rgb[1, 48, 64] = 7.0  # colour survives too
    out = render(rgb, disp, focus=0.5, strength=strength).rgba[0]
    assert torch.allclose(out.sum(dim=(1, 2)), torch.tensor([50.0, 7.0, 50.0]), rtol=0.01)
    if strength == 0:
        assert torch.equal(out, rgb)


def test_in_focus_pixels_are_unchanged_bit_for_bit() -> None:
    rgb = texture(H, W)
    disp = torch.full((1, H, W), 0.5)
    # a defocused foreground object in the right quarter, radius K * 0.4 = 8 px
    fg = disk_mask(H, W, 48, 110, 10)
    disp[0][fg] = 0.9
    out = render(rgb, disp, focus=0.5, strength=20.0).rgba[0]
    far = ~disk_mask(H, W, 48, 110, 10 + 8 + 2)
    assert torch.equal(out[:, far], rgb[:, far])
    # and the foreground really is blurred
    assert not torch.allclose(out[:, fg], rgb[:, fg])


def test_keyframed_focus_moves_the_sharp_plane() -> None:
    rgb = texture(H, W, seed=3)
    disp = torch.full((1, H, W), 0.2)
    disp[0, :, W // 2 :] = 0.8
    frames = torch.stack([rgb, rgb]), torch.stack([disp, disp])
    out = render(*frames, focus=[0.2, 0.8], strength=[15.0, 15.0]).rgba
    left, right = (slice(None), slice(4, H - 4), slice(4, W // 2 - 12)), (slice(None), slice(4, H - 4), slice(W // 2 + 12, W - 4))
    # frame 0: left sharp, right blurred; frame 1: the reverse
    assert torch.equal(out[0][left], rgb[left])
    assert float((out[0][right] - rgb[right]).abs().mean()) > 0.1
    assert torch.equal(out[1][right], rgb[right])
    assert float((out[1][left] - rgb[left]).abs().mean()) > 0.1


def test_defocused_foreground_spreads_over_sharp_background() -> None:
    rgb = torch.full((3, H, W), 0.2)
    fg = disk_mask(H, W, 48, 64, 16)
    rgb[:, fg] = torch.tensor([4.0, 0.0, 0.0])[:, None]
    disp = torch.full((1, H, W), 0.3)
    disp[0][fg] = 0.8
    out = render(rgb, disp, focus=0.3, strength=20.0).rgba[0]  # foreground radius 10 px
    ring = disk_mask(H, W, 48, 64, 16 + 5) & ~disk_mask(H, W, 48, 64, 16 + 1)
    assert float(out[0][ring].min()) > 0.5  # red light reaches beyond the silhouette
    far = ~disk_mask(H, W, 48, 64, 16 + 10 + 2)
    assert torch.equal(out[:, far], rgb[:, far])


def test_sharp_foreground_gets_no_halo_from_blurred_background() -> None:
    rgb = texture(H, W, seed=5) * 0.1
    fg = disk_mask(H, W, 48, 64, 16)
    bright = torch.zeros(H, W, dtype=torch.bool)
    bright[:, ::7] = True
    rgb[:, bright & ~fg] = 40.0  # bright background lines right up to the silhouette
    disp = torch.full((1, H, W), 0.1)
    disp[0][fg] = 0.6
    out = render(rgb, disp, focus=0.6, strength=30.0).rgba[0]  # background radius 15 px
    assert torch.equal(out[:, fg], rgb[:, fg])
    # the background itself is blurred, and does not darken toward the subject
    bg = ~disk_mask(H, W, 48, 64, 17)
    assert float(out[:, bg].std()) < 0.5 * float(rgb[:, bg].std())


def test_output_is_continuous_in_focus() -> None:
    yy = torch.linspace(0, 1, H)[:, None].expand(H, W)
    disp = (0.05 + 0.9 * yy)[None].clone()  # a slanted plane through every depth
    rgb = texture(H, W, seed=7)
    rgb[:, 20:24, 30:34] = 30.0

    def change(step: float) -> torch.Tensor:
        a = render(rgb, disp, focus=0.5, strength=40.0).rgba[0]
        return (render(rgb, disp, focus=0.5 + step, strength=40.0).rgba[0] - a).abs()

    # a focus change of 0.1 % of the disparity range is a tiny change of the image
    assert float(change(0.0009).mean()) < 0.003 * float(rgb.mean())
    # and it shrinks with the step (Lipschitz): a plane popping in or out would not
    assert float(change(0.000009).mean()) < 0.2 * float(change(0.00009).mean())


def test_output_is_continuous_in_strength() -> None:
    yy = torch.linspace(0, 1, H)[:, None].expand(H, W)
    disp = (0.05 + 0.9 * yy)[None].clone()
    rgb = texture(H, W, seed=8)
    base = render(rgb, disp, focus=0.3, strength=40.0).rgba[0]
    nudged = render(rgb, disp, focus=0.3, strength=40.04).rgba[0]
    assert float((nudged - base).abs().max()) < 0.01


def test_rgba_premultiplied_alpha() -> None:
    rgba = torch.zeros(4, H, W)
    element = disk_mask(H, W, 48, 64, 12)
    rgba[:3, element] = 0.7
    rgba[3, element] = 1.0
    disp = torch.full((1, H, W), 0.2)
    disp[0][element] = 0.7
    out = render(rgba, disp, focus=0.2, strength=20.0).rgba[0]  # element radius 10 px
    assert out.shape == (4, H, W)
    far = ~disk_mask(H, W, 48, 64, 12 + 10 + 2)
    assert torch.equal(out[:, far], torch.zeros_like(out[:, far]))  # transparent stays transparent
    assert float(out[3].max()) <= 1.0 + 1e-5
    # premultiplied: colour / alpha is still the element's colour wherever it spread
    spread = out[3] > 0.05
    assert torch.allclose(out[0][spread] / out[3][spread], torch.full_like(out[0][spread], 0.7), atol=1e-4)
    # the element's coverage spreads beyond its silhouette
    assert float(out[3][disk_mask(H, W, 48, 64, 16) & ~element].mean()) > 0.1


def test_fully_transparent_input_stays_transparent() -> None:
    rgba = torch.zeros(4, H, W)
    disp = torch.rand(1, H, W, generator=torch.Generator().manual_seed(1))
    out = render(rgba, disp, focus=0.5, strength=30.0).rgba[0]
    assert torch.equal(out, rgba)


def test_diagnostic_channels_on_request() -> None:
    rgb = texture(32, 48)
    disp = torch.linspace(0.0, 1.0, 48)[None, None, :].expand(1, 32, 48).clone()
    options = PhysicalOptions(aux_channels=("coc.radius", "focus.matte", "plane.index"))
    out = render(rgb, disp, focus=0.5, strength=20.0, options=options)
    coc = out.aux["coc.radius"][0, 0]
    assert torch.allclose(coc, 20.0 * (disp[0] - 0.5), atol=1e-5)
    matte = out.aux["focus.matte"][0, 0]
    assert float(matte[disp[0] == 0.5].min() if (disp[0] == 0.5).any() else 1.0) == 1.0
    assert float(matte[coc.abs() >= 1].max()) == 0.0
    # plane index is signed, 0 at focus, and grows with the radius (1 px planes near focus)
    index = out.aux["plane.index"][0, 0]
    near = coc.abs() < 8
    assert torch.allclose(index[near], coc[near], atol=1e-4)
    assert "coc.radius" not in render(rgb, disp, focus=0.5, strength=20.0).aux


def test_ladder_is_fixed_and_geometric_beyond_the_pyramid_radius() -> None:
    levels = ladder_levels(100.0, 8.0, 1.0)
    assert levels[levels.index(0.0) : levels.index(0.0) + 18] == [float(i) for i in range(17)] + [18.0]
    assert levels[-1] > 100 and len(levels) < 90
    # the ladder does not depend on the frame: a longer one starts the same way
    longer = ladder_levels(400.0, 8.0, 1.0)
    assert [v for v in longer if abs(v) <= 100] == [v for v in levels if abs(v) <= 100]


def test_options_are_validated() -> None:
    with pytest.raises(JobError, match="aux_channels"):
        PhysicalOptions(aux_channels=("depth.Z",))
    from focuspull.curves import Curve

    with pytest.raises(JobError, match="front_scale"):
        PhysicalOptions(front_scale=Curve.constant(-1.0))
    from focuspull.engines import parse_options

    with pytest.raises(JobError, match="engine.options.pyramid_radius_px"):
        parse_options("physical", {"pyramid_radius_px": 1})


def test_registry_creates_the_engine() -> None:
    from focuspull.aperture import ApertureSpec
    from focuspull.engines import create_engine

    engine = create_engine("physical", {"aux_channels": ["coc.radius"]}, ApertureSpec(), torch.device("cpu"))
    assert isinstance(engine, PhysicalEngine) and engine.options.aux_channels == ("coc.radius",)


@pytest.mark.gpu
def test_gpu_matches_cpu() -> None:
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    rgb = texture(H, W)
    disp = torch.linspace(0.0, 1.0, W)[None, None, :].expand(1, H, W).clone()
    from focuspull.aperture import ApertureSpec
    from focuspull.engines.base import EngineInput
    from focuspull.params import FrameParams

    batch = EngineInput(rgb[None], disp[None], FrameParams.of(1, 0.5, 30.0))
    cpu = PhysicalEngine(PhysicalOptions(), ApertureSpec(), torch.device("cpu")).render(batch).rgba
    gpu = PhysicalEngine(PhysicalOptions(), ApertureSpec(), torch.device("cuda")).render(batch).rgba
    assert torch.allclose(cpu, gpu.cpu(), atol=1e-4)


def test_bokeh_behind_a_sharp_edge_is_cut_by_it() -> None:
    # a point light 4 px left of an in-focus block's edge, blurred to 10 px behind it:
    # the lens sees the part of its disk left of the edge, and that part's share of the light
    size = 96
    rgb = torch.zeros(3, size, size)
    rgb[:, 48, 40] = 50.0
    disp = torch.full((1, size, size), 0.4)
    disp[0, :, 44:] = 0.5
    out = render(rgb, disp, focus=0.5, strength=100.0).rgba[0]
    disk = disk_mask(size, size, 48, 40, 10.0)
    visible = float(disk[:, :44].sum()) / float(disk.sum())
    assert float(out[0].sum()) == pytest.approx(50.0 * visible, rel=0.05)
    assert float(out[:, :, 44:].abs().max()) == 0.0  # and none of it lands on the sharp block
