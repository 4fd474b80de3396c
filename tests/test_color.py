"""ColorConfig: config lookup order, names/aliases/roles, exact conversions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from focuspull.color import DEFAULT_CONFIG, ColorConfig
from focuspull.errors import ColorError

# Two spaces with known maths: "doubled" = 2 x linear, "sqrt" = sqrt(linear).
TINY_CONFIG = """\
ocio_profile_version: 2

roles:
  default: lin
  scene_linear: lin

displays:
  monitor:
    - !<View> {name: Raw, colorspace: lin}
    - !<View> {name: Root, colorspace: sqrt}

colorspaces:
  - !<ColorSpace>
    name: lin
    aliases: [linear_reference]
    isdata: false

  - !<ColorSpace>
    name: doubled
    isdata: false
    from_scene_reference: !<MatrixTransform> {matrix: [2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1]}

  - !<ColorSpace>
    name: sqrt
    isdata: false
    from_scene_reference: !<ExponentTransform> {value: [0.5, 0.5, 0.5, 1], style: pass_thru}
"""


@pytest.fixture
def tiny_config(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.ocio"
    path.write_text(TINY_CONFIG)
    return path


@pytest.fixture
def default(monkeypatch: pytest.MonkeyPatch) -> ColorConfig:
    monkeypatch.delenv("OCIO", raising=False)
    return ColorConfig.load()


def _srgb_eotf(v: float) -> float:
    return ((v + 0.055) / 1.055) ** 2.4 if v > 0.04045 else v / 12.92


def test_default_is_builtin_aces_cg(default: ColorConfig) -> None:
    assert default.source == DEFAULT_CONFIG
    assert default.scene_linear == "ACEScg"
    assert "Linear Rec.709 (sRGB)" in default.colorspace_names()


def test_srgb_texture_to_linear_is_the_srgb_eotf(default: ColorConfig) -> None:
    values = np.array([0.0, 0.18, 0.5, 1.0, 0.02], np.float32)
    pixels = np.repeat(values[:, None], 3, axis=1)[None]  # (1, 5, 3), grey
    linear = default.convert(pixels, "sRGB - Texture", "Linear Rec.709 (sRGB)")
    expected = np.array([_srgb_eotf(float(v)) for v in values])
    np.testing.assert_allclose(linear[0, :4, 0], expected[:4], rtol=1e-6, atol=1e-7)
    # OCIO makes the toe exactly continuous (slope 12.923 instead of IEC's rounded 12.92).
    np.testing.assert_allclose(linear[0, 4, 0], expected[4], rtol=1e-3)
    np.testing.assert_allclose(linear[0, 2], ((0.5 + 0.055) / 1.055) ** 2.4, rtol=1e-6)


def test_grey_stays_grey_into_acescg(default: ColorConfig) -> None:
    # Rec.709 and AP1 share the D65/D60-adapted white: a grey maps to the same grey.
    grey = np.full((1, 1, 3), 0.5, np.float32)
    working = default.to_working(grey, "sRGB - Texture")
    np.testing.assert_allclose(working[0, 0], _srgb_eotf(0.5), rtol=1e-4)


def test_alpha_is_untouched_and_input_not_modified(default: ColorConfig) -> None:
    pixels = np.array([[[0.5, 0.25, 0.75, 0.3], [2.0, 0.0, 1.0, 1.7]]], np.float32)
    before = pixels.copy()
    out = default.to_working(pixels, "sRGB - Texture")
    np.testing.assert_array_equal(out[..., 3], before[..., 3])
    np.testing.assert_array_equal(pixels, before)
    assert out.dtype == np.float32 and out.shape == pixels.shape


@pytest.mark.parametrize("space", ["Linear Rec.709 (sRGB)", "ACES2065-1", "Linear P3-D65", "ACEScct"])
def test_round_trip_is_identity_including_hdr(default: ColorConfig, space: str) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.uniform(0.0, 1.0, size=(4, 5, 3)).astype(np.float32)
    pixels[0, 0] = [16.0, 100.0, 1000.0]
    pixels[0, 1] = [-0.01, 0.0, 0.001]
    there = default.from_working(pixels, space)
    back = default.to_working(there, space)
    np.testing.assert_allclose(back, pixels, rtol=1e-5, atol=1e-5)
    if space != "ACEScct":  # linear spaces: HDR values go out above 1, unclipped
        assert there[0, 0].max() > 100.0


def test_identity_returns_input(default: ColorConfig) -> None:
    pixels = np.zeros((2, 2, 3), np.float32)
    assert default.convert(pixels, "ACEScg", "lin_ap1") is pixels
    assert default.to_working(pixels, None) is pixels


def test_names_aliases_and_roles_resolve(default: ColorConfig) -> None:
    assert default.resolve(None) == "ACEScg"
    assert default.resolve("scene_linear") == "ACEScg"
    assert default.resolve("aces_interchange") == "ACES2065-1"
    assert default.resolve("lin_srgb") == "Linear Rec.709 (sRGB)"
    assert default.resolve("sRGB - Texture") == default.resolve("SRGB - TEXTURE")
    assert default.resolve("color_timing") == "ACEScct"


def test_unknown_name_lists_closest(default: ColorConfig) -> None:
    with pytest.raises(ColorError) as info:
        default.resolve("srgb texture")
    message = str(info.value)
    assert message.startswith("unknown colour space 'srgb texture' in ocio://default; closest: ")
    assert "sRGB - Texture" in message.split("closest:")[1].split(",")[0]
    with pytest.raises(ColorError, match="closest: .*ACEScg"):
        default.convert(np.zeros((1, 1, 3), np.float32), "ACEScgg", None)


def test_ocio_env_is_honoured(monkeypatch: pytest.MonkeyPatch, tiny_config: Path) -> None:
    monkeypatch.setenv("OCIO", str(tiny_config))
    config = ColorConfig.load()
    assert config.source == str(tiny_config)
    assert config.scene_linear == "lin"
    assert config.colorspace_names() == ("lin", "doubled", "sqrt")
    assert config.resolve("linear_reference") == "lin"
    pixels = np.array([[[1.0, -1.0, 4.0, 0.5]]], np.float32)
    np.testing.assert_array_equal(config.from_working(pixels, "doubled"), [[[2.0, -2.0, 8.0, 0.5]]])
    np.testing.assert_allclose(config.to_working(np.array([[4.0, 0.5, 1.0]], np.float32), "sqrt"), [[16.0, 0.25, 1.0]])


def test_explicit_path_beats_env(monkeypatch: pytest.MonkeyPatch, tiny_config: Path) -> None:
    monkeypatch.setenv("OCIO", str(tiny_config))
    assert ColorConfig.load(DEFAULT_CONFIG).scene_linear == "ACEScg"
    monkeypatch.setenv("OCIO", "")
    assert ColorConfig.load().source == DEFAULT_CONFIG
    assert ColorConfig.load(str(tiny_config)).scene_linear == "lin"


def test_bad_configs_name_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "missing.ocio"
    with pytest.raises(ColorError, match=f"{missing}.*does not exist"):
        ColorConfig.load(str(missing))
    monkeypatch.setenv("OCIO", str(missing))
    with pytest.raises(ColorError, match=r"\$OCIO"):
        ColorConfig.load()
    broken = tmp_path / "broken.ocio"
    broken.write_text("ocio_profile_version: 2\ncolorspaces: [this is not, a config")
    with pytest.raises(ColorError, match=str(broken)):
        ColorConfig.load(str(broken))


def test_display_view(tiny_config: Path, default: ColorConfig) -> None:
    config = ColorConfig.load(str(tiny_config))
    pixels = np.array([[[4.0, 0.25, 9.0, 0.5]]], np.float32)
    np.testing.assert_allclose(config.display_view(pixels, "monitor", "Root"), [[[2.0, 0.5, 3.0, 0.5]]])
    np.testing.assert_array_equal(config.display_view(pixels, "monitor", "Raw"), pixels)
    with pytest.raises(ColorError, match="unknown view 'Nope'"):
        config.display_view(pixels, "monitor", "Nope")
    # The default ACES SDR view maps 18% grey into the display range, below 1.
    shown = default.display_view(np.full((1, 1, 3), 0.18, np.float32))
    assert 0.2 < float(shown[0, 0, 0]) < 0.5
    assert np.allclose(shown[0, 0], shown[0, 0, 0], atol=1e-4)


def test_config_is_hashable_and_compares_by_source(default: ColorConfig) -> None:
    assert default == ColorConfig.load(DEFAULT_CONFIG)
    assert hash(default) == hash(ColorConfig.load(DEFAULT_CONFIG))
    assert "_config" not in repr(default)


def test_direct_construction_loads_the_source(tiny_config: Path) -> None:
    config = ColorConfig(str(tiny_config))
    assert config.scene_linear == "lin"
    assert config == ColorConfig.load(str(tiny_config))
