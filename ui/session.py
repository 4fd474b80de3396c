"""The shot the workspace looks at: a default job for a bare plate, shot
updates after edits, and a memory-bounded cache of loaded frames.

Frames are loaded with the core's own data path (``pipeline.prepare`` and
``pipeline.load_frame``), so what the viewer shows, what a click samples and
what the preview renders are exactly what a render would read.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from focuspull.errors import SequenceError

if TYPE_CHECKING:
    import numpy as np

    from focuspull.job import Job
    from focuspull.pipeline import FrameData, Shot

log = logging.getLogger(__name__)

#: memory for decoded frames (plate + scene-linear RGBA + disparity)
DEFAULT_CACHE_BYTES = 2 * 1024**3

#: the default blur: the largest CoC of the first frame, as a fraction of its width
DEFAULT_MAX_COC_FRACTION = 0.02

#: job fields whose change needs the shot resolved again against the disk
STRUCTURAL_FIELDS = ("input", "depth", "engine", "aperture", "ocio_config")
#: ... and of those, the ones that change the pixels read (the frames in memory are then stale)
PIXEL_FIELDS = ("input", "depth", "ocio_config")


def default_output(pattern: str) -> str:
    """``/shots/a/plate/plate.####.exr`` -> ``/shots/a/plate_refocus/plate_refocus.####.exr``.

    A sibling folder: the plate's folder is left untouched and the render is
    easy to find next to it.
    """
    from focuspull.io import SequencePattern

    seq = SequencePattern.parse(pattern)
    folder = os.path.abspath(seq.folder)
    name = os.path.basename(seq.with_frame_token("hash"))
    stem, dot, rest = name.partition(".")
    out_name = f"{stem}_refocus{dot}{rest}" if dot else f"{stem}_refocus"
    return os.path.join(f"{folder}_refocus", out_name)


def new_job(
    pattern: str,
    *,
    depth: str | None = None,
    depth_channel: str | None = None,
    depth_kind: str | None = None,
    output: str | None = None,
    ocio: str | None = None,
    input_colorspace: str | None = None,
) -> "Job":
    """A job for a plate nobody has set up yet.

    Focus starts on what is at the centre of the first frame and strength K
    gives that frame's farthest-from-focus pixels a blur of about 2% of the
    width: something visible to start from, keyed by the artist afterwards.
    """
    from focuspull.io import SequencePattern
    from focuspull.job import SCHEMA_ID, Job
    from focuspull.pipeline import prepare

    seq = SequencePattern.parse(pattern)
    if seq.is_sequence and not seq.frames_on_disk():
        raise SequenceError(f"{pattern}: no frames found on disk")
    data = {
        "schema": SCHEMA_ID,
        "input": {"pattern": pattern, **({"colorspace": input_colorspace} if input_colorspace else {})},
        "depth": {
            "source": "sequence" if depth else "channel",
            **({"kind": depth_kind} if depth_kind else {}),
            **({"pattern": depth} if depth else {}),
            **({"channel": depth_channel} if depth_channel else {}),
        },
        # placeholders valid for every focus mode; replaced below from the first frame
        "focus": 1.0,
        "strength": 0.0,
        "output": {"pattern": output or default_output(pattern)},
        **({"ocio_config": ocio} if ocio else {}),
    }
    job = Job.from_dict(data)
    shot = prepare(job, check_output=False)
    first = load_frame_data(shot, shot.frames[0])
    focus, strength = suggested_focus_strength(job, first)
    from focuspull.curves import Curve

    return job.replace(
        focus=dataclasses.replace(job.focus, value=Curve.constant(focus)),
        strength=dataclasses.replace(job.strength, value=Curve.constant(strength)),
    )


def suggested_focus_strength(job: "Job", data: "FrameData") -> tuple[float, float]:
    """(focus value in the job's units, K) for a first look at a frame."""
    import numpy as np

    from focuspull.ui.sampling import focus_value, pick_disparity

    disparity = data.disparity
    height, width = disparity.shape
    d_focus = pick_disparity(data, width / 2, height / 2, max(min(width, height) // 20, 1))
    if job.focus_mode == "distance" and not d_focus > 0:
        positive = disparity[disparity > 0]
        d_focus = float(np.median(positive)) if positive.size else 1.0
    spread = float(np.max(np.abs(disparity - d_focus)))
    strength = DEFAULT_MAX_COC_FRACTION * width / spread if spread > 0 else 0.0
    return focus_value(job, d_focus), round(strength, 3)


def needs_prepare(old: "Job | None", new: "Job") -> bool:
    return old is None or any(getattr(old, name) != getattr(new, name) for name in STRUCTURAL_FIELDS)


def needs_reread(old: "Job | None", new: "Job") -> bool:
    """The frames read for ``old`` are not those of ``new`` (another plate, depth or colour config)."""
    return old is None or any(getattr(old, name) != getattr(new, name) for name in PIXEL_FIELDS)


FrameReader = Callable[[Sequence[int]], Iterable["FrameData"]]


def update_shot(shot: "Shot | None", job: "Job", read: FrameReader | None = None) -> "Shot":
    """The shot for an edited job.

    A full ``prepare`` when the input, depth, engine or aperture changed;
    otherwise the shot's FrameParams are resolved again
    (``pipeline.with_job``). ``read`` supplies frames when a mode picks from
    the depth (point, matte, max_blur); default: read them from disk. The
    colour config is kept when the job names the same one: its display
    processors are built already (rebuilding them delays the next picture).
    """
    from focuspull.pipeline import prepare, with_job

    if shot is None or needs_prepare(shot.job, job):
        new = prepare(job, check_output=False)
        if shot is not None and shot.job.ocio_config == job.ocio_config and shot.color.source == new.color.source:
            new = dataclasses.replace(new, color=shot.color)
        return new
    return with_job(shot, job, read)


def load_frame_data(shot: "Shot", frame: int) -> "FrameData":
    """Read one frame (and its depth) and convert it as a render would."""
    from focuspull.io import read_image
    from focuspull.pipeline import load_frame

    image = read_image(shot.input.path(frame), frame)
    depth = read_image(shot.depth.path(frame), frame) if shot.depth is not None else None
    if shot.depth_conditioned:  # the shot's stabilised depth; the depth it was made from for the overlays
        from focuspull.pipeline import load_raw_disparity

        raw_depth = read_image(shot.raw_depth.path(frame), frame) if shot.raw_depth is not None else None
        return dataclasses.replace(load_frame(shot, frame, image, depth),
                                   raw_disparity=load_raw_disparity(shot, frame, image, raw_depth))
    steps = shot.conditioning
    if steps is None or not steps.spatial:
        return load_frame(shot, frame, image, depth)
    # read the raw disparity once and condition it here, as load_frame would, to keep both for the overlays
    from focuspull.depth_conditioning import condition_frame

    raw = load_frame(dataclasses.replace(shot, conditioning=None), frame, image, depth)
    units = tuple(dataclasses.replace(u, disparity=condition_frame(u.disparity, u.rgba, steps)) for u in raw.units)
    return dataclasses.replace(raw, disparity=units[0].disparity, units=units, raw_disparity=raw.disparity)


def raw_disparity(data: "FrameData") -> "np.ndarray":
    """The frame's disparity before depth conditioning (its disparity where none ran)."""
    return data.disparity if data.raw_disparity is None else data.raw_disparity


def frame_bytes(data: "FrameData") -> int:
    raw = data.raw_disparity.nbytes if data.raw_disparity is not None else 0
    return int(data.rgba.nbytes + data.disparity.nbytes + raw + data.image.pixels.nbytes)


class FrameCache:
    """Least-recently-used frames, bounded by bytes; safe to fill from a loader thread."""

    def __init__(self, budget_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.budget_bytes = int(budget_bytes)
        self._frames: OrderedDict[int, "FrameData"] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        #: bumped by clear(): a loader holding an older number is filling for a shot that is gone
        self.generation = 0

    def get(self, frame: int) -> "FrameData | None":
        with self._lock:
            data = self._frames.get(frame)
            if data is not None:
                self._frames.move_to_end(frame)
            return data

    def __contains__(self, frame: int) -> bool:
        with self._lock:
            return frame in self._frames

    def frames(self) -> set[int]:
        with self._lock:
            return set(self._frames)

    def has_room(self, nbytes: int) -> bool:
        with self._lock:
            return self._bytes + nbytes <= self.budget_bytes

    def put(self, data: "FrameData", generation: int | None = None) -> list[int]:
        """Store a frame (unless ``generation`` is given and the cache was cleared since); returns the frames evicted."""
        size = frame_bytes(data)
        evicted = []
        with self._lock:
            if generation is not None and generation != self.generation:
                return evicted
            old = self._frames.pop(data.frame, None)
            if old is not None:
                self._bytes -= frame_bytes(old)
            while self._frames and self._bytes + size > self.budget_bytes:
                frame, dropped = self._frames.popitem(last=False)
                self._bytes -= frame_bytes(dropped)
                evicted.append(frame)
            self._frames[data.frame] = data
            self._bytes += size
        return evicted

    def clear(self) -> None:
        with self._lock:
            self._frames.clear()
            self._bytes = 0
            self.generation += 1

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._bytes


def pattern_from_file(path: str) -> str:
    """``/a/plate.1001.exr`` -> ``/a/plate.####.exr`` (the frame number's digits become hashes)."""
    import re

    folder, name = os.path.split(path)
    match = re.search(r"(\d+)(\.[^.]+)$", name)
    if not match:
        return path
    digits = match.group(1)
    return os.path.join(folder, name[: match.start(1)] + "#" * len(digits) + match.group(2))
