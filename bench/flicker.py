"""Flicker of a render: its temporal error along the plate's motion, against the plate's own.

    python bench/flicker.py --input PLATE --output RENDER [--frames 1001-1084]
        [--input-colorspace NAME] [--output-colorspace NAME] [--threshold 0.0157]
        [--view-colorspace NAME] [--contact-sheet sheet.png] [--json report.json]

Both sequences are compared as the same 0..1 picture: converted to
scene-linear with their colour spaces, then to ``--view-colorspace``
(default: the plate's own colour space when it is given, e.g. its sRGB code
values; else the OCIO config's default display and view).

**Flicker** (the issue's measure, ``warped``): for each pair of frames,
optical flow (DIS, ``focuspull.flow``) from frame t to frame t-1 is
computed on the plate, and frame t-1 is warped onto frame t along it, for
the plate and for the render alike. The *warped error* is the mean absolute
difference between frame t and the warped frame t-1 over the pixels whose
flow is confirmed by the flow back (occlusions, disocclusions and pixels
that leave the frame are left out). Its ratio, render over plate, is the
flicker: what the render changes along the motion beyond what the plate
does. Sensor noise and compression in the plate set the floor; a blur that
averages them away brings the ratio below 1; depth that shimmers or an
unstable engine pushes it up. Deterministic (DIS on one thread).

The older **static-pixel** figures are kept: a pixel is *static* in a
pair of frames when no channel of the plate changes by more than
``threshold`` (default 4/255). Over the static pixels of every pair:

* ``change``: mean absolute frame-to-frame change (the issue's measure),
  for the plate and for the render, and their ratio;
* ``jitter``: mean absolute second difference |x(t+1) - 2 x(t) + x(t-1)| over
  pixels static in both pairs. A smooth focus pull or strength ramp changes
  the render every frame on purpose, but its second difference is near zero;
  flicker (depth that shimmers, an engine that is not stable) is not.

A ratio below 1 means the render moves less than the plate where nothing
happens (the blur averages sensor noise away); flicker pushes it up.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

#: default static threshold: 4 code values of an 8-bit display image
THRESHOLD = 4.0 / 255.0


@dataclass(frozen=True)
class Flicker:
    pairs: int
    static_share: float  # mean share of pixels that are static in a pair
    input_change: float
    output_change: float
    input_jitter: float
    output_jitter: float

    @property
    def change_ratio(self) -> float:
        return self.output_change / self.input_change if self.input_change > 0 else float("nan")

    @property
    def jitter_ratio(self) -> float:
        return self.output_jitter / self.input_jitter if self.input_jitter > 0 else float("nan")

    def to_json(self) -> dict[str, float]:
        return {**asdict(self), "change_ratio": self.change_ratio, "jitter_ratio": self.jitter_ratio}


def measure(frames: Iterable[tuple[np.ndarray, np.ndarray]], threshold: float = THRESHOLD) -> Flicker:
    """Flicker of (plate, render) display-value pairs, (H, W, 3) each, in frame order."""
    sums = {"in1": 0.0, "out1": 0.0, "n1": 0, "in2": 0.0, "out2": 0.0, "n2": 0, "share": 0.0}
    pairs = 0
    previous: tuple[np.ndarray, np.ndarray] | None = None
    before: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # (plate, render, static) of the last pair
    for plate, render in frames:
        plate = np.asarray(plate, np.float32)
        render = np.asarray(render, np.float32)
        if plate.shape != render.shape:
            raise ValueError(f"plate {plate.shape} and render {render.shape} differ in size")
        if previous is not None:
            d_in = np.abs(plate - previous[0])
            d_out = np.abs(render - previous[1])
            static = d_in.max(axis=-1) < threshold
            pairs += 1
            sums["share"] += float(static.mean())
            sums["in1"] += float(d_in.mean(axis=-1)[static].sum())
            sums["out1"] += float(d_out.mean(axis=-1)[static].sum())
            sums["n1"] += int(static.sum())
            if before is not None:
                both = static & before[2]
                second_in = np.abs(plate - 2 * previous[0] + before[0]).mean(axis=-1)
                second_out = np.abs(render - 2 * previous[1] + before[1]).mean(axis=-1)
                sums["in2"] += float(second_in[both].sum())
                sums["out2"] += float(second_out[both].sum())
                sums["n2"] += int(both.sum())
            before = (previous[0], previous[1], static)
        previous = (plate, render)
    if pairs == 0:
        raise ValueError("flicker needs at least two frames")
    n1, n2 = max(sums["n1"], 1), max(sums["n2"], 1)
    return Flicker(
        pairs=pairs,
        static_share=sums["share"] / pairs,
        input_change=sums["in1"] / n1,
        output_change=sums["out1"] / n1,
        input_jitter=sums["in2"] / n2,
        output_jitter=sums["out2"] / n2,
    )


@dataclass(frozen=True)
class WarpedFlicker:
    pairs: int
    valid_share: float  # mean share of pixels whose flow is confirmed both ways
    input_error: float
    output_error: float

    @property
    def ratio(self) -> float:
        return self.output_error / self.input_error if self.input_error > 0 else float("nan")

    def to_json(self) -> dict[str, float]:
        return {**asdict(self), "ratio": self.ratio}


def _gray8(display: np.ndarray) -> np.ndarray:
    luma = display[..., 0] * 0.2126 + display[..., 1] * 0.7152 + display[..., 2] * 0.0722
    return np.ascontiguousarray(np.round(np.clip(luma, 0.0, 1.0) * 255.0).astype(np.uint8))


def measure_warped(frames: Iterable[tuple[np.ndarray, np.ndarray]], preset: str = "medium") -> WarpedFlicker:
    """Flow-warped temporal error of (plate, render) display-value pairs, (H, W, 3) each, in frame order."""
    from focuspull.flow import FlowEstimator, consistency_mask, require_cv2, warp

    cv2 = require_cv2()
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # one thread: the same figures on every run
    try:
        flow = FlowEstimator(preset)
        sums = {"in": 0.0, "out": 0.0, "n": 0, "share": 0.0}
        pairs = 0
        previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        for plate, render in frames:
            plate = np.asarray(plate, np.float32)
            render = np.asarray(render, np.float32)
            if plate.shape != render.shape:
                raise ValueError(f"plate {plate.shape} and render {render.shape} differ in size")
            gray = _gray8(plate)
            if previous is not None:
                back, ahead = flow(gray, previous[2]), flow(previous[2], gray)
                valid = consistency_mask(back, ahead)
                pairs += 1
                sums["share"] += float(valid.mean())
                sums["in"] += float(np.abs(plate - warp(previous[0], back)).mean(axis=-1)[valid].sum())
                sums["out"] += float(np.abs(render - warp(previous[1], back)).mean(axis=-1)[valid].sum())
                sums["n"] += int(valid.sum())
            previous = (plate, render, gray)
    finally:
        cv2.setNumThreads(threads)
    if pairs == 0:
        raise ValueError("flicker needs at least two frames")
    n = max(sums["n"], 1)
    return WarpedFlicker(pairs=pairs, valid_share=sums["share"] / pairs, input_error=sums["in"] / n,
                         output_error=sums["out"] / n)


def displayed(path: str, colorspace: str | None, color: object, view: str | None) -> np.ndarray:
    """A frame's RGB as 0..1 values of ``view`` (a colour space), else of the default display/view."""
    from focuspull.io import read_image

    image = read_image(path)
    rgb = image.pixels[..., list(image.rgba_indices[:3])]
    linear = color.to_working(rgb, colorspace)  # type: ignore[attr-defined]
    shown = color.from_working(linear, view) if view else color.display_view(linear)  # type: ignore[attr-defined]
    return np.clip(shown[..., :3], 0.0, 1.0)


def read_pairs(plate: str, render: str, frames: Sequence[int], input_colorspace: str | None,
               output_colorspace: str | None, color: object,
               view: str | None = None) -> Iterable[tuple[int, np.ndarray, np.ndarray]]:
    """(frame, plate, render) as 0..1 pictures; ``view`` as in :func:`displayed`."""
    from focuspull.io import SequencePattern

    plate_seq, render_seq = SequencePattern.parse(plate), SequencePattern.parse(render)
    for frame in frames:
        yield (frame, displayed(plate_seq.path(frame), input_colorspace, color, view),
               displayed(render_seq.path(frame), output_colorspace or input_colorspace, color, view))


def contact_sheet(rows: Sequence[tuple[int, np.ndarray, np.ndarray]], path: str, width_px: int = 640) -> None:
    """One row per frame: the plate on the left, the render on the right, 8-bit PNG."""
    import OpenImageIO as oiio

    tiles = []
    for _, plate, render in rows:
        pair = []
        for image in (plate, render):
            buf = oiio.ImageBuf(np.ascontiguousarray(image, dtype=np.float32))
            height = max(1, round(image.shape[0] * width_px / image.shape[1]))
            small = oiio.ImageBufAlgo.resize(buf, roi=oiio.ROI(0, width_px, 0, height, 0, 1, 0, 3))
            pair.append(small.get_pixels(oiio.FLOAT))
        gap = np.ones((pair[0].shape[0], 8, 3), np.float32)
        tiles.append(np.concatenate([pair[0], gap, pair[1]], axis=1))
    band = np.ones((8, tiles[0].shape[1], 3), np.float32)
    sheet = np.concatenate([x for tile in tiles for x in (tile, band)][:-1], axis=0)
    out = oiio.ImageBuf(oiio.ImageSpec(sheet.shape[1], sheet.shape[0], 3, oiio.UINT8))
    out.set_pixels(oiio.ROI(0, sheet.shape[1], 0, sheet.shape[0], 0, 1, 0, 3), np.ascontiguousarray(sheet))
    if not out.write(path):
        raise OSError(f"cannot write {path}: {out.geterror()}")


def main(argv: Sequence[str] | None = None) -> int:
    from focuspull.color import ColorConfig
    from focuspull.io import SequencePattern, parse_frames

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="plate pattern")
    parser.add_argument("--output", required=True, help="render pattern")
    parser.add_argument("--frames", help="frame list (default: the render's frames on disk)")
    parser.add_argument("--input-colorspace", help="plate colour space (default: scene_linear)")
    parser.add_argument("--output-colorspace", help="render colour space (default: the plate's)")
    parser.add_argument("--ocio", help="OCIO config (default: $OCIO, else the built-in one)")
    parser.add_argument("--view-colorspace", help="compare in this colour space (default: the plate's, else the "
                        "config's display/view)")
    parser.add_argument("--threshold", type=float, default=THRESHOLD, help="static threshold (display 0..1)")
    parser.add_argument("--contact-sheet", metavar="PNG", help="write a contact sheet of 6 frames")
    parser.add_argument("--json", metavar="PATH", help="write the figures as JSON")
    args = parser.parse_args(argv)

    color = ColorConfig.load(args.ocio)
    frames = parse_frames(args.frames) if args.frames else SequencePattern.parse(args.output).frames_on_disk()
    frames = tuple(frames)
    picks = {frames[round(i * (len(frames) - 1) / 5)] for i in range(6)} if len(frames) >= 6 else set(frames)
    kept: list[tuple[int, np.ndarray, np.ndarray]] = []

    def pairs(keep: bool) -> Iterable[tuple[np.ndarray, np.ndarray]]:
        view = args.view_colorspace or args.input_colorspace
        for frame, plate, render in read_pairs(args.input, args.output, frames, args.input_colorspace,
                                               args.output_colorspace, color, view):
            if keep and args.contact_sheet and frame in picks:
                kept.append((frame, plate, render))
            yield plate, render

    # two passes over the files: a shot of 1080p frames does not fit in memory twice over
    warped = measure_warped(pairs(True))
    result = measure(pairs(False), args.threshold)
    if args.contact_sheet:
        contact_sheet(kept, args.contact_sheet)
    figures = {**result.to_json(), "warped": warped.to_json()}
    sys.stdout.write(
        f"flicker (flow-warped error, {100 * warped.valid_share:.1f}% of pixels tracked)  plate "
        f"{warped.input_error:.5f}  render {warped.output_error:.5f}  ratio {warped.ratio:.3f}\n"
        f"frames {frames[0]}-{frames[-1]} ({result.pairs} pairs), static {100 * result.static_share:.1f}% of pixels\n"
        f"change  plate {result.input_change:.5f}  render {result.output_change:.5f}  ratio {result.change_ratio:.3f}\n"
        f"jitter  plate {result.input_jitter:.5f}  render {result.output_jitter:.5f}  ratio {result.jitter_ratio:.3f}\n"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"frames": [frames[0], frames[-1]], **figures}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
