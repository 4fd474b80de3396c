"""``focuspull render``: a shot from flags, or a job file."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import sys
from collections.abc import Iterator
from typing import Any

from focuspull.errors import FocusPullError, JobError

log = logging.getLogger("focuspull")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "render",
        help="refocus a frame sequence",
        description="Refocus a sequence. Curves: a number, FRAME:VALUE[:INTERP],... (constant|linear|smooth) or @curve.json.",
    )
    p.add_argument("input", nargs="?", help="input pattern, e.g. plate.####.exr")
    p.add_argument("-o", "--output", help="output pattern, e.g. out/refocus.####.exr")
    p.add_argument("--job", help="render this focuspull.job/1 file (flags below override its frames, device, progress)")
    p.add_argument("--write-job", metavar="PATH", help="write the job file and exit without rendering")
    p.add_argument("--chunk", metavar="START-END", help="render only the shot's frames in this range (farm tasks)")
    p.add_argument("--resume", action="store_true", help="skip frames already written by this same job")
    p.add_argument("--depth-only", action="store_true",
                   help="make the depth the whole shot needs (estimated, stabilised) next to the output and render "
                        "nothing (a farm's first step); later renders of the job reuse it")
    p.add_argument("--frames", help="frames to render: 1001-1100, 1001-1100x2, 1001,1005,1010-1012 (default: all on disk)")
    p.add_argument("--depth", metavar="PATTERN", help="separate depth sequence (its first channel unless --depth-channel)")
    p.add_argument("--depth-channel", metavar="NAME",
                   help="depth channel: Z, depth.Z or PART.CHANNEL, in any part (default: Z/depth.Z of the plate)")
    p.add_argument("--layer", metavar="NAME",
                   help="layer that is the plate's colour: rgba, diffuse, PART.diffuse or a part name "
                        "(default: the first RGB(A) layer of the default view)")
    p.add_argument("--channels", metavar="rgba|all|LAYER,...", default=None,
                   help="layers to refocus, like Nuke's channels knob: rgba (default; the others pass through), "
                        "all (every image layer, same CoC) or a comma list")
    p.add_argument("--views", metavar="all|VIEW,...", help="views of a stereo EXR to refocus (default all)")
    p.add_argument("--overscan", metavar="PX", type=int, default=None,
                   help="blurred light may spread this far past the display window (default 0); "
                        "the output data window grows to hold it")
    p.add_argument("--depth-kind", choices=DEPTH_KIND_CHOICES, default=None,
                   help="depth (default): camera distance z; inverse_depth (alias far_zero): 1/z as Nuke's "
                        "ScanlineRender writes; disparity: larger = nearer, any scale; normalized_disparity: 0..1, "
                        "1 = nearest. Focus is a distance for depth/inverse_depth, a disparity otherwise")
    p.add_argument("--focus", metavar="CURVE", help="focus distance (metric depth) or disparity, keyframeable")
    p.add_argument("--strength", metavar="CURVE", help="K: CoC radius in px = K * |d - d_f|, keyframeable")
    _register_modes(p)
    p.add_argument("--engine", default="physical", help="physical (default) or neural")
    p.add_argument("--weights", metavar="DIR", help="neural engine: local folder with the Any-to-Bokeh weights")
    p.add_argument("--option", metavar="KEY=VALUE", action="append", default=[],
                   help="engine option (VALUE is JSON, else a string); repeatable")
    p.add_argument("--aperture", metavar="KEY=VALUE", action="append", default=[],
                   help="aperture option (VALUE is JSON or a curve); repeatable")
    p.add_argument("--input-colorspace", metavar="NAME", help="OCIO colour space of the plate (default: scene_linear role)")
    p.add_argument("--output-colorspace", metavar="NAME", help="colour space to write (default: the input's)")
    p.add_argument("--ocio", metavar="CONFIG", help="OCIO config (default: $OCIO, else the built-in ACES config)")
    p.add_argument("--pixel-type", choices=("half", "float"), default="half")
    p.add_argument("--compression", help="EXR compression (default: the input's)")
    p.add_argument("--aux", metavar="CHANNEL", action="append", default=[],
                   help="add a diagnostic channel (coc.radius, focus.matte, plane.index, depth.conditioned: the "
                        "disparity the engine used); repeatable")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default=None, help="default auto: CUDA when present")
    p.add_argument("--progress", choices=("auto", "bar", "jsonl", "none"), default="auto",
                   help="bar on a terminal, jsonl = one JSON event per line on stdout")
    p.set_defaults(func=run)


DEPTH_KIND_CHOICES = ("depth", "inverse_depth", "far_zero", "disparity", "normalized_disparity")
#: --scene-unit names, in millimetres
SCENE_UNITS_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0, "in": 25.4, "ft": 304.8}


def _register_modes(p: argparse.ArgumentParser) -> None:
    """Flags of the depth, focus and strength modes (see docs/depth.md)."""
    g = p.add_argument_group("estimated depth (Depth Anything V2; needs focuspull[depth])")
    g.add_argument("--estimate-depth", action="store_true",
                   help="estimate depth from the plate; written next to the output as NAME_depth.####.exr")
    g.add_argument("--depth-model", metavar="DIR|NAME",
                   help="model folder or name from 'focuspull models' (default depth-anything-v2-small); "
                        "implies --estimate-depth; never downloaded at render time")
    g.add_argument("--depth-out", metavar="PATTERN", help="where to write the estimated depth")
    g = p.add_argument_group("depth conditioning (any depth source; see docs/depth.md)")
    g.add_argument("--depth-stabilize", metavar="auto|on|off|W", type=_stabilize_arg,
                   help="temporal stabilisation along optical flow, keeping the shot's scale (default auto: on for "
                        "estimated depth, off for supplied depth; a number W turns it on with weight W, 0 = off; "
                        "needs focuspull[depth])")
    g.add_argument("--depth-stabilize-weight", metavar="W", type=float,
                   help="weight of the neighbouring frames in the stabilisation, 0.05..0.95 (default 0.5)")
    g.add_argument("--depth-outliers", choices=("auto", "on", "off"),
                   help="remove isolated outlier pixels (default auto: on for disparity maps and estimated depth, "
                        "off for metric depth)")
    g.add_argument("--depth-edges", choices=("auto", "on", "off"),
                   help="move depth edges to the plate's edges and smooth the rest (default auto: on for estimated "
                        "depth, off for supplied and metric depth)")
    g.add_argument("--depth-edge-radius", metavar="PX", type=int,
                   help="edge refinement radius, 3..32 (default 9; edges up to about half of it off move back)")
    g = p.add_argument_group("focus modes (instead of --focus)")
    g.add_argument("--focus-point", metavar="X,Y", help="focus on the disparity under this display-window pixel")
    g.add_argument("--focus-x", metavar="CURVE", help="keyframed x of the focus point")
    g.add_argument("--focus-y", metavar="CURVE", help="keyframed y of the focus point")
    g.add_argument("--focus-origin", choices=("top_left", "bottom_left"),
                   help="y of the point runs down from the top (default) or up from the bottom (Nuke)")
    g.add_argument("--focus-window", metavar="PX", type=int, help="half-size of the sampled window (default 7)")
    g.add_argument("--focus-track", action="store_true", help="track the point through the shot by optical flow")
    g.add_argument("--focus-matte", metavar="PATTERN", help="focus on the subject inside this matte sequence")
    g.add_argument("--focus-matte-channel", metavar="NAME", help="matte channel (default A, else the first)")
    g.add_argument("--focus-statistic", choices=("median", "mean"), help="of the disparity inside the matte")
    g.add_argument("--focus-smooth", metavar="FRAMES", type=float, help="smooth the focus over time (Gaussian sigma)")
    g = p.add_argument_group("strength modes (instead of --strength)")
    g.add_argument("--max-blur", metavar="CURVE", help="largest CoC radius in each frame, in pixels")
    g.add_argument("--strength-width", metavar="PX", type=float,
                   help="--strength/--max-blur are pixels of an image this wide (e.g. 1024); scaled to the plate")
    g.add_argument("--focal-length", metavar="CURVE", help="physical lens: focal length in mm (metric depth)")
    g.add_argument("--f-stop", metavar="CURVE", help="physical lens: f-number")
    g.add_argument("--filmback-width", metavar="MM", type=float, help="physical lens: filmback width in mm")
    g.add_argument("--scene-unit", metavar="UNIT",
                   help="scene unit of depth and focus distance: mm, cm, m (default), in, ft or millimetres")


def _mode_args(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The job's depth, focus and strength objects from the flags."""
    from focuspull.curves import Curve

    def curve(text: str, flag: str) -> Any:
        return Curve.parse_cli(text, flag).to_json()

    depth: dict[str, Any] = {}
    if args.depth_kind:
        depth["kind"] = args.depth_kind
    estimate = args.estimate_depth or bool(args.depth_model)
    if estimate:
        if args.depth:
            raise JobError("--estimate-depth: give either a depth sequence (--depth) or estimate it, not both")
        depth.update(source="estimate", model=args.depth_model, pattern=args.depth_out)
    elif args.depth_out:
        raise JobError("--depth-out: only used with --estimate-depth")
    for key, value in (("stabilize", args.depth_stabilize), ("stabilize_weight", args.depth_stabilize_weight),
                       ("remove_outliers", args.depth_outliers),
                       ("refine_edges", args.depth_edges), ("edge_radius_px", args.depth_edge_radius)):
        if value is not None:
            depth[key] = value
    if args.depth:
        depth.update(source="sequence", pattern=args.depth)
    if args.depth_channel:
        depth["channel"] = args.depth_channel

    point = args.focus_point or args.focus_x or args.focus_y
    given = [flag for flag, value in (("--focus", args.focus), ("--focus-point/-x/-y", point),
                                      ("--focus-matte", args.focus_matte)) if value]
    if len(given) > 1:
        raise JobError(f"focus: give one of {', '.join(given)}")
    focus: dict[str, Any] = {}
    if args.focus:
        focus["value"] = curve(args.focus, "--focus")
    elif point:
        focus["mode"] = "point"
        if args.focus_point:
            if args.focus_x or args.focus_y:
                raise JobError("--focus-point: give it or --focus-x/--focus-y, not both")
            x, sep, y = args.focus_point.partition(",")
            try:
                focus.update(x=float(x), y=float(y))
            except ValueError as err:
                raise JobError(f"--focus-point: {args.focus_point!r} is not X,Y (pixels)") from err
            if not sep:
                raise JobError(f"--focus-point: {args.focus_point!r} is not X,Y (pixels)")
        else:
            if not (args.focus_x and args.focus_y):
                raise JobError("--focus-x/--focus-y: give both")
            focus.update(x=curve(args.focus_x, "--focus-x"), y=curve(args.focus_y, "--focus-y"))
        for key, value in (("origin", args.focus_origin), ("window_px", args.focus_window)):
            if value is not None:
                focus[key] = value
        if args.focus_track:
            focus["track"] = True
    elif args.focus_matte:
        focus.update(mode="matte", matte=args.focus_matte)
        for key, value in (("matte_channel", args.focus_matte_channel), ("statistic", args.focus_statistic)):
            if value is not None:
                focus[key] = value
    if args.focus_smooth is not None:
        focus["smooth_frames"] = args.focus_smooth

    lens = args.focal_length or args.f_stop or args.filmback_width
    given = [flag for flag, value in (("--strength", args.strength), ("--max-blur", args.max_blur),
                                      ("--focal-length/--f-stop/--filmback-width", lens)) if value]
    if len(given) > 1:
        raise JobError(f"strength: give one of {', '.join(given)}")
    strength: dict[str, Any] = {}
    if args.strength:
        strength["value"] = curve(args.strength, "--strength")
    elif args.max_blur:
        strength.update(mode="max_blur", value=curve(args.max_blur, "--max-blur"))
    elif lens:
        strength["mode"] = "lens"
        if args.focal_length:
            strength["focal_length_mm"] = curve(args.focal_length, "--focal-length")
        if args.f_stop:
            strength["f_stop"] = curve(args.f_stop, "--f-stop")
        if args.filmback_width:
            strength["filmback_width_mm"] = args.filmback_width
    if args.strength_width is not None:
        strength["reference_width_px"] = args.strength_width
    if args.scene_unit:
        strength["scene_unit_mm"] = _scene_unit(args.scene_unit)
    return depth, focus, strength


def _stabilize_arg(text: str) -> "str | float":
    """--depth-stabilize: auto, on, off, or a weight (0 = off), as the job field takes it."""
    if text in ("auto", "on", "off"):
        return text
    try:
        return float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not auto, on, off or a weight 0..0.95") from err


def _scene_unit(text: str) -> float:
    if text in SCENE_UNITS_MM:
        return SCENE_UNITS_MM[text]
    try:
        return float(text)
    except ValueError as err:
        raise JobError(f"--scene-unit: {text!r} is not {', '.join(SCENE_UNITS_MM)} or millimetres") from err


def run(args: argparse.Namespace) -> int:
    from focuspull.progress import make_progress

    progress = make_progress(args.progress)
    try:
        job = build_job(args)
        frames = chunk = None
        if args.job and args.frames:
            from focuspull.io import parse_frames

            frames = parse_frames(args.frames)
        if args.chunk:
            chunk = _parse_chunk(args.chunk)
        given = [flag for flag, value in (("--chunk", args.chunk), ("--resume", args.resume),
                                          ("--write-job", args.write_job)) if value]
        if args.depth_only and given:
            raise JobError(f"--depth-only makes the depth of the whole shot and renders nothing: {given[0]} does not apply")
    except FocusPullError as err:
        progress.error(err.code, err.one_line())
        return _failed(err)
    if args.write_job:
        job.save(args.write_job)
        log.info("wrote %s", args.write_job)
        return 0

    from focuspull.pipeline import make_shot_depth, render_job

    try:
        if args.depth_only:
            shot = make_shot_depth(job, progress, frames=frames)  # reports its own errors
            log.info("depth for %d frame(s): %s", len(shot.frames), shot.depth.text if shot.depth else "the plate's")
            return 0
        with _sigterm_cancels():
            report = render_job(job, progress, frames=frames, chunk=chunk, resume=args.resume)  # reports its own errors
    except FocusPullError as err:
        return _failed(err)
    log.info("wrote %d frame(s) to %s in %.1fs", len(report.frames), report.output, report.seconds)
    return 0


def _parse_chunk(text: str) -> tuple[int, int]:
    first, sep, last = text.partition("-")
    try:
        chunk = (int(first), int(last)) if sep else (int(text), int(text))
    except ValueError as err:
        raise JobError(f"--chunk: {text!r} is not START-END") from err
    if chunk[1] < chunk[0]:
        raise JobError(f"--chunk: {text!r} ends before it starts")
    return chunk


@contextlib.contextmanager
def _sigterm_cancels() -> Iterator[None]:
    """A farm or a host's Cancel sends SIGTERM: unwind normally, so the frame
    being written loses only its temporary file."""
    import signal

    from focuspull.errors import CancelledError

    def handler(signum: int, frame: Any) -> None:
        raise CancelledError("cancelled (SIGTERM)")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _failed(err: FocusPullError) -> int:
    sys.stderr.write(f"focuspull: error: {err.one_line()}\n")
    return 2


def build_job(args: argparse.Namespace) -> Any:
    """The job the flags describe (or the job file with overrides)."""
    from focuspull.job import SCHEMA_ID, Job

    if args.job:
        job = Job.load(args.job)
        if args.device:
            job = job.replace(engine=dataclasses.replace(job.engine, device=args.device))
        if args.weights:
            job = job.replace(engine=dataclasses.replace(job.engine, options={**job.engine.options, "weights": args.weights}))
        return job
    depth, focus, strength = _mode_args(args)
    missing = [flag for flag, value in (("INPUT", args.input), ("-o/--output", args.output),
                                        ("--focus (or --focus-point, --focus-matte)", focus),
                                        ("--strength (or --max-blur, --focal-length)", strength)) if not value]
    if missing:
        raise JobError(f"render: missing {', '.join(missing)} (or give --job job.json)")
    engine_options = _key_values(args.option, "--option")
    if args.weights:
        engine_options["weights"] = args.weights
    data = {
        "schema": SCHEMA_ID,
        "input": {"pattern": args.input, "frames": args.frames, "colorspace": args.input_colorspace,
                  "layer": args.layer, "views": args.views},
        "depth": depth,
        "focus": focus,
        "strength": strength,
        "aperture": _key_values(args.aperture, "--aperture"),
        "engine": {"name": args.engine, "options": engine_options, "device": args.device or "auto"},
        "output": {
            "pattern": args.output,
            "colorspace": args.output_colorspace,
            "pixel_type": args.pixel_type,
            "compression": args.compression,
            "aux_channels": args.aux,
            **({"channels": args.channels} if args.channels else {}),
            **({"overscan_px": args.overscan} if args.overscan is not None else {}),
        },
        "ocio_config": args.ocio,
    }
    return Job.from_dict(data)


def _key_values(items: list[str], flag: str) -> dict[str, Any]:
    from focuspull.curves import Curve

    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise JobError(f"{flag}: {item!r} is not KEY=VALUE")
        try:
            out[key] = json.loads(text)
        except ValueError:
            # Allow curves and plain strings: 1001:0,1040:30 or hexagon.
            out[key] = Curve.parse_cli(text, f"{flag} {key}").to_json() if ":" in text and text[0].isdigit() else text
    return out
