"""Each known difference between the neural engine and the original Any-to-Bokeh, measured on a2b_tiny.

    python bench/neural_differences.py            # needs ../shared/fixtures/a2b_tiny; CPU, about a minute

Every row renders the fixture's clip through ``NeuralEngine.render_stream``
(see ``a2b_fixture.py``) with one thing changed from the run that matches the
original on equal terms, and compares with the original's stored output (or,
where the fixture has no stored output for the case, with the original's
behaviour emulated from this project's own model parts, said in the row).
Columns: largest |difference| of the UNet output (latent units, values about
+-2) and of the output frames (display-referred 0..1), and the mean
|difference| of the output frames. The model is tiny and random: the numbers
say how far each choice moves the computation, not how it looks.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from a2b_fixture import CLIPS, FIXTURE, Run, load_inputs, reference, run_engine  # noqa: E402


def _stored_unet(root: Path) -> dict[int, torch.Tensor]:
    call0, call1 = reference("call0_unet_out", root), reference("call1_unet_out", root)
    return {0: call0[0], 4: call0[1], 8: call1[0]}


def _row(name: str, run: Run, root: Path, frames: slice = slice(None)) -> tuple[str, float, float, float]:
    """Against the stored reference (16-frame runs)."""
    stored = _stored_unet(root)
    unet = max(float((run.unet[s][0][0] - stored[s]).abs().max()) for s in CLIPS)
    out = (run.output[frames] - reference("output_frames", root)[frames]).abs()
    return name, unet, float(out.max()), float(out.mean())


def _old_clip_pixels(display, size, mean=None, std=None):
    """The engine's CLIP input before issue 15: antialiased bicubic of the 0..1 image, clamped."""
    x = F.interpolate(display.float(), size=size, mode="bicubic", align_corners=False, antialias=True).clamp(0.0, 1.0)
    if mean is not None and std is not None:
        x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    return x


def _display(vae, latents: torch.Tensor, residuals: list[torch.Tensor]) -> torch.Tensor:
    with torch.inference_mode():
        return ((vae.decode_with_skips(latents, residuals) + 1.0) / 2.0).clamp(0.0, 1.0)


def _stack_residuals(frames: list) -> list[torch.Tensor]:
    return [torch.stack([f.residuals[j] for f in frames]) for j in range(len(frames[0].residuals))]


def short_shot(inputs, models, root: Path) -> tuple[str, float | None, float, float]:
    """13 frames: mirrored frames (this engine) vs zero pads (the original), frames 8-12.

    The original fills the last clip's missing frames 13-15 with zero images,
    zero defocus maps and k = 0, takes frame 12 and the pads unweighted and
    decodes 8-15 with the pads' encoder activations. Emulated here with this
    project's parts on this engine's own clip 8 inputs.
    """
    from focuspull.engines.neural.clip_input import clip_pixels
    from focuspull.engines.neural.clips import cosine_tail
    from focuspull.engines.neural.conditioning import strength_fourier

    run = run_engine(inputs.take(list(range(13))), models=models, root=root)
    vae, unet = models.vae, models.unet
    sf = float(vae.config.scaling_factor)
    with torch.inference_mode():
        zero = torch.zeros(1, 3, *inputs.frames.shape[-2:])  # a pad: 0 in the model's -1..1
        pad_aif, pad_residuals = vae.encode_with_skips(zero)
        pad_defocus = vae.encode_mean(zero)
        grey = clip_pixels(torch.full_like(zero, 0.5), models.image_settings.size)  # the same pad in 0..1
        pad_embedding = models.image_encoder(pixel_values=grey).image_embeds
        _, (sample, context, ids, features), kwargs = run.unet[8]
        sample, context, features = sample.clone(), context.clone(), features.clone()
        sample[0, 5:] = torch.cat([pad_aif[0] * sf, pad_defocus[0] * sf])
        context[5:] = pad_embedding
        features[5:] = strength_fourier(torch.zeros(3), "float32")
        clip8 = unet(sample, context, ids, features, **kwargs)[0]
    clip4 = run.unet[4][0][0]
    tail = torch.tensor(cosine_tail(4)).view(4, 1, 1, 1)
    fused = torch.cat([clip4[4:] * tail + clip8[:4] * (1 - tail), clip8[4:]]) / sf
    residuals = _stack_residuals(run.frames[8:13])
    residuals = [torch.cat([r, p.expand(3, -1, -1, -1)]) for r, p in zip(residuals, pad_residuals)]
    original = _display(vae, fused, residuals)[:5]
    diff = (run.output[8:13] - original).abs()
    return "short shot (13 frames): mirrored frames vs the original's zero pads, frames 8-12 (emulated)", float(
        (clip8[:5] - run.unet[8][0][0][:5]).abs().max()), float(diff.max()), float(diff.mean())


def tail_chunk(inputs, models, root: Path) -> tuple[str, float | None, float, float]:
    """20 frames (the fixture's 16 + 4 copies of frame 15 at zf 0.7, k 24, as its f20 branch).

    The original decodes the last clip's 8 unweighted latents (frames 12-19)
    as one chunk and keeps 16-19; this engine decodes 16-19 as a chunk of 4.
    Emulated with this project's parts on this engine's own clip-12 output.
    """
    take = list(range(16)) + [15] * 4
    longer = inputs.take(take)
    run = run_engine(longer, models=models, root=root, two_clip_calls=((0, 4), (8, 12)))
    sf = float(models.vae.config.scaling_factor)
    clip12 = run.unet[12][0][0]
    original = _display(models.vae, clip12 / sf, _stack_residuals(run.frames[12:20]))[4:]
    diff = (run.output[16:20] - original).abs()
    return "tail decoded as a shorter chunk (20 frames): frames 16-19 (emulated)", None, float(diff.max()), float(diff.mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    args = parser.parse_args(argv)
    root = args.fixture
    if not (root / "reference").is_dir():
        print(f"neural_differences: no fixture at {root}", file=sys.stderr)
        return 1
    torch.set_num_threads(max(1, min(4, torch.get_num_threads())))
    inputs = load_inputs(root)
    base = run_engine(inputs, root=root)
    models = base.models
    rows = [_row("equal terms (two-clip ordering reproduced, float32 k): the fixture test", base, root)]
    rows.append(_row("one clip per call (the engine), clips 0 and 4", run_engine(inputs, models=models, root=root,
                                                                                  two_clip_calls=()), root))
    for precision in ("mixed", "float16"):
        rows.append(_row(f"k features {precision} instead of float32", run_engine(
            inputs, models=models, root=root, strength_embedding_dtype=precision), root))
    rows.append(_row("CLIP mean/std normalisation on (training scripts)", run_engine(
        inputs, models=models, root=root, clip_normalize=True), root))
    import focuspull.engines.neural.engine as engine_module

    current = engine_module.clip_pixels
    engine_module.clip_pixels = _old_clip_pixels
    try:
        rows.append(_row("previous CLIP input (antialiased bicubic of 0..1, clamped)", run_engine(
            inputs, models=models, root=root), root))
    finally:
        engine_module.clip_pixels = current
    d = inputs.disparity
    rows.append(_row(f"disparity normalised over the shot ({float(d.min()):.3f}..{float(d.max()):.3f} -> 0..1)",
                     run_engine(inputs, models=models, root=root, disparity_range=None), root))
    rows.append(short_shot(inputs, models, root))
    rows.append(tail_chunk(inputs, models, root))
    rows.append(_row("engine defaults (one clip per call, mixed k, shot-normalised disparity)", run_engine(
        inputs, models=models, root=root, two_clip_calls=(), strength_embedding_dtype="mixed",
        disparity_range=None), root))

    print(f"fixture: {root}; CPU float32; tolerances: UNet 5e-4, output max 1e-3, mean 1e-5\n")
    print("| difference | UNet output max | output max | output mean |")
    print("|---|---|---|---|")
    for name, unet, out_max, out_mean in rows:
        print(f"| {name} | {'-' if unet is None else f'{unet:.2g}'} | {out_max:.2g} | {out_mean:.2g} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
