"""``focuspull render --engine neural`` end to end on tiny EXRs (CPU, tiny random model), and ``focuspull models``."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

pytestmark = pytest.mark.usefixtures("torch_one_thread")

H, W = 24, 40
FRAMES = (1001, 1002, 1003)


@pytest.fixture(scope="module")
def weights(tiny_neural_weights):
    return tiny_neural_weights


@pytest.fixture
def plate(tmp_path, write_exr):
    """RGBA + Z (a disparity: left half 1 = in focus at 1, right half 0)."""
    rng = np.random.default_rng(0)
    for frame in FRAMES:
        pixels = np.zeros((H, W, 5), np.float32)
        pixels[..., :3] = rng.uniform(0.0, 0.9, (H, W, 3))
        pixels[..., 3] = 1.0
        pixels[:, : W // 2, 4] = 1.0
        write_exr(tmp_path / f"plate.{frame:04d}.exr", pixels, ("R", "G", "B", "A", "Z"), formats="float")
    return tmp_path


def _render_args(plate, out, *extra):
    return [
        "render", str(plate / "plate.####.exr"), "-o", str(out / "neural.####.exr"),
        "--engine", "neural", "--depth-kind", "disparity", "--depth-channel", "Z",
        "--focus", "1", "--strength", "10", "--pixel-type", "float", "--device", "cpu", "--progress", "jsonl",
        "--option", "working_width=64", "--option", "working_height=64",
        *extra,
    ]


def _read(path):
    import OpenImageIO as oiio

    image = oiio.ImageInput.open(str(path))
    try:
        return image.read_image("float"), tuple(image.spec().channelnames)
    finally:
        image.close()


def _check_render(plate, out, capsys, code):
    assert code == 0, capsys.readouterr().err
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [e["frame"] for e in events if e["event"] == "frame"] == list(FRAMES)
    assert events[-1]["event"] == "done"
    for frame in FRAMES:
        got, channels = _read(out / f"neural.{frame:04d}.exr")
        src, _ = _read(plate / f"plate.{frame:04d}.exr")
        assert channels[:5] == ("R", "G", "B", "A", "Z")
        assert np.isfinite(got).all()
        assert np.array_equal(got[:, : W // 2, :3], src[:, : W // 2, :3])  # in focus: the plate, bit for bit
        assert np.abs(got[:, W // 2 :, :3] - src[:, W // 2 :, :3]).mean() > 0.02  # defocused: the model
        assert np.array_equal(got[..., 3:5], src[..., 3:5])  # alpha and depth untouched


def test_render_neural_end_to_end(plate, weights, tmp_path, capsys):
    from focuspull.cli import main

    out = tmp_path / "out"
    _check_render(plate, out, capsys, main(_render_args(plate, out, "--option", f"weights={weights}")))


def test_render_neural_with_the_weights_flag(plate, weights, tmp_path, capsys):
    from focuspull.cli import build_parser, main

    try:
        build_parser().parse_args(["render", "x", "--weights", "DIR"])
    except SystemExit:
        pytest.skip("render has no --weights flag yet (use --option weights=DIR)")

    out = tmp_path / "out"
    _check_render(plate, out, capsys, main(_render_args(plate, out, "--weights", str(weights))))


def test_render_neural_without_weights_says_what_to_download(plate, tmp_path, capsys, monkeypatch):
    from focuspull.cli import main

    monkeypatch.setenv("FOCUSPULL_MODELS", str(tmp_path / "models"))
    monkeypatch.delenv("FOCUSPULL_WEIGHTS", raising=False)
    code = main(_render_args(plate, tmp_path / "out"))
    captured = capsys.readouterr()
    assert code == 2
    error = [json.loads(line) for line in captured.out.splitlines() if line.startswith("{")][-1]
    assert error["event"] == "error" and error["code"] == "missing_weights"
    for needle in ("any-to-bokeh", "stable-video-diffusion-img2vid-xt", str(tmp_path / "models" / "any-to-bokeh"),
                   "NON-COMMERCIAL", "CC BY-NC 4.0"):
        assert needle in error["message"]
    assert not (tmp_path / "out" / "neural.1001.exr").exists()


def test_models_lists_what_is_installed(weights, tmp_path, capsys, monkeypatch):
    from focuspull.cli import main

    monkeypatch.setenv("FOCUSPULL_MODELS", str(tmp_path / "models"))
    monkeypatch.delenv("FOCUSPULL_WEIGHTS", raising=False)
    assert main(["models", "--json"]) == 0
    listing = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert listing["any-to-bokeh"]["present"] is False
    assert "unet/config.json" in listing["any-to-bokeh"]["missing"]
    assert main(["models", "--weights", str(weights)]) == 0
    text = capsys.readouterr().out
    assert "any-to-bokeh: installed" in text and str(weights) in text and "[non-commercial]" in text
    monkeypatch.setenv("FOCUSPULL_WEIGHTS", str(weights))
    assert main(["models", "--json"]) == 0
    listing = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}
    assert listing["any-to-bokeh"]["present"] is True and listing["any-to-bokeh"]["origin"] == "$FOCUSPULL_WEIGHTS"
