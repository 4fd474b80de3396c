"""The neural engine's pure parts: conditioning maths, clip plan, plate geometry, weights folder.

No model is built here (fast); the model and the engine have their own files.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import torch

from focuspull.engines.neural.clips import ClipScheduler, Decode, RunClip, cosine_tail, mirror
from focuspull.engines.neural.conditioning import (
    defocus_map,
    model_strength,
    mpi_plane_index,
    normalise_disparity,
    strength_fourier,
)
from focuspull.engines.neural.options import NeuralOptions
from focuspull.engines.neural.plate import ColorBridge, WorkingGeometry, coc_mix, mirror_pad, recombine
from focuspull.errors import JobError, WeightsError


# -- strength --------------------------------------------------------------------
def test_model_strength_is_plate_k_times_disparity_span_times_scale():
    # A 4096-wide plate fitted to 1024: scale 1/4; disparity range 0.2..0.7.
    geometry = WorkingGeometry.fit(2160, 4096)
    assert geometry.content == (540, 1024)
    k = model_strength(torch.tensor([40.0]), 0.5, geometry.scale)
    assert k.item() == pytest.approx(40.0 * 0.5 * 1024 / 4096)
    # The law it preserves: r_px * scale == k * |d_n - d_fn|.
    d, d_f = 0.6, 0.3
    r_plate = 40.0 * abs(d - d_f)
    d_n, d_fn = (d - 0.2) / 0.5, (d_f - 0.2) / 0.5
    assert r_plate * geometry.scale == pytest.approx(k.item() * abs(d_n - d_fn))


def test_strength_fourier_interleaves_sin_and_cos_of_k_times_100_to_the_i_over_15():
    k = torch.tensor([3.0])
    features = strength_fourier(k, "float32")[0]
    assert features.shape == (32,)
    for i in range(16):
        f = 100.0 ** (i / 15)
        assert features[2 * i].item() == pytest.approx(math.sin(3.0 * f), abs=2e-4)
        assert features[2 * i + 1].item() == pytest.approx(math.cos(3.0 * f), abs=2e-4)


def _half(x: float) -> float:
    return float(torch.tensor(x, dtype=torch.float16))


def test_strength_fourier_mixed_is_what_training_computed():
    """Training (fp16 autocast, k cast to fp16): k and the float16 linspace exponents rounded, the rest in float32."""
    k = 17.305
    mixed = strength_fourier(torch.tensor([k]), "mixed")[0]
    assert mixed.dtype == torch.float32
    exponents = torch.linspace(0.0, 1.0, 16, dtype=torch.float16).tolist()
    for i in (0, 7, 14, 15):
        angle = _half(k) * 100.0 ** exponents[i]  # float64 here; float32 in the engine
        assert mixed[2 * i].item() == pytest.approx(math.sin(angle), abs=5e-4)
        assert mixed[2 * i + 1].item() == pytest.approx(math.cos(angle), abs=5e-4)
    # k = 17.305 rounds to 17.3125 in float16: 0.75 rad at the top frequency, far from float32.
    exact = strength_fourier(torch.tensor([k]), "float32")
    assert (mixed[-2:] - exact[0, -2:]).abs().max() > 0.1


def test_strength_fourier_in_float16_keeps_the_released_demos_rounding():
    k = torch.tensor([17.305])
    half = strength_fourier(k, "float16")[0]
    assert half.dtype == torch.float16
    exact = strength_fourier(k, "float32")[0]
    # Low frequencies agree; k rounds to 17.3125 and 100 * k to 1731 in float16
    # (exact: 1730.5), so the highest phase is off by ~0.5 rad.
    assert torch.allclose(half.float()[:4], exact[:4], atol=1e-2)
    assert (half.float()[-2:] - exact[-2:]).abs().max() > 0.01
    # ...and equal to doing every step in float16 by hand: f_14 = 100 ** fp16(0.9336) = 73.625 in float16.
    angle = _half(_half(17.305) * _half(100.0 ** 0.93359375))
    assert _half(100.0 ** 0.93359375) == 73.625
    assert half[28].item() == pytest.approx(_half(math.sin(angle)), abs=1e-3)
    with pytest.raises(ValueError, match="expected one of mixed, float16, float32"):
        strength_fourier(k, "float64")


# -- disparity and planes --------------------------------------------------------------
def test_defocus_map_is_unsigned_and_saturates():
    d = torch.tensor([0.0, 0.25, 0.5, 1.0, 1.5]).view(1, 1, 1, 5)
    c = defocus_map(d, torch.tensor([0.5]))
    assert c.flatten().tolist() == [0.5, 0.25, 0.0, 0.5, 1.0]
    assert normalise_disparity(torch.tensor([2.0, 4.0]), 2.0, 4.0).tolist() == [0.0, 1.0]
    assert normalise_disparity(torch.tensor([3.0]), 3.0, 3.0).tolist() == [0.0]  # flat shot


def test_mpi_planes_narrow_near_focus_and_widen_away():
    focus = torch.tensor([0.5])
    s = 0.5 ** 1.5
    t = [(i / 4) ** (1 / s) for i in (1, 2, 3)]
    diffs = [0.0, t[0] * 0.99, t[0] * 1.01, t[1] * 1.01, t[2] * 1.01, 0.5]
    d = (0.5 + torch.tensor(diffs)).view(1, 1, 1, -1)
    planes = mpi_plane_index(d, focus, alpha=1.5)
    assert planes.flatten().tolist() == [0, 0, 1, 2, 3, 3]
    assert t[0] < t[1] - t[0] < t[2] - t[1]  # bins widen away from focus
    # focus at the far end: every defocused pixel is in the last plane, no NaN
    far = mpi_plane_index(torch.tensor([0.0, 0.3]).view(1, 1, 1, 2), torch.tensor([0.0]))
    assert far.flatten().tolist() == [0, 3]


# -- clips -----------------------------------------------------------------------------
def test_cosine_tail_is_the_released_crossfade():
    assert [round(w, 3) for w in cosine_tail(4)] == [1.0, 0.854, 0.5, 0.146]


def _plan(first: int, n: int, batch: int) -> list:
    s = ClipScheduler(first)
    actions, got = [], 0
    while got < n:
        got = min(n, got + batch)
        actions += s.ready(got)
    return actions + s.ready(n, ended=True)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8, 9, 12, 13, 21])
def test_crossfade_weights_sum_to_one_and_every_frame_is_decoded_once(n):
    actions = _plan(0, n, 1)
    total: dict[int, float] = {}
    clip_of: dict[int, list[tuple[int, float]]] = {}
    for a in actions:
        if isinstance(a, RunClip):
            assert len(a.frames) == 8
            for f, w in zip(a.frames, a.weights):
                total[f] = total.get(f, 0.0) + w
                clip_of.setdefault(f, []).append((a.start, w))
    decoded = [f for a in actions if isinstance(a, Decode) for f in a.real]
    assert decoded == list(range(n))
    for f in range(n):
        if len(clip_of[f]) == 2:
            assert total[f] == pytest.approx(1.0, abs=1e-12)  # the cross-fade itself
        # normalised weights (what the engine uses) always sum to one
        assert sum(w / total[f] for _, w in clip_of[f]) == pytest.approx(1.0)
    if n >= 12:
        # frame 5: tail of clip 0 (.854) + head of clip 4 (.146)
        assert dict(clip_of[5]) == pytest.approx({0: 0.8535533905932737, 4: 0.14644660940672627})


@pytest.mark.parametrize("first,n", [(0, 13), (5, 11), (0, 1), (3, 2)])
def test_clip_plan_does_not_depend_on_batching(first, n):
    def key(actions):
        return sorted((type(a).__name__, a.frames, a.sources) for a in actions)

    reference = key(_plan(first, n, 1000))
    for batch in (1, 2, 3, 7):
        assert key(_plan(first, n, batch)) == reference


def test_padding_mirrors_instead_of_repeating_or_zeroing():
    assert [mirror(i, 0, 5) for i in range(-3, 9)] == [3, 2, 1, 0, 1, 2, 3, 4, 3, 2, 1, 0]
    assert [mirror(i, 10, 1) for i in (8, 10, 15)] == [10, 10, 10]
    # a 3-frame shot: one clip of 0 1 2 1 0 1 2 1
    (clip,) = [a for a in _plan(0, 3, 1) if isinstance(a, RunClip)]
    assert clip.sources == (0, 1, 2, 1, 0, 1, 2, 1)
    # a stream starting mid-grid (a farm chunk at shot index 5): run-in mirrored
    first = [a for a in _plan(5, 8, 1) if isinstance(a, RunClip)][0]
    assert first.frames[:3] == (4, 5, 6) and first.sources[:3] == (6, 5, 6)


# -- plate geometry and recombination -------------------------------------------------------
@pytest.mark.parametrize(
    "size,content,padded",
    [((1080, 1920), (576, 1024), (576, 1024)),
     ((858, 2048), (429, 1024), (448, 1024)),   # 2.39:1, no squash, padded
     ((1920, 1080), (1024, 576), (1024, 576)),  # portrait turns the box
     ((48, 80), (38, 64), (64, 64))],
)
def test_working_size_fits_without_squashing(size, content, padded):
    g = WorkingGeometry.fit(*size, 1024 if size[0] > 64 else 64, 576 if size[0] > 64 else 64)
    assert g.content == content and g.padded == padded
    assert all(p % 64 == 0 for p in g.padded)
    aspect_in, aspect_out = size[1] / size[0], g.content[1] / g.content[0]
    assert aspect_out == pytest.approx(aspect_in, rel=0.02)


def test_mirror_pad_reflects_any_amount():
    x = torch.arange(3.0).view(1, 1, 1, 3)
    assert mirror_pad(x, 1, 8).flatten().tolist() == [0, 1, 2, 1, 0, 1, 2, 1]


def test_recombine_keeps_in_focus_pixels_bit_exact():
    plate = torch.rand(3, 8, 8) * 5
    model = torch.rand(3, 8, 8)
    radius = torch.linspace(0, 4, 64).view(1, 8, 8)
    mix = coc_mix(radius, 0.5, 2.0)
    out = recombine(plate, model, mix)
    sharp = (radius <= 0.5).expand(3, -1, -1)
    assert torch.equal(out[sharp], plate[sharp])
    far = (radius >= 2.0).expand(3, -1, -1)
    assert torch.equal(out[far], model[far])


def test_color_bridge_roundtrip_keeps_what_the_model_can_hold():
    from focuspull.color import ColorConfig

    bridge = ColorBridge(ColorConfig.load("ocio://default"), "sRGB - Texture")
    x = torch.tensor([0.0, 0.18, 0.5, 4.0]).view(1, 1, 1, 4).expand(1, 3, 1, 4).contiguous()
    enc = bridge.encode(x)
    assert enc[0, :, 0, 1].min() > 0.4 and enc[0, :, 0, 3].min() > 1.0  # display-referred, not clipped
    back = bridge.decode(enc)
    assert torch.allclose(back, x, atol=1e-4)
    lost = x - bridge.roundtrip(x)
    assert lost[..., :3].abs().max() < 1e-4  # grey 0..0.5 survives
    assert lost[0, :, 0, 3].min() > 2.5  # the 4.0 highlight is what the model clips


def test_options_are_validated_with_the_field_name():
    with pytest.raises(JobError, match="working_width.*multiple of 64"):
        NeuralOptions(working_width=1000)
    with pytest.raises(JobError, match="overlap_frames"):
        NeuralOptions(clip_frames=4, overlap_frames=4)
    with pytest.raises(JobError, match="aux_channels.*focus.matte"):
        NeuralOptions(aux_channels=("focus.matte",))


# -- weights folder --------------------------------------------------------------------------
def test_weights_folder_order(tmp_path, monkeypatch):
    from focuspull.models import model_folder

    monkeypatch.delenv("FOCUSPULL_WEIGHTS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FOCUSPULL_MODELS", raising=False)
    assert model_folder("any-to-bokeh")[0] == tmp_path / "home/.cache/focuspull/models/any-to-bokeh"
    monkeypatch.setenv("FOCUSPULL_MODELS", str(tmp_path / "models"))
    assert model_folder("any-to-bokeh")[0] == tmp_path / "models/any-to-bokeh"
    monkeypatch.setenv("FOCUSPULL_WEIGHTS", str(tmp_path / "w"))
    assert model_folder("any-to-bokeh")[0] == tmp_path / "w"
    assert model_folder("any-to-bokeh", tmp_path / "cli")[0] == tmp_path / "cli"


def test_missing_weights_say_what_to_download_where_and_the_licence(tmp_path):
    from focuspull.models import require_model

    with pytest.raises(WeightsError) as info:
        require_model("any-to-bokeh", tmp_path / "nowhere")
    text = str(info.value)
    assert str(tmp_path / "nowhere") in text and "is missing" in text
    assert "any-to-bokeh" in text and "stable-video-diffusion-img2vid-xt" in text  # what to download
    for part in ("unet", "vae", "image_encoder", "feature_extractor"):
        assert str(tmp_path / "nowhere" / part) in text  # where to put it
    assert "CC BY-NC 4.0" in text and "NON-COMMERCIAL" in text
    assert info.value.code == "missing_weights"


def test_without_diffusers_the_package_names_the_extra():
    code = (
        "import sys; sys.modules['diffusers'] = None\n"
        "import focuspull.engines.neural.conditioning\n"  # the pure parts import without the extra
        "try:\n    from focuspull.engines.neural import NeuralEngine\nexcept ImportError as e:\n    print('IMPORT', e)\n"
        "from focuspull.engines import create_engine\n"
        "try:\n    create_engine('neural', {}, None, 'cpu')\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert "IMPORT the neural engine needs the 'neural' extra: pip install focuspull[neural]" in out
    assert "EngineError" in out and "pip install focuspull[neural]" in out
