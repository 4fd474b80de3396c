"""Speed and memory of the neural engine with a full-size random-weight Any-to-Bokeh model.

    python bench/bench_neural.py                       # CUDA: 8/16/48 frames, fp16 and bf16, 576x1024
    python bench/bench_neural.py --frames 8 --precision float16 --breakdown
    python bench/bench_neural.py --size tiny --device cpu --frames 3 9 --precision float32 --plate 64x96 --working 64x64

No licensed weights are needed: the UNet, VAE and CLIP image encoder have
SVD-XT's exact shapes (``random_models.CONFIGS["full"]``) and random values,
which cost the same time as the real ones. The plate is streamed through
``NeuralEngine.render_stream`` one frame per batch, as the pipeline does, from
tensors already on the device (file I/O excluded; OCIO conversions, resizing
and recombination included). Reports seconds per frame (wall clock, after a
warm-up shot) and peak GPU memory (``torch.cuda.max_memory_allocated``) as a
markdown table; ``--json PATH`` writes the figures too.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch


def build(size: str, device: torch.device, dtype: torch.dtype):
    from focuspull.engines.neural.loader import AnyToBokehModels, ImageEncoderSettings
    from focuspull.engines.neural.random_models import CONFIGS, build_models

    parts = build_models(size, seed=0, device=device)
    side = CONFIGS[size]["feature_extractor"]["size"]
    settings = ImageEncoderSettings((side, side), (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))
    cast = [torch.nn.Module.to(parts[name], dtype=dtype) for name in ("unet", "vae", "image_encoder")]
    return AnyToBokehModels(*cast, settings, Path(f"<random {size}>"))


class Timers:
    """Wall time per model part (synchronised), for --breakdown."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, module, name: str, method: str = "forward") -> None:
        inner = getattr(module, method)

        def timed(*args, **kwargs):
            self._sync()
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self._sync()
                self.seconds[name] += time.perf_counter() - start

        setattr(module, method, timed)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def run_shot(models, frames: int, plate: tuple[int, int], device: torch.device, precision: str, color,
             working: tuple[int, int], k: float) -> tuple[float, float]:
    from focuspull.aperture import ApertureSpec
    from focuspull.engines.base import EngineInput, ShotStatistics
    from focuspull.params import FrameParams
    from focuspull.engines.neural import NeuralEngine, NeuralOptions
    from focuspull.engines.neural.plate import WorkingGeometry

    height, width = plate
    options = NeuralOptions(precision=precision, restore_highlights=False, working_width=working[0], working_height=working[1])
    engine = NeuralEngine(options, ApertureSpec(), device, color, models=models)
    strength = k / WorkingGeometry.fit(height, width, *working).scale  # K in plate px for this model k
    numbers = tuple(range(1001, 1001 + frames))
    engine.begin_shot(ShotStatistics(0.0, 1.0, numbers, width, height))
    g = torch.Generator(device="cpu").manual_seed(0)
    rgb = torch.rand(frames, 3, height, width, generator=g).to(device)
    disparity = torch.linspace(0, 1, width).expand(frames, 1, height, width).contiguous().to(device)

    def batches():
        for t in range(frames):
            yield EngineInput(rgb[t : t + 1], disparity[t : t + 1], FrameParams.of(numbers[t : t + 1], 0.5, strength))

    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    with torch.inference_mode():
        count = sum(out.rgba.shape[0] for out in engine.render_stream(batches()))
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - start
    assert count == frames
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else float("nan")
    return seconds / frames, peak


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("full", "tiny"), default="full")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 16, 48])
    parser.add_argument("--precision", nargs="+", default=["float16", "bfloat16"],
                        choices=("float16", "bfloat16", "float32"))
    parser.add_argument("--plate", default="576x1024", help="HxW of the plate (576x1024: the working size itself)")
    parser.add_argument("--working", default="1024x576", help="working box, long x short (multiples of 64)")
    parser.add_argument("--k", type=float, default=16.0, help="model strength k (pixels at working size per unit disparity)")
    parser.add_argument("--breakdown", action="store_true", help="time UNet / VAE / CLIP separately (adds syncs)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("bench_neural: no CUDA device; use --device cpu --size tiny for a smoke test", file=sys.stderr)
        return 1
    plate = tuple(int(v) for v in args.plate.lower().split("x"))
    working = tuple(int(v) for v in args.working.lower().split("x"))
    from focuspull.color import ColorConfig

    color = ColorConfig.load("ocio://default")
    rows = []
    info = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {info}; model: {args.size} (random weights); plate {plate[0]}x{plate[1]}", flush=True)
    for precision in args.precision:
        dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}[precision]
        started = time.perf_counter()
        models = build(args.size, device, dtype)
        print(f"{precision}: built in {time.perf_counter() - started:.1f}s", flush=True)
        timers = Timers(device)
        if args.breakdown:
            timers.wrap(models.unet, "unet")
            timers.wrap(models.vae, "vae encode", "encode_with_skips")
            timers.wrap(models.vae, "vae decode", "decode_with_skips")
            timers.wrap(models.image_encoder, "clip")
        run_shot(models, min(args.frames), plate, device, precision, color, working, args.k)  # warm-up (kernels, cuDNN autotune)
        for frames in args.frames:
            timers.seconds.clear()
            per_frame, peak = run_shot(models, frames, plate, device, precision, color, working, args.k)
            row = {"precision": precision, "frames": frames, "s_per_frame": per_frame, "peak_gib": peak}
            row.update({f"{k} s/frame": v / frames for k, v in timers.seconds.items()})
            rows.append(row)
            print(json.dumps(row), flush=True)
        del models
        if device.type == "cuda":
            torch.cuda.empty_cache()

    keys = ["precision", "frames", "s_per_frame", "peak_gib"] + sorted({k for r in rows for k in r} - {"precision", "frames", "s_per_frame", "peak_gib"})
    print()
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(f"{r[k]:.3f}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k in keys) + " |")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": info, "plate": plate, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
