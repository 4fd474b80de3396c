"""Speed and memory of the neural engine with a full-size random-weight Any-to-Bokeh model.

    python bench/bench_neural.py                       # CUDA: 576x1024, 8/16/48 frames, float16 and bfloat16
    python bench/bench_neural.py --frames 16 --precision float16 --channels-last --compile
    python bench/bench_neural.py --memory-check        # a 200-frame 1080p shot: peak GPU memory vs 24 GiB
    python bench/bench_neural.py --size tiny --device cpu --frames 3 9 --precision float32 --plate 64x96 --working 64x64

No licensed weights are needed: the UNet, VAE and CLIP image encoder have
SVD-XT's exact shapes (``random_models.CONFIGS["full"]``) and random values,
which cost the same time as the real ones. They are built once (float32) and
cast in place for each precision. The plate is streamed through
``NeuralEngine.render_stream`` one frame per batch, as the pipeline does,
each frame moved from host memory to the device when it is sent (file I/O
excluded; OCIO conversions, resizing and recombination included). Attention
is PyTorch's scaled-dot-product attention (diffusers' default processor; the
processors in use are printed).

Reports seconds per frame (wall clock, after a warm-up shot of the smallest
length) and peak GPU memory (``torch.cuda.max_memory_allocated``) as a
markdown table; ``--json PATH`` writes the figures too. Targets (issue 15):
under 0.15 s per frame at 576x1024 on an H200; a 200-frame 1080p shot within
24 GiB of GPU memory.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import torch

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
TARGET_S_PER_FRAME = 0.15
TARGET_PEAK_GIB = 24.0


def build(size: str, device: torch.device):
    """Random models of ``size`` on ``device`` in float32 (cast per precision by :func:`cast`)."""
    from focuspull.engines.neural.loader import AnyToBokehModels, ImageEncoderSettings
    from focuspull.engines.neural.random_models import CONFIGS, build_models

    parts = build_models(size, seed=0, device=device)
    side = CONFIGS[size]["feature_extractor"]["size"]
    settings = ImageEncoderSettings((side, side), (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))
    return AnyToBokehModels(parts["unet"], parts["vae"], parts["image_encoder"], settings, Path(f"<random {size}>"))


def cast(models, dtype: torch.dtype, channels_last: bool) -> None:
    for module in (models.unet, models.vae, models.image_encoder):
        torch.nn.Module.to(module, dtype=dtype)
    if channels_last:  # the 2-D convolutions only (the VAE's time_conv_out is 3-D)
        for module in (*models.unet.modules(), *models.vae.modules()):
            if isinstance(module, torch.nn.Conv2d):
                module.weight.data = module.weight.data.contiguous(memory_format=torch.channels_last)


def attention_processors(models) -> str:
    names = {type(p).__name__ for p in models.unet.attn_processors.values()}
    return ", ".join(sorted(names))


class Timers:
    """Wall time per model part (synchronised), for --breakdown."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds: dict[str, float] = defaultdict(float)
        self._wrapped: list[tuple[object, str]] = []

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
        self._wrapped.append((module, method))

    def unwrap(self) -> None:
        for module, method in self._wrapped:
            delattr(module, method)
        self._wrapped.clear()

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def run_shot(models, frames: int, plate: tuple[int, int], device: torch.device, precision: str, color,
             working: tuple[int, int], k: float) -> tuple[float, float]:
    """Seconds per frame and peak GPU memory (GiB) of one shot streamed frame by frame."""
    from focuspull.aperture import ApertureSpec
    from focuspull.engines.base import EngineInput, ShotStatistics
    from focuspull.engines.neural import NeuralEngine, NeuralOptions
    from focuspull.engines.neural.plate import WorkingGeometry
    from focuspull.params import FrameParams

    height, width = plate
    options = NeuralOptions(precision=precision, restore_highlights=False, working_width=working[0], working_height=working[1])
    engine = NeuralEngine(options, ApertureSpec(), device, color, models=models)
    strength = k / WorkingGeometry.fit(height, width, *working).scale  # K in plate px for this model k
    numbers = tuple(range(1001, 1001 + frames))
    engine.begin_shot(ShotStatistics(0.0, 1.0, numbers, width, height))
    g = torch.Generator(device="cpu").manual_seed(0)
    # Host memory, one plate reused: the pipeline reads each frame from disk into host memory.
    rgb = torch.rand(1, 3, height, width, generator=g).pin_memory() if device.type == "cuda" else torch.rand(
        1, 3, height, width, generator=g)
    disparity = torch.linspace(0, 1, width).expand(1, 1, height, width).contiguous()

    def batches():
        for t in range(frames):
            yield EngineInput(rgb.to(device, non_blocking=True), disparity.to(device, non_blocking=True),
                              FrameParams.of(numbers[t : t + 1], 0.5, strength))

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


def _load_color(use_ocio: bool):
    if not use_ocio:
        return None, "built-in sRGB (torch)"
    try:
        from focuspull.color import ColorConfig

        return ColorConfig.load("ocio://default"), "OCIO ocio://default"
    except Exception as err:  # OCIO missing on a bare GPU machine: say so and time the torch path
        print(f"bench_neural: OCIO not usable ({err}); using the built-in sRGB transfer", file=sys.stderr)
        return None, "built-in sRGB (torch; OCIO not available)"


def _table(rows: list[dict]) -> str:
    keys = ["precision", "frames", "plate", "flags", "s_per_frame", "peak_gib"]
    keys += sorted({k for r in rows for k in r} - set(keys))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[k]:.3f}" if isinstance(r.get(k), float) else str(r.get(k, "")) for k in keys) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("full", "tiny"), default="full")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--frames", type=int, nargs="+", default=[8, 16, 48])
    parser.add_argument("--precision", nargs="+", default=["float16", "bfloat16"], choices=tuple(DTYPES))
    parser.add_argument("--plate", default="576x1024", help="HxW of the plate (576x1024: the working size itself)")
    parser.add_argument("--working", default="1024x576", help="working box, long x short (multiples of 64)")
    parser.add_argument("--k", type=float, default=16.0, help="model strength k (pixels at working size per unit disparity)")
    parser.add_argument("--channels-last", action="store_true", help="UNet and VAE weights in channels-last memory format")
    parser.add_argument("--compile", action="store_true", help="torch.compile the UNet (compile time is in the warm-up)")
    parser.add_argument("--compile-mode", default="default", help="torch.compile mode (default, max-autotune-no-cudagraphs, ...)")
    parser.add_argument("--memory-check", action="store_true",
                        help=f"one 200-frame 1080x1920 shot per precision; reports peak GPU memory against {TARGET_PEAK_GIB:g} GiB")
    parser.add_argument("--no-ocio", action="store_true", help="time the built-in sRGB transfer instead of OCIO")
    parser.add_argument("--breakdown", action="store_true", help="time UNet / VAE / CLIP separately (adds syncs)")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("bench_neural: no CUDA device; use --device cpu --size tiny for a smoke test", file=sys.stderr)
        return 1
    if args.memory_check:
        args.plate, args.frames = "1080x1920", [200]
    plate = tuple(int(v) for v in args.plate.lower().split("x"))
    working = tuple(int(v) for v in args.working.lower().split("x"))
    color, color_note = _load_color(not args.no_ocio)
    flags = ",".join(f for f, on in (("channels-last", args.channels_last), (f"compile:{args.compile_mode}", args.compile)) if on) or "-"
    info = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "model": f"{args.size} (random weights)",
        "colour": color_note,
    }
    import diffusers

    info["diffusers"] = diffusers.__version__
    started = time.perf_counter()
    models = build(args.size, device)
    info["attention"] = attention_processors(models)
    print(json.dumps(info), flush=True)
    print(f"built in {time.perf_counter() - started:.1f}s", flush=True)
    if args.compile:
        models.unet.compile(mode=args.compile_mode, dynamic=False)

    rows = []
    for precision in args.precision:
        cast(models, DTYPES[precision], args.channels_last)
        timers = Timers(device)
        if args.breakdown:
            timers.wrap(models.unet, "unet")
            timers.wrap(models.vae, "vae encode", "encode_with_skips")
            timers.wrap(models.vae, "vae decode", "decode_with_skips")
            timers.wrap(models.image_encoder, "clip")
        warm_frames = 8 if args.memory_check else min(args.frames)
        started = time.perf_counter()
        run_shot(models, warm_frames, plate, device, precision, color, working, args.k)  # kernels, autotune, compile
        print(f"{precision}: warm-up {time.perf_counter() - started:.1f}s", flush=True)
        for frames in args.frames:
            timers.seconds.clear()
            per_frame, peak = run_shot(models, frames, plate, device, precision, color, working, args.k)
            row = {"precision": precision, "frames": frames, "plate": f"{plate[0]}x{plate[1]}", "flags": flags,
                   "s_per_frame": per_frame, "peak_gib": peak}
            row.update({f"{name} s/frame": seconds / frames for name, seconds in timers.seconds.items()})
            rows.append(row)
            print(json.dumps(row), flush=True)
        timers.unwrap()
        if device.type == "cuda":
            torch.cuda.empty_cache()

    print()
    print(_table(rows))
    if device.type == "cuda":
        if args.memory_check:
            worst = max(r["peak_gib"] for r in rows)
            verdict = "within" if worst <= TARGET_PEAK_GIB else "OVER"
            print(f"\nmemory check: peak {worst:.2f} GiB for 200 frames at 1080p, {verdict} the {TARGET_PEAK_GIB:g} GiB target")
        elif plate == (576, 1024):
            best = min(r["s_per_frame"] for r in rows)
            verdict = "meets" if best <= TARGET_S_PER_FRAME else "misses"
            print(f"\nspeed: best {best:.3f} s/frame at 576x1024, {verdict} the {TARGET_S_PER_FRAME} s/frame target")
    if args.json:
        Path(args.json).write_text(json.dumps({**info, "plate": plate, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
