"""Accuracy of the physical engine against the exact thin-lens image of layered scenes.

    python bench/bench_accuracy.py [--scenes 4] [--size 160x224] [--strength 40] [--samples N]

For each random layered scene (``reference.random_scene``) the thin-lens
ground truth is rendered, and three renderers get only the all-in-focus
composite and the visible disparity: the physical engine, a plain per-pixel
variable gather and a plain layered renderer. Prints a markdown table of
PSNR (dB) on tone-mapped values x/(1+x), separately for flat regions and for
pixels within 8 px of a depth edge, a band of the largest CoC radius along
the frame border excluded.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import reference  # noqa: E402


def engine_render(image: torch.Tensor, disparity: torch.Tensor, focus: float, strength: float, **options) -> torch.Tensor:
    from focuspull.aperture import ApertureSpec
    from focuspull.engines.base import EngineInput
    from focuspull.engines.physical import PhysicalEngine, PhysicalOptions
    from focuspull.params import FrameParams, keyframed_values

    opts, aperture = PhysicalOptions(**options), ApertureSpec()
    engine = PhysicalEngine(opts, aperture, torch.device("cpu"))
    params = FrameParams.of(1, focus, strength, **keyframed_values([0], opts, aperture))
    batch = EngineInput(image[None], disparity[None], params)
    return engine.render(batch).rgba[0]


def cached_truth(scene: reference.Scene, key: str, samples: int | None, cache: str | None) -> torch.Tensor:
    """The thin-lens reference, kept on disk: it costs minutes, the renderers seconds."""
    path = os.path.join(cache, f"{key}-{samples or 'auto'}.pt") if cache else None
    if path and os.path.exists(path):
        return torch.load(path)
    truth = reference.thin_lens(scene, samples)
    if path:
        os.makedirs(cache, exist_ok=True)
        torch.save(truth, path)
    return truth


def score_scene(scene: reference.Scene, truth: torch.Tensor) -> dict[str, tuple[float, float]]:
    image, disparity = reference.engine_inputs(scene)
    border = int(scene.max_radius_px + 1)
    flat, edge = reference.region_masks(disparity, border)
    focus, k = scene.focus_disparity, scene.strength_px
    renders = {
        "physical engine": engine_render(image, disparity, focus, k),
        "physical, no fill": engine_render(image, disparity, focus, k, fill_occluded=False),
        "plain gather": reference.plain_gather(image, disparity, focus, k),
        "plain layered": reference.plain_layered(image, disparity, focus, k),
    }
    return {
        name: (reference.psnr_tonemapped(out, truth, flat), reference.psnr_tonemapped(out, truth, edge))
        for name, out in renders.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=4)
    parser.add_argument("--size", default="160x224", help="HxW")
    parser.add_argument("--strength", type=float, default=40.0, help="K in px")
    parser.add_argument("--samples", type=int, default=None, help="aperture samples of the reference")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--cache",
        default=os.path.join(os.path.expanduser("~"), ".cache", "focuspull", "reference"),
        help="folder for rendered references ('' = none)",
    )
    args = parser.parse_args(argv)
    height, width = (int(v) for v in args.size.lower().split("x"))

    totals: dict[str, list[tuple[float, float]]] = {}
    start = time.perf_counter()
    for i in range(args.scenes):
        scene = reference.random_scene(height, width, seed=args.seed + i, strength_px=args.strength)
        key = f"scene{args.seed + i}-{height}x{width}-k{args.strength:g}"
        truth = cached_truth(scene, key, args.samples, args.cache or None)
        for name, value in score_scene(scene, truth).items():
            totals.setdefault(name, []).append(value)
    print(f"{args.scenes} layered scenes, {height}x{width}, K = {args.strength:g} px; PSNR (dB) of x/(1+x) "
          f"against the thin-lens reference ({time.perf_counter() - start:.0f} s)")
    print()
    print("| renderer | flat regions | within 8 px of a depth edge |")
    print("|---|---:|---:|")
    for name, values in totals.items():
        flat = sum(v[0] for v in values) / len(values)
        edge = sum(v[1] for v in values) / len(values)
        print(f"| {name} | {flat:.2f} | {edge:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
