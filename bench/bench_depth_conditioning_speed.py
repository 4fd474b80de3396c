"""Seconds per frame of each depth-conditioning step on real 1080p footage.

    python bench/bench_depth_conditioning_speed.py [--breakdance ../shared/data/breakdance]
        [--frames 1030-1035] [--repeats 5] [--threads 1]

Reads the breakdance plate (1920x1080 sRGB JPEGs, made scene-linear) and its
8-bit disparity, and times outlier removal and edge refinement on one frame
(minimum over ``--repeats``) and the temporal stabilisation over the frames
(total divided by their count; minimum over ``--repeats``). Timings on a
shared machine are noisy: the minimum is the figure to quote.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np


def best_of(repeats: int, run: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv: Sequence[str] | None = None) -> int:
    import torch

    from focuspull.color import ColorConfig
    from focuspull.depth_conditioning.edges import refine_edges
    from focuspull.depth_conditioning.outliers import remove_outliers
    from focuspull.depth_conditioning.temporal import stabilize
    from focuspull.flow import require_cv2, to_gray8
    from focuspull.io import parse_frames, read_image

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--breakdance", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared",
                                                             "data", "breakdance"))
    parser.add_argument("--frames", default="1030-1035")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch and OpenCV threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    require_cv2().setNumThreads(args.threads)

    color = ColorConfig.load(None)
    space = color.resolve("sRGB - Texture")
    rgb, disparity = [], []
    for f in parse_frames(args.frames):
        image = read_image(os.path.join(args.breakdance, "rgb", f"breakdance.{f}.jpg"))
        rgb.append(color.to_working(image.pixels[..., :3].astype(np.float32), space))
        disparity.append(read_image(os.path.join(args.breakdance, "disparity",
                                                 f"breakdance_disp.{f}.png")).pixels[..., 0].astype(np.float32))
    height, width = disparity[0].shape
    gray = [to_gray8(x) for x in rgb]
    rows = [
        ("outliers", best_of(args.repeats, lambda: remove_outliers(disparity[0]))),
        ("edges (radius 9)", best_of(args.repeats, lambda: refine_edges(disparity[0], rgb[0]))),
        ("temporal (weight 0.5)", best_of(args.repeats, lambda: stabilize(disparity, gray, weight=0.5)) / len(rgb)),
    ]
    sys.stdout.write(f"{width}x{height}, {len(rgb)} frames for the temporal step, {args.threads} thread(s), "
                     f"minimum of {args.repeats}\n\n| step | s per frame |\n|---|---:|\n")
    for name, seconds in rows:
        sys.stdout.write(f"| {name} | {seconds:.2f} |\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
