"""The physical engine on real content, with Blender's compositor Defocus node beside it (a benchmark, not a test).

    python bench/bench_physical.py [--device cpu|cuda] [--repeat 3] [--sizes 1080p,4k]
        [--peer PYTHON] [--peer-width 480] [--skip scaling,process,peer] [--dtype float32|float16]

Content (``scenes.py``): a scene made in code with depth edges everywhere (thin
posts and wires, foliage-like cards with holes, ~600 small HDR lights per
1080p frame, a receding floor; largest CoC 32 px at 1080p, 64 px at 4K) and
frame 1001 of the breakdance plate at its keyed focus and K (60 px at 1080p;
skipped when ../shared/data/breakdance is absent), plus its quarter-resolution
preview (480 px wide, K scaled).

Every measurement runs in a fresh child process (so peak memory is that
case's), after one warm-up render, and takes the median of 3-9 frames
rendered one after another (as a render does); the cases are interleaved and
each is run ``--repeat`` times, the minimum of those medians is reported (the
machine may be shared: torch's threads spin under load, and the minimum is
the least disturbed run). Tables:

1. ms/frame, render only (engine.render on tensors) and whole process (the
   ``focuspull render`` CLI from EXR/JPEG on disk to EXR, two frames, process
   start included), CPU s/frame, peak memory;
2. the peer: Blender's Defocus node (``bpy`` from PyPI in a separate Python
   3.11 environment, given by ``--peer`` or ``$FOCUSPULL_PEER_PYTHON``; skipped
   with a note when absent) fed the same frame and a CoC-radius map from the
   same law, ``blur_max`` = the frame's largest radius, at ``--peer-width``
   (its gather costs (2 blur_max + 1)^2 per pixel: minutes per 1080p frame);
3. where the time goes (torch.profiler labels of the engine's stages);
4. how time grows with pixel count (largest CoC fixed) and with the largest CoC.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import statistics
import tempfile
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import scenes  # noqa: E402

SIZES = {"270p": (270, 480), "540p": (540, 960), "1080p": (1080, 1920), "4k": (2160, 3840)}
#: the scene's largest CoC at 1080p; other sizes scale it with the width (the same look)
SCENE_RADIUS_1080P = 32.0
STAGES = ("physical.resample", "physical.fill", "physical.convolve", "physical.sprites", "physical.composite")


# -- content ------------------------------------------------------------------
def content(spec: str, cache: Path) -> scenes.Frame:
    """A frame by name: ``scene:HxW:RADIUS`` or ``breakdance:FRAME:WIDTH`` (cached on disk)."""
    path = cache / (spec.replace(":", "_") + ".pt")
    if path.exists():
        return scenes.Frame(**torch.load(path))
    kind, *args = spec.split(":")
    if kind == "scene":
        height, width = (int(v) for v in args[0].split("x"))
        frame = scenes.depth_edge_scene(height, width, float(args[1]))
    else:
        frame = scenes.breakdance(int(args[0]), int(args[1]))
    torch.save(vars(frame), path)
    return frame


def scene_spec(size: str, radius: float | None = None) -> str:
    height, width = SIZES[size]
    return f"scene:{height}x{width}:{radius if radius is not None else SCENE_RADIUS_1080P * width / 1920:g}"


# -- child: one render-only measurement -----------------------------------------
def _peak_rss_mib() -> float:
    # Linux: the process's own high-water mark (VmHWM starts afresh at exec; ru_maxrss
    # keeps the parent's peak from before the fork, which held every case's content)
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def child(spec: str, cache: Path, device_name: str, dtype_name: str, profile: bool) -> dict:
    from focuspull.allocator import keep_freed_memory
    from focuspull.aperture import ApertureSpec
    from focuspull.engines.base import EngineInput
    from focuspull.engines.physical import PhysicalEngine, PhysicalOptions
    from focuspull.params import FrameParams

    keep_freed_memory()  # as the command line does
    device = torch.device(device_name)
    dtype = getattr(torch, dtype_name)
    frame = content(spec, cache)
    batch = EngineInput(
        rgba=frame.rgb[None].to(device, dtype),
        disparity=frame.disparity[None].to(device, dtype),
        params=FrameParams.of(1, frame.focus_disparity, frame.strength_px),
    )
    engine = PhysicalEngine(PhysicalOptions(), ApertureSpec(), device)
    rss_before = _peak_rss_mib()
    engine.render(batch)  # warm-up: kernel caches, FFT plans, allocator
    _sync(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    # a render renders frame after frame in one process: the median of several frames
    # (at least 3, about 2 s of them, at most 9), steadier than one frame on a shared VM
    walls: list[float] = []
    cpus: list[float] = []
    while len(walls) < 3 or (len(walls) < 9 and sum(walls) < 2.0):
        start, cpu = time.perf_counter(), time.process_time()
        engine.render(batch)
        _sync(device)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    result = {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus), "frames": len(walls),
              "max_radius_px": frame.max_radius_px, "pixels": frame.rgb.shape[-1] * frame.rgb.shape[-2]}
    if device.type == "cuda":
        result["peak_mib"] = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        result["peak_mib"] = _peak_rss_mib()
        result["peak_above_input_mib"] = _peak_rss_mib() - rss_before
    if profile:
        from torch.profiler import ProfilerActivity
        from torch.profiler import profile as torch_profile

        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
        with torch_profile(activities=activities) as prof:
            start = time.perf_counter()
            engine.render(batch)
            _sync(device)
            total = time.perf_counter() - start
        # label events nest only through the engine's call tree, never in each other
        spent = {name: 0.0 for name in STAGES}
        for event in prof.events():
            if event.name in spent:
                spent[event.name] += event.cpu_time_total / 1e6
        result["stages"] = {name.split(".")[1]: s / total for name, s in spent.items()}
        result["stages"]["other"] = max(1.0 - sum(result["stages"].values()), 0.0)
    return result


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_child(spec: str, args: argparse.Namespace, cache: Path, profile: bool = False) -> dict:
    cmd = [sys.executable, str(Path(__file__)), "--child", spec, "--cache", str(cache), "--device", args.device,
           "--dtype", args.dtype] + (["--profile"] if profile else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{spec}: child failed\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# -- the peer -------------------------------------------------------------------
def write_exr(path: Path, pixels: torch.Tensor) -> None:
    """(C, H, W) float32 to a float EXR (for the peer and the CLI)."""
    import OpenImageIO as oiio

    array = pixels.permute(1, 2, 0).contiguous().numpy()
    names = {1: ("Y",), 3: ("R", "G", "B"), 4: ("R", "G", "B", "Z")}[array.shape[2]]
    spec = oiio.ImageSpec(array.shape[1], array.shape[0], array.shape[2], oiio.FLOAT)
    spec.channelnames = names
    out = oiio.ImageOutput.create(str(path))
    if not out or not out.open(str(path), spec) or not out.write_image(array) or not out.close():
        raise RuntimeError(f"cannot write {path}: {oiio.geterror()}")


def run_peer(spec: str, python: str, cache: Path, repeat: int) -> dict:
    frame = content(spec, cache)
    folder = cache / ("peer_" + spec.replace(":", "_"))
    folder.mkdir(exist_ok=True)
    image, radius = folder / "image.exr", folder / "radius.exr"
    if not image.exists():
        write_exr(image, frame.rgb)
        write_exr(radius, frame.radius_px())
    cmd = [python, str(HERE / "peer_blender.py"), "--image", str(image), "--radius", str(radius),
           "--blur-max", f"{frame.max_radius_px:.3f}", "--repeat", str(repeat)]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    process_s = time.perf_counter() - start
    if out.returncode != 0:
        raise RuntimeError(f"peer failed on {spec}:\n{out.stderr[-2000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_s"] = process_s
    return result


# -- whole process: the CLI ---------------------------------------------------------
def run_process(spec: str, args: argparse.Namespace, cache: Path, frames: int = 2) -> float:
    """Wall seconds per frame of ``focuspull render`` on this content (files on disk, process start included)."""
    frame = content(spec, cache)
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        out = Path(tmp) / "out" / "r.####.exr"
        if spec.startswith("breakdance"):
            first = int(spec.split(":")[1])
            data = scenes.BREAKDANCE
            cli = [str(data / "rgb" / "breakdance.####.jpg"), "--frames", f"{first}-{first + frames - 1}",
                   "--input-colorspace", "sRGB - Texture", "--depth", str(data / "disparity" / "breakdance_disp.####.png"),
                   "--depth-kind", "normalized_disparity", "--focus", f"{frame.focus_disparity}",
                   "--strength", f"{frame.strength_px * 1024 / frame.rgb.shape[-1]}", "--strength-width", "1024"]
            if int(spec.split(":")[2]) != 1920:
                return float("nan")  # the CLI renders the plate at its own size
        else:
            plate = Path(tmp) / "plate.####.exr"
            for f in range(1, frames + 1):
                write_exr(Path(str(plate).replace("####", f"{f:04d}")), torch.cat([frame.rgb, 1.0 / frame.disparity]))
            cli = [str(plate), "--frames", f"1-{frames}", "--depth-channel", "Z", "--focus", f"{1.0 / frame.focus_disparity}",
                   "--strength", f"{frame.strength_px}"]
        cmd = [sys.executable, "-m", "focuspull", "render", *cli, "-o", str(out), "--device", args.device, "--progress", "jsonl"]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{spec}: focuspull render failed\n{done.stderr[-2000:]}")
    return elapsed / frames


# -- the tables ---------------------------------------------------------------------
def label(spec: str) -> str:
    kind, *rest = spec.split(":")
    if kind == "scene":
        h, w = (int(v) for v in rest[0].split("x"))
        return f"depth-edge scene {w}x{h}"
    return f"breakdance {rest[0]} at {rest[1]} px wide" + (" (preview)" if int(rest[1]) < 1920 else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float16", "bfloat16"),
                        help="plate dtype handed to the engine (fp16 on the GPU)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs per case; the minimum is reported")
    parser.add_argument("--sizes", default="1080p,4k", help="sizes of the depth-edge scene: " + ",".join(SIZES))
    parser.add_argument("--scene-k", type=float, default=None,
                        help="strength K (px) of the depth-edge scene at every size (default: largest CoC 32 px at "
                             "1080p, scaled with the width); its disparity spans 0.04..1 around a focus of 0.5, "
                             "so the largest CoC is K / 2")
    parser.add_argument("--peer", default=os.environ.get("FOCUSPULL_PEER_PYTHON", ""),
                        help="Python with bpy for Blender's Defocus node (default $FOCUSPULL_PEER_PYTHON)")
    parser.add_argument("--peer-width", type=int, default=480, help="width at which the peer and the engine are compared")
    parser.add_argument("--scaling-sizes", default="540p,1080p,4k", help="sizes at a largest CoC of 32 px")
    parser.add_argument("--scaling-radii", default="8,16,64,128", help="largest CoCs (px) of the 1080p scene")
    parser.add_argument("--skip", default="", help="comma list of: scaling, process, peer, stages")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "focuspull-bench"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    if args.child:
        print(json.dumps(child(args.child, cache, args.device, args.dtype, args.profile)))
        return 0
    skip = set(filter(None, args.skip.split(",")))
    have_breakdance = (scenes.BREAKDANCE / "params.csv").is_file()

    radius = args.scene_k / 2 if args.scene_k else None
    main_cases = [scene_spec(s.strip().lower(), radius) for s in args.sizes.split(",")]
    if have_breakdance:
        main_cases += ["breakdance:1001:1920", "breakdance:1001:480"]
    peer_cases: list[str] = []
    if "peer" not in skip:
        pw = args.peer_width
        peer_cases = [f"scene:{round(pw * 9 / 16)}x{pw}:{SCENE_RADIUS_1080P * pw / 1920:g}"]
        if have_breakdance:
            peer_cases.append(f"breakdance:1001:{pw}")
    scaling_cases: list[str] = []
    if "scaling" not in skip:
        scaling_cases = [scene_spec(s, SCENE_RADIUS_1080P) for s in args.scaling_sizes.split(",")]
        scaling_cases += [scene_spec("1080p", float(r)) for r in args.scaling_radii.split(",")]
    engine_cases = list(dict.fromkeys(main_cases + peer_cases + scaling_cases))

    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"{platform.processor() or 'CPU'}"
    print(f"device: {device} ({name}, {args.dtype}); torch {torch.__version__}; {os.cpu_count()} CPUs, "
          f"{torch.get_num_threads()} torch threads; load average {os.getloadavg()[0]:.1f} at start")
    for spec in engine_cases:  # make the content once, before any timing
        content(spec, cache)

    peer_python = args.peer if args.peer and Path(args.peer).exists() else ""
    results: dict[str, list[dict]] = {spec: [] for spec in engine_cases}
    peers: dict[str, list[dict]] = {spec: [] for spec in peer_cases}
    stage_cases = [] if "stages" in skip else [c for c in main_cases if c.startswith("breakdance:1001:1920")] or main_cases[:1]
    for round_index in range(args.repeat):  # interleaved: every case once per round
        for spec in engine_cases:
            # the first round also profiles the stages (a third render, after the timed one)
            results[spec].append(run_child(spec, args, cache, profile=round_index == 0 and spec in stage_cases))
            if spec in peers and peer_python:
                peers[spec].append(run_peer(spec, peer_python, cache, repeat=1))
    best = {spec: min(runs, key=lambda r: r["wall_s"]) for spec, runs in results.items()}
    process = {}
    if "process" not in skip:
        for spec in main_cases:
            process[spec] = min(run_process(spec, args, cache) for _ in range(max(1, args.repeat - 1)))

    print(f"\nrender: the median frame of 3-9 in one process; the minimum of {args.repeat} interleaved runs; "
          f"load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| content | largest CoC (px) | render ms/frame | whole process ms/frame | CPU s/frame | peak memory (MiB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for spec in main_cases:
        r = best[spec]
        whole = process.get(spec, float("nan"))
        whole_text = f"{whole * 1e3:.0f}" if whole == whole else "-"
        print(f"| {label(spec)} | {r['max_radius_px']:.0f} | {r['wall_s'] * 1e3:.0f} | {whole_text} | {r['cpu_s']:.2f} | {r['peak_mib']:.0f} |")

    if peer_cases:
        print()
        if not peer_python:
            print("peer: Blender's Defocus node skipped: no Python with bpy (--peer or $FOCUSPULL_PEER_PYTHON; "
                  "e.g. python3.11 -m venv /opt/peer-bpy && /opt/peer-bpy/bin/pip install bpy)")
        else:
            print("| content | largest CoC (px) | focuspull ms | Blender Defocus ms | Blender / focuspull |")
            print("|---|---:|---:|---:|---:|")
            for spec in peer_cases:
                ours = best[spec]["wall_s"]
                theirs = min(min(p["render_s"]) for p in peers[spec])
                version = peers[spec][0]["blender"]
                print(f"| {label(spec)} | {best[spec]['max_radius_px']:.0f} | {ours * 1e3:.0f} | {theirs * 1e3:.0f} "
                      f"| {theirs / ours:.1f}x |")
            print(f"\nBlender {version} (bpy), compositor Defocus node: circular bokeh, radius map from the same law "
                  "(Use Z-Buffer off), blur_max = the frame's largest radius; its time is one compositor execution "
                  "(inputs loaded by it).")

    if stage_cases:
        print("\nshare of the render time by stage (torch.profiler, one render):\n")
        print("| content | " + " | ".join(s.split(".")[1] for s in STAGES) + " | other |")
        print("|---|" + "---:|" * (len(STAGES) + 1))
        for spec in stage_cases:
            stages = results[spec][0]["stages"]
            print(f"| {label(spec)} | " + " | ".join(f"{100 * v:.0f}%" for v in stages.values()) + " |")

    if scaling_cases:
        base = best.get(scene_spec("1080p", SCENE_RADIUS_1080P), best[scaling_cases[0]])
        print("\n| depth-edge scene | largest CoC (px) | megapixels | render ms | relative to 1080p, 32 px |")
        print("|---|---:|---:|---:|---:|")
        for spec in scaling_cases:
            r = best[spec]
            print(f"| {label(spec)} | {r['max_radius_px']:.0f} | {r['pixels'] / 1e6:.1f} | {r['wall_s'] * 1e3:.0f} "
                  f"| {r['wall_s'] / base['wall_s']:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
