"""Peak memory of one frame through ``focuspull render`` (a benchmark, not a test).

    python bench/memory.py [--sizes 2k,4k,8k] [--k 10] [--device cpu]

For each size it writes a plate (RGBA + Z, half, zip; near left half, far
right half) to a temporary folder, renders one frame in a fresh process and
prints a markdown table: size, megapixels, peak resident memory (ru_maxrss),
the per-pixel slope over the smallest size, and the estimate that
``focuspull.io.memory`` makes before rendering. Numbers on a shared machine
are noisy; run it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

SIZES = {"1k": (1024, 540), "2k": (2048, 1080), "4k": (4096, 2160), "8k": (8192, 4320)}

CHILD = """
import json, resource, sys
from focuspull.cli import main
code = main(sys.argv[1:])
print(json.dumps({"code": code, "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
"""


def write_plate(path: str, width: int, height: int) -> None:
    import numpy as np
    import OpenImageIO as oiio

    spec = oiio.ImageSpec(width, height, 5, "half")
    spec.channelnames = ("R", "G", "B", "A", "Z")
    spec.attribute("compression", "zip")
    out = oiio.ImageOutput.create(path)
    out.open(path, spec)
    rng = np.random.default_rng(0)
    for y in range(0, height, 16):
        rows = min(16, height - y)
        chunk = np.empty((rows, width, 5), np.float32)
        chunk[..., :3] = rng.random((rows, width, 3), dtype=np.float32)
        chunk[..., 3] = 1.0
        chunk[..., 4] = np.where(np.arange(width)[None, :] < width // 2, 1.0, 10.0)
        out.write_scanlines(y, y + rows, 0, chunk)
    out.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1k,2k,4k")
    parser.add_argument("--k", type=float, default=10.0)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    from focuspull.io.header import read_header
    from focuspull.io.memory import estimate_frame_bytes

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sizes.split(","):
            width, height = SIZES[name]
            folder = os.path.join(tmp, name)
            os.makedirs(folder)
            plate = os.path.join(folder, "p.1001.exr")
            write_plate(plate, width, height)
            started = time.monotonic()
            result = subprocess.run(
                [sys.executable, "-c", CHILD, "render", os.path.join(folder, "p.####.exr"), "-o",
                 os.path.join(folder, "o", "r.####.exr"), "--focus", "1", "--strength", str(args.k),
                 "--progress", "none", "--device", args.device],
                capture_output=True, text=True, check=False,
            )
            seconds = time.monotonic() - started
            report = json.loads(result.stdout.strip().splitlines()[-1])
            estimate = estimate_frame_bytes(read_header(plate), width * height, 1, "physical", 0).total_bytes
            rows.append((name, width, height, report["peak_rss_bytes"], estimate, seconds, report["code"]))
    print(f"| size | MP | peak RSS GB | B/px over {rows[0][0]} | estimate GB | s | exit |")
    print("|---|---|---|---|---|---|---|")
    base = rows[0]
    for name, width, height, peak, estimate, seconds, code in rows:
        mp = width * height / 1e6
        slope = (peak - base[3]) / ((width * height) - base[1] * base[2]) if name != base[0] else float("nan")
        print(f"| {name} {width}x{height} | {mp:.1f} | {peak / 2**30:.2f} | {slope:.0f} | {estimate / 2**30:.2f} | "
              f"{seconds:.0f} | {code} |")


if __name__ == "__main__":
    main()
