"""Depth conventions -> disparity: a known answer for each, sky and empty pixels,
resampling of a depth pass of another resolution, and bad depth that names the
file and the frame."""

from __future__ import annotations

import json
import logging

import numpy as np
import OpenImageIO as oiio
import pytest

from focuspull.cli import main
from focuspull.depth import check_depth_size, resample, to_disparity
from focuspull.errors import ImageDataError, JobError
from focuspull.job import DepthSpec, Job

W, H = 48, 32
FRAMES = (1001, 1002)


# -- each convention ---------------------------------------------------------------
def test_camera_distance_is_inverted_and_sky_is_infinitely_far():
    z = np.array([[2.0, 4.0, 0.0, np.inf, np.nan, 0.5]], np.float32)
    d = to_disparity(z, "depth", source="z.exr", frame=1001)
    np.testing.assert_allclose(d, [[0.5, 0.25, 0.0, 0.0, 0.0, 2.0]])


def test_inverse_depth_is_used_as_is_with_zero_and_nan_far():
    # Nuke's ScanlineRender writes 1/z: 0.5 is 2 units away, 0 is empty (no geometry).
    inv = np.array([[0.5, 0.25, 0.0, np.nan, 2.0]], np.float32)
    d = to_disparity(inv, "inverse_depth", source="scanline.exr", frame=7)
    np.testing.assert_allclose(d, [[0.5, 0.25, 0.0, 0.0, 2.0]])
    # The same scene given as distance gives the same disparity.
    z = np.array([[2.0, 4.0, np.inf, 0.0, 0.5]], np.float32)
    np.testing.assert_allclose(to_disparity(z, "depth", source="z.exr", frame=7), d)


def test_normalized_disparity_is_used_as_is_and_must_be_within_0_1():
    d = np.array([[0.0, 0.25, 1.0]], np.float32)
    assert to_disparity(d, "normalized_disparity", source="d.png", frame=3).tolist() == [[0.0, 0.25, 1.0]]
    with pytest.raises(ImageDataError, match=r"d\.exr: frame 3: 2 pixel\(s\) of a normalized disparity map are above 1"):
        to_disparity(np.array([[0.5, 1.5, 3.0]], np.float32), "normalized_disparity", source="d.exr", frame=3)
    # Any scale is fine for plain disparity.
    assert to_disparity(np.array([[3.0, 0.0]], np.float32), "disparity", source="d.exr", frame=3).tolist() == [[3.0, 0.0]]


def test_kind_aliases_and_defaults():
    assert DepthSpec(kind="far_zero").kind == "inverse_depth"  # ZDefocus math "far = 0"
    assert DepthSpec(kind="distance").kind == "depth"
    assert DepthSpec().kind == "depth"
    assert DepthSpec(source="estimate").kind == "normalized_disparity"
    assert DepthSpec(kind="inverse_depth").is_metric and not DepthSpec(kind="disparity").is_metric
    with pytest.raises(JobError, match="does not apply to estimated depth"):
        DepthSpec(source="estimate", kind="depth")


def test_old_jobs_still_load_and_focus_auto_follows_the_kind():
    base = {"schema": "focuspull.job/1", "input": {"pattern": "p.####.exr"}, "focus": 2.0, "strength": 10,
            "output": {"pattern": "o.####.exr"}}
    assert Job.from_dict({**base, "depth": {"kind": "depth"}}).focus_mode == "distance"
    assert Job.from_dict({**base, "depth": {"kind": "inverse_depth"}}).focus_mode == "distance"
    assert Job.from_dict({**base, "depth": {"kind": "disparity"}}).focus_mode == "disparity"
    job = Job.from_dict({**base, "depth": {"kind": "far_zero", "channel": "depth.Z"}})
    assert Job.from_dict(json.loads(job.dumps())) == job


# -- bad depth ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind, values, message",
    [
        ("depth", np.zeros((4, 4)), r"z\.exr: frame 1004: every depth pixel is 0, inf or NaN"),
        ("inverse_depth", np.zeros((4, 4)), r"z\.exr: frame 1004: every inverse-depth pixel is 0 or NaN"),
        ("disparity", np.zeros((4, 4)), r"z\.exr: frame 1004: every disparity pixel is 0"),
        ("normalized_disparity", np.zeros((4, 4)), r"z\.exr: frame 1004: every disparity pixel is 0"),
        ("disparity", np.array([[np.nan, 1.0, np.nan]]), r"z\.exr: frame 1004: 2 disparity pixel\(s\) are NaN or inf"),
        ("depth", np.array([[2.0, -1.0, -3.0]]), r"z\.exr: frame 1004: 2 depth pixel\(s\) are negative"),
        ("inverse_depth", np.array([[0.5, np.inf]]), r"z\.exr: frame 1004: 1 inverse-depth pixel\(s\) are \+inf"),
        ("inverse_depth", np.array([[0.5, -0.5]]), r"z\.exr: frame 1004: 1 inverse-depth pixel\(s\) are negative"),
    ],
)
def test_bad_depth_names_file_and_frame(kind, values, message):
    with pytest.raises(ImageDataError, match=message):
        to_disparity(np.asarray(values, np.float32), kind, source="z.exr", frame=1004)


def test_size_check_allows_another_resolution_but_not_another_aspect():
    assert check_depth_size((24, 16), (48, 32), path="z.exr", frame=1) is True
    assert check_depth_size((48, 32), (48, 32), path="z.exr", frame=1) is False
    with pytest.raises(ImageDataError, match=r"z\.exr: frame 9: depth is 24x20 but the plate is 48x32"):
        check_depth_size((24, 20), (48, 32), path="z.exr", frame=9)


def test_resample_halving_is_a_box_average_and_doubling_keeps_constants():
    d = np.arange(16, dtype=np.float32).reshape(4, 4)
    half = resample(d, (2, 2))
    np.testing.assert_allclose(half, [[2.5, 4.5], [10.5, 12.5]], atol=1e-5)
    np.testing.assert_allclose(resample(np.full((3, 5), 0.25, np.float32), (10, 6)), 0.25)


# -- through the CLI ------------------------------------------------------------------------
@pytest.fixture
def plate(tmp_path, write_exr):
    folder = tmp_path / "plate"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for f in FRAMES:
        rgba = np.concatenate([rng.uniform(0, 1, (H, W, 3)), np.ones((H, W, 1))], -1)
        write_exr(folder / f"p.{f}.exr", rgba, ("R", "G", "B", "A"), formats="float")
    return folder / "p.####.exr"


def render(*args):
    return main(["render", *map(str, args), "--progress", "none", "--pixel-type", "float"])


def read(path):
    buf = oiio.ImageBuf(str(path))
    assert not buf.has_error, buf.geterror()
    return buf.spec(), buf.get_pixels(oiio.FLOAT)


def test_half_resolution_depth_is_resampled_with_a_warning(plate, tmp_path, write_exr, caplog):
    """A half-size 1/z pass with the near half on the left renders like the full-size one."""
    half = tmp_path / "half"
    full = tmp_path / "full"
    half.mkdir()
    full.mkdir()
    for f in FRAMES:
        inv = np.where(np.arange(W // 2) < W // 4, 1.0, 0.1)[None, :] * np.ones((H // 2, 1))
        write_exr(half / f"z.{f}.exr", inv, ("Z",), formats="float")
        write_exr(full / f"z.{f}.exr", np.repeat(np.repeat(inv, 2, 0), 2, 1), ("Z",), formats="float")
    common = [plate, "--focus", "1.0", "--strength", "4", "--depth-kind", "inverse_depth"]
    with caplog.at_level(logging.WARNING, logger="focuspull"):
        assert render(*common, "--depth", half / "z.####.exr", "-o", tmp_path / "a" / "r.####.exr") == 0
    assert any("is 24x16 but the plate is 48x32" in r.getMessage() and "resampling" in r.getMessage()
               for r in caplog.records)
    assert render(*common, "--depth", full / "z.####.exr", "-o", tmp_path / "b" / "r.####.exr") == 0
    _, a = read(tmp_path / "a" / "r.1001.exr")
    _, b = read(tmp_path / "b" / "r.1001.exr")
    # Away from the step (where bilinear resampling blends a column), the two renders agree.
    np.testing.assert_allclose(a[:, :18], b[:, :18], atol=1e-5)
    np.testing.assert_allclose(a[:, 30:], b[:, 30:], atol=1e-4)


def test_missing_depth_frames_are_named(plate, tmp_path, write_exr, capsys):
    depth = tmp_path / "z"
    depth.mkdir()
    write_exr(depth / "z.1001.exr", np.full((H, W, 1), 2.0), ("Z",), formats="float")
    code = main(["render", str(plate), "-o", str(tmp_path / "o" / "r.####.exr"), "--focus", "2", "--strength", "4",
                 "--depth", str(depth / "z.####.exr"), "--progress", "jsonl"])
    assert code != 0
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert event["code"] == "missing_frames" and "z.####.exr" in event["message"] and "1002" in event["message"]


def test_nan_in_a_disparity_sequence_names_file_and_frame(plate, tmp_path, write_exr, capsys):
    depth = tmp_path / "d"
    depth.mkdir()
    for f in FRAMES:
        d = np.full((H, W, 1), 0.5)
        if f == 1002:
            d[3:5, 3:6] = np.nan
        write_exr(depth / f"d.{f}.exr", d, ("Y",), formats="float")
    code = main(["render", str(plate), "-o", str(tmp_path / "o" / "r.####.exr"), "--focus", "0.5", "--strength", "4",
                 "--depth", str(depth / "d.####.exr"), "--depth-kind", "disparity", "--progress", "jsonl"])
    assert code != 0
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert event["code"] == "bad_pixels"
    assert "d.1002.exr" in event["message"] and "frame 1002" in event["message"] and "6 disparity pixel(s)" in event["message"]
