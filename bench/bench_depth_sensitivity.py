"""How much a render suffers from imperfect depth, with and without depth conditioning.

    python bench/bench_depth_sensitivity.py [--frames 12] [--synthetic-size 288x512]
        [--breakdance ../shared/data/breakdance] [--breakdance-frames 1030-1041] [--width 1024]
        [--strength 16] [--depths "clean,noise 0.02,..."] [--edge-seeds 1-6] [--json out.json]

A known-good depth (a synthetic layered scene in motion with exact depth; the
breakdance plate with its disparity, reduced to ``--width``) is degraded the
ways real depth is imperfect (per-pixel noise, a foreground eroded or dilated
by 3 px, blur, a per-frame scale jitter), and each degraded shot is rendered
by the physical engine as it is (``none``), with the spatial steps
(``spatial``: outliers + edges), with all three (``all``: outliers + edges,
then temporal stabilisation, weight 0.5: a supplied map with edges and
stabilisation switched on) and as estimated depth gets them (``estimate``:
the estimation stabilises the model's output before the spatial steps, so a
temporal pass runs before them too).
Against the render from the clean depth (unconditioned) it prints PSNR (dB,
on x/(1+x)) over all pixels, over pixels within 8 px of a depth edge (a jump
of more than 0.02 in the clean depth) and over the others ("flat"), a band
of the largest CoC along the border excluded; the flicker ratio
(``bench/flicker.py``: the render's flow-warped temporal error over the
plate's, both as display values); and for the scale jitter the shot's scale
bias (mean over frames of the median conditioned/clean disparity, minus 1).

Two columns measure against ground truth rather than the clean render:

* ``truth`` (synthetic): PSNR over all pixels against the exact thin-lens
  image of the layered scene (``bench/reference.py``). The clean depth is
  exact there, so "clean / none" is the engine's own error and "clean /
  spatial" says whether conditioning made good depth worse.
* ``matte`` (breakdance): within 6 px of the dancer's matte edge, the share
  of pixels that the depth puts on the matte's side (nearer to the
  dancer's disparity or to the background's next to it). Real footage has
  no true depth; the matte is the one true silhouette it has.

The "clean" rows condition the clean depth: how much conditioning changes a
render from depth that was already right.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import flicker  # noqa: E402
import reference  # noqa: E402
from bench_accuracy import engine_render  # noqa: E402

DEGRADATIONS = ("clean", "noise 0.02", "noise 0.05", "eroded 3 px", "dilated 3 px", "blur 6 px", "scale jitter 3%")
MODES = ("none", "spatial", "all", "estimate")
#: a depth edge for the edge mask: a jump of more than this between neighbours in the clean depth
EDGE_JUMP = 0.02


# -- shots ------------------------------------------------------------------------------------------
class Shot:
    """Frames (T, 3, H, W) scene-linear, clean disparity (T, H, W), focus (T,), K, display transform;
    a ground truth where there is one: the thin-lens image (T, 3, H, W) or a subject matte (T, H, W)."""

    def __init__(self, name: str, rgb: torch.Tensor, disparity: torch.Tensor, focus: Sequence[float],
                 strength_px: float, display: Callable[[np.ndarray], np.ndarray],
                 truth: torch.Tensor | None = None, matte: torch.Tensor | None = None) -> None:
        self.name, self.rgb, self.disparity = name, rgb, disparity
        self.focus, self.strength_px, self.display = list(focus), strength_px, display
        self.truth, self.matte = truth, matte


def layered_scene(height: int, width: int, seed: int, strength_px: float) -> reference.Scene:
    """Objects as a camera sees them: a softly shaded background and four shapes, each its own
    colour with gentle texture and a 1-px soft edge, at four exact disparities; HDR lights."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32),
                            indexing="ij")
    shade = 0.15 + 0.35 * reference._smooth_noise(3, height, width, 48, g)
    background = torch.cat([shade + 0.05 * reference._smooth_noise(3, height, width, 3, g), torch.ones(1, height, width)])
    reference._add_lights(background, 6, g)
    layers = [reference.Layer(background, 0.1)]
    for i, d in enumerate((0.35, 0.55, 0.75, 0.95)):
        cy, cx = (0.2 + 0.6 * float(torch.rand(1, generator=g)) for _ in range(2))
        ry, rx = (0.12 + 0.12 * float(torch.rand(1, generator=g)) for _ in range(2))
        cy, cx, ry, rx = cy * height, cx * width, ry * height, rx * width
        if i % 2 == 0:
            dist = (torch.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2) - 1) * min(ry, rx)
        else:
            dist = torch.maximum((yy - cy).abs() - ry, (xx - cx).abs() - rx)
        alpha = torch.clamp(0.5 - dist, 0, 1)
        base = 0.1 + 0.8 * torch.rand(3, 1, 1, generator=g)
        tex = base * (0.8 + 0.4 * reference._smooth_noise(3, height, width, 16, g))
        layers.append(reference.Layer(torch.cat([tex * alpha, alpha[None]]), d))
    return reference.Scene(tuple(layers), 0.55, strength_px)


def synthetic_shot(frames: int, height: int, width: int, strength_px: float, busy: bool = False, seed: int = 3,
                   with_truth: bool = True) -> Shot:
    """A layered scene in motion: each layer pans at its own speed (nearer = faster).

    ``busy``: ``reference.random_scene`` instead (saturated pixel-scale random texture on every
    layer: colour cannot tell one side of an edge from the other).
    """
    wide = width + 4 * max(frames, 16)  # the same scene for any frame count up to 16
    scene = (reference.random_scene(height, wide, seed=seed, strength_px=strength_px) if busy
             else layered_scene(height, wide, seed, strength_px))
    rgb, disparity, exact = [], [], []
    for t in range(frames):
        layers = [reference.Layer(reference._shift(layer.rgba, 0.0, -(1 + i) * t)[:, :, :width], layer.disparity)
                  for i, layer in enumerate(scene.layers)]
        frame = reference.Scene(tuple(layers), scene.focus_disparity, strength_px)
        image, d = reference.engine_inputs(frame)
        rgb.append(image[:3])
        disparity.append(d[0])
        if with_truth:
            exact.append(reference.thin_lens(frame)[:3])

    def display(x: np.ndarray) -> np.ndarray:
        return np.clip(x, 0, None) ** (1 / 2.2)

    return Shot("synthetic, busy" if busy else "synthetic", torch.stack(rgb), torch.stack(disparity),
                [scene.focus_disparity] * frames, strength_px, display, truth=torch.stack(exact) if exact else None)


def breakdance_shot(folder: str, frames: Sequence[int], width: int, strength_px: float) -> Shot:
    from focuspull.color import ColorConfig
    from focuspull.io import read_image

    color = ColorConfig.load(None)
    space = color.resolve("sRGB - Texture")
    focus_by_frame = {int(r["frame"]): float(r["focus_disparity"])
                      for r in csv.DictReader(open(os.path.join(folder, "params.csv")))}
    def reduced(x: np.ndarray, height: int) -> torch.Tensor:
        return F.interpolate(torch.from_numpy(np.ascontiguousarray(x, np.float32))[None, None],
                             size=(height, width), mode="area")[0, 0]

    rgb, disparity, matte = [], [], []
    for f in frames:
        image = read_image(os.path.join(folder, "rgb", f"breakdance.{f}.jpg"))
        linear = color.to_working(image.pixels[..., :3].astype(np.float32), space)
        d = read_image(os.path.join(folder, "disparity", f"breakdance_disp.{f}.png")).pixels[..., 0]
        height = round(linear.shape[0] * width / linear.shape[1])
        rgb.append(F.interpolate(torch.from_numpy(linear).permute(2, 0, 1)[None], size=(height, width), mode="area")[0])
        disparity.append(reduced(d, height))
        matte.append(reduced(read_image(os.path.join(folder, "mask", f"breakdance_mask.{f}.png")).pixels[..., 0], height))

    def display(x: np.ndarray) -> np.ndarray:
        return np.clip(color.from_working(np.ascontiguousarray(x, np.float32), space), 0, 1)

    return Shot("breakdance", torch.stack(rgb), torch.stack(disparity), [focus_by_frame[f] for f in frames],
                strength_px, display, matte=torch.stack(matte))


# -- degradations and conditioning -----------------------------------------------------------------------
def degrade(d: torch.Tensor, kind: str, seed: int = 0) -> torch.Tensor:
    """(T, H, W) clean disparity -> degraded copy."""
    g = torch.Generator().manual_seed(seed)
    if kind == "clean":
        return d.clone()
    if kind.startswith("noise"):
        sigma = float(kind.split()[1])
        return (d + sigma * torch.randn(d.shape, generator=g)).clamp_min(0.0)
    if kind == "eroded 3 px":  # the nearer side shrinks: a min filter of disparity
        return -F.max_pool2d(-d[:, None], 7, stride=1, padding=3)[:, 0]
    if kind == "dilated 3 px":
        return F.max_pool2d(d[:, None], 7, stride=1, padding=3)[:, 0]
    if kind == "blur 6 px":
        radius = 18
        x = torch.arange(-radius, radius + 1, dtype=torch.float32)
        k = torch.exp(-0.5 * (x / 6.0) ** 2)
        k = k / k.sum()
        out = F.conv2d(F.pad(d[:, None], (radius, radius, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
        return F.conv2d(F.pad(out, (0, 0, radius, radius), mode="replicate"), k.view(1, 1, -1, 1))[:, 0]
    if kind == "scale jitter 3%":
        scales = 1.0 + 0.03 * torch.randn(d.shape[0], generator=g)
        scales = scales / scales.mean()  # the shot's mean scale is the clean one: any bias is the conditioning's
        return d * scales[:, None, None]
    raise ValueError(kind)


def condition(shot: Shot, d: torch.Tensor, mode: str) -> torch.Tensor:
    from focuspull.depth_conditioning import ConditioningSteps, condition_frame, stabilize
    from focuspull.flow import to_gray8

    if mode == "none":
        return d
    rgb = shot.rgb.permute(0, 2, 3, 1).numpy()
    gray = [to_gray8(x) for x in rgb]
    frames = list(d.numpy())
    if mode == "estimate":  # as the estimation does to the model's output, before the spatial steps
        frames = stabilize(frames, gray, weight=0.5)
    steps = ConditioningSteps(remove_outliers=True, refine_edges=True)
    frames = [condition_frame(frames[t], rgb[t], steps) for t in range(len(frames))]
    if mode != "spatial":
        frames = stabilize(frames, gray, weight=0.5)
    return torch.from_numpy(np.stack(frames))


# -- measuring ---------------------------------------------------------------------------------------------
def render(shot: Shot, d: torch.Tensor) -> torch.Tensor:
    return torch.stack([engine_render(shot.rgb[t], d[t][None], shot.focus[t], shot.strength_px)
                        for t in range(d.shape[0])])


def masks(shot: Shot) -> tuple[torch.Tensor, torch.Tensor]:
    """(edge, flat) per frame (T, H, W), the border band excluded."""
    d = shot.disparity
    jump = torch.zeros_like(d, dtype=torch.bool)
    dx = (d[:, :, 1:] - d[:, :, :-1]).abs() > EDGE_JUMP
    dy = (d[:, 1:, :] - d[:, :-1, :]).abs() > EDGE_JUMP
    jump[:, :, 1:] |= dx
    jump[:, :, :-1] |= dx
    jump[:, 1:, :] |= dy
    jump[:, :-1, :] |= dy
    near = F.max_pool2d(jump[:, None].float(), 17, stride=1, padding=8)[:, 0] > 0
    border = int(math.ceil(shot.strength_px * float(d.max() - d.min()))) + 1
    inner = torch.zeros_like(jump)
    inner[:, border:-border, border:-border] = True
    return inner & near, inner & ~near


def psnr(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> float:
    ta, tb = a.clamp_min(0) / (1 + a.clamp_min(0)), b.clamp_min(0) / (1 + b.clamp_min(0))
    err = ((ta - tb) ** 2).mean(dim=1)[mask]
    mse = float(err.mean()) if err.numel() else 0.0
    return 10 * math.log10(1.0 / max(mse, 1e-20))


def flicker_ratio(shot: Shot, out: torch.Tensor) -> float:
    pairs = ((shot.display(shot.rgb[t].permute(1, 2, 0).numpy()), shot.display(out[t].permute(1, 2, 0).numpy()))
             for t in range(out.shape[0]))
    return flicker.measure_warped(pairs).ratio


def matte_agreement(matte: torch.Tensor, d: torch.Tensor, band_px: int = 6, window_px: int = 12) -> float:
    """Share of the pixels within ``band_px`` of the matte's edge that ``d`` puts on the matte's side:
    nearer to the subject's disparity close by (its maximum within ``window_px``) than to the
    background's (its minimum), where the two differ by more than 0.05."""
    from focuspull.depth_conditioning.edges import max_filter

    agree, total = 0, 0
    for m, frame in zip(matte > 0.5, d):
        edge = max_filter(m.float(), 1) != -max_filter(-m.float(), 1)
        band = max_filter(edge.float(), band_px) > 0
        subject = max_filter(torch.where(m, frame, torch.full_like(frame, -1e9)), window_px)
        background = -max_filter(torch.where(m, torch.full_like(frame, -1e9), -frame), window_px)
        known = band & (subject > -1e8) & (background < 1e8) & (subject - background > 0.05)
        on_subject = (frame - background).abs() > (frame - subject).abs()
        agree += int((on_subject == m)[known].sum())
        total += int(known.sum())
    return agree / max(total, 1)


def scale_bias(clean: torch.Tensor, d: torch.Tensor) -> float:
    """Mean over frames of the median ratio conditioned / clean disparity, minus 1."""
    keep = clean > 0.1 * float(clean.max())
    return float(np.mean([float((d[t][keep[t]] / clean[t][keep[t]]).median()) for t in range(d.shape[0])])) - 1.0


def run(shot: Shot, print_row: Callable[[str], None], degradations: Sequence[str] = DEGRADATIONS) -> list[dict]:
    started = time.monotonic()
    reference_render = render(shot, shot.disparity)
    edge, flat = masks(shot)
    inner = edge | flat

    def against_truth(out: torch.Tensor, d: torch.Tensor) -> dict:
        return {"truth": psnr(out, shot.truth, inner) if shot.truth is not None else None,
                "matte": matte_agreement(shot.matte, d) if shot.matte is not None else None}

    rows = [{"scene": shot.name, "depth": "clean", "mode": "none", "all": math.inf, "edge": math.inf,
             "flat": math.inf, "flicker": flicker_ratio(shot, reference_render), "bias": 0.0,
             **against_truth(reference_render, shot.disparity)}]
    print_row(_line(rows[0]))
    for degradation in degradations:
        degraded = degrade(shot.disparity, degradation)
        for mode in MODES:
            if degradation == "clean" and mode == "none":
                continue
            d = condition(shot, degraded, mode)
            out = render(shot, d)
            row = {"scene": shot.name, "depth": degradation, "mode": mode,
                   "all": psnr(out, reference_render, inner), "edge": psnr(out, reference_render, edge),
                   "flat": psnr(out, reference_render, flat), "flicker": flicker_ratio(shot, out),
                   "bias": scale_bias(shot.disparity, d), **against_truth(out, d)}
            rows.append(row)
            print_row(_line(row))
    print_row(f"\n{shot.name}: {shot.rgb.shape[0]} frames {shot.rgb.shape[3]}x{shot.rgb.shape[2]}, K = "
              f"{shot.strength_px:g} px, {time.monotonic() - started:.0f} s\n")
    return rows


def edge_sweep(seeds: Sequence[int], frames: int, height: int, width: int, strength_px: float,
               print_row: Callable[[str], None]) -> None:
    """Edge PSNR of eroded and dilated depth, unconditioned and with the spatial steps, on several
    synthetic scenes (one scene's few edges decide little on their own)."""
    print_row("| scene seed | eroded 3 px: none | spatial | gain | dilated 3 px: none | spatial | gain |")
    print_row("|---|---:|---:|---:|---:|---:|---:|")
    gains: dict[str, list[float]] = {"eroded 3 px": [], "dilated 3 px": []}
    for seed in seeds:
        shot = synthetic_shot(frames, height, width, strength_px, seed=seed, with_truth=False)
        reference_render = render(shot, shot.disparity)
        edge, _ = masks(shot)
        cells = []
        for kind in gains:
            degraded = degrade(shot.disparity, kind)
            before = psnr(render(shot, degraded), reference_render, edge)
            after = psnr(render(shot, condition(shot, degraded, "spatial")), reference_render, edge)
            gains[kind].append(after - before)
            cells += [f"{before:.1f}", f"{after:.1f}", f"{after - before:+.1f}"]
        print_row(f"| {seed} | " + " | ".join(cells) + " |")
    means = [f"{np.mean(g):+.1f}" for g in gains.values()]
    print_row(f"| mean gain | | | {means[0]} | | | {means[1]} |\n")


def _line(row: dict) -> str:
    truth = "" if row["truth"] is None else f"{row['truth']:.2f}"
    matte = "" if row["matte"] is None else f"{100 * row['matte']:.1f}%"
    return (f"| {row['scene']} | {row['depth']} | {row['mode']} | {row['all']:.1f} | {row['edge']:.1f} | "
            f"{row['flat']:.1f} | {row['flicker']:.4f} | {100 * row['bias']:+.1f}% | {truth} | {matte} |")


def main(argv: Sequence[str] | None = None) -> int:
    from focuspull.io import parse_frames

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=12, help="frames of the synthetic shot")
    parser.add_argument("--synthetic-size", default="288x512", help="HxW of the synthetic shot")
    parser.add_argument("--breakdance", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                                             "data", "breakdance"))
    parser.add_argument("--breakdance-frames", default="1030-1041")
    parser.add_argument("--width", type=int, default=1024, help="breakdance is reduced to this width")
    parser.add_argument("--strength", type=float, default=16.0, help="K in pixels of the rendered width")
    parser.add_argument("--busy", action="store_true", help="also the busy-texture synthetic scene")
    parser.add_argument("--depths", default=",".join(DEGRADATIONS), help="comma-separated degradations to run")
    parser.add_argument("--edge-seeds", default="", help="also the eroded/dilated edge PSNR on synthetic scenes of "
                        "these seeds (e.g. 1-6), 3 frames each")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    depths = [x.strip() for x in args.depths.split(",")]
    unknown = sorted(set(depths) - set(DEGRADATIONS))
    if unknown:
        parser.error(f"unknown degradation(s) {', '.join(unknown)}; expected some of {', '.join(DEGRADATIONS)}")
    torch.set_num_threads(1)  # small tensors: threads cost more than they give on a shared machine

    def out(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    out("| scene | depth | conditioning | PSNR all | edge | flat | flicker | scale bias | truth | matte |")
    out("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    height, width = (int(v) for v in args.synthetic_size.split("x"))
    rows = run(synthetic_shot(args.frames, height, width, args.strength), out, depths)
    if args.busy:
        rows += run(synthetic_shot(args.frames, height, width, args.strength, busy=True), out, depths)
    if os.path.isdir(args.breakdance):
        frames = parse_frames(args.breakdance_frames)
        rows += run(breakdance_shot(args.breakdance, frames, args.width, args.strength), out, depths)
    else:
        out(f"breakdance: {args.breakdance} not found, skipped")
    if args.edge_seeds:
        edge_sweep(parse_frames(args.edge_seeds), 3, height, width, args.strength, out)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
