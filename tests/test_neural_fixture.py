"""The neural engine against the ORIGINAL Any-to-Bokeh pipeline, stage by stage.

``../shared/fixtures/a2b_tiny`` holds a tiny random checkpoint in the released
folder layout and the original pipeline's fp32 CPU run on a 16-frame clip,
with every intermediate (see its ``reference/README.md``). The engine loads
the fixture itself, through the real loader (``unet/unet/``,
``svd-xt/image_encoder/``), and renders the 16 frames with ``render_stream``;
``bench/a2b_fixture.py`` records what each stage produced, and each stage is
compared with the stored intermediate within the fixture README's tolerances:

    CLIP embeddings -> VAE latents (AIF, defocus) -> UNet output per clip
    -> fused latents (decoder input) -> decoded output frames

Why a hook reproduces a quirk here: the original ran clips 0 and 4 in ONE UNet
call and clip 8 alone. With two clips per call its temporal transformer lines
the clips' first-frame embeddings up pixel by pixel instead of clip by clip,
so neighbouring latent pixels alternate between the two clips' embeddings.
The engine runs one clip per call, where each clip's temporal layers see its
own first frame: the model's intended semantics, and a frame's result then
does not depend on which clip it happened to share a call with. So the quirk
stays out of the engine; to compare on equal terms, this test reproduces the
two-clip ordering with forward pre-hooks on the temporal blocks while clips 0
and 4 run (``TwoClipOrdering``). Without the hooks those clips differ by about
1e-2, asserted below so the hook is shown to matter.

The fixture pins float32 semantics for the Fourier features of k, so the
engine runs with ``strength_embedding_dtype="float32"`` here.

Skipped when ../shared is absent (a fresh clone in CI has no fixture).
"""

from __future__ import annotations

import os
import sys

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))

from a2b_fixture import CLIPS, FIXTURE, load_inputs, reference, reference_per_frame, run_engine  # noqa: E402
from focuspull.engines.neural.clip_input import antialiased_resize  # noqa: E402

pytestmark = [
    pytest.mark.usefixtures("torch_one_thread"),
    pytest.mark.skipif(not (FIXTURE / "reference" / "README.md").is_file(), reason=f"fixture {FIXTURE} not present"),
]

# Tolerances from the fixture README ("Determinism and tolerances").
EMBED_ATOL = 1e-5  # "the image embeddings and latents should agree to about 1e-6"
LATENT_ATOL = 1e-5
UNET_ATOL = 5e-4
OUTPUT_MAX, OUTPUT_MEAN = 1e-3, 1e-5


@pytest.fixture(scope="module")
def run():
    """The fixture's 16 frames through the engine (loaded by the real loader), every stage recorded."""
    return run_engine(load_inputs())


def test_the_engine_loaded_the_release_layout(run):
    assert run.models.folder == FIXTURE
    assert run.models.unet.config.block_out_channels == [32, 64, 32, 32]  # unet/unet/, not a stand-in


def test_clip_resize_matches_the_originals_antialiased_resize():
    """Gaussian pre-blur with the pipeline's sigma rule + bicubic align_corners=True (probe: sigma 0.25 and 1)."""
    probe = reference("resize_probe_in_u8").float() / 127.5 - 1.0
    got = antialiased_resize(probe, (224, 224))
    assert (got - reference("resize_probe_out")).abs().max() <= 1e-5


def test_image_embeddings(run):
    expected = reference_per_frame("image_embeddings")
    assert [f.index for f in run.frames] == list(range(16))
    for frame in run.frames:
        for want in expected[frame.index]:
            assert (frame.embedding - want).abs().max() <= EMBED_ATOL, frame.index


def test_vae_latents_of_the_frames_and_of_the_defocus_maps(run):
    aif, coc = reference_per_frame("ref_latents"), reference_per_frame("coc_latents")
    for frame in run.frames:
        for want in aif[frame.index]:
            assert (frame.aif - want).abs().max() <= LATENT_ATOL, frame.index
        for want in coc[frame.index]:
            assert (frame.defocus - want).abs().max() <= LATENT_ATOL, frame.index


def test_unet_output_per_clip(run):
    call0, call1 = reference("call0_unet_out"), reference("call1_unet_out")
    want = {0: call0[0], 4: call0[1], 8: call1[0]}
    assert sorted(run.unet) == list(CLIPS)
    for start, (out, _, _) in run.unet.items():
        assert (out[0] - want[start]).abs().max() <= UNET_ATOL, start


def test_without_the_two_clip_ordering_clips_0_and_4_differ(run):
    """The quirk is real and larger than the tolerance: one clip per call moves clips 0 and 4 by ~1e-2."""
    call0 = reference("call0_unet_out")
    for start in (0, 4):
        _, args, kwargs = run.unet[start]
        with torch.inference_mode():
            plain = run.models.unet(*args, **kwargs)[0]
        difference = (plain - call0[CLIPS.index(start)]).abs().max().item()
        assert 2e-3 < difference < 5e-2, (start, difference)


def test_fused_latents_are_the_decoder_input(run):
    sf = float(run.models.vae.config.scaling_factor)
    assert [tuple(d.shape) for d in run.decode] == [(8, 4, 8, 24)] * 2  # chunks of frames 0-7 and 8-15
    for got, name in zip(run.decode, ("call0_vae_decode_in", "call1_vae_decode_in")):
        # compared as latents (the decoder input is the fused latent / 0.18215)
        assert ((got - reference(name)) * sf).abs().max() <= UNET_ATOL


def test_output_frames(run):
    difference = (run.output - reference("output_frames")).abs()
    assert difference.max() <= OUTPUT_MAX
    assert difference.mean() <= OUTPUT_MEAN
