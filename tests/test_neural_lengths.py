"""Shots of any length through the neural engine: shorter than a clip, not a multiple of the stride."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from focuspull.aperture import ApertureSpec  # noqa: E402
from focuspull.engines.base import EngineInput, ShotStatistics  # noqa: E402
from focuspull.engines.neural import NeuralEngine, NeuralOptions  # noqa: E402
from focuspull.engines.neural.loader import load_models  # noqa: E402
from focuspull.params import FrameParams  # noqa: E402

pytestmark = pytest.mark.usefixtures("torch_one_thread")

H, W = 24, 40


@pytest.fixture(scope="module")
def models(tiny_neural_weights):
    return load_models(tiny_neural_weights, torch.device("cpu"), torch.float32)


@pytest.mark.parametrize("n", [1, 3, 8, 13])
def test_any_length_streams_one_frame_at_a_time(models, n):
    frames = tuple(range(1, n + 1))
    engine = NeuralEngine(
        NeuralOptions(weights=str(models.folder), working_width=64, working_height=64, restore_highlights=False),
        ApertureSpec(),
        torch.device("cpu"),
        models=models,
    )
    engine.begin_shot(ShotStatistics(0.0, 1.0, frames, W, H))
    g = torch.Generator().manual_seed(n)
    rgb = torch.rand(n, 3, H, W, generator=g)
    disparity = torch.linspace(0.0, 1.0, W).expand(n, 1, H, W).contiguous()  # a ramp: focus at the middle
    clips = []
    unet = models.unet.forward

    def count(*args, **kwargs):
        clips.append(args[0].shape[1])
        return unet(*args, **kwargs)

    models.unet.forward = count
    held = []
    finished = engine._finished

    def watch(stream, pending):
        held.append(len(stream.frames))
        return finished(stream, pending)

    engine._finished = watch  # type: ignore[method-assign]
    try:
        outs = list(engine.render_stream(
            EngineInput(rgb[t : t + 1], disparity[t : t + 1], FrameParams.of(frames[t : t + 1], 0.5, 12.0))
            for t in range(n)
        ))
    finally:
        del models.unet.forward
    assert len(outs) == n and all(o.rgba.shape == (1, 3, H, W) for o in outs)
    out = torch.cat([o.rgba for o in outs])
    assert torch.isfinite(out).all()
    # clips of 8 with stride 4, as few as cover the shot: 1, 1, 1, 3
    assert clips == [8] * max(1, -(-(n - 4) // 4))
    sharp = (12.0 * (disparity - 0.5).abs() <= 0.5).expand(-1, 3, -1, -1)
    assert sharp.any() and torch.equal(out[sharp], rgb[sharp])
    # bounded memory: never more than a clip and a decode chunk of frames held
    assert max(held) <= 12
