"""The neural engine end to end on the CPU with a tiny random Any-to-Bokeh model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from focuspull.aperture import ApertureSpec  # noqa: E402
from focuspull.engines.base import Engine, EngineInput, EngineOutput, ShotStatistics  # noqa: E402
from focuspull.engines.neural import NeuralEngine, NeuralOptions  # noqa: E402
from focuspull.engines.neural.conditioning import strength_fourier  # noqa: E402
from focuspull.engines.neural.loader import load_models  # noqa: E402
from focuspull.errors import EngineError, WeightsError  # noqa: E402
from focuspull.params import FrameParams  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")

H, W = 40, 72
K = 10.0
FRAMES = tuple(range(1001, 1006))


@pytest.fixture(scope="module")
def weights(tiny_neural_weights):
    return tiny_neural_weights


@pytest.fixture(scope="module")
def models(weights):
    return load_models(weights, torch.device("cpu"), torch.float32)


@pytest.fixture(scope="module")
def color():
    from focuspull.color import ColorConfig

    return ColorConfig.load("ocio://default")


def make_engine(models, color=None, **options) -> NeuralEngine:
    options = {"weights": str(models.folder), "working_width": 64, "working_height": 64,
               "restore_highlights": False, **options}
    engine = NeuralEngine(NeuralOptions(**options), ApertureSpec(), torch.device("cpu"), color, models=models)
    engine.begin_shot(ShotStatistics(0.0, 1.0, FRAMES, W, H))
    return engine


def shot(n=len(FRAMES), seed=0):
    """Left half at disparity 1 (in focus at d_f = 1), right half at 0 (CoC K = 10 px)."""
    g = torch.Generator().manual_seed(seed)
    rgba = torch.rand(n, 4, H, W, generator=g)
    disparity = torch.zeros(n, 1, H, W)
    disparity[..., : W // 2] = 1.0
    return rgba, disparity


def batches(rgba, disparity, sizes) -> Iterator[EngineInput]:
    i = 0
    for size in sizes:
        j = i + size
        yield EngineInput(rgba[i:j], disparity[i:j], FrameParams.of(FRAMES[i:j], 1.0, K))
        i = j


@pytest.fixture(scope="module")
def reference(models, color):
    """The shot streamed one frame per batch."""
    rgba, disparity = shot()
    outs = list(make_engine(models, color).render_stream(batches(rgba, disparity, [1] * 5)))
    return rgba, disparity, outs


def test_one_output_per_batch_with_the_same_frame_count(models, color, reference):
    rgba, disparity, outs = reference
    assert [o.rgba.shape for o in outs] == [(1, 4, H, W)] * 5
    uneven = list(make_engine(models, color).render_stream(batches(rgba, disparity, [2, 3])))
    assert [o.rgba.shape[0] for o in uneven] == [2, 3]


def test_result_is_deterministic_and_independent_of_batching(models, color, reference):
    rgba, disparity, outs = reference
    one_by_one = torch.cat([o.rgba for o in outs])
    uneven = torch.cat([o.rgba for o in make_engine(models, color).render_stream(batches(rgba, disparity, [2, 3]))])
    whole = make_engine(models, color).render(next(batches(rgba, disparity, [5]))).rgba
    assert torch.isfinite(one_by_one).all()
    assert torch.equal(one_by_one, uneven)
    assert torch.equal(one_by_one, whole)


def test_in_focus_pixels_are_the_plate_and_alpha_passes_through(reference):
    rgba, disparity, outs = reference
    out = torch.cat([o.rgba for o in outs])
    sharp = disparity.expand(-1, 3, -1, -1) == 1.0
    assert torch.equal(out[:, :3][sharp], rgba[:, :3][sharp])
    assert torch.equal(out[:, 3], rgba[:, 3])
    # the defocused half is the model's, not the plate
    assert (out[:, :3][~sharp] - rgba[:, :3][~sharp]).abs().mean() > 0.05


def test_strength_reaches_the_model_as_k_at_working_scale(models, color, monkeypatch):
    seen = []
    forward = models.unet.forward

    def spy(*args, **kwargs):
        seen.append(args[3].clone())
        return forward(*args, **kwargs)

    monkeypatch.setattr(models.unet, "forward", spy)
    engine = make_engine(models, color, disparity_range=(0.0, 2.0))
    rgba, disparity = shot(2)
    list(engine.render_stream(batches(rgba, disparity, [2])))
    # k = K * (dmax - dmin) * (working width / plate width) = 10 * 2 * 64 / 72
    expected = strength_fourier(torch.tensor([K * 2.0 * 64 / 72]))[0]
    assert len(seen) == 1 and seen[0].shape == (8, 32)
    assert torch.equal(seen[0][0], expected)


class _BrightPhysical(Engine):
    """Stands in for the physical engine: renders every pixel as light of 5.0."""

    name = "fake-physical"

    def render(self, batch: EngineInput) -> EngineOutput:
        return EngineOutput(torch.full_like(batch.rgba, 5.0))


def test_highlights_the_model_clips_come_back_from_the_physical_render(models):
    rgba, disparity = shot(2)
    rgba[:, :3, :8, -8:] = 6.0  # a highlight in the defocused half
    plain = make_engine(models).render(next(batches(rgba, disparity, [2])))
    engine = make_engine(models, restore_highlights=True)
    engine._highlight_engine = _BrightPhysical(None, None, torch.device("cpu"))
    restored = engine.render(next(batches(rgba, disparity, [2])))
    added = restored.rgba[:, :3] - plain.rgba[:, :3]
    # sRGB round trip of 5.0 keeps 1.0: the 4.0 above it is added where the model is used
    far = disparity.expand(-1, 3, -1, -1) == 0.0
    assert torch.allclose(added[far], torch.full_like(added[far], 4.0), atol=1e-5)
    assert torch.equal(added[~far], torch.zeros_like(added[~far]))


def test_no_physical_render_when_nothing_is_outside_the_model_range(models):
    rgba, disparity = shot(1)
    engine = make_engine(models, restore_highlights=True)
    engine._highlight_engine = None  # would import the real one if it were needed

    def fail(*_):
        raise AssertionError("physical engine used for an in-range plate")

    engine._physical = fail  # type: ignore[method-assign]
    out = engine.render(next(batches(rgba * 0.9, disparity, [1])))
    assert torch.isfinite(out.rgba).all()


def test_aux_channels(models):
    rgba, disparity = shot(1)
    out = make_engine(models, aux_channels=("coc.radius", "neural.mix")).render(next(batches(rgba, disparity, [1])))
    assert set(out.aux) == {"coc.radius", "neural.mix"}
    assert torch.equal(out.aux["coc.radius"], K * (disparity - 1.0).abs())
    assert out.aux["neural.mix"][..., : W // 2].max() == 0 and out.aux["neural.mix"][..., W // 2 :].min() == 1


def test_missing_weights_fail_when_the_engine_is_made(tmp_path, monkeypatch):
    monkeypatch.setenv("FOCUSPULL_MODELS", str(tmp_path / "models"))
    monkeypatch.delenv("FOCUSPULL_WEIGHTS", raising=False)
    with pytest.raises(WeightsError, match="NON-COMMERCIAL") as info:
        NeuralEngine(NeuralOptions(), ApertureSpec(), torch.device("cpu"))
    assert str(tmp_path / "models" / "any-to-bokeh" / "unet") in str(info.value)


def test_stream_needs_the_shot_range_and_shot_order(models):
    engine = NeuralEngine(NeuralOptions(working_width=64, working_height=64), ApertureSpec(), torch.device("cpu"),
                          models=models)
    with pytest.raises(EngineError, match="begin_shot"):
        next(engine.render_stream(batches(*shot(1), [1])))
    engine = make_engine(models)
    rgba, disparity = shot(2)
    backwards = EngineInput(rgba, disparity, FrameParams.of((1002, 1001), 1.0, K))
    with pytest.raises(EngineError, match="out of shot order"):
        list(engine.render_stream(iter([backwards])))


def test_out_of_memory_names_a_smaller_setting(models, monkeypatch):
    def oom(*_, **__):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(models.unet, "forward", oom)
    with pytest.raises(EngineError, match="working_width=768 working_height=448"):
        make_engine(models).render(next(batches(*shot(1), [1])))
