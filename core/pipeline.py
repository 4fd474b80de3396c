"""The data path, as four numbered stages:

1. **resolve** (``prepare``): the job against the disk: patterns, frames,
   every header (opened once, cached), colour spaces, engine options, and the
   per-frame ``FrameParams``; fails before anything is written when the job
   cannot work. Returns a ``Shot``, built once.
2. **scan** (``ShotScan``): one pass over the shot, and only when something
   needs all of it: focus picks and tracking (focus from a point or a matte,
   strength from the largest blur) and the disparity statistics an engine
   normalises by. The frames it decodes are kept, within a memory budget
   (``FrameStore``), for the render.
3. **render** (``render_shot``): each frame decoded and colour-converted once
   (or taken from the scan), read ahead on threads, through the engine one
   frame at a time, so a 200-frame 4K shot needs the memory of a few frames.
4. **write** (``write_frame``): back to the output colour space, every other
   channel and attribute kept, atomically through a temporary file; "already
   written by this job" is the I/O layer's ``written_by``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from focuspull import __version__
from focuspull.depth import check_depth_size, to_disparity
from focuspull.depth import resample as resample_depth
from focuspull.depth_conditioning.steps import ConditioningSteps
from focuspull.device import resolve_device
from focuspull.engines import create_engine, parse_options
from focuspull.engines.base import EngineInput, ShotStatistics
from focuspull.errors import CancelledError, FocusPullError, ImageDataError, JobError, OutputError, SequenceError
from focuspull.estimate.shot import default_depth_pattern, estimate_shot_depth
from focuspull.io import SequencePattern, parse_frames
from focuspull.io.header import read_header
from focuspull.io.written import written_by
from focuspull.job import Job
from focuspull.params import FrameParams, resolve_frame_params
from focuspull.progress import NullProgress, Progress

if TYPE_CHECKING:
    import numpy as np
    import torch

    from focuspull.color import ColorConfig
    from focuspull.engines.base import Engine
    from focuspull.io import ImageFrame

log = logging.getLogger(__name__)

DEPTH_CHANNEL_GUESSES = ("Z", "depth.Z", "depth.z", "Z.Z", "depth", "zDepth")
#: diagnostic channels the pipeline writes itself (the rest are the engine's)
PIPELINE_AUX = ("depth.conditioned",)
#: the output header's record of the job that made a frame (resume)
JOB_KEY = "focuspull/job"
#: decoded frames the scan keeps for the render (beyond it, frames are decoded again)
DEFAULT_FRAME_STORE_BYTES = 4 * 1024**3


# == 1. resolve the job against the disk ===================================================
@dataclass(frozen=True)
class Source:
    """Where a shot's frames come from and how they become scene-linear RGBA and disparity."""

    job: Job
    input: "SequencePattern"
    depth: "SequencePattern | None"
    color: "ColorConfig"
    input_colorspace: str
    #: depth conditioning resolved for the depth source (focuspull.depth_conditioning); None: none
    conditioning: "ConditioningSteps | None" = field(default=None, kw_only=True)
    #: True when ``depth`` is focuspull's conditioned disparity (channel Y), used as it is
    depth_conditioned: bool = field(default=False, kw_only=True)
    #: where ``depth_conditioned``: the depth it was made from (a sequence, an estimate; None: the
    #: plate's channel), which the workspace shows as the raw depth
    raw_depth: "SequencePattern | None" = field(default=None, kw_only=True)


@dataclass(frozen=True)
class Shot(Source):
    """A job resolved against the disk, built once: what is read, rendered with which
    per-frame parameters, and written."""

    output: "SequencePattern"
    frames: tuple[int, ...]
    output_colorspace: str
    engine_options: Any
    params: FrameParams
    #: the disparity range of the whole shot, when the scan measured it
    statistics: "ShotStatistics | None" = None
    #: the plate's colour space and where it came from (job, header, default)
    input_color: Any = None
    #: layers and views to refocus, planned from the first frame's header
    plan: tuple[Any, ...] = ()

    def index(self, frame: int) -> int:
        return self.frames.index(frame)


@dataclass(frozen=True)
class RenderReport:
    frames: tuple[int, ...]
    output: str
    seconds: float


def prepare(
    job: Job,
    frames: Sequence[int] | None = None,
    *,
    check_output: bool = True,
    progress: Progress | None = None,
    store: "FrameStore | None" = None,
) -> Shot:
    """Stage 1: resolve and check everything that can be checked before rendering.

    ``check_output=False`` is for viewing (the UI): the output folder is then
    neither created nor checked, and a shot's stabilised depth is used where a
    render wrote it already, never made (it reads the whole shot: minutes per
    edit); without it the spatial steps run per frame as frames are read.
    When focus or strength need the whole shot, stage 2 runs here; ``store``
    keeps the frames it decodes for the render.
    """
    disk = _resolve_disk(job, frames, check_output)
    depth = disk.depth
    if disk.estimated is not None:
        depth = _estimate_depth(job, disk.plate, disk.estimated, disk.frames, disk.color, disk.input_colorspace,
                                progress or NullProgress())
    source = Source(job=job, input=disk.plate, depth=depth, color=disk.color, input_colorspace=disk.input_colorspace,
                    conditioning=ConditioningSteps.for_depth(job.depth))
    source = condition_shot_depth(source, disk.output, disk.frames, make=check_output, progress=progress)
    scan = ShotScan(source, store)
    params = resolve_frame_params(
        job, disk.frames, engine_options=disk.engine_options, width_px=_display_width(disk.first_header),
        read=scan.read,
    )
    return Shot(
        job=job, input=disk.plate, depth=source.depth, color=disk.color, input_colorspace=disk.input_colorspace,
        conditioning=source.conditioning, depth_conditioned=source.depth_conditioned, raw_depth=source.raw_depth,
        output=disk.output, frames=disk.frames, output_colorspace=disk.output_colorspace,
        engine_options=disk.engine_options, params=params, statistics=scan.statistics(disk.frames),
        input_color=disk.input_color, plan=disk.plan,
    )


def check_shot(job: Job) -> tuple[int, ...]:
    """The shot's frames, with everything ``prepare`` checks on disk before it makes the shot's depth
    (plates, depth files and headers, colour spaces, the output folder, engine options). The
    per-frame focus and strength are not resolved: they may need that depth."""
    return _resolve_disk(job, None, check_output=True).frames


@dataclass(frozen=True)
class _Disk:
    """A job resolved against the disk, before any depth is made."""

    plate: "SequencePattern"
    output: "SequencePattern"
    depth: "SequencePattern | None"
    estimated: "SequencePattern | None"
    frames: tuple[int, ...]
    first_header: dict[str, Any]
    color: "ColorConfig"
    input_colorspace: str
    output_colorspace: str
    input_color: Any
    plan: tuple[Any, ...]
    engine_options: Any


def _resolve_disk(job: Job, frames: Sequence[int] | None, check_output: bool) -> _Disk:
    from focuspull.color import ColorConfig  # numpy and OpenColorIO
    from focuspull.io import check_frames  # numpy and OpenImageIO
    from focuspull.io.sequence import check_no_gaps

    plate = SequencePattern.parse(job.input.pattern)
    output = SequencePattern.parse(job.output.pattern)
    depth = SequencePattern.parse(job.depth.pattern) if job.depth.source == "sequence" and job.depth.pattern else None
    estimated = None
    if job.depth.source == "estimate":
        estimated = SequencePattern.parse(job.depth.pattern or default_depth_pattern(job.output.pattern))

    if frames is None:
        if job.input.frames:
            frames = parse_frames(job.input.frames)
        elif plate.is_sequence:
            frames = plate.frames_on_disk()
            if not frames:
                raise SequenceError(f"input {job.input.pattern}: no frames found on disk")
            check_no_gaps(plate, frames)
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
    input_color, plan = _plan_from_header(
        job, plate, frames[0], first_header, color, separate_depth=depth is not None or estimated is not None
    )
    input_colorspace = input_color.name
    output_colorspace = color.resolve(job.output.colorspace) if job.output.colorspace else input_colorspace

    engine_options = parse_options(job.engine.name, dict(job.engine.options))
    engine_aux = tuple(name for name in job.output.aux_channels if name not in PIPELINE_AUX)
    if engine_aux:
        if not any(f.name == "aux_channels" for f in dataclasses.fields(engine_options)):
            raise JobError(f"output.aux_channels: the {job.engine.name} engine writes no diagnostic channels")
        engine_options = dataclasses.replace(engine_options, aux_channels=engine_aux)
    return _Disk(plate, output, depth, estimated, frames, first_header, color, input_colorspace, output_colorspace,
                 input_color, tuple(plan), engine_options)


def _plan_from_header(
    job: Job, plate: "SequencePattern", frame: int, header: dict[str, Any], color: "ColorConfig", separate_depth: bool
) -> tuple[Any, tuple[Any, ...]]:
    """The plate's colour space (job, else header, else scene_linear) and the
    layers/views to refocus, from the first frame's header: a bad --layer,
    --views or --depth-channel fails here, before anything is written."""
    from focuspull.io.color_tags import input_colorspace
    from focuspull.io.layout import layout_from_header, plan_units

    path = plate.path(frame)
    where = f"{path}: frame {frame}"
    plan = plan_units(
        layout_from_header(header, where), layer=job.input.layer, depth_channel=job.depth.channel,
        depth_guesses=DEPTH_CHANNEL_GUESSES, channels=job.output.channels, views=job.input.views,
        depth_in_image=not separate_depth,
    )
    return input_colorspace(color, job.input.colorspace, header["metadata"], path), plan


def _check_headers(plate: "SequencePattern", depth: "SequencePattern | None", frames: Sequence[int]) -> dict[str, Any]:
    """Open every header before the first write: unreadable files and format
    (display window) changes within the shot fail the job while nothing has
    been written yet. Data windows may change from frame to frame (auto-cropped
    CG renders): each frame keeps its own. Depth of another resolution (same
    aspect) is resampled, with one warning; another aspect fails here. Returns
    the first frame's header."""
    first_display = None
    first_header = None
    resampled = None
    for frame in frames:
        header = read_header(plate.path(frame), frame)
        size, display = header["size"], header["display_window"]
        first_header = first_header or header
        first_display = first_display or display
        if display != first_display:
            raise ImageDataError(
                f"{plate.path(frame)}: frame {frame}: display window {display} differs from the shot's "
                f"{first_display} (a format change within the shot)"
            )
        if depth is None:
            continue
        plate_size, depth_size = _size(size), _size(read_header(depth.path(frame), frame)["size"])
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
    spec = job.depth
    return estimate_shot_depth(
        plate=plate, frames=frames, color=color, input_colorspace=input_colorspace, target=target,
        model=spec.model, stabilize_weight=ConditioningSteps.for_depth(spec).stabilize, percentiles=spec.percentiles,
        device=job.engine.device,
        on_frame=lambda done, total: progress.stage("depth", done, total),
    )


def condition_shot_depth(
    source: Source, output: "SequencePattern", frames: Sequence[int], make: bool = True,
    progress: Progress | None = None,
) -> Source:
    """Temporal stabilisation needs the whole shot: done here, once, after the spatial steps, into a
    sequence next to the output that the render reads. Estimated depth comes here too: the
    estimation stabilised the model's output, this averages the edge step's per-frame decisions.
    ``make=False``: only a sequence written already is used (the source is returned as it is)."""
    if source.conditioning is None or source.conditioning.stabilize <= 0:
        return source
    from focuspull.depth_conditioning.shot import SUFFIX, stabilize_shot_depth, stabilized_depth_written

    target = SequencePattern.parse(default_depth_pattern(source.job.output.pattern, SUFFIX))
    _check_estimated_pattern(target, source.input, output, frames)
    if source.depth is not None and target.same_files_as(source.depth, frames=frames):
        raise OutputError(f"depth.pattern: {source.depth.text} names the stabilised depth's files ({target.text}); "
                          "the depth needs its own")
    if not make and not stabilized_depth_written(source, frames, target):
        log.info("depth: shown without stabilisation over time until a render writes %s", target.text)
        return source
    progress = progress or NullProgress()
    target = stabilize_shot_depth(source, frames, target,
                                  on_frame=lambda done, total: progress.stage("stabilize", done, total))
    return dataclasses.replace(source, depth=target, depth_conditioned=True, raw_depth=source.depth)


def with_job(shot: Shot, job: Job, read: "Callable[[Sequence[int]], Iterable[FrameData]] | None" = None) -> Shot:
    """The shot of an edited job whose input, depth, engine, aperture and colour are unchanged
    (the workspace after a key edit): the same disk resolution, FrameParams resolved again.
    Modes that pick from the depth read frames through ``read`` (default: from disk)."""
    scan = ShotScan(shot)
    params = resolve_frame_params(
        job, shot.frames, engine_options=shot.engine_options,
        width_px=_display_width(read_header(shot.input.path(shot.frames[0]))), read=read or scan.read,
    )
    return dataclasses.replace(
        shot, job=job, output=SequencePattern.parse(job.output.pattern), params=params,
        statistics=scan.statistics(shot.frames) or shot.statistics,
    )


# == frames in: decoded, checked, converted to scene-linear and disparity (stages 2, 3) ======
@dataclass(frozen=True)
class UnitData:
    """One layer of one view ready for an engine: its data window's pixels."""

    layer: Any  # focuspull.io.layout.Layer
    rgba: "np.ndarray"  # (H, W, C) scene-linear, C = 3 or 4
    disparity: "np.ndarray"  # (H, W), aligned to the layer's data window
    window: Any  # focuspull.io.windows.Window: the layer's data window


@dataclass(frozen=True)
class FrameData:
    """One frame ready for an engine, plus what is needed to write it back.

    ``rgba``/``disparity`` are the plate's main layer (of the main view), and
    ``image`` has that layer's part as its spec; ``units`` holds every layer
    and view to refocus, the main one first.
    """

    frame: int
    image: "ImageFrame"
    rgba: "np.ndarray"  # (H, W, C) scene-linear, C = 3 or 4
    disparity: "np.ndarray"  # (H, W)
    units: tuple[UnitData, ...] = ()
    #: the main layer's disparity before depth conditioning, where a reader kept it (the workspace's overlays)
    raw_disparity: "np.ndarray | None" = None


def load_frame(source: Source, frame_no: int, image: "ImageFrame", depth_image: "ImageFrame | None") -> FrameData:
    """Check a frame's pixels, convert every layer to refocus to the working
    space and its depth to disparity."""
    loaded = tuple(_load_unit(source, frame_no, image, depth_image, unit)
                   for unit in _frame_units(source.job, image, depth_image))
    main = loaded[0]
    return FrameData(frame_no, image.for_part(main.layer.part), main.rgba, main.disparity, loaded)


def _frame_units(job: Job, image: "ImageFrame", depth_image: "ImageFrame | None") -> tuple[Any, ...]:
    """The layers and views of a frame to refocus, each with its depth, the main one first."""
    from focuspull.io.layout import layout_of, plan_units

    return tuple(plan_units(
        layout_of(image.parts, image.where), layer=job.input.layer,
        depth_channel=job.depth.channel if depth_image is None else None, depth_guesses=DEPTH_CHANNEL_GUESSES,
        channels=job.output.channels, views=job.input.views, depth_in_image=depth_image is None,
    ))


def _load_unit(source: Source, frame_no: int, image: "ImageFrame", depth_image: "ImageFrame | None", unit: Any) -> UnitData:
    import numpy as np

    from focuspull.io.windows import Window

    part = image.parts[unit.layer.part]
    rgba = part.pixels[..., [part.channels.index(c) for c in unit.layer.channels]].astype(np.float32, copy=True)
    bad = ~np.isfinite(rgba)
    if bad.any():
        pixels = int(bad.any(axis=-1).sum())
        layer = "" if unit.layer.label == "rgba" else f" of layer {unit.layer.label}"
        raise ImageDataError(f"{image.path}: frame {frame_no}: {pixels} pixel(s) are NaN or inf in RGB(A){layer}")
    rgba[..., :3] = source.color.to_working(rgba[..., :3], source.input_colorspace)
    window = Window.data(part.spec)
    disparity = _unit_disparity(source, frame_no, image, depth_image, unit, window)
    steps = source.conditioning
    if steps is not None and steps.spatial and not source.depth_conditioned:
        from focuspull.depth_conditioning import condition_frame

        disparity = condition_frame(disparity, rgba, steps)
    return UnitData(unit.layer, rgba, disparity, window)


def load_raw_disparity(
    source: Source, frame_no: int, image: "ImageFrame", depth_image: "ImageFrame | None"
) -> "np.ndarray":
    """The main layer's disparity as read (from ``source.raw_depth`` where the shot's depth is
    conditioned), before any conditioning; ``depth_image`` is that depth's frame."""
    from focuspull.io.windows import Window

    if source.depth_conditioned:
        source = dataclasses.replace(source, depth=source.raw_depth, depth_conditioned=False)
    unit = _frame_units(source.job, image, depth_image)[0]
    return _unit_disparity(source, frame_no, image, depth_image, unit, Window.data(image.parts[unit.layer.part].spec))


def _unit_disparity(source: Source, frame_no: int, image: "ImageFrame", depth_image: "ImageFrame | None", unit: Any,
                    window: Any) -> "np.ndarray":
    """A layer's disparity on its data window ``window``, converted and resampled, not conditioned."""
    import numpy as np

    from focuspull.io.windows import Window, place

    job = source.job
    size = (window.width, window.height)
    if depth_image is None:
        depth_part = image.parts[unit.depth[0]]
        channel = unit.depth[1]
        values = depth_part.pixels[..., depth_part.channels.index(channel)]
        disparity = to_disparity(values, job.depth.kind, source=f"{image.path} (channel {channel})", frame=frame_no)
        depth_window = Window.data(depth_part.spec)
        if depth_window != window:
            if depth_window.intersect(window).empty:
                raise ImageDataError(
                    f"{image.path}: frame {frame_no}: depth channel {channel} (data window {depth_window}) does not "
                    f"overlap layer {unit.layer.label} (data window {window})"
                )
            disparity = place(disparity, depth_window, window, fill="edge")
    elif source.depth_conditioned:  # focuspull's disparity, conditioned for the whole shot in prepare()
        disparity = depth_image.channel(depth_image.channels[0]).astype(np.float32)
        if check_depth_size(depth_image.size, size, path=depth_image.path, frame=frame_no):
            disparity = resample_depth(disparity, size)
    else:
        channel = job.depth.channel or depth_image.channels[0]
        disparity = to_disparity(depth_image.channel(channel), job.depth.kind,
                                 source=f"{depth_image.path} (channel {channel})", frame=frame_no)
        if check_depth_size(depth_image.size, size, path=depth_image.path, frame=frame_no):
            disparity = resample_depth(disparity, size)  # prepare() warned once for the shot
    return disparity


def read_frames(
    source: Source, frames: Sequence[int] | None = None, *, store: "FrameStore | None" = None, prefetch: int = 2
) -> Iterator[FrameData]:
    """Frames in order: taken from ``store`` when the scan kept them, else decoded
    (read ahead on threads, plate and depth), checked and converted.
    ``frames`` defaults to the whole shot when ``source`` is a Shot."""
    from focuspull.io import read_sequence

    frames = tuple(source.frames if frames is None else frames)  # type: ignore[attr-defined]
    kept = store.frames() if store is not None else set()
    missing = [f for f in frames if f not in kept]
    plates = read_sequence(source.input, missing, prefetch=prefetch) if missing else None
    depths = read_sequence(source.depth, missing, prefetch=prefetch) if missing and source.depth is not None else None
    try:
        for frame in frames:
            if frame in kept:
                yield store.take(frame)  # type: ignore[union-attr]
                continue
            _, image = next(plates)  # type: ignore[arg-type]
            depth_image = next(depths)[1] if depths is not None else None
            yield load_frame(source, frame, image, depth_image)
    finally:
        for reader in (plates, depths):
            if reader is not None:
                reader.close()


# == 2. scan the shot once, for what needs all of it ======================================
class FrameStore:
    """Decoded frames the scan keeps for the render, within a byte budget.

    The scan keeps frames in shot order until the budget is spent; the
    render takes them (freeing them) and decodes only the rest, so a shot
    that fits is decoded once per run. ``wanted(frame)`` limits what is kept
    (a chunk of the shot).
    """

    def __init__(
        self, budget_bytes: int = DEFAULT_FRAME_STORE_BYTES, wanted: "Callable[[int], bool] | None" = None
    ) -> None:
        self.budget_bytes = int(budget_bytes)
        self.wanted = wanted
        self._frames: dict[int, FrameData] = {}
        self._bytes = 0
        self._full = False

    def keep(self, data: FrameData) -> None:
        if self._full or (self.wanted is not None and not self.wanted(data.frame)):
            return
        size = _frame_bytes(data)
        if self._bytes + size > self.budget_bytes:
            self._full = True
            log.info("frame %d onwards will be decoded again for the render (frame store of %.1f GiB is full)",
                     data.frame, self.budget_bytes / 1024**3)
            return
        self._frames[data.frame] = data
        self._bytes += size

    def frames(self) -> set[int]:
        return set(self._frames)

    def take(self, frame: int) -> FrameData:
        data = self._frames.pop(frame)
        self._bytes -= _frame_bytes(data)
        return data


def _frame_bytes(data: FrameData) -> int:
    parts = sum(part.pixels.nbytes for part in data.image.parts)
    return int(parts + sum(unit.rgba.nbytes + unit.disparity.nbytes for unit in data.units))


class ShotScan:
    """One pass over the shot: every frame that passes through ``read`` is measured
    (disparity range, for ``ShotStatistics``) and offered to the store.

    ``read`` is what the focus modes scan with (``focus.resolve_per_frame``), so
    focus picks, tracking, the largest-blur strength and the statistics all come
    from the same single decode of each frame.
    """

    def __init__(self, source: Source, store: FrameStore | None = None) -> None:
        self.source = source
        self.store = store
        self._ranges: dict[int, tuple[float, float]] = {}
        self._size = (0, 0)

    def read(self, frames: Sequence[int]) -> Iterator[FrameData]:
        for data in read_frames(self.source, frames):
            self._ranges[data.frame] = (float(data.disparity.min()), float(data.disparity.max()))
            self._size = data.image.size
            if self.store is not None:
                self.store.keep(data)
            yield data

    def statistics(self, frames: Sequence[int]) -> "ShotStatistics | None":
        """The whole shot's disparity range, or None when the scan did not see every frame."""
        if not frames or any(f not in self._ranges for f in frames):
            return None
        lo = min(self._ranges[f][0] for f in frames)
        hi = max(self._ranges[f][1] for f in frames)
        return ShotStatistics(lo, hi, tuple(frames), self._size[0], self._size[1])


def shot_statistics(shot: Shot, store: FrameStore | None = None) -> "ShotStatistics":
    """The shot's statistics: from the focus scan when it ran, else a scan of its own."""
    if shot.statistics is not None:
        return shot.statistics
    scan = ShotScan(shot, store)
    for _ in scan.read(shot.frames):
        pass
    stats = scan.statistics(shot.frames)
    assert stats is not None
    return stats


# == 3. render ===============================================================================
def engine_input(shot: Shot, data: Sequence[FrameData], device: "torch.device") -> "EngineInput":
    """Stack frames into an engine batch with their per-frame parameters."""
    import numpy as np
    import torch

    from focuspull.io.work import honours_pixel_aspect

    rgba = torch.from_numpy(np.stack([d.rgba for d in data])).permute(0, 3, 1, 2).to(device)
    disparity = torch.from_numpy(np.stack([d.disparity for d in data]))[:, None].to(device)
    params = shot.params.select([d.frame for d in data])
    if honours_pixel_aspect(shot):
        # Kernels live in display space: on a plate of pixel aspect p a round
        # bokeh spans r horizontal pixels (K stays in horizontal pixels) and
        # r * p rows. The engine's kernel is r_engine rows tall and
        # r_engine * aspect wide, so r_engine = r * p and aspect / p.
        par = np.array([d.image.pixel_aspect if d.image is not None else 1.0 for d in data])
        params = params.replace(strength_px=params.strength_px * par, aspect=params.aspect / par)
    return EngineInput(rgba=rgba.contiguous(), disparity=disparity.contiguous(), params=params)


def make_engine(shot: Shot, device: "torch.device | None" = None) -> "Engine":
    device = device or resolve_device(shot.job.engine.device)
    return create_engine(shot.job.engine.name, shot.engine_options, shot.job.aperture, device, shot.color)


def render_shot(
    shot: Shot,
    progress: Progress | None = None,
    *,
    cancel: threading.Event | None = None,
    engine: "Engine | None" = None,
    frames: Sequence[int] | None = None,
    resume: bool = False,
    store: FrameStore | None = None,
) -> RenderReport:
    """Stages 3 and 4: render and write ``frames`` (default: the whole shot); one event per frame.

    ``frames`` is a chunk of the shot: the engine still sees the context frames
    it asks for around the chunk, so a shot rendered in chunks equals the shot
    rendered at once. ``resume`` skips frames whose output was already written
    by the same job. ``store``: frames the scan kept (taken, not decoded again).
    """
    import torch

    from focuspull.io.memory import check_shot_memory
    from focuspull.io.windows import place
    from focuspull.io.work import padded, shot_window, work_windows

    progress = progress or NullProgress()
    targets = list(shot.frames if frames is None else frames)
    unknown = sorted(set(targets) - set(shot.frames))
    if unknown:
        raise JobError(f"frames {unknown[:5]} are not in the shot's frame list")
    if resume:
        fingerprint = job_fingerprint(shot.job)
        done_before = [f for f in targets if written_by(shot.output.path(f), JOB_KEY, fingerprint)]
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
    if engine.context_frames and len(shot.plan) > 1:
        raise JobError(
            f"the {engine.name} engine refocuses one layer of one view (it needs neighbouring frames of the same "
            f"image); this job asks for {len(shot.plan)}: choose one with --layer/--views and --channels rgba"
        )
    prefetch = check_shot_memory(shot, targets, engine)
    if engine.needs_shot_statistics:
        engine.begin_shot(shot_statistics(shot, store))
    progress.start(total, targets[0], targets[-1])
    wanted = set(targets)
    context = engine.context_frames
    if context:
        first, last = shot.index(targets[0]), shot.index(targets[-1])
        span = shot.frames[max(0, first - context) : last + context + 1]
    else:
        span = tuple(targets)
    pending: deque[tuple[FrameData, dict[int, Any]]] = deque()
    # An engine that renders each frame on its own works in the frame's data
    # window grown by the blur; one that needs neighbouring frames (one frame
    # size) works in the union of the shot's data windows, and each frame is
    # written back in its own.
    fixed = shot_window(shot, span) if engine.context_frames else None

    def batches() -> Iterator["EngineInput"]:
        for data in read_frames(shot, span, store=store, prefetch=prefetch):
            if cancel is not None and cancel.is_set():
                raise CancelledError(f"cancelled before frame {data.frame}")
            windows = work_windows(shot, data, fixed)
            pending.append((data, windows))
            yield engine_input(shot, [padded(data, data.units[0], windows)], engine.device)

    def as_array(rgba: "torch.Tensor", data: FrameData) -> "np.ndarray":
        array = rgba.permute(1, 2, 0).float().cpu().numpy() if rgba.ndim == 3 else rgba.float().cpu().numpy()
        if fixed is None:
            return array
        return place(array, fixed, data.units[0].window)  # back to the frame's own window

    written: list[int] = []
    with torch.inference_mode():
        for out in engine.render_stream(batches()):
            for t in range(out.rgba.shape[0]):
                data, windows = pending.popleft()
                if data.frame not in wanted:
                    continue  # context for the engine only
                rgba = as_array(out.rgba[t], data)
                aux = {name: as_array(ch[t, 0], data) for name, ch in out.aux.items()}
                if "depth.conditioned" in shot.job.output.aux_channels:
                    aux["depth.conditioned"] = data.disparity
                # other layers and views: the same engine, the same per-frame parameters
                others = [
                    as_array(engine.render(engine_input(shot, [padded(data, unit, windows)], engine.device)).rgba[0], data)
                    for unit in data.units[1:]
                ]
                write_frame(shot, data, rgba, aux, engine, others=others, windows=None if fixed else windows)
                written.append(data.frame)
                progress.frame(data.frame, len(written), total)
    seconds = time.monotonic() - started
    progress.done(frames=len(written), output=shot.output.canonical(), seconds=round(seconds, 3))
    return RenderReport(tuple(written), shot.output.canonical(), seconds)


# == 4. write ================================================================================
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


def write_frame(
    shot: Shot,
    data: FrameData,
    rgba: "np.ndarray",
    aux: dict[str, "np.ndarray"],
    engine: "Engine",
    *,
    others: Sequence["np.ndarray"] = (),
    windows: dict[int, Any] | None = None,
) -> None:
    """Write one frame: every part of the input, the refocused layers replaced
    (``rgba`` for the main one, ``others`` for the rest of ``data.units``, each
    covering its part's window in ``windows``), other channels kept."""
    from focuspull.io.assemble import Rendered, output_parts
    from focuspull.io.color_tags import output_color_attributes
    from focuspull.io.write import write_parts

    job = shot.job
    rendered = []
    for unit, pixels in zip(data.units, (rgba, *others)):
        pixels = pixels.copy()
        pixels[..., :3] = shot.color.from_working(pixels[..., :3], shot.output_colorspace)
        rendered.append(Rendered(unit.layer, pixels, (windows or {}).get(unit.layer.part, unit.window)))
    index = shot.index(data.frame)
    attributes = {
        "focuspull/version": __version__,
        "focuspull/focus_disparity": float(shot.params.focus_disparity[index]),
        "focuspull/strength_px": float(shot.params.strength_px[index]),
        "focuspull/input": shot.input.path(data.frame),
        JOB_KEY: job_fingerprint(job),
        **(shot.conditioning.header_attributes() if shot.conditioning is not None else {}),
        **engine.header_attributes(),
    }
    color_set, color_remove = (
        output_color_attributes(shot.color, shot.input_color, shot.output_colorspace)
        if shot.input_color is not None else ({}, ())
    )
    parts = output_parts(
        data.image, rendered, pixel_type=job.output.pixel_type, aux=aux, attributes=attributes,
        color_attributes=color_set, color_remove=color_remove,
    )
    write_parts(shot.output.path(data.frame), parts, compression=job.output.compression)


# == the whole path ==========================================================================
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
    with _errors_reported(progress):
        store = FrameStore(wanted=(lambda f: chunk[0] <= f <= chunk[1]) if chunk is not None else None)
        shot = prepare(job, frames, progress=progress, store=store)
        targets = None
        if chunk is not None:
            targets = [f for f in shot.frames if chunk[0] <= f <= chunk[1]]
            if not targets:
                raise JobError(f"chunk {chunk[0]}-{chunk[1]}: no frame of the shot is in it")
        return render_shot(shot, progress, cancel=cancel, frames=targets, resume=resume, store=store)


def make_shot_depth(job: Job, progress: Progress | None = None, *, frames: Sequence[int] | None = None) -> Shot:
    """Prepare a job and render nothing: the depth the whole shot needs (estimated, stabilised;
    see ``depth_conditioning.steps.made_for_the_shot``) is made and written next to the output for the renders to
    reuse (a farm's first step), and every frame's focus and strength is resolved. Errors
    become an ``error`` event and are re-raised."""
    progress = progress or NullProgress()
    started = time.monotonic()
    with _errors_reported(progress):
        shot = prepare(job, frames, progress=progress)
    progress.done(frames=0, output=shot.output.canonical(), seconds=round(time.monotonic() - started, 3),
                  depth=shot.depth.canonical() if shot.depth is not None else None)
    return shot


@contextlib.contextmanager
def _errors_reported(progress: Progress) -> Iterator[None]:
    try:
        yield
    except Exception as err:
        code = err.code if isinstance(err, FocusPullError) else "internal_error"
        progress.error(code, err.one_line() if isinstance(err, FocusPullError) else f"{type(err).__name__}: {err}")
        raise
