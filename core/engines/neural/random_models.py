"""Randomly initialised Any-to-Bokeh models of the real structure.

For tests (``tiny``: a few channels, loads through the real loader in a
second) and benchmarks (``full``: SVD-XT's shapes, ~2.2 B parameters, timing
without the licensed weights). Never used to render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from focuspull.engines.neural.unet import BokehUNet
from focuspull.engines.neural.vae import SkipVAE

__all__ = ["CONFIGS", "build_models", "save_random_models"]

CONFIGS: dict[str, dict[str, dict[str, Any]]] = {
    # SVD-XT (stabilityai/stable-video-diffusion-img2vid-xt) shapes.
    "full": {
        "unet": dict(
            sample_size=96,
            in_channels=8,
            out_channels=4,
            block_out_channels=(320, 640, 1280, 1280),
            addition_time_embed_dim=256,
            projection_class_embeddings_input_dim=768,
            layers_per_block=2,
            cross_attention_dim=1024,
            transformer_layers_per_block=1,
            num_attention_heads=(5, 10, 20, 20),
            num_frames=25,
        ),
        "vae": dict(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            block_out_channels=(128, 256, 512, 512),
            layers_per_block=2,
            latent_channels=4,
            sample_size=768,
            scaling_factor=0.18215,
            force_upcast=True,
        ),
        "image_encoder": dict(
            hidden_size=1280,
            intermediate_size=5120,
            num_hidden_layers=32,
            num_attention_heads=16,
            patch_size=14,
            image_size=224,
            projection_dim=1024,
            hidden_act="gelu",
        ),
        "feature_extractor": dict(size=224),
    },
    # Same structure (4 levels of UNet and VAE, a fuser in every spatial block), a few channels.
    "tiny": {
        "unet": dict(
            sample_size=8,
            in_channels=8,
            out_channels=4,
            block_out_channels=(32, 32, 32, 32),
            addition_time_embed_dim=8,
            projection_class_embeddings_input_dim=24,
            layers_per_block=1,
            cross_attention_dim=16,
            transformer_layers_per_block=1,
            num_attention_heads=(2, 2, 2, 2),
            num_frames=8,
        ),
        "vae": dict(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            block_out_channels=(32, 32, 32, 32),
            layers_per_block=1,
            latent_channels=4,
            sample_size=64,
            scaling_factor=0.18215,
            force_upcast=True,
        ),
        "image_encoder": dict(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            patch_size=8,
            image_size=16,
            projection_dim=16,
            hidden_act="gelu",
        ),
        "feature_extractor": dict(size=16),
    },
}


def build_models(size: str = "tiny", seed: int = 0, device: str | torch.device = "cpu") -> dict[str, Any]:
    """Random ``unet``, ``vae`` and ``image_encoder`` modules of ``CONFIGS[size]``."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CONFIGS[size]
    torch.manual_seed(seed)
    with torch.device(device):
        unet = BokehUNet(**config["unet"])
        vae = SkipVAE(**config["vae"])
        encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(**config["image_encoder"]))
    if size == "tiny":
        _open_gates(unet)
    return {"unet": unet.eval(), "vae": vae.eval(), "image_encoder": encoder.eval()}


def save_random_models(folder: str | Path, size: str = "tiny", seed: int = 0) -> Path:
    """Write a weights folder (unet/, vae/, image_encoder/, feature_extractor/) with random models."""
    import json

    folder = Path(folder)
    models = build_models(size, seed)
    models["unet"].save_pretrained(folder / "unet")
    models["vae"].save_pretrained(folder / "vae")
    models["image_encoder"].save_pretrained(folder / "image_encoder")
    side = CONFIGS[size]["feature_extractor"]["size"]
    (folder / "feature_extractor").mkdir(parents=True, exist_ok=True)
    (folder / "feature_extractor" / "preprocessor_config.json").write_text(
        json.dumps(
            {
                "crop_size": {"height": side, "width": side},
                "size": {"shortest_edge": side},
                "do_normalize": True,
                "image_mean": [0.48145466, 0.4578275, 0.40821073],
                "image_std": [0.26862954, 0.26130258, 0.27577711],
                "image_processor_type": "CLIPImageProcessor",
            },
            indent=2,
        )
    )
    return folder


def _open_gates(unet: BokehUNet) -> None:
    """Non-zero fuser gates, so tests see the strength embedding act on the output.

    The gates start at 0 (tanh(0) = 0 switches the branch off), as for
    training; a random model with closed gates would ignore k entirely.
    """
    with torch.no_grad():
        for block in unet._bokeh_blocks:
            block.fuser.alpha_attn.fill_(0.5)
            block.fuser.alpha_dense.fill_(0.5)
