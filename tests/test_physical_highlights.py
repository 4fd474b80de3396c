"""Automatic highlight recovery (highlight_gain "auto") on a display-referred plate."""

from __future__ import annotations

import pytest
import torch

from focuspull.engines.physical import PhysicalOptions
from focuspull.engines.physical.highlights import AUTO_GAIN
from focuspull.errors import JobError
from focuspull.settings import from_mapping
from physical_scenes import render

H, W = 128, 192
BACKGROUND = 40 / 255
LIGHTS = ((30, 30), (30, 80), (100, 40))
WALL = (slice(30, 110), slice(110, 180))


def srgb_to_linear(code: torch.Tensor) -> torch.Tensor:
    """The sRGB decoding (IEC 61966-2-1) of 0..1 code values."""
    return torch.where(code <= 0.04045, code / 12.92, ((code + 0.055) / 1.055) ** 2.4)


def srgb_plate() -> torch.Tensor:
    """8-bit sRGB: a dark street, three clipped lamps (5 px wide) and a clipped white wall, decoded to linear."""
    code = torch.full((3, H, W), BACKGROUND)
    yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    for y, x in LIGHTS:
        code[:, ((yy - y) ** 2 + (xx - x) ** 2) <= 4] = 1.0
    code[:, WALL[0], WALL[1]] = 1.0
    return srgb_to_linear(code)


def excess(image: torch.Tensor, y: int, x: int, half: int = 16) -> float:
    """Light above the background around (y, x)."""
    background = float(srgb_to_linear(torch.tensor(BACKGROUND)))
    return float((image[:, y - half : y + half + 1, x - half : x + half + 1] - background).sum())


def test_auto_turns_small_clipped_lights_into_bright_disks_and_leaves_a_white_wall_alone():
    rgb = srgb_plate()
    disparity = torch.full((1, H, W), 0.2)
    plain = render(rgb, disparity, focus=0.8, strength=15.0).rgba[0]  # radius 9 px everywhere
    auto = render(rgb, disparity, focus=0.8, strength=15.0, options=PhysicalOptions(highlight_gain="auto")).rgba[0]
    everywhere = render(rgb, disparity, focus=0.8, strength=15.0,
                        options=PhysicalOptions(highlight_gain=AUTO_GAIN)).rgba[0]
    for y, x in LIGHTS:
        # each lamp's disk carries AUTO_GAIN times the light of white above the street (within the ramp's softness)
        assert excess(auto, y, x) == pytest.approx(AUTO_GAIN * excess(plain, y, x), rel=0.1)
    # the wall: exactly as without recovery (inside, and its total light)
    assert torch.allclose(auto[:, WALL[0], WALL[1]], plain[:, WALL[0], WALL[1]], atol=1e-5)
    assert float(auto[:, 20:120, 100:190].sum()) == pytest.approx(float(plain[:, 20:120, 100:190].sum()), rel=1e-4)
    # where a plain gain brightens it several times over
    assert float(everywhere[:, 60, 145].mean()) > 4 * float(plain[:, 60, 145].mean())


def test_auto_never_boosts_real_hdr_light():
    """A scene-linear plate's lamp (value 20) is light already, not a clipped display value."""
    rgb = torch.full((3, H, W), 0.05)
    rgb[:, 60, 90] = 20.0
    disparity = torch.full((1, H, W), 0.2)
    plain = render(rgb, disparity, focus=0.8, strength=15.0).rgba[0]
    auto = render(rgb, disparity, focus=0.8, strength=15.0, options=PhysicalOptions(highlight_gain="auto")).rgba[0]
    assert torch.allclose(auto, plain)


def test_highlight_gain_takes_a_number_of_at_least_one_or_auto():
    assert from_mapping(PhysicalOptions, {"highlight_gain": "auto"}, "engine.options").highlight_gain == "auto"
    with pytest.raises(JobError, match="highlight_gain"):
        from_mapping(PhysicalOptions, {"highlight_gain": 0.5}, "engine.options")
    with pytest.raises(JobError, match="highlight_gain"):
        from_mapping(PhysicalOptions, {"highlight_gain": "bright"}, "engine.options")
