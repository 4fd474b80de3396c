"""Frames per second of the physical engine at 1080p and 4K (a benchmark, not a test).

    python bench/bench_physical.py [--device cpu|cuda] [--frames N] [--sizes 1080p,4k] [--k 20,60]

Renders a synthetic shot (far textured background, a ground plane running
toward the camera, an in-focus subject, a near foreground object, HDR point
lights) focused on the subject, and prints a markdown table: ms/frame,
frames per second, peak memory, and the floor that memory bandwidth sets
(bytes read and written once divided by the measured copy bandwidth).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import time

import torch

SIZES = {"1080p": (1080, 1920), "4k": (2160, 3840), "720p": (720, 1280)}


def make_scene(height: int, width: int, device: torch.device, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(rgb (3,H,W), disparity (1,H,W), focus disparity) of a plausible shot."""
    g = torch.Generator().manual_seed(seed)
    yy = torch.linspace(0, 1, height)[:, None].expand(height, width)
    xx = torch.linspace(0, 1, width)[None, :].expand(height, width)
    # background: smooth colour texture far away
    noise = torch.rand(3, height // 16 + 1, width // 16 + 1, generator=g)
    rgb = torch.nn.functional.interpolate(noise[None], size=(height, width), mode="bilinear", align_corners=False)[0] * 0.5
    disp = torch.full((height, width), 0.05)
    # ground plane in the lower 40 %, nearer toward the bottom
    ground = yy > 0.6
    disp = torch.where(ground, 0.05 + (yy - 0.6) / 0.4 * 0.95, disp)
    rgb = torch.where(ground[None], torch.stack([0.3 + 0.2 * torch.sin(xx * 80), 0.25 + 0 * xx, 0.2 + 0 * xx]), rgb)
    # subject at focus
    subject = ((xx - 0.5) / 0.12) ** 2 + ((yy - 0.5) / 0.3) ** 2 < 1
    disp = torch.where(subject, torch.full_like(disp, 0.5), disp)
    rgb = torch.where(subject[None], torch.stack([0.8 + 0 * xx, 0.6 + 0.1 * torch.sin(yy * 200), 0.5 + 0 * xx]), rgb)
    # near foreground object on the left
    near = ((xx - 0.12) / 0.08) ** 2 + ((yy - 0.4) / 0.25) ** 2 < 1
    disp = torch.where(near, torch.full_like(disp, 1.0), disp)
    rgb = torch.where(near[None], torch.stack([0.1 + 0 * xx, 0.3 + 0 * xx, 0.6 + 0 * xx]), rgb)
    # HDR point lights in the background
    for _ in range(40):
        y = int(torch.randint(0, int(height * 0.55), (1,), generator=g))
        x = int(torch.randint(0, width, (1,), generator=g))
        rgb[:, y, x] = 50.0
    return rgb.to(device), disp[None].to(device), 0.5


def copy_bandwidth(device: torch.device) -> float:
    """Measured bytes per second of a large tensor copy (read + write)."""
    x = torch.empty(64 * 1024 * 1024 // 4, device=device)
    y = torch.empty_like(x)
    y.copy_(x)
    _sync(device)
    reps = 5
    start = time.perf_counter()
    for _ in range(reps):
        y.copy_(x)
    _sync(device)
    return 2 * x.numel() * 4 * reps / (time.perf_counter() - start)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 1024 / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--frames", type=int, default=None, help="frames timed per case (default: 10 on GPU, 2 on CPU)")
    parser.add_argument("--sizes", default="1080p,4k")
    parser.add_argument("--k", default="20,60")
    parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                        help="physical engine option, e.g. pyramid_radius_px=4 (repeatable)")
    args = parser.parse_args(argv)

    from focuspull.aperture import ApertureSpec
    from focuspull.engines.base import EngineInput
    from focuspull.params import FrameParams
    from focuspull.engines.physical import PhysicalEngine

    device = torch.device(args.device)
    frames = args.frames or (10 if device.type == "cuda" else 2)
    from focuspull.engines import parse_options

    options = parse_options("physical", {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.option)})
    engine = PhysicalEngine(options, ApertureSpec(), device)
    bandwidth = copy_bandwidth(device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or 'CPU'}, {torch.get_num_threads()} threads"
    print(f"device: {device} ({name}); copy bandwidth {bandwidth / 1e9:.1f} GB/s; torch {torch.__version__}; cpus {os.cpu_count()}")
    print()
    print("| size | K | ms/frame (mean) | ms/frame (best) | fps | CPU s/frame | peak memory (MiB) | bandwidth floor (ms) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.sizes.split(","):
        height, width = SIZES[size.strip().lower()]
        rgb, disp, focus = make_scene(height, width, device)
        for k in (float(v) for v in args.k.split(",")):
            batch = EngineInput(rgba=rgb[None], disparity=disp[None], params=FrameParams.of(1, focus, k))
            engine.render(batch)  # warm-up: kernel caches, FFT plans, allocator
            _sync(device)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            times, cpu_times = [], []
            for _ in range(frames):
                start, cpu_start = time.perf_counter(), time.process_time()
                engine.render(batch)
                _sync(device)
                times.append((time.perf_counter() - start) * 1e3)
                cpu_times.append(time.process_time() - cpu_start)
            ms = sum(times) / frames
            best = min(times)
            cpu_s = min(cpu_times)
            peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else _peak_rss_mib()
            # read RGB + disparity, write RGB, all float32, once
            floor_ms = (height * width * 4 * (3 + 1 + 3)) / bandwidth * 1e3
            print(f"| {size} | {k:g} | {ms:.1f} | {best:.1f} | {1000 / ms:.2f} | {cpu_s:.2f} | {peak:.0f} | {floor_ms:.2f} |")
    if device.type == "cpu":
        print()
        print("peak memory on CPU is the process's peak resident set size; CPU s/frame is the least process")
        print("time of a frame, summed over threads (less sensitive to other load on a shared machine).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
