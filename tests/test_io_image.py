"""read_image / write_image: values, channels, windows, metadata, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from focuspull.errors import ImageDataError, ImageReadError, OutputError
from focuspull.io import image as image_module
from focuspull.io.image import read_image, write_image

CHANNELS = ("R", "G", "B", "A", "depth.Z")


def _half(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float16).astype(np.float32)


def _header(path: Path) -> oiio.ImageSpec:
    inp = oiio.ImageInput.open(str(path))
    assert inp is not None, oiio.geterror()
    spec = oiio.ImageSpec(inp.spec())
    inp.close()
    return spec


def test_read_exr_values_channels_and_windows(tmp_path: Path, write_exr) -> None:
    rng = np.random.default_rng(1)
    pixels = rng.uniform(-2.0, 50.0, size=(6, 10, 5)).astype(np.float32)
    path = write_exr(
        tmp_path / "in.exr",
        pixels,
        CHANNELS,
        data_origin=(8, 4),
        display_window=(0, 0, 32, 20),
        formats=("half", "half", "half", "half", "float"),
        pixel_aspect=2.0,
    )
    frame = read_image(str(path))
    assert frame.pixels.dtype == np.float32
    assert frame.pixels.shape == (6, 10, 5)
    assert frame.size == (10, 6)
    assert frame.channels == CHANNELS
    np.testing.assert_array_equal(frame.pixels[..., :4], _half(pixels[..., :4]))
    np.testing.assert_array_equal(frame.channel("depth.Z"), pixels[..., 4])  # float is exact
    assert (frame.spec.x, frame.spec.y) == (8, 4)
    assert (frame.spec.full_width, frame.spec.full_height) == (32, 20)
    assert frame.spec.get_float_attribute("PixelAspectRatio") == 2.0
    assert frame.rgba_indices == (0, 1, 2, 3)
    assert frame.index("depth.Z") == 4
    assert frame.path == str(path)


def test_missing_channel_names_file_and_channels(tmp_path: Path, write_exr) -> None:
    path = write_exr(tmp_path / "in.exr", channels=("R", "G", "B"))
    frame = read_image(str(path))
    assert frame.rgba_indices == (0, 1, 2)
    with pytest.raises(ImageDataError) as info:
        frame.channel("Z")
    assert str(path) in str(info.value)
    assert "R, G, B" in str(info.value)


def test_luminance_only_has_no_rgba(tmp_path: Path, write_exr) -> None:
    frame = read_image(str(write_exr(tmp_path / "y.exr", channels=("Y",))))
    with pytest.raises(ImageDataError, match="luminance"):
        frame.rgba_indices


@pytest.mark.parametrize(("fmt", "scale"), [("uint8", 255.0), ("uint16", 65535.0)])
def test_integer_png_reads_as_float_0_to_1(tmp_path: Path, write_exr, fmt: str, scale: float) -> None:
    levels = np.array([0, 1, 128, scale], dtype=np.float32)
    pixels = np.tile(levels[None, :, None], (2, 1, 3)) / scale
    path = write_exr(tmp_path / "in.png", pixels, ("R", "G", "B"), formats=fmt)
    frame = read_image(str(path))
    np.testing.assert_allclose(frame.pixels[0, :, 0], levels / scale, atol=1e-6)


@pytest.mark.parametrize("kind", ["missing", "random", "truncated", "empty"])
def test_unreadable_files_name_the_path(tmp_path: Path, write_exr, kind: str) -> None:
    path = tmp_path / f"{kind}.exr"
    if kind == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "truncated":
        real = write_exr(tmp_path / "real.exr", size=(64, 48), compression="zip").read_bytes()
        path.write_bytes(real[: len(real) * 3 // 4])
    elif kind == "empty":
        path.write_bytes(b"")
    with pytest.raises(ImageReadError) as info:
        read_image(str(path))
    assert f"cannot read {path}" in str(info.value)


def test_round_trip_keeps_everything(tmp_path: Path, write_exr) -> None:
    rng = np.random.default_rng(2)
    source = rng.uniform(-1.0, 8.0, size=(6, 10, 5)).astype(np.float32)
    source[0, 0, :3] = [-0.25, 1000.0, 40000.0]  # HDR and negative; x1.5 stays within half range
    src = write_exr(
        tmp_path / "in.exr",
        source,
        CHANNELS,
        data_origin=(8, 4),
        display_window=(0, 0, 32, 20),
        formats=("half", "half", "half", "half", "float"),
        compression="piz",
        pixel_aspect=2.0,
        attributes={"studio/shot": "abc_0010", "studio/take": 3},
    )
    template = read_image(str(src))
    out = tmp_path / "out.exr"
    pixels = template.pixels * 1.5  # not clipped on the way out
    write_image(
        str(out),
        pixels,
        template.channels,
        template=template.spec,
        attributes={"focuspull/focus": "1.25", "focuspull/engine": "physical"},
    )
    back = read_image(str(out))
    spec = back.spec
    assert back.channels == CHANNELS
    assert [str(t) for t in spec.channelformats] == ["half", "half", "half", "half", "float"]
    assert (spec.x, spec.y, spec.width, spec.height) == (8, 4, 10, 6)
    assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (0, 0, 32, 20)
    assert spec.get_float_attribute("PixelAspectRatio") == 2.0
    assert spec.get_string_attribute("compression") == "piz"
    assert spec.get_string_attribute("studio/shot") == "abc_0010"
    assert spec.get_int_attribute("studio/take") == 3
    assert spec.get_string_attribute("focuspull/focus") == "1.25"
    np.testing.assert_array_equal(back.pixels[..., 4], pixels[..., 4])
    np.testing.assert_array_equal(back.pixels[..., :4], _half(pixels[..., :4]))
    assert back.pixels[0, 0, 0] == -0.375 and back.pixels[0, 0, 1] == 1500.0
    assert back.pixels.max() > 1.0 and back.pixels.min() < 0.0


def test_channel_formats_and_compression_override(tmp_path: Path, write_exr) -> None:
    src = write_exr(tmp_path / "in.exr", channels=("R", "G", "B"), formats="half", compression="piz")
    template = read_image(str(src)).spec
    pixels = np.random.default_rng(3).uniform(-1, 5, size=(8, 16, 4)).astype(np.float32)
    out = tmp_path / "out.exr"
    write_image(
        str(out),
        pixels,
        ("R", "G", "B", "coc.radius"),
        template=template,
        channel_formats=("half", "half", "half", "float"),
        compression="dwaa:80",
    )
    spec = _header(out)
    assert [str(t) for t in spec.channelformats] == ["half", "half", "half", "float"]
    assert spec.get_string_attribute("compression") == "dwaa"
    assert spec.get_float_attribute("openexr:dwaCompressionLevel") == 80.0
    back = read_image(str(out))
    np.testing.assert_array_equal(back.channel("coc.radius"), pixels[..., 3])  # float, lossless

    write_image(str(out), pixels[..., :3], ("R", "G", "B"), template=template, channel_formats="float")
    spec = _header(out)
    assert str(spec.format) == "float"
    assert all(str(t) == "float" for t in spec.channelformats)
    np.testing.assert_array_equal(read_image(str(out)).pixels, pixels[..., :3])


def test_new_channels_default_to_template_format(tmp_path: Path, write_exr) -> None:
    src = write_exr(tmp_path / "in.exr", channels=("R", "G", "B", "Z"), formats=("half", "half", "half", "float"))
    template = read_image(str(src)).spec
    out = tmp_path / "out.exr"
    write_image(str(out), np.zeros((8, 16, 5), np.float32), ("R", "G", "B", "Z", "matte"), template=template)
    formats = [str(t) for t in _header(out).channelformats]
    assert formats[:4] == ["half", "half", "half", "float"]


def test_write_without_template_is_float_zip(tmp_path: Path) -> None:
    out = tmp_path / "plain.exr"
    pixels = np.linspace(-1, 3, 2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    write_image(str(out), pixels, ("R", "G", "B"))
    spec = _header(out)
    assert str(spec.format) == "float"
    assert spec.get_string_attribute("compression") == "zip"
    assert (spec.x, spec.y, spec.full_width, spec.full_height) == (0, 0, 3, 2)
    np.testing.assert_array_equal(read_image(str(out)).pixels, pixels)


def _leftovers(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if ".tmp-" in n)


def test_missing_folder_is_output_error(tmp_path: Path) -> None:
    target = tmp_path / "nope" / "out.exr"
    with pytest.raises(OutputError, match="does not exist") as info:
        write_image(str(target), np.zeros((2, 2, 3), np.float32), ("R", "G", "B"))
    assert str(target) in str(info.value)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder_is_output_error(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="not writable"):
            write_image(str(folder / "out.exr"), np.zeros((2, 2, 3), np.float32), ("R", "G", "B"))
        assert os.listdir(folder) == []
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize(
    ("shape", "channels"),
    [((4, 4, 3), ("R", "G", "B", "A")), ((4, 4), ("R", "G")), ((0, 4, 3), ("R", "G", "B"))],
)
def test_wrong_shape_leaves_target_untouched(tmp_path: Path, shape, channels) -> None:
    target = tmp_path / "out.exr"
    target.write_bytes(b"previous frame")
    with pytest.raises(OutputError, match="shape"):
        write_image(str(target), np.zeros(shape, np.float32), channels)
    assert target.read_bytes() == b"previous frame"
    assert _leftovers(tmp_path) == []


def test_template_size_mismatch(tmp_path: Path, write_exr) -> None:
    template = read_image(str(write_exr(tmp_path / "in.exr", size=(16, 8)))).spec
    with pytest.raises(OutputError, match="16x8"):
        write_image(str(tmp_path / "out.exr"), np.zeros((4, 4, 4), np.float32), "RGBA", template=template)
    assert _leftovers(tmp_path) == []


def test_failure_after_writing_removes_temp_and_keeps_old_target(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.exr"
    target.write_bytes(b"previous frame")
    seen: list[str] = []

    def failing_replace(src: str, dst: str) -> None:
        seen.append(os.path.basename(src))
        assert os.path.getsize(src) > 0  # the full temp file was there
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(image_module.os, "replace", failing_replace)
    with pytest.raises(OutputError, match="No space left") as info:
        write_image(str(target), np.ones((4, 4, 3), np.float32), ("R", "G", "B"))
    assert str(target) in str(info.value)
    assert len(seen) == 1 and seen[0].startswith(".out.tmp-") and seen[0].endswith(".exr")
    assert target.read_bytes() == b"previous frame"
    assert _leftovers(tmp_path) == []


def test_bad_pixel_format_and_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="pixel format"):
        write_image(str(tmp_path / "o.exr"), np.zeros((2, 2, 3), np.float32), "RGB", channel_formats="int8x")
    with pytest.raises(OutputError, match="o.xyz"):
        write_image(str(tmp_path / "o.xyz"), np.zeros((2, 2, 3), np.float32), "RGB")
    assert os.listdir(tmp_path) == []


def test_overwrite_replaces_atomically(tmp_path: Path) -> None:
    target = tmp_path / "out.exr"
    write_image(str(target), np.full((2, 2, 3), 1.0, np.float32), "RGB")
    inode_before = target.stat().st_ino
    write_image(str(target), np.full((2, 2, 3), 2.0, np.float32), "RGB")
    assert target.stat().st_ino != inode_before  # a new file was renamed in, not rewritten in place
    assert read_image(str(target)).pixels.min() == 2.0
    assert _leftovers(tmp_path) == []


def test_8bit_template_written_as_float_exr(tmp_path: Path, write_exr) -> None:
    pixels = np.full((2, 4, 3), 128 / 255, np.float32)
    template = read_image(str(write_exr(tmp_path / "in.png", pixels, ("R", "G", "B"), formats="uint8"))).spec
    out = tmp_path / "out.exr"
    hdr = pixels * 10.0  # scene-linear now, above 1
    write_image(str(out), hdr, ("R", "G", "B"), template=template)
    assert str(_header(out).format) == "float"
    np.testing.assert_array_equal(read_image(str(out)).pixels, hdr)


def test_tiled_template_stays_tiled(tmp_path: Path) -> None:
    spec = oiio.ImageSpec(40, 30, 3, "half")
    spec.tile_width = spec.tile_height = 16
    src = tmp_path / "tiled.exr"
    out_file = oiio.ImageOutput.create(str(src))
    assert out_file.open(str(src), spec)
    assert out_file.write_image(np.ones((30, 40, 3), np.float32))
    out_file.close()
    frame = read_image(str(src))
    write_image(str(tmp_path / "out.exr"), frame.pixels * 3, frame.channels, template=frame.spec)
    back = read_image(str(tmp_path / "out.exr"))
    assert (back.spec.tile_width, back.spec.tile_height) == (16, 16)
    np.testing.assert_array_equal(back.pixels, 3.0)
