"""The data path: job -> frames -> engine -> atomically written frames.

``prepare`` resolves a job against the disk (patterns, frames, colour spaces,
per-frame parameters) and fails before anything is written when the job
cannot work. ``render_shot`` streams frames through the engine: frames are
read ahead on a thread, converted to scene-linear, rendered, converted back
and written through a temporary file, one frame at a time, so a 200-frame 4K
shot needs the memory of a few frames.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from focuspull import __version__
from focuspull.depth import check_depth_size, to_disparity
from focuspull.depth import resample as resample_depth
from focuspull.errors import CancelledError, ImageDataError, JobError, OutputError, SequenceError
from focuspull.job import Job
from focuspull.params import FrameParams, resolve_frame_params
from focuspull.progress import NullProgress, Progress

if TYPE_CHECKING:
    import numpy as np
    import torch

    from focuspull.color import ColorConfig
    from focuspull.engines.base import Engine, EngineInput
    from focuspull.io import ImageFrame, SequencePattern

log = logging.getLogger(__name__)

DEPTH_CHANNEL_GUESSES = ("Z", "depth.Z", "depth.z", "Z.Z", "depth", "zDepth")


@dataclass(frozen=True)
class Source:
    """Where a shot's frames come from and how they become scene-linear RGBA and disparity."""

    job: Job
    input: "SequencePattern"
    depth: "SequencePattern | None"
    color: "ColorConfig"
    input_colorspace: str


@dataclass(frozen=True)
class Shot(Source):
    """A job resolved against the disk, built once: what is read, rendered with which
    per-frame parameters, and written."""

    output: "SequencePattern"
    frames: tuple[int, ...]
    output_colorspace: str
    engine_options: Any
    params: FrameParams

    def index(self, frame: int) -> int:
        return self.frames.index(frame)


@dataclass(frozen=True)
class RenderReport:
    frames: tuple[int, ...]
    output: str
    seconds: float


def prepare(
    job: Job, frames: Sequence[int] | None = None, *, check_output: bool = True, progress: Progress | None = None
) -> Shot:
    """Resolve and check everything that can be checked before rendering.

    ``check_output=False`` is for viewing (the UI): the output folder is then
    neither created nor checked.
    """
    from focuspull.color import ColorConfig
    from focuspull.engines import parse_options
    from focuspull.io import SequencePattern, check_frames, parse_frames

    plate = SequencePattern.parse(job.input.pattern)
    output = SequencePattern.parse(job.output.pattern)
    depth = SequencePattern.parse(job.depth.pattern) if job.depth.source == "sequence" and job.depth.pattern else None
    estimated = None
    if job.depth.source == "estimate":
        from focuspull.estimate.shot import default_depth_pattern

        estimated = SequencePattern.parse(job.depth.pattern or default_depth_pattern(job.output.pattern))

    if frames is None:
        if job.input.frames:
            frames = parse_frames(job.input.frames)
        elif plate.is_sequence:
            frames = plate.frames_on_disk()
            if not frames:
                raise SequenceError(f"input {job.input.pattern}: no frames found on disk")
        else:
            frames = (1,)
    frames = tuple(frames)

    if output.same_files_as(plate, frames=frames):
        raise OutputError(f"output.pattern: {job.output.pattern} names the input plate's files; refusing to overwrite the input")
    if depth is not None and output.same_files_as(depth, frames=frames):
        raise OutputError(f"output.pattern: {job.output.pattern} names the depth sequence's files; refusing to overwrite it")
    if estimated is not None:
        _check_estimated_pattern(estimated, plate, output, frames)
    check_frames(plate, frames, "input")
    if depth is not None:
        check_frames(depth, frames, "depth")
    if job.focus.mode == "matte" and job.focus.matte:
        check_frames(SequencePattern.parse(job.focus.matte), frames, "focus matte")
    first_header = _check_headers(plate, depth, frames)
    if check_output:
        _check_output_folder(output.path(frames[0]))

    color = ColorConfig.load(job.ocio_config)
    input_colorspace = color.resolve(job.input.colorspace)
    output_colorspace = color.resolve(job.output.colorspace) if job.output.colorspace else input_colorspace

    engine_options = parse_options(job.engine.name, dict(job.engine.options))
    if job.output.aux_channels:
        if not any(f.name == "aux_channels" for f in dataclasses.fields(engine_options)):
            raise JobError(f"output.aux_channels: the {job.engine.name} engine writes no diagnostic channels")
        engine_options = dataclasses.replace(engine_options, aux_channels=tuple(job.output.aux_channels))

    if estimated is not None:
        depth = _estimate_depth(job, plate, estimated, frames, color, input_colorspace, progress or NullProgress())
    source = Source(job=job, input=plate, depth=depth, color=color, input_colorspace=input_colorspace)
    params = resolve_frame_params(
        job, frames, engine_options=engine_options, width_px=_display_width(first_header),
        read=lambda frames: read_frames(source, frames),
    )
    return Shot(
        job=job, input=plate, depth=depth, color=color, input_colorspace=input_colorspace,
        output=output, frames=frames, output_colorspace=output_colorspace, engine_options=engine_options,
        params=params,
    )


def _check_headers(plate: "SequencePattern", depth: "SequencePattern | None", frames: Sequence[int]) -> dict[str, Any]:
    """Open every header before the first write: unreadable files and size
    changes within the shot fail the job while nothing has been written yet.
    Depth of another resolution (same aspect) is resampled, with one warning;
    another aspect fails here. Returns the first frame's header."""
    from focuspull.io.header import read_header

    first_size = None
    first_header = None
    resampled = None
    for frame in frames:
        header = read_header(plate.path(frame))
        size = header["size"]
        first_header = first_header or header
        first_size = first_size or size
        if size != first_size:
            raise ImageDataError(f"{plate.path(frame)}: frame {frame}: {size} differs from the shot's {first_size}")
        if depth is None:
            continue
        plate_size, depth_size = _size(size), _size(read_header(depth.path(frame))["size"])
        if check_depth_size(depth_size, plate_size, path=depth.path(frame), frame=frame) and resampled is None:
            resampled = (frame, depth_size, plate_size)
    if resampled is not None:
        frame, (dw, dh), (pw, ph) = resampled
        log.warning(
            "depth %s is %dx%d but the plate is %dx%d (from frame %d): resampling the depth to the plate "
            "(bilinear, in disparity)", depth.text, dw, dh, pw, ph, frame,
        )
    return first_header


def _display_width(header: dict[str, Any]) -> float:
    window = header["display_window"]
    return float(window[2] - window[0] + 1)


def _check_output_folder(first_path: str) -> None:
    folder = Path(first_path).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputError(f"output folder {folder}: cannot create it: {err.strerror or err}") from err
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {folder}: not writable")


# -- per-frame data ------------------------------------------------------------
@dataclass(frozen=True)
class FrameData:
    """One frame ready for an engine, plus what is needed to write it back."""

    frame: int
    image: "ImageFrame"
    rgba: "np.ndarray"  # (H, W, C) scene-linear, C = 3 or 4
    disparity: "np.ndarray"  # (H, W)


def load_frame(source: Source, frame_no: int, image: "ImageFrame", depth_image: "ImageFrame | None") -> FrameData:
    """Check a frame's pixels, convert to the working space and to disparity."""
    import numpy as np

    rgba_idx = image.rgba_indices
    rgba = image.pixels[..., list(rgba_idx)].astype(np.float32, copy=True)
    bad = ~np.isfinite(rgba)
    if bad.any():
        pixels = int(bad.any(axis=-1).sum())
        raise ImageDataError(f"{image.path}: frame {frame_no}: {pixels} pixel(s) are NaN or inf in RGB(A)")
    rgba[..., :3] = source.color.to_working(rgba[..., :3], source.input_colorspace)

    job = source.job
    if depth_image is None:
        source = image
        channel = job.depth.channel or _guess_depth_channel(image)
    else:
        source = depth_image
        channel = job.depth.channel or depth_image.channels[0]
    values = source.channel(channel)
    disparity = to_disparity(values, job.depth.kind, source=f"{source.path} (channel {channel})", frame=frame_no)
    if source is not image and check_depth_size(source.size, image.size, path=source.path, frame=frame_no):
        disparity = resample_depth(disparity, image.size)  # prepare() warned once for the shot
    return FrameData(frame_no, image, rgba, disparity)


def _guess_depth_channel(image: "ImageFrame") -> str:
    for name in DEPTH_CHANNEL_GUESSES:
        if name in image.channels:
            return name
    raise ImageDataError(
        f"{image.path}: no depth channel found (looked for {', '.join(DEPTH_CHANNEL_GUESSES)}); "
        f"channels are {', '.join(image.channels)}. Name one with --depth-channel or give --depth PATTERN"
    )


def engine_input(shot: Shot, data: Sequence[FrameData], device: "torch.device") -> "EngineInput":
    """Stack frames into an engine batch with their per-frame parameters."""
    import numpy as np
    import torch

    from focuspull.engines.base import EngineInput

    rgba = torch.from_numpy(np.stack([d.rgba for d in data])).permute(0, 3, 1, 2).to(device)
    disparity = torch.from_numpy(np.stack([d.disparity for d in data]))[:, None].to(device)
    return EngineInput(
        rgba=rgba.contiguous(), disparity=disparity.contiguous(), params=shot.params.select([d.frame for d in data])
    )


# -- rendering -------------------------------------------------------------------
def read_frames(source: Source, frames: Sequence[int] | None = None) -> Iterator[FrameData]:
    """Frames read ahead on threads (plate and depth), checked and converted.
    ``frames`` defaults to the whole shot when ``source`` is a Shot."""
    from focuspull.io import read_sequence

    frames = tuple(source.frames if frames is None else frames)  # type: ignore[attr-defined]
    plates = read_sequence(source.input, frames, prefetch=2)
    depths = read_sequence(source.depth, frames, prefetch=2) if source.depth is not None else None
    try:
        for frame, image in plates:
            depth_image = next(depths)[1] if depths is not None else None
            yield load_frame(source, frame, image, depth_image)
    finally:
        plates.close()
        if depths is not None:
            depths.close()


def make_engine(shot: Shot, device: "torch.device | None" = None) -> "Engine":
    from focuspull.device import resolve_device
    from focuspull.engines import create_engine

    device = device or resolve_device(shot.job.engine.device)
    return create_engine(shot.job.engine.name, shot.engine_options, shot.job.aperture, device, shot.color)


def shot_statistics(shot: Shot) -> Any:
    """Disparity range over the whole shot (a pass over the depth only)."""
    from focuspull.engines.base import ShotStatistics

    lo, hi, size = float("inf"), float("-inf"), (0, 0)
    for data in read_frames(shot):
        lo, hi = min(lo, float(data.disparity.min())), max(hi, float(data.disparity.max()))
        size = data.image.size
    return ShotStatistics(lo, hi, shot.frames, size[0], size[1])


def render_shot(
    shot: Shot,
    progress: Progress | None = None,
    *,
    cancel: threading.Event | None = None,
    engine: "Engine | None" = None,
    frames: Sequence[int] | None = None,
    resume: bool = False,
) -> RenderReport:
    """Render and write ``frames`` (default: the whole shot); one event per frame.

    ``frames`` is a chunk of the shot: the engine still sees the context frames
    it asks for around the chunk, so a shot rendered in chunks equals the shot
    rendered at once. ``resume`` skips frames whose output was already written
    by the same job.
    """
    import torch

    progress = progress or NullProgress()
    targets = list(shot.frames if frames is None else frames)
    unknown = sorted(set(targets) - set(shot.frames))
    if unknown:
        raise JobError(f"frames {unknown[:5]} are not in the shot's frame list")
    if resume:
        done_before = [f for f in targets if _already_written(shot, f)]
        if done_before:
            log.info("resume: %d frame(s) already written, skipping them", len(done_before))
        skip = set(done_before)
        targets = [f for f in targets if f not in skip]
    total = len(targets)
    started = time.monotonic()
    if not targets:
        progress.start(0)
        progress.done(frames=0, output=shot.output.canonical(), seconds=0.0)
        return RenderReport((), shot.output.canonical(), 0.0)

    # The engine first: missing weights or a missing GPU fail before "start".
    engine = engine or make_engine(shot)
    if engine.needs_shot_statistics:
        engine.begin_shot(shot_statistics(shot))
    progress.start(total, targets[0], targets[-1])
    wanted = set(targets)
    context = engine.context_frames
    if context:
        first, last = shot.index(targets[0]), shot.index(targets[-1])
        span = shot.frames[max(0, first - context) : last + context + 1]
    else:
        span = tuple(targets)
    pending: deque[FrameData] = deque()

    def batches() -> Iterator["EngineInput"]:
        for data in read_frames(shot, span):
            if cancel is not None and cancel.is_set():
                raise CancelledError(f"cancelled before frame {data.frame}")
            pending.append(data)
            yield engine_input(shot, [data], engine.device)

    written: list[int] = []
    with torch.inference_mode():
        for out in engine.render_stream(batches()):
            for t in range(out.rgba.shape[0]):
                data = pending.popleft()
                if data.frame not in wanted:
                    continue  # context for the engine only
                rgba = out.rgba[t].permute(1, 2, 0).float().cpu().numpy()
                aux = {name: ch[t, 0].float().cpu().numpy() for name, ch in out.aux.items()}
                write_frame(shot, data, rgba, aux, engine)
                written.append(data.frame)
                progress.frame(data.frame, len(written), total)
    seconds = time.monotonic() - started
    progress.done(frames=len(written), output=shot.output.canonical(), seconds=round(seconds, 3))
    return RenderReport(tuple(written), shot.output.canonical(), seconds)


def job_fingerprint(job: Job) -> str:
    """What makes a frame's pixels: the job without its frame list and device.

    Written into every output header so ``resume`` re-renders frames made by
    another version of the job (a changed focus key, say) instead of keeping them.
    """
    import hashlib
    import json

    data = job.to_dict()
    data["input"].pop("frames", None)
    data["engine"].pop("device", None)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _already_written(shot: Shot, frame: int) -> bool:
    from focuspull.errors import ImageReadError
    from focuspull.io.header import read_header

    path = shot.output.path(frame)
    if not os.path.exists(path):
        return False
    try:
        metadata = read_header(path)["metadata"]
    except ImageReadError:
        return False
    if metadata.get("focuspull/job") != job_fingerprint(shot.job):
        return False
    # Our writes are atomic, but a copy or a sync tool can truncate a frame
    # after its header: only a frame whose pixels read is done.
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(path)
    return buf.read(force=True) and not buf.has_error


def write_frame(
    shot: Shot, data: FrameData, rgba: "np.ndarray", aux: dict[str, "np.ndarray"], engine: "Engine"
) -> None:
    """Write one frame: rendered RGB(A) in place of the input's, other channels kept."""
    import numpy as np

    from focuspull.io import write_image

    image = data.image
    job = shot.job
    rgba = rgba.copy()
    rgba[..., :3] = shot.color.from_working(rgba[..., :3], shot.output_colorspace)
    pixels = image.pixels.astype(np.float32, copy=True)
    rgba_idx = image.rgba_indices
    pixels[..., list(rgba_idx)] = rgba
    formats = [_format_name(image.spec, i) for i in range(len(image.channels))]
    for i in rgba_idx:
        formats[i] = job.output.pixel_type
    channels = list(image.channels)
    if aux:
        pixels = np.concatenate([pixels] + [a[..., None] for a in aux.values()], axis=-1)
        channels += list(aux)
        formats += ["float"] * len(aux)
    index = shot.index(data.frame)
    attributes = {
        "focuspull/version": __version__,
        "focuspull/focus_disparity": float(shot.params.focus_disparity[index]),
        "focuspull/strength_px": float(shot.params.strength_px[index]),
        "focuspull/input": shot.input.path(data.frame),
        "focuspull/job": job_fingerprint(job),
        "oiio:ColorSpace": shot.output_colorspace,
        **engine.header_attributes(),
    }
    write_image(
        shot.output.path(data.frame),
        pixels,
        channels,
        template=image.spec,
        channel_formats=formats,
        compression=job.output.compression,
        attributes=attributes,
    )


def _format_name(spec: Any, channel: int) -> str:
    fmt = str(spec.channelformat(channel)) if hasattr(spec, "channelformat") else str(spec.format)
    return "half" if fmt == "half" else "float"


def render_job(
    job: Job,
    progress: Progress | None = None,
    *,
    frames: Sequence[int] | None = None,
    chunk: tuple[int, int] | None = None,
    resume: bool = False,
    cancel: threading.Event | None = None,
) -> RenderReport:
    """Prepare and render a job; errors become an ``error`` event and are re-raised.

    ``frames`` replaces the job's frame list (the shot); ``chunk`` (first, last)
    renders only the shot's frames in that inclusive range.
    """
    progress = progress or NullProgress()
    try:
        shot = prepare(job, frames, progress=progress)
        targets = None
        if chunk is not None:
            targets = [f for f in shot.frames if chunk[0] <= f <= chunk[1]]
            if not targets:
                raise JobError(f"chunk {chunk[0]}-{chunk[1]}: no frame of the shot is in it")
        return render_shot(shot, progress, cancel=cancel, frames=targets, resume=resume)
    except Exception as err:
        from focuspull.errors import FocusPullError

        code = err.code if isinstance(err, FocusPullError) else "internal_error"
        progress.error(code, err.one_line() if isinstance(err, FocusPullError) else f"{type(err).__name__}: {err}")
        raise


# -- depth sources, focus and strength (depth/focus issue) ----------------------------
def _check_estimated_pattern(
    estimated: "SequencePattern", plate: "SequencePattern", output: "SequencePattern", frames: Sequence[int]
) -> None:
    if estimated.same_files_as(plate, frames=frames):
        raise OutputError(f"depth.pattern: {estimated.text} names the input plate's files; refusing to overwrite the input")
    if estimated.same_files_as(output, frames=frames):
        raise OutputError(f"depth.pattern: {estimated.text} names the output's files; the estimated depth needs its own")


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def _estimate_depth(
    job: Job, plate: "SequencePattern", target: "SequencePattern", frames: Sequence[int], color: "ColorConfig",
    input_colorspace: str, progress: Progress,
) -> "SequencePattern":
    from focuspull.estimate.shot import estimate_shot_depth

    spec = job.depth
    return estimate_shot_depth(
        plate=plate, frames=frames, color=color, input_colorspace=input_colorspace, target=target,
        model=spec.model, stabilize_weight=spec.stabilize, percentiles=spec.percentiles, device=job.engine.device,
        on_frame=lambda done, total: progress.stage("depth", done, total),
    )


def with_job(shot: Shot, job: Job, read: "Callable[[Sequence[int]], Iterable[FrameData]] | None" = None) -> Shot:
    """The shot of an edited job whose input, depth, engine, aperture and colour are unchanged
    (the workspace after a key edit): the same disk resolution, FrameParams resolved again.
    Modes that pick from the depth read frames through ``read`` (default: from disk)."""
    from focuspull.io import SequencePattern
    from focuspull.io.header import read_header

    params = resolve_frame_params(
        job, shot.frames, engine_options=shot.engine_options,
        width_px=_display_width(read_header(shot.input.path(shot.frames[0]))),
        read=read or (lambda frames: read_frames(shot, frames)),
    )
    return dataclasses.replace(shot, job=job, output=SequencePattern.parse(job.output.pattern), params=params)
