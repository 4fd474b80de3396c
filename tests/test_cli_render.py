"""End to end through the CLI: a tiny EXR plate with a Z channel goes in,
refocused EXRs come out; every bad input gets one line, an error event, a
non-zero exit, no output and an untouched input."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from focuspull.cli import main

W, H = 64, 40
NEAR_Z, FAR_Z, K = 1.0, 10.0, 8.0  # CoC of the out-of-focus half: 8 * |1 - 0.1| = 7.2 px
FRAMES = (1001, 1002, 1003)


def plate_frame(frame: int) -> np.ndarray:
    """RGBA + Z: left half near, right half far, both richly textured."""
    rng = np.random.default_rng(frame)
    rgb = rng.uniform(0.0, 2.0, (H, W, 3)).astype(np.float32)
    rgb[5, 50] = 40.0  # an HDR highlight in the far half
    z = np.where(np.arange(W)[None, :] < W // 2, NEAR_Z, FAR_Z) * np.ones((H, 1))
    return np.concatenate([rgb, np.ones((H, W, 1)), z[..., None]], -1).astype(np.float32)


@pytest.fixture
def plate(tmp_path, write_exr):
    folder = tmp_path / "plate"
    folder.mkdir()
    for f in FRAMES:
        write_exr(
            folder / f"plate.{f}.exr",
            plate_frame(f),
            ("R", "G", "B", "A", "Z"),
            formats=("float",) * 5,
            compression="piz",
            data_origin=(4, 2),
            display_window=(0, 0, W + 8, H + 4),
            pixel_aspect=2.0,
            attributes={"capDate": "2026:11:21 10:00:00", "studio/shot": "sh010"},
        )
    return folder / "plate.####.exr"


def read(path):
    buf = oiio.ImageBuf(str(path))
    assert not buf.has_error, buf.geterror()
    return buf.spec(), buf.get_pixels(oiio.FLOAT)


def render(*args, capsys=None):
    code = main(["render", *map(str, args)])
    return code


def test_render_keeps_the_header_and_moves_the_sharp_plane(plate, tmp_path, capsys):
    out = tmp_path / "out" / "refocus.%04d.exr"
    code = main([
        "render", str(plate), "-o", str(out), "--frames", "1001-1003",
        "--depth-channel", "Z", "--focus", f"1001:{NEAR_Z},1003:{FAR_Z}:linear", "--strength", str(K),
        "--pixel-type", "float", "--progress", "jsonl",
    ])
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [e["event"] for e in events] == ["start", "frame", "frame", "frame", "done"]
    assert [e["frame"] for e in events if e["event"] == "frame"] == list(FRAMES)

    spec, grown = read(tmp_path / "out" / "refocus.1001.exr")
    assert list(spec.channelnames) == ["R", "G", "B", "A", "Z"]
    # The blurred far half spreads its light past the data window, which grows
    # to hold it, up to the display window.
    assert (spec.x, spec.y, spec.width, spec.height) == (0, 0, W + 8, H + 4)
    assert grown[2 : H + 2, W + 4 :, 3].min() > 0.05  # light right of the old window
    # The sharp near half spreads (almost) nothing left: only the engine's fill of
    # the hidden background, blurred, leaks a trace into the empty margin.
    assert grown[:, :4, 3].max() < 0.05  # (the blurred far half gives > 0.05 everywhere right)
    assert not grown[2 : H + 2, W + 4 :, 4].any()  # depth is zero outside its old window
    pixels = grown[2 : H + 2, 4 : W + 4]
    assert (spec.full_x, spec.full_y, spec.full_width, spec.full_height) == (0, 0, W + 8, H + 4)
    assert spec.get_float_attribute("PixelAspectRatio") == 2.0
    assert spec.get_string_attribute("compression") == "piz"
    assert spec.get_string_attribute("studio/shot") == "sh010"
    assert spec.get_string_attribute("focuspull/engine") == "physical"
    assert spec.get_float_attribute("focuspull/focus_disparity") == pytest.approx(1 / NEAR_Z)

    src = plate_frame(1001)
    # Depth passes through untouched; alpha stays 1 over the opaque plate except
    # where the blurred far half meets the empty margin (its CoC is 7.2 px wide
    # and, on this 2:1 anamorphic plate, 14.4 rows tall).
    np.testing.assert_array_equal(pixels[..., 4], src[..., 4])
    np.testing.assert_allclose(pixels[:, : W // 2, 3], 1.0, atol=1e-5)
    np.testing.assert_allclose(pixels[16 : H - 16, W // 2 + 9 : W - 12, 3], 1.0, atol=5e-3)
    assert pixels[0, W // 2 + 9 :, 3].max() < 0.95
    # Frame 1001 focuses near: the near half is unchanged, the far half is blurred.
    np.testing.assert_array_equal(pixels[:, : W // 2, :3], src[:, : W // 2, :3])
    far = slice(W // 2 + 9, W)
    assert np.abs(pixels[:, far, :3] - src[:, far, :3]).mean() > 0.2
    # Frame 1003 focuses far: the far half away from the near half's spread is unchanged.
    _, last = read(tmp_path / "out" / "refocus.1003.exr")
    last = last[2 : H + 2, 4 : W + 4]
    src3 = plate_frame(1003)
    np.testing.assert_allclose(last[:, far, :3], src3[:, far, :3], rtol=1e-5, atol=1e-5)
    assert np.abs(last[:, 2 : W // 2 - 9, :3] - src3[:, 2 : W // 2 - 9, :3]).mean() > 0.2
    # In between, focus at 1/disparity midpoint: both halves are blurred.
    _, mid = read(tmp_path / "out" / "refocus.1002.exr")
    mid = mid[2 : H + 2, 4 : W + 4]
    src2 = plate_frame(1002)
    assert np.abs(mid[:, :20, :3] - src2[:, :20, :3]).mean() > 0.05
    assert np.abs(mid[:, far, :3] - src2[:, far, :3]).mean() > 0.05


def test_energy_of_the_highlight_is_kept_not_clipped(tmp_path, write_exr):
    # square pixels: a round kernel (the anamorphic case is tested in test_io_exr_cases)
    (tmp_path / "p").mkdir()
    write_exr(tmp_path / "p" / "plate.1001.exr", plate_frame(1001), ("R", "G", "B", "A", "Z"), formats="float",
              data_origin=(4, 2), display_window=(0, 0, W + 8, H + 4))
    out = tmp_path / "o" / "r.####.exr"
    # --overscan 20: room past the display window for all the light of the
    # blurred far half (CoC 7.2 px).
    assert main(["render", str(tmp_path / "p" / "plate.####.exr"), "-o", str(out), "--focus", str(NEAR_Z),
                 "--strength", str(K), "--pixel-type", "float", "--progress", "none", "--overscan", "20"]) == 0
    spec, pixels = read(tmp_path / "o" / "r.1001.exr")
    # grown by the margin (CoC + 5% + 2 = 10 px), not by all the overscan
    assert (spec.x, spec.y, spec.width, spec.height) == (4 - 10, 2 - 10, W + 20, H + 20)
    src = plate_frame(1001)
    # Total light is preserved within 1% (the highlight is 40x the texture),
    # counting what spread past the data window (some of the far half's light
    # lands above and below the sharp near half there).
    assert pixels[..., :3].sum() == pytest.approx(src[..., :3].sum(), rel=0.01)
    np.testing.assert_array_equal(pixels[10:-10, 10 : 10 + W // 2 - 9, :3], src[:, : W // 2 - 9, :3])
    assert pixels[..., :3].max() > 1.0  # spread, never clipped to 1


def test_worker_entry_point_speaks_jsonl(plate, tmp_path):
    job = tmp_path / "job.json"
    out = tmp_path / "w" / "r.####.exr"
    assert main(["render", str(plate), "-o", str(out), "--focus", "2", "--strength", "4", "--write-job", str(job)]) == 0
    assert not (tmp_path / "w").exists() or not list((tmp_path / "w").iterdir())
    proc = subprocess.run(
        [sys.executable, "-m", "focuspull", "render", "--job", str(job), "--progress", "jsonl", "--frames", "1002"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    assert events[-1]["event"] == "done" and events[-1]["frames"] == 1
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["r.1002.exr"]


# -- bad input ---------------------------------------------------------------------
def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def run_bad(tmp_path, capsys, plate_folder, *args):
    before = digest(plate_folder)
    code = main(["render", *map(str, args), "--progress", "jsonl"])
    captured = capsys.readouterr()
    assert code != 0
    events = [json.loads(line) for line in captured.out.splitlines()]
    assert events and events[-1]["event"] == "error"
    err_lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(err_lines) == 1, captured.err
    assert digest(plate_folder) == before  # the input is never touched
    out = tmp_path / "out"
    leftovers = list(out.rglob("*")) if out.exists() else []
    assert leftovers == [], leftovers  # nothing (half-)written
    return events[-1], err_lines[0]


def base_args(plate, tmp_path):
    return [plate, "-o", tmp_path / "out" / "r.####.exr", "--focus", "2", "--strength", "4"]


def test_missing_frames_are_listed(plate, tmp_path, capsys):
    event, line = run_bad(tmp_path, capsys, plate.parent, *base_args(plate, tmp_path), "--frames", "1000-1005")
    assert event["code"] == "missing_frames"
    assert "1000" in line and "1004-1005" in line


def test_depth_of_another_size(plate, tmp_path, capsys, write_exr):
    """Another picture aspect is an error naming file and sizes (another resolution
    of the same aspect is resampled: tests/test_depth_conventions.py)."""
    depth_dir = tmp_path / "depth"
    depth_dir.mkdir()
    for f in FRAMES:
        write_exr(depth_dir / f"z.{f}.exr", np.full((H // 3, W // 2, 1), 3.0), ("Z",))
    event, line = run_bad(tmp_path, capsys, plate.parent, *base_args(plate, tmp_path), "--depth", depth_dir / "z.####.exr")
    assert event["code"] == "bad_pixels"
    assert "z.1001.exr" in line and "32x13" in line and "64x40" in line and "aspect" in line


def test_nan_pixels_name_frame_and_count(tmp_path, capsys, write_exr):
    folder = tmp_path / "nan"
    folder.mkdir()
    for f in FRAMES:
        px = plate_frame(f)
        if f == 1001:
            px[3, 3, 0] = np.nan
            px[4, 4, 1] = np.inf
        write_exr(folder / f"p.{f}.exr", px, ("R", "G", "B", "A", "Z"), formats="float")
    event, line = run_bad(tmp_path, capsys, folder, folder / "p.####.exr", "-o", tmp_path / "out" / "r.####.exr",
                          "--focus", "2", "--strength", "4")
    assert "p.1001.exr" in line and "frame 1001" in line and "2 pixel(s)" in line


def test_negative_depth(tmp_path, capsys, write_exr):
    folder = tmp_path / "neg"
    folder.mkdir()
    px = plate_frame(1001)
    px[:5, :5, 4] = -1.0
    write_exr(folder / "p.1001.exr", px, ("R", "G", "B", "A", "Z"), formats="float")
    event, line = run_bad(tmp_path, capsys, folder, folder / "p.####.exr", "-o", tmp_path / "out" / "r.####.exr",
                          "--focus", "2", "--strength", "4")
    assert "frame 1001" in line and "25 depth pixel(s) are negative" in line


def test_corrupt_file_is_named(plate, tmp_path, capsys):
    victim = plate.parent / "plate.1002.exr"
    victim.write_bytes(victim.read_bytes()[:300])  # truncated
    event, line = run_bad(tmp_path, capsys, plate.parent, *base_args(plate, tmp_path))
    assert "plate.1002.exr" in line


def test_output_equal_to_input_is_refused(plate, tmp_path, capsys):
    other_form = str(plate).replace("####", "%04d")
    event, line = run_bad(tmp_path, capsys, plate.parent, plate, "-o", other_form, "--focus", "2", "--strength", "4")
    assert event["code"] == "output_error" and "input" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere; chmod does not stop it")
def test_unwritable_output_folder(plate, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        event, line = run_bad(tmp_path, capsys, plate.parent, plate, "-o", locked / "r.####.exr", "--focus", "2",
                              "--strength", "4")
    finally:
        locked.chmod(0o700)
    assert event["code"] == "output_error" and "not writable" in line


def test_output_folder_that_cannot_be_created(plate, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    event, line = run_bad(tmp_path, capsys, plate.parent, plate, "-o", blocker / "sub" / "r.####.exr",
                          "--focus", "2", "--strength", "4")
    assert event["code"] == "output_error" and str(blocker) in line


def test_unknown_colour_space_lists_close_names(plate, tmp_path, capsys):
    event, line = run_bad(tmp_path, capsys, plate.parent, *base_args(plate, tmp_path), "--input-colorspace", "ACEScgg")
    assert event["code"] == "color_error" and "ACEScg" in line


@pytest.mark.parametrize("curve, message", [("1010:2,1001:3", "not sorted"), ("1001:2,1001:3", "duplicate key")])
def test_bad_curve(plate, tmp_path, capsys, curve, message):
    args = [plate, "-o", tmp_path / "out" / "r.####.exr", "--focus", curve, "--strength", "4"]
    event, line = run_bad(tmp_path, capsys, plate.parent, *args)
    assert event["code"] == "invalid_curve" and message in line and "--focus" in line


def test_unwritable_output_folder_as_root_too(plate, tmp_path, capsys, monkeypatch):
    """Root ignores permissions, so CI (root) tests the check through os.access."""
    import focuspull.pipeline as pipeline

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(pipeline.os, "access", lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    event, line = run_bad(tmp_path, capsys, plate.parent, plate, "-o", locked / "r.####.exr", "--focus", "2",
                          "--strength", "4")
    assert event["code"] == "output_error" and "not writable" in line and str(locked) in line
