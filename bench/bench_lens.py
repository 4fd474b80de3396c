"""How faithful the physical engine's lens is: bokeh disks of a point light, and in-focus detail (a benchmark, not a test).

    python bench/bench_lens.py [--radii 1,3,7.5,15,20,34,60,100,150]

1. A point light (one HDR pixel on black) at the radii given, with sprites
   (``crisp_highlights``, the default) and without: the footprint's radius
   from its second moment (the law's is the first column), the light kept,
   the rim's width from 90 % to 10 % of the interior level, the interior's
   flatness (std / mean over the inner 60 %).
2. In-focus detail: the share of the plate's Laplacian energy kept by the
   pixels whose CoC radius is under 0.5 px, 0.5-1 px and under 1 px, on a
   plane of pixel-scale random texture tilted through focus (radius 0-3 px
   across the frame) and on breakdance frame 1001 at its keyed focus and K
   (skipped when ../shared/data/breakdance is absent). Beside each, a perfect
   thin lens: the same plate blurred by the exact disk of each pixel's radius
   (the disk's transfer function 2 J1(x) / x on the band-limited plate), the
   most a lens with that CoC keeps.

The measurements are the tests' (tests/physical_scenes.py); the tests hold
the thresholds, this prints the values.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import scenes  # noqa: E402
from physical_scenes import edge_width, footprint_radius, laplacian_energy, point_light, render  # noqa: E402

from focuspull.engines.physical import PhysicalOptions  # noqa: E402


def disk_rows(radii: list[float]) -> list[str]:
    rows = []
    for radius in radii:
        size = int(2 * radius + 40)
        c = size // 2
        rgb, disp = point_light(size, size, c, c, value=50.0, disparity=0.6)
        cells = [f"{radius:g}"]
        for crisp in (True, False):
            out = render(rgb, disp, focus=0.5, strength=radius / 0.1, options=PhysicalOptions(crisp_highlights=crisp)).rgba[0]
            interior = out[0, c - int(0.6 * radius) : c + int(0.6 * radius) + 1, c]
            flat = float(interior.std() / interior.mean()) if radius >= 3 else float("nan")
            cells += [f"{footprint_radius(out, c, c):.2f}", f"{float(out.sum()) / 150.0:.4f}",
                      f"{edge_width(out, c, c, radius):.2f}", f"{flat:.3f}"]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def detail_row(name: str, rgb: torch.Tensor, disp: torch.Tensor, focus: float, strength: float) -> str:
    out = render(rgb, disp, focus=focus, strength=strength).rgba[0]
    radius = (strength * (disp[0] - focus)).abs()
    lens = perfect_lens(rgb, radius)
    cells = [name]
    for low, high in ((0.0, 0.5), (0.5, 1.0), (0.0, 1.0)):
        band = (radius >= low) & (radius < high)
        plate = laplacian_energy(rgb, band)
        cells.append(f"{laplacian_energy(out, band) / plate:.3f} ({int(band.sum())} px)")
    cells.append(f"{laplacian_energy(lens, radius < 1.0) / laplacian_energy(rgb, radius < 1.0):.3f}")
    return "| " + " | ".join(cells) + " |"


def perfect_lens(rgb: torch.Tensor, radius: torch.Tensor, steps: int = 20) -> torch.Tensor:
    """The plate where |radius| < 1 px blurred by the exact disk of that radius (elsewhere as is).

    The plate is taken as band-limited (its pixels are samples) and each disk
    applied by its transfer function 2 J1(2 pi r f) / (2 pi r f); radii between
    the ``steps`` tabulated ones are interpolated linearly. Reflected by a few
    pixels first, so the FFT's wrap-around does not reach the frame.
    """
    pad = 4
    x = torch.nn.functional.pad(rgb[None].to(torch.float64), (pad,) * 4, mode="reflect")[0]
    h, w = x.shape[-2:]
    f = torch.sqrt(torch.fft.fftfreq(h, dtype=torch.float64)[:, None] ** 2 + torch.fft.rfftfreq(w, dtype=torch.float64)[None, :] ** 2)
    spectrum = torch.fft.rfft2(x)
    position = radius.to(torch.float64).clamp(max=1.0) * steps
    out = torch.zeros_like(rgb, dtype=torch.float64)
    for j in range(steps + 1):
        tent = (1.0 - (position - j).abs()).clamp(min=0.0)
        if not bool(tent.any()):
            continue
        arg = 2 * math.pi * (j / steps) * f
        transfer = torch.where(arg > 0, 2 * torch.special.bessel_j1(arg) / arg.clamp_min(1e-12), 1.0)
        blurred = torch.fft.irfft2(spectrum * transfer, s=(h, w))[:, pad:-pad, pad:-pad]
        out += tent * blurred
    return torch.where(radius < 1.0, out, rgb.to(torch.float64)).to(rgb.dtype)


def natural_texture(height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """Log-normal colour texture whose amplitude spectrum falls as 1/f, as photographs' do."""
    fy = torch.fft.fftfreq(height)[:, None]
    fx = torch.fft.rfftfreq(width)[None, :]
    frequency = torch.sqrt(fy**2 + fx**2).clamp_min(1.0 / max(height, width))
    spectrum = torch.randn(3, height, width // 2 + 1, generator=generator, dtype=torch.complex64) / frequency
    field = torch.fft.irfft2(spectrum, s=(height, width))
    return 0.3 * torch.exp(0.8 * (field - field.mean()) / field.std())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--radii", default="1,3,7.5,15,20,34,60,100,150")
    args = parser.parse_args(argv)
    print("Point light, 50 units in one pixel; PhysicalOptions defaults (with sprites) / crisp_highlights off")
    print()
    print("| law radius (px) | radius | light kept | rim 90-10 % (px) | interior std/mean "
          "| radius, no sprites | light kept | rim | interior |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in disk_rows([float(r) for r in args.radii.split(",")]):
        print(row)
    print()
    print("In-focus detail: Laplacian energy kept, by CoC radius band")
    print()
    print("| content | r < 0.5 px | 0.5-1 px | r < 1 px | perfect thin lens, r < 1 px |")
    print("|---|---:|---:|---:|---:|")
    h, w = 96, 128
    g = torch.Generator().manual_seed(4)
    texture = 0.05 + torch.rand(3, h, w, generator=g)
    tilt = (0.5 + 0.15 * torch.linspace(-1, 1, w))[None, None, :].expand(1, h, w).clone()
    print(detail_row("random texture tilted through focus (0-3 px)", texture, tilt, 0.5, 20.0))
    print(detail_row("1/f texture (natural-image spectrum), same tilt", natural_texture(h, w, g), tilt, 0.5, 20.0))
    if (scenes.BREAKDANCE / "params.csv").is_file():
        frame = scenes.breakdance(1001)
        print(detail_row("breakdance 1001, 1920x1080, keyed focus and K", frame.rgb, frame.disparity,
                         frame.focus_disparity, frame.strength_px))
    else:
        print(f"(breakdance skipped: {scenes.BREAKDANCE} is absent)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
