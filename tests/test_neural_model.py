"""The Any-to-Bokeh model pieces with tiny random weights, loaded by the real loader."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from focuspull.engines.neural.conditioning import strength_fourier  # noqa: E402
from focuspull.engines.neural.loader import load_image_encoder, load_unet, load_vae, read_state_dict  # noqa: E402
from focuspull.engines.neural.random_models import CONFIGS  # noqa: E402
from focuspull.engines.neural.unet import BokehUNet  # noqa: E402
from focuspull.engines.neural.vae import SkipVAE, skip_widths  # noqa: E402
from focuspull.errors import WeightsError  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def weights(tiny_neural_weights):
    return tiny_neural_weights


@pytest.fixture(scope="module")
def unet(weights):
    return load_unet(weights / "unet").eval()


def _inputs(frames=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    sample = torch.randn(1, frames, 8, 8, 8, generator=g)
    context = torch.randn(frames, 1, 16, generator=g)
    ids = torch.tensor([[6.0, 127.0, 0.0]])
    return sample, context, ids


def _write_state(folder, state):
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in state.items()}, str(folder / "diffusion_pytorch_model.safetensors"))


# -- names and structure ------------------------------------------------------------------
def test_full_size_unet_has_sixteen_fusers_named_like_the_release():
    with torch.device("meta"):
        unet = BokehUNet(**CONFIGS["full"]["unet"])
    names = list(unet.state_dict())
    fusers = sorted({n.split(".fuser.")[0] for n in names if ".fuser." in n})
    assert len(fusers) == 16
    assert sorted(unet.fuser_levels) == [0] * 5 + [1] * 5 + [2] * 5 + [3]
    block = "down_blocks.0.attentions.0.transformer_blocks.0.fuser."
    for leaf, shape in {
        "k_encoder.weight": (320, 32),
        "linear.weight": (320, 320),
        "mpi_attn.to_q.weight": (320, 320),
        "mpi_attn.to_out.0.bias": (320,),
        "ff.net.0.proj.weight": (2560, 320),
        "ff_k.net.2.weight": (320, 1280),
        "norm_k.weight": (320,),
        "alpha_attn": (),
        "alpha_dense": (),
    }.items():
        assert tuple(unet.state_dict()[block + leaf].shape) == shape, leaf
    mid = "mid_block.attentions.0.transformer_blocks.0.fuser."
    assert tuple(unet.state_dict()[mid + "k_encoder.weight"].shape) == (1280, 32)
    assert tuple(unet.state_dict()[mid + "linear.weight"].shape) == (1280, 320)
    assert tuple(unet.state_dict()["conv_in_mpi.weight"].shape) == (320, 4, 3, 3)
    assert not any("temporal_transformer_blocks" in n and ".fuser." in n for n in names)


def test_vae_skip_widths_follow_the_encoder_and_decoder():
    assert skip_widths((128, 256, 512, 512)) == [(512, 512), (256, 512), (128, 512), (128, 256)]
    with torch.device("meta"):
        vae = SkipVAE(**CONFIGS["full"]["vae"])
    assert tuple(vae.state_dict()["decoder.skip_conv_3.weight"].shape) == (512, 128, 1, 1)
    assert "decoder.skip_conv_1.bias" not in vae.state_dict()


# -- loading ----------------------------------------------------------------------------
def test_saved_models_load_back_identically(weights):
    state = read_state_dict(weights / "unet")
    loaded = load_unet(weights / "unet").state_dict()
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[k], state[k]) for k in state)
    vae = load_vae(weights / "vae")
    assert torch.equal(vae.decoder.skip_conv_4.weight, read_state_dict(weights / "vae")["decoder.skip_conv_4.weight"])
    encoder = load_image_encoder(weights / "image_encoder")
    assert encoder.config.projection_dim == 16


def test_loading_is_strict_and_names_the_first_mismatches(weights, tmp_path):
    folder = tmp_path / "unet"
    shutil.copytree(weights / "unet", folder)
    state = read_state_dict(folder)
    del state["conv_in_mpi.weight"]
    state["down_blocks.0.attentions.0.transformer_blocks.0.fuser.extra.weight"] = torch.zeros(2)
    _write_state(folder, state)
    with pytest.raises(WeightsError) as info:
        load_unet(folder)
    text = str(info.value)
    assert "1 missing, first: conv_in_mpi.weight" in text
    assert "1 unexpected, first: down_blocks.0.attentions.0.transformer_blocks.0.fuser.extra.weight" in text


def test_a_stock_svd_unet_is_refused_with_the_missing_fuser_names(weights, tmp_path):
    from diffusers import UNetSpatioTemporalConditionModel

    UNetSpatioTemporalConditionModel(**CONFIGS["tiny"]["unet"]).save_pretrained(tmp_path / "unet")
    with pytest.raises(WeightsError, match=r"missing, first: .*fuser") as info:
        load_unet(tmp_path / "unet")
    assert "lacks the bokeh fuser" in str(info.value)


def test_wrong_shapes_and_bad_configs_are_weights_errors(weights, tmp_path):
    folder = tmp_path / "vae"
    shutil.copytree(weights / "vae", folder)
    state = read_state_dict(folder)
    state["decoder.skip_conv_1.weight"] = torch.zeros(32, 16, 1, 1)
    _write_state(folder, state)
    with pytest.raises(WeightsError, match=r"another shape, first: decoder.skip_conv_1.weight \(32, 16, 1, 1\)"):
        load_vae(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(WeightsError, match="cannot read the VAE config"):
        load_vae(folder)


# -- behaviour ---------------------------------------------------------------------------
def test_unet_is_deterministic_and_uses_the_strength(unet):
    sample, context, ids = _inputs()
    k8 = strength_fourier(torch.full((4,), 8.0))
    with torch.inference_mode():
        a = unet(sample, context, ids, k8)
        b = unet(sample, context, ids, k8)
        c = unet(sample, context, ids, strength_fourier(torch.full((4,), 24.0)))
    assert a.shape == (1, 4, 4, 8, 8)
    assert torch.equal(a, b)
    assert (a - c).abs().max() > 1e-3


def test_fuser_matches_the_released_formula(unet):
    fuser = unet.down_blocks[0].attentions[0].transformer_blocks[0].fuser
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 64, 32, generator=g)
    features = strength_fourier(torch.tensor([5.0, 9.0]))
    from focuspull.engines.neural.unet import FuserCondition

    with torch.inference_mode():
        got = fuser(x, FuserCondition(features))
        # x += k_emb; x += tanh(a) SelfAttn(LN1 x); x += tanh(b) (FF(LN2 x) + FF(LN_k x))
        y = x + fuser.k_encoder(features.float())[:, None]
        attn = fuser.mpi_attn
        h = fuser.norm1(y)
        q, k, v = (t.view(2, 64, attn.heads, -1).transpose(1, 2) for t in (attn.to_q(h), attn.to_k(h), attn.to_v(h)))
        att = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1) @ v
        y = y + fuser.alpha_attn.tanh() * attn.to_out[0](att.transpose(1, 2).reshape(2, 64, -1))
        want = y + fuser.alpha_dense.tanh() * (fuser.ff(fuser.norm2(y)) + fuser.ff(fuser.norm_k(y)))
    assert torch.allclose(got, want, atol=1e-5)


def test_masked_object_tokens_reduce_to_the_released_branch(unet):
    sample, context, ids = _inputs()
    features = strength_fourier(torch.full((4,), 12.0))
    aif = sample[:, :, :4]
    hidden = torch.full((4, 1, 8, 8), 9, dtype=torch.long)  # a plane no block sees
    visible = torch.zeros(4, 1, 8, 8, dtype=torch.long)
    with torch.inference_mode():
        released = unet(sample, context, ids, features)
        masked = unet(sample, context, ids, features, aif_latents=aif, plane_index=hidden)
        attended = unet(sample, context, ids, features, aif_latents=aif, plane_index=visible)
    assert torch.allclose(masked, released, atol=1e-4)
    assert (attended - released).abs().max() > 1e-3


def test_vae_mean_is_deterministic_and_the_skips_carry_encoder_detail(weights):
    vae = load_vae(weights / "vae").eval()
    images = torch.rand(3, 3, 64, 64) * 2 - 1
    with torch.inference_mode():
        mean, residuals = vae.encode_with_skips(images)
        again, _ = vae.encode_with_skips(images)
        assert torch.equal(mean, again)
        assert [tuple(r.shape[1:]) for r in residuals] == [(32, 64, 64), (32, 32, 32), (32, 16, 16), (32, 8, 8)]
        out = vae.decode_with_skips(mean, residuals)
        vae.decoder.skip_conv_4.weight.fill_(0.5)
        boosted = vae.decode_with_skips(mean, residuals)
    assert out.shape == (3, 3, 64, 64)
    assert (boosted - out).abs().max() > 1e-3


def test_config_json_of_the_release_format_is_accepted(weights, tmp_path):
    """The released config names the diffusers class and carries extra keys; both are fine."""
    folder = tmp_path / "unet"
    shutil.copytree(weights / "unet", folder)
    config = json.loads((folder / "config.json").read_text())
    config["_class_name"] = "UNetSpatioTemporalConditionModel"
    config["_name_or_path"] = "checkpoints/unet"
    (folder / "config.json").write_text(json.dumps(config))
    assert isinstance(load_unet(folder), BokehUNet)
