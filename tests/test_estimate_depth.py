"""Depth estimated from the plate: a tiny randomly initialised Depth Anything saved
to a temporary folder and loaded through the very same code as the real one;
one normalisation for the whole shot; flow-guided stabilisation that measurably
reduces frame-to-frame change; the estimated depth written next to the output."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import OpenImageIO as oiio
import pytest

pytest.importorskip("transformers")
cv2 = pytest.importorskip("cv2")

from focuspull.cli import main  # noqa: E402
from focuspull.errors import WeightsError  # noqa: E402
from focuspull.estimate.model import DepthEstimator, resolve_model_folder  # noqa: E402
from focuspull.estimate.normalize import ShotNormalization  # noqa: E402
from focuspull.depth_conditioning.temporal import stabilize  # noqa: E402
from focuspull.flow import dense_flow, warp  # noqa: E402

W, H = 64, 40
FRAMES = (1001, 1002, 1003)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A Depth Anything V2 with a 4-layer, 16-wide Dinov2 backbone, random weights."""
    import torch
    from transformers import DepthAnythingConfig, DepthAnythingForDepthEstimation, Dinov2Config, DPTImageProcessor

    backbone = Dinov2Config(hidden_size=16, num_hidden_layers=4, num_attention_heads=2, intermediate_size=32,
                            patch_size=14, image_size=56, out_features=["stage1", "stage2", "stage3", "stage4"],
                            reshape_hidden_states=False)
    config = DepthAnythingConfig(backbone_config=backbone, reassemble_hidden_size=16, neck_hidden_sizes=[8, 8, 16, 16],
                                 fusion_hidden_size=8, head_hidden_size=8, patch_size=14)
    torch.manual_seed(0)
    model = DepthAnythingForDepthEstimation(config)
    with torch.no_grad():  # default init gives an almost constant output; this gives the map some structure
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    folder = tmp_path_factory.mktemp("models") / "tiny-depth-anything"
    model.save_pretrained(folder)
    DPTImageProcessor(size={"height": 56, "width": 56}, keep_aspect_ratio=True, ensure_multiple_of=14,
                      do_pad=False).save_pretrained(folder)
    return folder


def texture(seed, shape, cells=6):
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 1, (shape[0] // cells + 2, shape[1] // cells + 2)).astype(np.float32)
    return cv2.resize(small, (shape[1] + 2 * cells, shape[0] + 2 * cells),
                      interpolation=cv2.INTER_CUBIC)[cells:-cells, cells:-cells].clip(0, 1)


# -- the model ------------------------------------------------------------------------------
def test_the_tiny_model_loads_from_its_folder_and_predicts(tiny_model):
    estimator = DepthEstimator(resolve_model_folder(str(tiny_model)), "cpu")
    image = (np.stack([texture(i, (H, W)) for i in range(3)], -1) * 255).astype(np.uint8)
    other = image[:, ::-1].copy()
    out = estimator.predict([image, other, image])
    assert out.dtype == np.float32 and out.ndim == 3 and out.shape[0] == 3
    assert out.shape[2] % 14 == 0 and out.shape[1] % 14 == 0  # the processor's working size
    np.testing.assert_allclose(out[0], out[2], rtol=1e-4, atol=1e-5)  # deterministic (up to batched float maths)
    assert not np.array_equal(out[0], out[1]) and out[0].std() > 0  # it looks at the image


def test_a_missing_model_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("FOCUSPULL_MODELS", str(tmp_path / "models"))
    monkeypatch.delenv("FOCUSPULL_DEPTH_MODEL", raising=False)
    with pytest.raises(WeightsError, match=r"focuspull models fetch depth-anything-v2-small.*Apache-2.0"):
        resolve_model_folder(None)
    with pytest.raises(WeightsError, match="NON-COMMERCIAL"):
        resolve_model_folder("depth-anything-v2-large")
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "config.json").write_text("{}")
    with pytest.raises(WeightsError, match=r"incomplete: missing preprocessor_config\.json, model\.safetensors"):
        resolve_model_folder(str(incomplete))
    with pytest.raises(WeightsError, match="neither a folder nor a known model name"):
        resolve_model_folder(str(tmp_path / "nowhere"))


def test_the_registry_lists_the_depth_models_with_their_licences():
    from focuspull.models import MODELS

    assert MODELS["depth-anything-v2-small"].commercial_use and MODELS["depth-anything-v2-small"].licence == "Apache-2.0"
    for name in ("depth-anything-v2-base", "depth-anything-v2-large"):
        assert not MODELS[name].commercial_use and MODELS[name].licence == "CC-BY-NC-4.0"


# -- normalisation --------------------------------------------------------------------------------
def test_one_mapping_for_the_whole_shot():
    rng = np.random.default_rng(0)
    wide = rng.uniform(0.0, 10.0, (40, 50)).astype(np.float32)  # a frame with the whole range
    narrow = rng.uniform(4.0, 6.0, (40, 50)).astype(np.float32)  # a frame where the subject fills the view
    mapping = ShotNormalization.fit([wide, narrow], (1.0, 99.0))
    pooled = np.concatenate([wide.ravel(), narrow.ravel()])
    low, high = np.percentile(pooled, (1, 99))
    assert (mapping.low, mapping.high) == pytest.approx((low, high), rel=1e-6)
    for frame in (wide, narrow):
        probe = frame.copy()
        probe[0, :3] = (low, high, 0.5 * (low + high))
        np.testing.assert_allclose(mapping.apply(probe)[0, :3], (0.0, 1.0, 0.5), atol=1e-6)
    # The narrow frame is not stretched to 0..1 (which is what would make the blur pump).
    out = mapping.apply(narrow)
    assert 0.3 < out.min() and out.max() < 0.7


def test_a_flat_estimate_is_an_error():
    from focuspull.errors import ImageDataError

    with pytest.raises(ImageDataError, match="flat over the shot"):
        ShotNormalization.fit([np.zeros((8, 8), np.float32)] * 2)


# -- flow and stabilisation --------------------------------------------------------------------------
def test_dis_flow_finds_a_known_shift_and_warp_undoes_it():
    image = (texture(1, (64, 96)) * 255).astype(np.uint8)
    shifted = np.roll(np.roll(image, 3, axis=1), -2, axis=0)  # content moves right 3, up 2
    flow = dense_flow(image, shifted)
    np.testing.assert_allclose(np.median(flow[10:-10, 10:-10].reshape(-1, 2), axis=0), (3.0, -2.0), atol=0.05)
    back = warp(shifted.astype(np.float32), flow)
    assert np.abs(back[10:-10, 10:-10] - image[10:-10, 10:-10]).mean() < 2.0


def frame_to_frame(frames):
    return float(np.mean([np.abs(b - a).mean() for a, b in zip(frames[3:], frames[4:])]))


def test_stabilisation_reduces_frame_to_frame_change_on_a_static_scene():
    rng = np.random.default_rng(0)
    truth = np.tile(np.linspace(0.2, 1.0, 96, dtype=np.float32), (64, 1))
    gray = (texture(2, (64, 96)) * 255).astype(np.uint8)
    raw = [truth + rng.normal(0, 0.05, truth.shape).astype(np.float32) for _ in range(12)]
    steady = stabilize(raw, [gray] * len(raw), weight=0.5)
    ratio = frame_to_frame(steady) / frame_to_frame(raw)
    # A two-sided filter with weights w^|k| scales frame-to-frame noise by ((1 - w) / (1 + w))^1.5 = 0.19.
    assert ratio == pytest.approx(0.19, abs=0.04)
    # ... and keeps the depth range (no drift of the scale from frame to frame).
    np.testing.assert_allclose(np.percentile(steady[-1], (5, 95)), np.percentile(truth, (5, 95)), atol=0.02)


def test_stabilisation_removes_per_frame_scale_drift_and_follows_motion():
    """A near square moving 2 px a frame over a far background; the raw estimate's
    scale and offset wobble per frame (as a monocular model's do) and it is noisy."""
    rng = np.random.default_rng(1)
    background = texture(3, (64, 140))
    square = texture(4, (16, 16)) * 0.5 + 0.5
    truths, grays, raws = [], [], []
    for t in range(10):
        image = background[:, 20:116].copy()
        truth = np.full((64, 96), 0.2, np.float32)
        x = 20 + 2 * t
        image[24:40, x:x + 16] = square
        truth[24:40, x:x + 16] = 0.9
        scale, shift = 1.0 + 0.15 * rng.standard_normal(), 0.1 * rng.standard_normal()
        raws.append(scale * (truth + rng.normal(0, 0.03, truth.shape)).astype(np.float32) + shift)
        truths.append(truth)
        grays.append((image * 255).astype(np.uint8))
    steady = stabilize(raws, grays, weight=0.5)
    # Every frame is put in the same units (the shot's mean), so one mapping fits the moving truth in all.
    first = np.polyfit(truths[0].ravel(), steady[0].ravel(), 1)
    errors = [np.abs((s - first[1]) / first[0] - t).mean() for s, t in zip(steady, truths)]
    raw_errors = [np.abs((r - first[1]) / first[0] - t).mean() for r, t in zip(raws, truths)]
    assert max(errors[1:]) < 0.04 < 0.1 < np.mean(raw_errors[1:])
    assert frame_to_frame(steady) < 0.5 * frame_to_frame(raws)


# -- through the CLI ------------------------------------------------------------------------------------
@pytest.fixture
def plate(tmp_path, write_exr):
    folder = tmp_path / "plate"
    folder.mkdir()
    for i, f in enumerate(FRAMES):
        rgb = np.stack([texture(10 + c, (H, W + 12))[:, 2 * i: 2 * i + W] for c in range(3)], -1) * 2.0
        write_exr(folder / f"p.{f}.exr", rgb, ("R", "G", "B"), formats="half", data_origin=(2, 1),
                  display_window=(0, 0, W + 4, H + 2))
    return folder / "p.####.exr"


def read(path):
    buf = oiio.ImageBuf(str(path))
    assert not buf.has_error, buf.geterror()
    return buf.spec(), buf.get_pixels(oiio.FLOAT)


def test_estimated_depth_is_written_next_to_the_output_and_reused(plate, tmp_path, tiny_model, caplog, capsys):
    out = tmp_path / "out" / "refocus.####.exr"
    args = ["render", str(plate), "-o", str(out), "--depth-model", str(tiny_model), "--focus", "0.5",
            "--strength", "4", "--progress", "none", "--device", "cpu"]
    assert main([*args[:-4], "--progress", "jsonl", *args[-2:]]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    stages = [e for e in events if e["event"] == "stage"]
    # Estimation, then stabilisation, report their progress before rendering starts, each ending at every
    # frame done.
    assert [e for e in stages if e["stage"] == "depth"][-1]["done"] == len(FRAMES)
    assert [e["stage"] for e in stages][-1] == "stabilize" and stages[-1]["done"] == stages[-1]["total"] == len(FRAMES)
    assert events.index(stages[-1]) < [e["event"] for e in events].index("start")
    depth_files = sorted((tmp_path / "out").glob("refocus_depth.*.exr"))
    assert [p.name for p in depth_files] == [f"refocus_depth.{f}.exr" for f in FRAMES]
    lows = set()
    for path in depth_files:
        spec, pixels = read(path)
        assert list(spec.channelnames) == ["Y"]
        assert (spec.x, spec.y, spec.width, spec.height) == (2, 1, W, H)  # the plate's data window
        assert (spec.full_width, spec.full_height) == (W + 4, H + 2)
        assert spec.get_string_attribute("focuspull/depth_kind") == "normalized_disparity"
        assert 0.0 <= pixels.min() and pixels.max() <= 1.0 and pixels.std() > 0.01
        lows.add((spec.get_float_attribute("focuspull/depth_low"), spec.get_float_attribute("focuspull/depth_high")))
    assert len(lows) == 1  # one mapping for every frame of the shot
    assert all((tmp_path / "out" / f"refocus.{f}.exr").is_file() for f in FRAMES)

    # After the spatial steps the shot is stabilised once more (the edge step decides frame by frame)
    stable_files = sorted((tmp_path / "out").glob("refocus_depth_stable.*.exr"))
    assert [p.name for p in stable_files] == [f"refocus_depth_stable.{f}.exr" for f in FRAMES]

    # A second render (say another farm chunk) finds both and does not estimate or stabilise again.
    stamps = [os.stat(p).st_mtime_ns for p in depth_files + stable_files]
    with caplog.at_level(logging.INFO, logger="focuspull"):
        assert main([*args, "--chunk", "1002-1002"]) == 0
    assert caplog.text.count("reusing") == 2
    assert [os.stat(p).st_mtime_ns for p in depth_files + stable_files] == stamps

    # The written depth can be used as a depth sequence as it is, with the steps that estimated depth
    # gets by default asked for (for a supplied map edges and stabilisation are off unless switched on).
    def reuse(folder: str, *steps: str) -> np.ndarray:
        assert main(["render", str(plate), "-o", str(tmp_path / folder / "r.####.exr"),
                     "--depth", str(tmp_path / "out" / "refocus_depth.####.exr"), "--depth-kind",
                     "normalized_disparity", *steps, "--focus", "0.5", "--strength", "4", "--progress", "none"]) == 0
        return read(tmp_path / folder / "r.1002.exr")[1]

    _, estimated = read(tmp_path / "out" / "refocus.1002.exr")
    np.testing.assert_allclose(reuse("again", "--depth-edges", "on", "--depth-stabilize", "on"), estimated, atol=1e-3)
    assert np.abs(reuse("edges", "--depth-edges", "on") - estimated).max() > 1e-2


def test_a_missing_model_fails_the_render_before_anything_is_written(plate, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FOCUSPULL_MODELS", str(tmp_path / "no-models"))
    monkeypatch.delenv("FOCUSPULL_DEPTH_MODEL", raising=False)
    code = main(["render", str(plate), "-o", str(tmp_path / "out" / "r.####.exr"), "--estimate-depth",
                 "--focus", "0.5", "--strength", "4", "--progress", "jsonl"])
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert code != 0 and event["code"] == "missing_weights"
    assert "focuspull models fetch depth-anything-v2-small" in event["message"]
    out = tmp_path / "out"
    assert not out.exists() or not list(out.iterdir())  # nothing written
