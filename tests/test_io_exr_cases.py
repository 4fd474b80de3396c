"""The EXRs that CG and camera departments deliver, end to end through the CLI:
multi-part with depth in another part, stereo in one part and in two,
tiled mip-mapped, per-frame data windows, pixel aspect 2.0, colour labels.
Each test checks the output's parts, windows, channels, types, attributes and
pixels. Files are built with OpenImageIO in code (tests/exr_cases.py)."""

from __future__ import annotations

import contextlib
import io
import logging
from pathlib import Path

import numpy as np
import pytest

from exr_cases import Part, read_parts, write_exr_parts
from focuspull.cli import main

W, H = 48, 32
NEAR, FAR, K = 1.0, 10.0, 8.0  # focus NEAR: the far half's CoC is 8 * 0.9 = 7.2 px
CHROMA_709 = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290)
CHROMA_XYZ = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1 / 3, 1 / 3)


def texture(seed: int, channels: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.1, 2.0, (H, W, channels)).astype(np.float32)


def halves(near_left: bool = True) -> np.ndarray:
    left = np.arange(W)[None, :] < W // 2
    z = np.where(left if near_left else ~left, NEAR, FAR) * np.ones((H, 1))
    return z[..., None].astype(np.float32)


def rgba(seed: int) -> np.ndarray:
    return np.concatenate([texture(seed), np.ones((H, W, 1), np.float32)], -1)


def render(src: Path, out: Path, *flags: str) -> tuple[int, list[str]]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["render", str(src), "-o", str(out), "--focus", str(NEAR), "--strength", str(K),
                     "--progress", "none", "--pixel-type", "float", *flags])
    return code, [line for line in err.getvalue().splitlines() if line.strip()]


def near_sharp_far_blurred(out: np.ndarray, src: np.ndarray, near_left: bool = True) -> None:
    near = slice(0, W // 2 - 9) if near_left else slice(W // 2 + 9, W)
    far = slice(W // 2 + 9, W) if near_left else slice(0, W // 2 - 9)
    np.testing.assert_allclose(out[:, near, :3], src[:, near, :3], rtol=1e-5, atol=1e-5)
    assert np.abs(out[:, far, :3] - src[:, far, :3]).mean() > 0.2


# -- multi-part --------------------------------------------------------------------
@pytest.fixture
def multipart(tmp_path):
    folder = tmp_path / "mp"
    folder.mkdir()
    diffuse = texture(7)
    normals = texture(8)
    path = write_exr_parts(folder / "cg.1001.exr", [
        Part(rgba(1), ("R", "G", "B", "A"), name="rgba", formats="float", attributes={"studio/shot": "sh010"}),
        # (in the order EXR stores channels: sorted by name)
        Part(np.concatenate([normals, diffuse], -1), ("N.x", "N.y", "N.z", "diffuse.R", "diffuse.G", "diffuse.B"),
             name="aovs", formats=("float",) * 3 + ("half",) * 3, attributes={"renderer/aov": "lighting"}),
        Part(halves(), ("Z",), name="depth", formats="float"),
    ])
    return path, diffuse, normals


def test_multipart_every_part_reaches_the_output_and_depth_comes_from_another_part(multipart, tmp_path):
    src, diffuse, normals = multipart
    out = tmp_path / "o" / "r.####.exr"
    code, lines = render(src.parent / "cg.####.exr", out, "--depth-channel", "depth.Z")
    assert code == 0, lines
    parts = read_parts(tmp_path / "o" / "r.1001.exr")
    assert [p.attr("name") for p in parts] == ["rgba", "aovs", "depth"]
    assert [p.channels for p in parts] == [
        ("R", "G", "B", "A"), ("N.x", "N.y", "N.z", "diffuse.R", "diffuse.G", "diffuse.B"), ("Z",)]
    assert parts[1].formats() == ["float"] * 3 + ["half"] * 3  # passed-through types kept
    assert parts[2].formats() == ["float"]
    assert parts[0].formats() == ["float"] * 4  # --pixel-type float for the refocused layer
    assert parts[0].attr("studio/shot") == "sh010" and parts[1].attr("renderer/aov") == "lighting"
    # the plate's layer refocused with the depth of part "depth"; the rest untouched
    near_sharp_far_blurred(parts[0].pixels, rgba(1))
    np.testing.assert_array_equal(parts[1].pixels[..., 3:], diffuse.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(parts[1].pixels[..., :3], normals)
    np.testing.assert_array_equal(parts[2].pixels[..., 0], halves()[..., 0])
    # the header says what was refocused and what passed through
    assert parts[0].attr("focuspull/refocused") == "rgba.rgba"
    assert "1:diffuse.R" in parts[0].attr("focuspull/passed_through")
    assert "2:Z" in parts[0].attr("focuspull/passed_through")


def test_multipart_default_depth_is_found_in_any_part(multipart, tmp_path):
    src, *_ = multipart
    code, lines = render(src.parent / "cg.####.exr", tmp_path / "o" / "r.####.exr")
    assert code == 0, lines
    near_sharp_far_blurred(read_parts(tmp_path / "o" / "r.1001.exr")[0].pixels, rgba(1))


def test_multipart_unknown_depth_channel_lists_what_exists(multipart, tmp_path):
    src, *_ = multipart
    code, lines = render(src.parent / "cg.####.exr", tmp_path / "o" / "r.####.exr", "--depth-channel", "P.Z")
    assert code == 2 and len(lines) == 1
    assert "no depth channel 'P.Z'" in lines[0] and "cg.1001.exr: frame 1001" in lines[0]
    assert "part 1 'aovs': N.x, N.y, N.z, diffuse.R, diffuse.G, diffuse.B; part 2 'depth': Z" in lines[0]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_multipart_layer_and_channels_all(multipart, tmp_path):
    src, diffuse, normals = multipart
    # --layer picks the plate's colour from another part's layer
    code, lines = render(src.parent / "cg.####.exr", tmp_path / "a" / "r.####.exr", "--layer", "aovs.diffuse")
    assert code == 0, lines
    parts = read_parts(tmp_path / "a" / "r.1001.exr")
    np.testing.assert_array_equal(parts[0].pixels, rgba(1))  # passed through
    near_sharp_far_blurred(parts[1].pixels[..., 3:], diffuse.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(parts[1].pixels[..., :3], normals)  # N is not a colour layer
    # --channels all: every image layer refocused with the same CoC; N and Z untouched
    code, lines = render(src.parent / "cg.####.exr", tmp_path / "b" / "r.####.exr", "--channels", "all")
    assert code == 0, lines
    parts = read_parts(tmp_path / "b" / "r.1001.exr")
    near_sharp_far_blurred(parts[0].pixels, rgba(1))
    near_sharp_far_blurred(parts[1].pixels[..., 3:], diffuse.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(parts[1].pixels[..., :3], normals)
    assert parts[1].formats() == ["float"] * 6  # refocused diffuse: --pixel-type; N kept float
    code, lines = render(src.parent / "cg.####.exr", tmp_path / "c" / "r.####.exr", "--layer", "specular")
    assert code == 2 and "no layer 'specular'; layers are rgba.rgba, aovs.diffuse" in lines[0]


# -- stereo --------------------------------------------------------------------------
def test_stereo_in_one_part_each_view_with_its_own_depth(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    left, right = rgba(1), rgba(2)
    pixels = np.concatenate([left, halves(True), right, halves(False)], -1)
    channels = ("R", "G", "B", "A", "Z", "right.R", "right.G", "right.B", "right.A", "right.Z")
    write_exr_parts(folder / "st.1001.exr", [Part(pixels, channels, formats="float",
                                                  attributes={"multiView": ("left", "right")})])
    code, lines = render(folder / "st.####.exr", tmp_path / "o" / "r.####.exr")
    assert code == 0, lines
    (part,) = read_parts(tmp_path / "o" / "r.1001.exr")
    assert part.channels == channels and tuple(part.attr("multiView")) == ("left", "right")
    near_sharp_far_blurred(part.pixels[..., :4], left, near_left=True)
    near_sharp_far_blurred(part.pixels[..., 5:9], right, near_left=False)  # right.Z: near on the right
    np.testing.assert_array_equal(part.pixels[..., 4], halves(True)[..., 0])
    # --views left: the right view passes through unchanged
    code, lines = render(folder / "st.####.exr", tmp_path / "l" / "r.####.exr", "--views", "left")
    assert code == 0, lines
    (part,) = read_parts(tmp_path / "l" / "r.1001.exr")
    near_sharp_far_blurred(part.pixels[..., :4], left)
    np.testing.assert_array_equal(part.pixels[..., 5:9], right)
    code, lines = render(folder / "st.####.exr", tmp_path / "x" / "r.####.exr", "--views", "centre")
    assert code == 2 and "no view centre; views are left, right" in lines[0]


def test_stereo_in_two_parts_with_a_shared_depth(tmp_path):
    folder = tmp_path / "s"
    folder.mkdir()
    left, right = rgba(1), rgba(2)
    write_exr_parts(folder / "st.1001.exr", [
        Part(np.concatenate([left, halves(False)], -1), ("R", "G", "B", "A", "Z"), name="left", view="left",
             formats="float"),
        Part(right, ("R", "G", "B", "A"), name="right", view="right", formats="float"),
        Part(halves(True), ("Z",), name="depth", formats="float"),  # no view: shared
    ])
    code, lines = render(folder / "st.####.exr", tmp_path / "o" / "r.####.exr")
    assert code == 0, lines
    parts = read_parts(tmp_path / "o" / "r.1001.exr")
    assert [(p.attr("name"), p.attr("view")) for p in parts] == [("left", "left"), ("right", "right"), ("depth", None)]
    near_sharp_far_blurred(parts[0].pixels[..., :4], left, near_left=False)  # its own Z: near on the right
    near_sharp_far_blurred(parts[1].pixels, right, near_left=True)  # the shared depth
    assert "rgba (view left)" in parts[0].attr("focuspull/refocused")
    assert "right.rgba (view right)" in parts[0].attr("focuspull/refocused")


# -- tiled and mip-mapped --------------------------------------------------------------
def test_tiled_mipmapped_input_gives_a_valid_tiled_mipmapped_output(tmp_path):
    folder = tmp_path / "t"
    folder.mkdir()
    pixels = np.concatenate([rgba(3), halves()], -1)
    write_exr_parts(folder / "tex.1001.exr", [Part(pixels, ("R", "G", "B", "A", "Z"), tiles=16, mipmap=True,
                                                   formats="float")])
    code, lines = render(folder / "tex.####.exr", tmp_path / "o" / "r.####.exr")
    assert code == 0, lines
    (part,) = read_parts(tmp_path / "o" / "r.1001.exr")  # every level reads cleanly
    assert (part.spec.tile_width, part.spec.tile_height) == (16, 16)
    assert [lv.shape[:2] for lv in part.levels] == [(32, 48), (16, 24), (8, 12), (4, 6), (2, 3), (1, 1)]
    assert part.attr("oiio:AverageColor") is None  # a statement about the old pixels is not copied
    near_sharp_far_blurred(part.pixels, pixels)
    # each level is the refocused image, box-filtered: not the input's level
    top = part.pixels
    expected = top.reshape(16, 2, 24, 2, 5).mean(axis=(1, 3))
    np.testing.assert_allclose(part.levels[1], expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(part.levels[-1][0, 0], top.reshape(-1, 5)[: 32 * 48].mean(0), rtol=0.05)


# -- data windows --------------------------------------------------------------------
def test_per_frame_data_windows_are_kept_and_grow_to_hold_the_blur(tmp_path):
    folder = tmp_path / "dw"
    folder.mkdir()
    display = (0, 0, 96, 64)
    windows = {1001: (20, 10), 1002: (24, 18)}  # auto-cropped CG: another crop each frame
    sizes = {1001: (W, H), 1002: (W - 8, H - 6)}
    for frame, origin in windows.items():
        w, h = sizes[frame]
        pixels = np.concatenate([rgba(frame)[:h, :w], np.full((h, w, 1), FAR, np.float32)], -1)
        write_exr_parts(folder / f"cg.{frame}.exr", [Part(pixels, ("R", "G", "B", "A", "Z"), origin=origin,
                                                           display=display, formats="float")])
    code, lines = render(folder / "cg.####.exr", tmp_path / "o" / "r.####.exr")
    assert code == 0, lines
    for frame, (x, y) in windows.items():
        w, h = sizes[frame]
        (part,) = read_parts(tmp_path / "o" / f"r.{frame}.exr")
        # grown by CoC 7.2 (+5% +2 = 10 px) on every side, inside the display window
        assert part.window == (x - 10, y - 10, w + 20, h + 20)
        alpha = part.channel("A")
        # light spreads past the old edge as through a lens: half the coverage at
        # the edge, fading to nothing a CoC away; never cut at the data window
        assert 0.35 < alpha[10 + h // 2, 9] < 0.65 and alpha[10 + h // 2, 1] < 0.02
        assert alpha[10 + h // 2, 10 + w // 2] == pytest.approx(1.0, abs=1e-4)
        assert not part.channel("Z")[:10].any()  # passed-through depth: zero outside its window
    # the display window bounds the growth unless --overscan allows more
    write_exr_parts(folder / "cg.1001.exr", [Part(np.concatenate([rgba(5), np.full((H, W, 1), FAR, np.float32)], -1),
                                                  ("R", "G", "B", "A", "Z"), origin=(2, 3), display=(0, 0, W + 4, H + 6),
                                                  formats="float")])
    code, lines = render(folder / "cg.####.exr", tmp_path / "p" / "r.####.exr", "--frames", "1001")
    assert code == 0 and read_parts(tmp_path / "p" / "r.1001.exr")[0].window == (0, 0, W + 4, H + 6)
    code, lines = render(folder / "cg.####.exr", tmp_path / "q" / "r.####.exr", "--frames", "1001", "--overscan", "4")
    assert code == 0 and read_parts(tmp_path / "q" / "r.1001.exr")[0].window == (-4, -4, W + 12, H + 14)


def test_the_workspace_loads_frames_with_their_own_data_windows(tmp_path):
    from focuspull.job import Job
    from focuspull.pipeline import prepare
    from focuspull.ui.session import load_frame_data

    folder = tmp_path / "dw"
    folder.mkdir()
    for frame, (w, h, x) in {1001: (W, H, 3), 1002: (W - 10, H - 4, 9)}.items():
        pixels = np.concatenate([rgba(frame)[:h, :w], np.full((h, w, 1), FAR, np.float32)], -1)
        write_exr_parts(folder / f"cg.{frame}.exr", [Part(pixels, ("R", "G", "B", "A", "Z"), origin=(x, 2),
                                                           display=(0, 0, 64, 40), formats="float")])
    job = Job.from_dict({"schema": "focuspull.job/1", "input": {"pattern": str(folder / "cg.####.exr")}, "depth": {},
                         "focus": NEAR, "strength": K, "output": {"pattern": str(tmp_path / "o" / "r.####.exr")}})
    shot = prepare(job, check_output=False)
    first, second = (load_frame_data(shot, f) for f in shot.frames)
    assert first.rgba.shape == (H, W, 4) and second.rgba.shape == (H - 4, W - 10, 4)
    assert (first.image.spec.x, second.image.spec.x) == (3, 9)
    np.testing.assert_allclose(second.rgba, rgba(1002)[: H - 4, : W - 10], rtol=1e-6)


def test_an_engine_that_needs_one_frame_size_gets_the_shots_union_window(tmp_path, monkeypatch):
    """A temporal engine (neighbouring frames, one size) renders every frame in
    the union of the shot's data windows; each frame is written in its own."""
    import torch

    from focuspull import pipeline
    from focuspull.engines.base import Engine, EngineOutput
    from focuspull.job import Job

    class Temporal(Engine):
        name = "temporal"
        context_frames = 1

        def __init__(self):
            super().__init__(None, None, torch.device("cpu"))
            self.sizes = set()

        def render(self, batch):
            self.sizes.add(tuple(batch.rgba.shape[-2:]))
            rgba = batch.rgba.clone()
            rgba[:, :3] *= 2.0
            return EngineOutput(rgba=rgba)

    folder = tmp_path / "dw"
    folder.mkdir()
    windows = {1001: (4, 2, W, H), 1002: (10, 6, W - 8, H - 6)}
    for frame, (x, y, w, h) in windows.items():
        pixels = np.concatenate([rgba(frame)[:h, :w], np.full((h, w, 1), FAR, np.float32)], -1)
        write_exr_parts(folder / f"cg.{frame}.exr", [Part(pixels, ("R", "G", "B", "A", "Z"), origin=(x, y),
                                                           display=(0, 0, 64, 40), formats="float")])
    job = Job.from_dict({"schema": "focuspull.job/1", "input": {"pattern": str(folder / "cg.####.exr")}, "depth": {},
                         "focus": NEAR, "strength": K,
                         "output": {"pattern": str(tmp_path / "o" / "r.####.exr"), "pixel_type": "float"}})
    engine = Temporal()
    monkeypatch.setattr(pipeline, "make_engine", lambda shot, device=None: engine)
    pipeline.render_job(job)
    assert engine.sizes == {(H, W)}  # the union: frame 1002 lies inside frame 1001's window
    for frame, (x, y, w, h) in windows.items():
        (part,) = read_parts(tmp_path / "o" / f"r.{frame}.exr")
        assert part.window == (x, y, w, h)
        np.testing.assert_allclose(part.pixels[..., :3], 2 * rgba(frame)[:h, :w, :3], rtol=1e-6)


# -- pixel aspect ----------------------------------------------------------------------
def _point_light_spread(tmp_path: Path, par: float) -> tuple[float, float, float]:
    folder = tmp_path / f"par{par}"
    folder.mkdir()
    size = 64
    pixels = np.zeros((size, size, 5), np.float32)
    pixels[..., 3] = 1.0
    pixels[..., 4] = FAR
    pixels[size // 2, size // 2, :3] = 100.0
    write_exr_parts(folder / "p.1001.exr", [Part(pixels, ("R", "G", "B", "A", "Z"), formats="float",
                                                 attributes={"PixelAspectRatio": par})])
    code, lines = render(folder / "p.####.exr", tmp_path / f"o{par}" / "r.####.exr")
    assert code == 0, lines
    (part,) = read_parts(tmp_path / f"o{par}" / "r.1001.exr")
    assert part.attr("PixelAspectRatio") == par
    light = part.pixels[..., 0].astype(np.float64)
    total = light.sum()
    ys, xs = np.mgrid[: light.shape[0], : light.shape[1]]
    # a uniform disk (ellipse) of semi-axis a has variance a^2 / 4 along that axis
    cx, cy = (light * xs).sum() / total, (light * ys).sum() / total
    a_x = 2 * np.sqrt((light * (xs - cx) ** 2).sum() / total)
    a_y = 2 * np.sqrt((light * (ys - cy) ** 2).sum() / total)
    return float(total), float(a_x), float(a_y)


def test_pixel_aspect_2_gives_a_disk_that_is_round_when_displayed(tmp_path):
    energy_1, half_width_1, half_height_1 = _point_light_spread(tmp_path, 1.0)
    energy_2, half_width_2, half_height_2 = _point_light_spread(tmp_path, 2.0)
    # square pixels: a round disk of radius K * 0.9 = 7.2 px
    assert half_width_1 == pytest.approx(7.2, abs=0.3) and half_height_1 == pytest.approx(7.2, abs=0.3)
    # 2:1 pixels: K stays in horizontal pixels, the disk is twice as many rows
    # tall, so it is round on a display that shows each pixel twice as wide
    assert half_width_2 == pytest.approx(7.2, abs=0.3)
    assert half_height_2 == pytest.approx(14.4, abs=0.5)
    assert energy_2 == pytest.approx(energy_1, rel=1e-3) == pytest.approx(100.0, rel=1e-3)


# -- colour labels ---------------------------------------------------------------------
def _labelled(tmp_path: Path, name: str, attributes: dict) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    pixels = np.concatenate([rgba(9), halves()], -1)
    write_exr_parts(folder / "p.1001.exr", [Part(pixels, ("R", "G", "B", "A", "Z"), formats="float",
                                                 attributes=attributes)])
    return folder / "p.####.exr"


@pytest.mark.parametrize("chromaticities", [CHROMA_709, CHROMA_XYZ], ids=["rec709", "xyz"])
def test_chromaticities_are_kept_and_no_colour_space_is_stamped(tmp_path, chromaticities):
    src = _labelled(tmp_path, "c", {"chromaticities": chromaticities, "whiteLuminance": 100.0})
    code, lines = render(src, tmp_path / "o" / "r.####.exr")
    assert code == 0, lines
    (part,) = read_parts(tmp_path / "o" / "r.1001.exr")
    np.testing.assert_allclose(part.attr("chromaticities"), chromaticities, rtol=1e-6)
    assert part.attr("whiteLuminance") == 100.0
    assert part.attr("colorInteropID") is None and part.attr("oiio:ColorSpace") is None
    near_sharp_far_blurred(part.pixels, np.concatenate([rgba(9), halves()], -1))


def test_a_colour_space_named_by_the_header_is_used_logged_and_kept(tmp_path, caplog):
    src = _labelled(tmp_path, "c", {"colorInteropID": "lin_rec709_scene", "chromaticities": CHROMA_709})
    with caplog.at_level(logging.INFO, logger="focuspull"):
        code, lines = render(src, tmp_path / "o" / "r.####.exr")
    assert code == 0, lines
    assert any("input colour space Linear Rec.709 (sRGB), from the header (lin_rec709_scene)" in r.getMessage()
               for r in caplog.records)
    (part,) = read_parts(tmp_path / "o" / "r.1001.exr")
    assert part.attr("colorInteropID") == "lin_rec709_scene"
    np.testing.assert_allclose(part.attr("chromaticities"), CHROMA_709, rtol=1e-6)
    # read as Rec.709, worked on in ACEScg, written back as Rec.709: sharp pixels unchanged
    near_sharp_far_blurred(part.pixels, np.concatenate([rgba(9), halves()], -1))
    # converted on the way out: the output is labelled as what it now is, the old labels go
    code, lines = render(src, tmp_path / "a" / "r.####.exr", "--output-colorspace", "ACEScg")
    assert code == 0, lines
    (part,) = read_parts(tmp_path / "a" / "r.1001.exr")
    assert part.attr("colorInteropID") == "lin_ap1_scene" and part.attr("chromaticities") is None
    # the user's word overrides the header's: the output is labelled as the user said
    code, lines = render(src, tmp_path / "u" / "r.####.exr", "--input-colorspace", "ACEScg")
    assert code == 0, lines
    (part,) = read_parts(tmp_path / "u" / "r.1001.exr")
    assert part.attr("colorInteropID") == "lin_ap1_scene" and part.attr("chromaticities") is None


def test_a_user_named_colour_space_labels_an_unlabelled_plate(tmp_path):
    src = _labelled(tmp_path, "c", {"chromaticities": CHROMA_709})
    code, lines = render(src, tmp_path / "o" / "r.####.exr", "--input-colorspace", "lin_rec709_scene")
    assert code == 0, lines
    (part,) = read_parts(tmp_path / "o" / "r.1001.exr")
    np.testing.assert_allclose(part.attr("chromaticities"), CHROMA_709, rtol=1e-6)  # kept
    assert part.attr("colorInteropID") == "lin_rec709_scene"


# -- the writer's answers to what OpenImageIO cannot write -------------------------------
def _template(channels, tiles=0, mip_levels=1, name=""):
    import OpenImageIO as oiio

    spec = oiio.ImageSpec(W, H, len(channels), "half")
    spec.channelnames = channels
    spec.tile_width = spec.tile_height = tiles
    if mip_levels > 1:
        spec.attribute("oiio:miplevels", mip_levels)
    if name:
        spec.attribute("name", name)
    return spec


def test_multipart_parts_that_mix_tiles_and_scanlines_take_the_first_parts_layout(tmp_path):
    from focuspull.io.write import PartOut, write_parts

    rgb, z = texture(1), halves()
    write_parts(tmp_path / "m.exr", [PartOut(rgb, ("R", "G", "B"), _template(("R", "G", "B"), tiles=16, name="a")),
                                     PartOut(z, ("Z",), _template(("Z",), name="b"))])
    first, second = read_parts(tmp_path / "m.exr")
    assert (first.spec.tile_width, second.spec.tile_width) == (16, 16)
    assert second.attr("focuspull/tiles") == "input part had scanlines; written as the first part is"
    assert first.attr("focuspull/tiles") is None
    np.testing.assert_array_equal(second.pixels[..., 0], z[..., 0])


def test_a_mipmapped_part_of_a_multipart_file_is_one_level_and_says_so(tmp_path):
    from focuspull.io.write import PartOut, write_parts

    write_parts(tmp_path / "m.exr", [
        PartOut(texture(1), ("R", "G", "B"), _template(("R", "G", "B"), tiles=16, mip_levels=6, name="a")),
        PartOut(halves(), ("Z",), _template(("Z",), tiles=16, name="b")),
    ])
    first, second = read_parts(tmp_path / "m.exr")
    assert len(first.levels) == 1 and first.attr("oiio:miplevels", 1) == 1
    assert first.attr("focuspull/mip_levels") == "1 of the input's 6: written as a single level"
