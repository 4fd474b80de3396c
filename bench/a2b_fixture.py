"""The a2b_tiny fixture through the neural engine, with every stage recorded.

``../shared/fixtures/a2b_tiny`` (next to the repository; or
``$FOCUSPULL_A2B_FIXTURE``) holds a tiny random
Any-to-Bokeh checkpoint in the released folder layout and the ORIGINAL
pipeline's fp32 CPU run on a 16-frame clip with its intermediates (see its
``reference/README.md``). :func:`run_engine` renders the fixture's frames with
``NeuralEngine.render_stream`` exactly as a pipeline would, and records what
each stage produced (per-frame embeddings and latents, the UNet output of
each clip, the decoder input of each chunk, the output frames).
``tests/test_neural_fixture.py`` compares them with the stored intermediates;
``bench/neural_differences.py`` measures each known difference from the
original on the same data.

The original's two-clips-per-call ordering (see :class:`TwoClipOrdering`) is
reproduced here, by hooks on the temporal blocks, only to compare with the
stored reference on equal terms: the engine never does it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

#: ``$FOCUSPULL_A2B_FIXTURE``, else ../shared/fixtures/a2b_tiny beside the repository
FIXTURE = Path(os.environ.get("FOCUSPULL_A2B_FIXTURE")
               or Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "a2b_tiny")
#: first frames of the fixture's clips; the original ran clips 0 and 4 in one call, clip 8 alone
CLIPS = (0, 4, 8)


@dataclass(frozen=True)
class FixtureInputs:
    frames: torch.Tensor  # (N, 3, H, W) display-referred 0..1 (the original's PNGs / 255)
    disparity: torch.Tensor  # (N, 1, H, W) 0..1
    focus: torch.Tensor  # (N,) focus disparity zf
    k: torch.Tensor  # (N,) model strength k (pixels at this size per unit of disparity)

    def take(self, indices: list[int]) -> "FixtureInputs":
        return FixtureInputs(self.frames[indices], self.disparity[indices], self.focus[indices], self.k[indices])


def load_inputs(root: Path = FIXTURE) -> FixtureInputs:
    ref = root / "reference"
    focus_k = json.loads((ref / "focus_k.json").read_text())
    return FixtureInputs(
        torch.from_numpy(np.load(ref / "input_frames.npy")).permute(0, 3, 1, 2).contiguous(),
        torch.from_numpy(np.load(ref / "input_disparity.npy"))[:, None].contiguous(),
        torch.tensor(focus_k["zf"], dtype=torch.float32),
        torch.tensor(focus_k["k"], dtype=torch.float32),
    )


def reference(name: str, root: Path = FIXTURE) -> torch.Tensor:
    """A stored array: ``output_frames`` (as (N, 3, H, W)) or an intermediate such as ``call0_unet_out``."""
    if name == "output_frames":
        return torch.from_numpy(np.load(root / "reference" / "output_frames.npy")).permute(0, 3, 1, 2)
    return torch.from_numpy(np.load(root / "reference" / "intermediates" / f"{name}.npy"))


class TwoClipOrdering:
    """Forward pre-hooks that give a one-clip UNet call the original's two-clip temporal context.

    With two clips in one call, the original broadcasts the clips' first-frame
    embeddings as (pixels, clips) and flattens them, while the temporal
    attention's rows are (clips, pixels): row ``r = clip * h * w + pixel``
    reads clip ``r % 2``'s embedding, so neighbouring latent pixels alternate
    between the two clips. One clip per call (each clip's temporal layers see
    its own first frame) is the intended semantics and what the engine does;
    this reproduces the quirk for a comparison with the stored reference.

    Set ``active = (position of the clip in the original call, (2, 1, C) the
    call's two first-frame embeddings)`` while such a clip runs.
    """

    def __init__(self, unet: torch.nn.Module) -> None:
        self.active: tuple[int, torch.Tensor] | None = None
        self.handles = [
            block.register_forward_pre_hook(self._hook, with_kwargs=True)
            for module in unet.modules()
            if hasattr(module, "temporal_transformer_blocks")
            for block in module.temporal_transformer_blocks
        ]

    def _hook(self, _module, args, kwargs):
        if self.active is None:
            return None
        position, pair = self.active
        context = kwargs["encoder_hidden_states"]  # (h*w, 1, C): one clip, every pixel its first frame
        pixels = context.shape[0]
        rows = torch.arange(pixels, device=context.device) + position * pixels
        return args, dict(kwargs, encoder_hidden_states=pair[rows % 2].to(context.dtype))

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


@dataclass
class Run:
    """What one engine run produced, stage by stage."""

    frames: list[Any]  # the engine's per-frame records (embedding, aif, defocus latents, residuals), in order
    unet: dict[int, tuple[torch.Tensor, tuple, dict]] = field(default_factory=dict)  # clip start -> (out, args, kwargs)
    decode: list[torch.Tensor] = field(default_factory=list)  # decoder input (unscaled latents) of each chunk
    output: torch.Tensor | None = None  # (N, 3, H, W) display-referred, as the fixture stores it
    models: Any = None


#: engine options that make the engine's run comparable with the fixture
FIXTURE_OPTIONS: dict[str, Any] = dict(
    precision="float32",
    restore_highlights=False,
    sharp_radius_px=0.0,  # every pixel from the model (no pixel of the fixture is exactly in focus)
    blend_radius_px=1e-9,
    disparity_range=(0.0, 1.0),  # disparity used as is, as the original does
    strength_embedding_dtype="float32",  # the fixture pins float32 semantics for k
)


def run_engine(
    inputs: FixtureInputs,
    *,
    two_clip_calls: tuple[tuple[int, int], ...] = ((0, 4),),
    models: Any = None,
    root: Path = FIXTURE,
    device: str = "cpu",
    **options: Any,
) -> Run:
    """Render ``inputs`` with the engine (float32 unless overridden) and record every stage.

    ``two_clip_calls``: pairs of clip starts the original ran in one UNet
    call, whose ordering quirk is reproduced (``()`` for none). ``models``:
    already loaded models, else the engine loads ``root`` through the real
    loader. ``options``: overrides of :data:`FIXTURE_OPTIONS`.
    """
    from focuspull.aperture import ApertureSpec
    from focuspull.engines.base import EngineInput, ShotStatistics
    from focuspull.engines.neural import NeuralEngine, NeuralOptions
    from focuspull.engines.neural.plate import ColorBridge
    from focuspull.params import FrameParams

    n, _, height, width = inputs.frames.shape
    numbers = tuple(range(n))
    bridge = ColorBridge(None, "sRGB")  # the engine's built-in sRGB when it has no OCIO config
    settings = {**FIXTURE_OPTIONS, "weights": str(root), "working_width": width, "working_height": height, **options}
    engine = NeuralEngine(NeuralOptions(**settings), ApertureSpec(), torch.device(device), models=models)
    d = inputs.disparity
    engine.begin_shot(ShotStatistics(float(d.min()), float(d.max()), numbers, width, height))
    models = engine.models
    run = Run(frames=[], models=models)
    partner = {a: (0, (a, b)) for a, b in two_clip_calls} | {b: (1, (a, b)) for a, b in two_clip_calls}

    prepare = engine._prepare

    def spy_prepare(*args, **kwargs):
        frame = prepare(*args, **kwargs)
        run.frames.append(frame)
        return frame

    ordering = TwoClipOrdering(models.unet)
    unet_forward = models.unet.forward

    def spy_unet(sample, context, *args, **kwargs):
        start = next(f.index for f in run.frames if torch.equal(f.embedding, context[0]))
        if start in partner:
            position, (a, b) = partner[start]
            ordering.active = (position, torch.stack([run.frames[a].embedding, run.frames[b].embedding]))
        try:
            out = unet_forward(sample, context, *args, **kwargs)
        finally:
            ordering.active = None
        run.unet[start] = (out, (sample, context, *args), kwargs)
        return out

    decode = models.vae.decode_with_skips

    def spy_decode(latents, residuals):
        run.decode.append(latents.clone())
        return decode(latents, residuals)

    engine._prepare = spy_prepare  # type: ignore[method-assign]
    models.unet.forward = spy_unet
    models.vae.decode_with_skips = spy_decode
    try:
        params = FrameParams.of(numbers, inputs.focus.numpy(), inputs.k.numpy())
        batch = EngineInput(bridge.decode(inputs.frames), inputs.disparity, params)
        outputs = list(engine.render_stream(iter([batch])))
    finally:
        del models.unet.forward, models.vae.decode_with_skips
        ordering.remove()
    run.output = bridge.encode(torch.cat([o.rgba for o in outputs]).cpu())
    return run


def reference_per_frame(stem: str, root: Path = FIXTURE) -> dict[int, list[torch.Tensor]]:
    """Stored per-clip tensors of ``call0_/call1_<stem>`` as {frame: [the value from each clip that has it]}."""
    call0, call1 = reference(f"call0_{stem}", root), reference(f"call1_{stem}", root)
    per_clip = [call0[:8], call0[8:], call1] if call0.shape[0] == 16 else [call0[0], call0[1], call1[0]]
    out: dict[int, list[torch.Tensor]] = {}
    for start, values in zip(CLIPS, per_clip):
        for j, value in enumerate(values):
            out.setdefault(start + j, []).append(value)
    return out
