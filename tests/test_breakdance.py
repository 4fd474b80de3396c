"""Real footage end to end from the CLI (slow): the breakdance plate (1080p JPEGs,
8-bit disparity PNGs, a dancer matte, per-frame K at 1024 px width) with focus
following the matte, plus its flicker figure.

Skipped when ../shared/data/breakdance is absent. The full 84-frame render and
its figures are in docs/depth.md; this renders 6 frames.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from focuspull.cli import main

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "breakdance"  # ../shared/data/breakdance
FRAMES = range(1035, 1041)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (DATA / "params.csv").is_file(), reason=f"{DATA} is absent"),
]


def flicker_module():
    path = Path(__file__).resolve().parents[1] / "bench" / "flicker.py"
    spec = importlib.util.spec_from_file_location("flicker", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["flicker"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def params():
    with open(DATA / "params.csv") as f:
        return {int(r["frame"]): (float(r["focus_disparity"]), float(r["k"])) for r in csv.DictReader(f)}


def test_breakdance_renders_with_focus_on_the_dancer_and_does_not_flicker(tmp_path, capsys):
    table = params()
    k_curve = tmp_path / "k.json"
    k_curve.write_text(json.dumps({"frames": sorted(table), "values": [table[f][1] for f in sorted(table)]}))
    out = tmp_path / "out" / "breakdance_refocus.####.exr"
    code = main([
        "render", str(DATA / "rgb" / "breakdance.####.jpg"), "-o", str(out),
        "--frames", f"{FRAMES[0]}-{FRAMES[-1]}", "--input-colorspace", "sRGB - Texture",
        "--depth", str(DATA / "disparity" / "breakdance_disp.####.png"), "--depth-kind", "normalized_disparity",
        "--focus-matte", str(DATA / "mask" / "breakdance_mask.####.png"), "--focus-statistic", "mean",
        "--strength", f"@{k_curve}", "--strength-width", "1024", "--progress", "jsonl",
        # the dataset's focus is the matte mean of its disparity as shipped: no depth conditioning
        "--depth-edges", "off", "--depth-outliers", "off",
    ])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0, events[-1]
    assert [e["frame"] for e in events if e["event"] == "frame"] == list(FRAMES)

    flicker = flicker_module()
    pairs = []
    for frame in FRAMES:
        buf = oiio.ImageBuf(str(out).replace("####", str(frame)))
        spec = buf.spec()
        assert (spec.width, spec.height) == (1920, 1080)
        d_f, k_1024 = table[frame]
        # The matte mean reproduces the dataset's focus (its CSV has 5 decimals); K is scaled 1024 -> 1920 px.
        assert spec.get_float_attribute("focuspull/focus_disparity") == pytest.approx(d_f, abs=6e-6)
        assert spec.get_float_attribute("focuspull/strength_px") == pytest.approx(k_1024 * 1920 / 1024, rel=1e-6)

        plate = oiio.ImageBuf(str(DATA / "rgb" / f"breakdance.{frame}.jpg")).get_pixels(oiio.FLOAT)
        render = buf.get_pixels(oiio.FLOAT)[..., :3]
        disparity = oiio.ImageBuf(str(DATA / "disparity" / f"breakdance_disp.{frame}.png")).get_pixels(oiio.FLOAT)[..., 0]
        radius = k_1024 * 1920 / 1024 * np.abs(disparity - d_f)
        sharp = radius < 0.05
        far = radius > 8.0
        # In focus: the plate comes back (through sRGB -> ACEScg -> sRGB and half floats).
        assert sharp.sum() > 500
        assert np.abs(render[sharp] - plate[sharp]).mean() < 2e-3
        # Far from focus: detail is gone (a blur, not a copy).
        assert np.abs(render[far] - plate[far]).mean() > 0.02
        pairs.append((plate, render))

    result = flicker.measure(pairs)
    with capsys.disabled():
        print(f"\nbreakdance {FRAMES[0]}-{FRAMES[-1]}: {json.dumps(result.to_json())}")
    # Where the plate holds still, the render adds no frame-to-frame jitter of its own.
    assert result.static_share > 0.3
    assert result.jitter_ratio < 1.0
