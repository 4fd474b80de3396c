"""The weights folder as users download it: the models check and the loader agree on what is there.

The Any-to-Bokeh release ships ``checkpoints/unet/unet/`` (its demo loads the
UNet with ``subfolder="unet"``) and ``checkpoints/vae/``; SVD-XT ships its
image encoder as ``model.safetensors`` and the variant ``model.fp16.safetensors``
and may be copied in whole as ``stable-video-diffusion-img2vid-xt/``. The
layouts are built here from a tiny random model and loaded by the real loader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from focuspull.engines.neural.loader import load_models, read_state_dict  # noqa: E402
from focuspull.errors import WeightsError  # noqa: E402
from focuspull.models import model_status, require_model  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")

SVD = "stable-video-diffusion-img2vid-xt"


@pytest.fixture(scope="module")
def fp16_encoder(tiny_neural_weights, tmp_path_factory):
    """The tiny image encoder saved as SVD-XT ships it for the demo: only ``model.fp16.safetensors``."""
    from transformers import CLIPVisionModelWithProjection

    folder = tmp_path_factory.mktemp("encoder") / "image_encoder"
    encoder = CLIPVisionModelWithProjection.from_pretrained(str(tiny_neural_weights / "image_encoder"))
    encoder.half().save_pretrained(str(folder), variant="fp16")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.fp16.safetensors"]
    return folder


def release_layout(weights: Path, root: Path, encoder: Path) -> Path:
    """checkpoints/{unet/unet, vae} + a whole SVD-XT copy whose encoder is the fp16 variant only."""
    shutil.copytree(weights / "unet", root / "unet" / "unet")
    shutil.copytree(weights / "vae", root / "vae")
    shutil.copytree(encoder, root / SVD / "image_encoder")
    shutil.copytree(weights / "feature_extractor", root / SVD / "feature_extractor")
    return root


def test_the_release_layout_is_found_and_loads(tiny_neural_weights, fp16_encoder, tmp_path):
    root = release_layout(tiny_neural_weights, tmp_path / "checkpoints", fp16_encoder)
    status = model_status("any-to-bokeh", root)
    assert status.present, status.missing
    assert dict(status.located) == {
        "unet": root / "unet" / "unet",
        "vae": root / "vae",
        "image_encoder": root / SVD / "image_encoder",
        "feature_extractor": root / SVD / "feature_extractor",
    }
    models = load_models(root, torch.device("cpu"), torch.float32)
    saved = read_state_dict(tiny_neural_weights / "unet")
    assert all(torch.equal(models.unet.state_dict()[k], v) for k, v in saved.items())
    # the fp16 variant, upcast to the run's float32
    from safetensors.torch import load_file

    half = load_file(str(fp16_encoder / "model.fp16.safetensors"))
    name = next(k for k in half if k.endswith("patch_embedding.weight"))
    loaded = models.image_encoder.state_dict()[name]
    assert loaded.dtype == torch.float32 and torch.equal(loaded, half[name].float())


def test_an_fp16_only_encoder_in_the_flat_layout_loads_too(tiny_neural_weights, fp16_encoder, tmp_path):
    root = tmp_path / "flat"
    shutil.copytree(tiny_neural_weights, root)
    shutil.rmtree(root / "image_encoder")
    shutil.copytree(fp16_encoder, root / "image_encoder")
    assert model_status("any-to-bokeh", root).present
    models = load_models(root, torch.device("cpu"), torch.float32)
    assert models.image_encoder.config.projection_dim == 16


def test_an_incomplete_part_is_reported_where_it_is_and_the_loader_reads_the_complete_one(
    tiny_neural_weights, fp16_encoder, tmp_path
):
    root = release_layout(tiny_neural_weights, tmp_path / "checkpoints", fp16_encoder)
    # A half-copied encoder at the top level does not hide the complete one inside the SVD-XT copy...
    (root / "image_encoder").mkdir()
    shutil.copy(fp16_encoder / "config.json", root / "image_encoder" / "config.json")
    status = model_status("any-to-bokeh", root)
    assert status.present and status.part_path("image_encoder") == root / SVD / "image_encoder"
    # ...and a UNet folder without weights is reported in the nested folder where its config is.
    (root / "unet" / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    status = model_status("any-to-bokeh", root)
    assert status.missing == ("unet/unet/diffusion_pytorch_model.safetensors",)
    with pytest.raises(WeightsError, match=r"incomplete \(missing unet/unet/diffusion_pytorch_model.safetensors\)"):
        require_model("any-to-bokeh", root)
    with pytest.raises(WeightsError, match="incomplete"):
        load_models(root, torch.device("cpu"), torch.float32)


def test_models_command_says_what_is_missing_and_where_it_goes(tiny_neural_weights, fp16_encoder, tmp_path, capsys):
    from focuspull.cli import main

    root = tmp_path / "checkpoints"
    shutil.copytree(tiny_neural_weights / "unet", root / "unet" / "unet")  # only the release's UNet so far
    assert main(["models", "--weights", str(root)]) == 0
    text = capsys.readouterr().out
    assert "any-to-bokeh: incomplete" in text
    assert f"ok (in {root / 'unet' / 'unet'})" in text
    assert f"missing {root / 'vae' / 'config.json'}, {root / 'vae' / 'diffusion_pytorch_model.safetensors'}" in text
    assert f"missing {root / 'image_encoder' / 'config.json'}, {root / 'image_encoder' / 'model.safetensors'}" in text
    assert f"also accepted in {SVD}/image_encoder/" in text
    assert main(["models", "--weights", str(root), "--json"]) == 0
    entry = {m["name"]: m for m in json.loads(capsys.readouterr().out)["models"]}["any-to-bokeh"]
    assert entry["found"] == {"unet": str(root / "unet" / "unet")}
    assert "vae/config.json" in entry["missing"] and "feature_extractor/preprocessor_config.json" in entry["missing"]
