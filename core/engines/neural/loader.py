"""Loading the Any-to-Bokeh weights from a local folder, strictly, by name.

The folder (see ``focuspull.models``) holds ``unet/`` and ``vae/`` from the
Any-to-Bokeh release and ``image_encoder/`` + ``feature_extractor/`` from a
local copy of SVD-XT, each where ``focuspull.models`` finds it (the release's
``unet/unet/`` nesting, SVD-XT's fp16-only encoder variant): the models check
and this loader read the same parts from the same places. Nothing is ever
downloaded. The UNet and VAE skeletons are built on the ``meta`` device and
the checkpoint tensors assigned into them, so loading costs no random
initialisation; every parameter must be in the checkpoint and every
checkpoint tensor must have a place, or the error lists the first names that
do not match.
"""

from __future__ import annotations

import inspect
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from diffusers.models.autoencoders.autoencoder_kl_temporal_decoder import AutoencoderKLTemporalDecoder
from diffusers.models.unets.unet_spatio_temporal_condition import UNetSpatioTemporalConditionModel
from torch import nn

from focuspull.engines.neural.unet import BokehUNet
from focuspull.engines.neural.vae import SkipVAE
from focuspull.errors import WeightsError
from focuspull.models import require_model_status

__all__ = ["AnyToBokehModels", "ImageEncoderSettings", "load_models", "load_unet", "load_vae", "load_image_encoder"]

log = logging.getLogger(__name__)

MODEL_NAME = "any-to-bokeh"
_WEIGHT_FILES = (
    "diffusion_pytorch_model.safetensors",
    "diffusion_pytorch_model.fp16.safetensors",
    "diffusion_pytorch_model.bin",
)
_SHOW = 8  # names listed in a mismatch error


@dataclass(frozen=True)
class ImageEncoderSettings:
    """What the CLIP input needs from ``feature_extractor/preprocessor_config.json``."""

    size: tuple[int, int]  # (height, width)
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


@dataclass
class AnyToBokehModels:
    unet: BokehUNet
    vae: SkipVAE
    image_encoder: nn.Module
    image_settings: ImageEncoderSettings
    folder: Path


def load_models(weights: str | Path | None, device: torch.device, dtype: torch.dtype) -> AnyToBokehModels:
    """Find the folder (``--weights`` > env > models folder) and load all four parts."""
    parts = require_model_status(MODEL_NAME, weights)
    folder = parts.path
    log.info("loading Any-to-Bokeh weights from %s", folder)
    # nn.Module.to, not diffusers' override, which warns about fp32 modules these models do not have.
    unet = nn.Module.to(load_unet(parts.part_path("unet")), device=device, dtype=dtype).eval()
    vae = nn.Module.to(load_vae(parts.part_path("vae")), device=device, dtype=dtype).eval()
    encoder = load_image_encoder(parts.part_path("image_encoder"), dtype).to(device=device).eval()
    settings = load_image_settings(parts.part_path("feature_extractor"))
    return AnyToBokehModels(unet, vae, encoder, settings, folder)


def load_unet(folder: str | Path) -> BokehUNet:
    return _load_strict(BokehUNet, UNetSpatioTemporalConditionModel, Path(folder), "UNet")


def load_vae(folder: str | Path) -> SkipVAE:
    return _load_strict(SkipVAE, AutoencoderKLTemporalDecoder, Path(folder), "VAE")


def load_image_encoder(folder: str | Path, dtype: torch.dtype = torch.float32) -> nn.Module:
    """SVD-XT's CLIP ViT-H image encoder (transformers), strictly.

    SVD-XT ships ``model.safetensors`` and the variant ``model.fp16.safetensors``;
    a folder with only the variant loads it (upcast to ``dtype`` if needed).
    """
    from transformers import CLIPVisionModelWithProjection

    folder = Path(folder)
    full = any((folder / name).is_file() for name in ("model.safetensors", "pytorch_model.bin", "model.safetensors.index.json"))
    variant = None if full or not (folder / "model.fp16.safetensors").is_file() else "fp16"
    try:
        model, info = CLIPVisionModelWithProjection.from_pretrained(
            str(folder), local_files_only=True, output_loading_info=True, dtype=dtype, variant=variant
        )
    except (OSError, ValueError) as err:
        raise WeightsError(f"{folder}: cannot load the CLIP image encoder: {err}") from err
    missing = list(info.get("missing_keys", []))
    unexpected = [k for k in info.get("unexpected_keys", []) if not k.endswith("position_ids")]
    mismatched = [str(m[0]) if isinstance(m, (tuple, list)) else str(m) for m in info.get("mismatched_keys", [])]
    if missing or unexpected or mismatched:
        raise WeightsError(_mismatch_message(folder, "CLIP image encoder", missing, unexpected, mismatched))
    return model


def load_image_settings(folder: str | Path) -> ImageEncoderSettings:
    """Input size and normalisation of the image encoder, read from JSON (no image library needed)."""
    path = Path(folder) / "preprocessor_config.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise WeightsError(f"{path}: cannot read the CLIP feature extractor settings: {err}") from err
    crop = data.get("crop_size", data.get("size", 224))
    if isinstance(crop, dict):
        size = (int(crop.get("height", crop.get("shortest_edge", 224))), int(crop.get("width", crop.get("shortest_edge", 224))))
    else:
        size = (int(crop), int(crop))
    mean = tuple(float(v) for v in data.get("image_mean", (0.48145466, 0.4578275, 0.40821073)))
    std = tuple(float(v) for v in data.get("image_std", (0.26862954, 0.26130258, 0.27577711)))
    return ImageEncoderSettings(size, mean, std)  # type: ignore[arg-type]


# -- strict loading ---------------------------------------------------------------
def _load_strict(cls: type, base: type, folder: Path, what: str) -> Any:
    config = _read_config(folder, what)
    accepted = set(inspect.signature(base.__init__).parameters) - {"self"}
    kwargs = {k: v for k, v in config.items() if k in accepted}
    try:
        with torch.device("meta"):
            model = cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise WeightsError(f"{folder / 'config.json'}: not a valid {what} config: {err}") from err
    state = read_state_dict(folder, what)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    mismatched = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or mismatched:
        raise WeightsError(_mismatch_message(folder, what, missing, unexpected, mismatched))
    model.load_state_dict(state, strict=True, assign=True)
    leftover = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if t.is_meta]
    if leftover:
        raise WeightsError(f"{folder}: {what} tensors not set by the checkpoint: {', '.join(leftover[:_SHOW])}")
    return model


def _read_config(folder: Path, what: str) -> dict[str, Any]:
    path = folder / "config.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise WeightsError(f"{path}: the {what} config is missing") from err
    except (OSError, ValueError) as err:
        raise WeightsError(f"{path}: cannot read the {what} config: {err}") from err
    if not isinstance(data, dict):
        raise WeightsError(f"{path}: the {what} config is not a JSON object")
    return data


def read_state_dict(folder: Path, what: str = "model") -> dict[str, torch.Tensor]:
    """All tensors of a diffusers weights folder (single file, fp16 variant or shards)."""
    for name in _WEIGHT_FILES:
        index = folder / f"{name}.index.json"
        if index.is_file():
            try:
                weight_map = json.loads(index.read_text())["weight_map"]
            except (OSError, ValueError, KeyError) as err:
                raise WeightsError(f"{index}: cannot read the shard index: {err}") from err
            state: dict[str, torch.Tensor] = {}
            for shard in sorted(set(weight_map.values())):
                state.update(_read_file(folder / shard))
            return state
        if (folder / name).is_file():
            return _read_file(folder / name)
    raise WeightsError(f"{folder}: no {what} weights ({' or '.join(_WEIGHT_FILES)})")


def _read_file(path: Path) -> dict[str, torch.Tensor]:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # safetensors and torch raise many kinds of errors for a bad file
        raise WeightsError(f"{path}: cannot read the weights file: {err}") from err


def _mismatch_message(folder: Path, what: str, missing: list[str], unexpected: list[str], mismatched: list[str]) -> str:
    lines = [f"{folder}: the {what} weights do not match the Any-to-Bokeh {what}:"]
    if missing:
        lines.append(f"  {len(missing)} missing, first: {', '.join(missing[:_SHOW])}")
    if unexpected:
        lines.append(f"  {len(unexpected)} unexpected, first: {', '.join(unexpected[:_SHOW])}")
    if mismatched:
        lines.append(f"  {len(mismatched)} with another shape, first: {', '.join(mismatched[:_SHOW])}")
    lines.append(
        "  Is this the folder from the Any-to-Bokeh release (unet/, vae/) or SVD-XT (image_encoder/)? "
        "A stock SVD-XT unet/ or vae/ lacks the bokeh fuser and skip convolutions."
    )
    return "\n".join(lines)
