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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from focuspull import __version__
from focuspull.curves import Curve
from focuspull.depth import to_disparity
from focuspull.errors import CancelledError, ImageDataError, JobError, OutputError, SequenceError
from focuspull.focus import focus_disparity, strength_px
from focuspull.job import Job
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
class Shot:
    """A job resolved against the disk: what will be read, rendered and written."""

    job: Job
    input: "SequencePattern"
    output: "SequencePattern"
    depth: "SequencePattern | None"
    frames: tuple[int, ...]
    color: "ColorConfig"
    input_colorspace: str
    output_colorspace: str
    focus_disparity: tuple[float, ...]
    strength_px: tuple[float, ...]
    #: keyframed (Curve-typed) aperture and engine options, per frame
    extra: dict[str, tuple[float, ...]] = field(default_factory=dict)
    engine_options: Any = None

    def index(self, frame: int) -> int:
        return self.frames.index(frame)


@dataclass(frozen=True)
class RenderReport:
    frames: tuple[int, ...]
    output: str
    seconds: float


def prepare(job: Job, frames: Sequence[int] | None = None) -> Shot:
    """Resolve and check everything that can be checked before rendering."""
    from focuspull.color import ColorConfig
    from focuspull.engines import parse_options
    from focuspull.io import SequencePattern, check_frames, parse_frames

    plate = SequencePattern.parse(job.input.pattern)
    output = SequencePattern.parse(job.output.pattern)
    depth = SequencePattern.parse(job.depth.pattern) if job.depth.source == "sequence" and job.depth.pattern else None

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

    if output.same_files_as(plate):
        raise OutputError(f"output.pattern: {job.output.pattern} names the input plate's files; refusing to overwrite the input")
    if depth is not None and output.same_files_as(depth):
        raise OutputError(f"output.pattern: {job.output.pattern} names the depth sequence's files; refusing to overwrite it")
    check_frames(plate, frames, "input")
    if depth is not None:
        check_frames(depth, frames, "depth")
    _check_output_folder(output.path(frames[0]))

    color = ColorConfig.load(job.ocio_config)
    input_colorspace = color.resolve(job.input.colorspace)
    output_colorspace = color.resolve(job.output.colorspace) if job.output.colorspace else input_colorspace

    engine_options = parse_options(job.engine.name, dict(job.engine.options))
    if job.output.aux_channels:
        if not any(f.name == "aux_channels" for f in dataclasses.fields(engine_options)):
            raise JobError(f"output.aux_channels: the {job.engine.name} engine writes no diagnostic channels")
        engine_options = dataclasses.replace(engine_options, aux_channels=tuple(job.output.aux_channels))

    extra = {}
    for settings in (job.aperture, engine_options):
        for f in dataclasses.fields(settings):
            value = getattr(settings, f.name)
            if isinstance(value, Curve):
                extra[f.name] = tuple(value.evaluate(frames))

    return Shot(
        job=job,
        input=plate,
        output=output,
        depth=depth,
        frames=frames,
        color=color,
        input_colorspace=input_colorspace,
        output_colorspace=output_colorspace,
        focus_disparity=tuple(focus_disparity(job, frames)),
        strength_px=tuple(strength_px(job, frames)),
        extra=extra,
        engine_options=engine_options,
    )


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


def load_frame(shot: Shot, frame_no: int, image: "ImageFrame", depth_image: "ImageFrame | None") -> FrameData:
    """Check a frame's pixels, convert to the working space and to disparity."""
    import numpy as np

    rgba_idx = image.rgba_indices
    rgba = image.pixels[..., list(rgba_idx)].astype(np.float32, copy=True)
    bad = ~np.isfinite(rgba)
    if bad.any():
        pixels = int(bad.any(axis=-1).sum())
        raise ImageDataError(f"{image.path}: frame {frame_no}: {pixels} pixel(s) are NaN or inf in RGB(A)")
    rgba[..., :3] = shot.color.to_working(rgba[..., :3], shot.input_colorspace)

    job = shot.job
    if depth_image is None:
        source = image
        channel = job.depth.channel or _guess_depth_channel(image)
    else:
        source = depth_image
        channel = job.depth.channel or depth_image.channels[0]
        if depth_image.size != image.size:
            raise ImageDataError(
                f"{depth_image.path}: frame {frame_no}: depth is {depth_image.size[0]}x{depth_image.size[1]} "
                f"but the plate is {image.size[0]}x{image.size[1]}"
            )
    values = source.channel(channel)
    disparity = to_disparity(values, job.depth.kind, source=f"{source.path} (channel {channel})", frame=frame_no)
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
    """Stack frames into an engine batch with per-frame parameter tensors."""
    import numpy as np
    import torch

    from focuspull.engines.base import EngineInput

    idx = [shot.index(d.frame) for d in data]
    rgba = torch.from_numpy(np.stack([d.rgba for d in data])).permute(0, 3, 1, 2).to(device)
    disparity = torch.from_numpy(np.stack([d.disparity for d in data]))[:, None].to(device)

    def per_frame(values: Sequence[float]) -> "torch.Tensor":
        return torch.tensor([values[i] for i in idx], dtype=torch.float32, device=device)

    return EngineInput(
        rgba=rgba.contiguous(),
        disparity=disparity.contiguous(),
        focus_disparity=per_frame(shot.focus_disparity),
        strength_px=per_frame(shot.strength_px),
        frames=tuple(d.frame for d in data),
        extra={name: per_frame(values) for name, values in shot.extra.items()},
    )


# -- rendering -------------------------------------------------------------------
def read_frames(shot: Shot, frames: Sequence[int] | None = None) -> Iterator[FrameData]:
    """Frames read ahead on threads (plate and depth), checked and converted."""
    from focuspull.io import read_sequence

    frames = tuple(shot.frames if frames is None else frames)
    plates = read_sequence(shot.input, frames, prefetch=2)
    depths = read_sequence(shot.depth, frames, prefetch=2) if shot.depth is not None else None
    try:
        for frame, image in plates:
            depth_image = next(depths)[1] if depths is not None else None
            yield load_frame(shot, frame, image, depth_image)
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
) -> RenderReport:
    """Render every frame of the shot and write it; one frame event per frame."""
    import torch

    progress = progress or NullProgress()
    engine = engine or make_engine(shot)
    started = time.monotonic()
    if engine.needs_shot_statistics:
        engine.begin_shot(shot_statistics(shot))

    total = len(shot.frames)
    progress.start(total, shot.frames[0], shot.frames[-1])
    pending: deque[FrameData] = deque()

    def batches() -> Iterator["EngineInput"]:
        for data in read_frames(shot):
            if cancel is not None and cancel.is_set():
                raise CancelledError(f"cancelled before frame {data.frame}")
            pending.append(data)
            yield engine_input(shot, [data], engine.device)

    written = []
    with torch.inference_mode():
        for out in engine.render_stream(batches()):
            for t in range(out.rgba.shape[0]):
                data = pending.popleft()
                rgba = out.rgba[t].permute(1, 2, 0).float().cpu().numpy()
                aux = {name: ch[t, 0].float().cpu().numpy() for name, ch in out.aux.items()}
                write_frame(shot, data, rgba, aux, engine)
                written.append(data.frame)
                progress.frame(data.frame, len(written), total)
    seconds = time.monotonic() - started
    progress.done(frames=len(written), output=shot.output.canonical(), seconds=round(seconds, 3))
    return RenderReport(tuple(written), shot.output.canonical(), seconds)


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
        "focuspull/focus_disparity": float(shot.focus_disparity[index]),
        "focuspull/strength_px": float(shot.strength_px[index]),
        "focuspull/input": shot.input.path(data.frame),
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
    cancel: threading.Event | None = None,
) -> RenderReport:
    """Prepare and render a job; errors become an ``error`` event and are re-raised."""
    progress = progress or NullProgress()
    try:
        shot = prepare(job, frames)
        return render_shot(shot, progress, cancel=cancel)
    except Exception as err:
        from focuspull.errors import FocusPullError

        code = err.code if isinstance(err, FocusPullError) else "internal_error"
        progress.error(code, str(err) if isinstance(err, FocusPullError) else f"{type(err).__name__}: {err}")
        raise
