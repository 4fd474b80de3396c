"""Temporal stabilisation of a shot's depth, once per shot, written next to the output.

The temporal step needs the whole shot (and optical flow on the plate), so
it runs in ``prepare``, before the first frame is rendered: every frame's
disparity is read as the render would (converted, resampled, spatially
conditioned), stabilised, and written as
``<output name>_depth_stable.####.exr`` (one float channel ``Y`` of
disparity, the plate's windows). The render then reads that. A later render
of the same shot with the same depth and settings (a farm chunk, a
re-render with another focus) finds it by the signature in its header and
does not compute it again. Estimated depth comes here from its written
estimate (whose model output :mod:`focuspull.estimate.shot` stabilised
before normalising it): the temporal step after the spatial ones averages
the edge step's per-frame decisions, which would otherwise flicker.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from focuspull import __version__

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from focuspull.io import SequencePattern
    from focuspull.pipeline import Source

log = logging.getLogger(__name__)

SUFFIX = "depth_stable"


def stabilize_shot_depth(
    shot: "Source", frames: "Sequence[int]", target: "SequencePattern",
    on_frame: "Callable[[int, int], None] | None" = None,
) -> "SequencePattern":
    """Stabilise the disparity of the shot's ``frames`` into ``target`` (or reuse it); returns ``target``.

    ``on_frame(done, total)`` is called as frames are read and spatially conditioned (the slow part)."""
    from focuspull.depth_conditioning.temporal import stabilize
    from focuspull.estimate.shot import reusable, write_depth
    from focuspull.flow import require_cv2, to_gray8
    from focuspull.io.memory import available_bytes, check_stabilize_memory
    from focuspull.pipeline import read_frames

    require_cv2()  # fail before reading the shot
    steps = shot.conditioning
    frames = tuple(frames)
    signature = _signature(shot, frames)
    if reusable(target, frames, signature):
        log.info("depth: reusing %s (same depth and settings)", target.text)
        return target
    check_stabilize_memory(f"depth {(shot.depth or shot.input).text}", [_pixels(shot, f) for f in frames],
                           available_bytes())
    log.info("depth: stabilising %d frame(s) over time (weight %g)", len(frames), steps.stabilize)
    disparity, gray, specs = [], [], []
    for data in read_frames(shot, frames):
        disparity.append(data.disparity)
        gray.append(to_gray8(data.rgba))
        specs.append(data.image.spec)
        if on_frame is not None:
            on_frame(len(disparity), len(frames))
    steady = stabilize(disparity, gray, weight=steps.stabilize)
    attributes = {"focuspull/version": __version__, "focuspull/depth_signature": signature,
                  **steps.header_attributes()}
    for frame, values, spec in zip(frames, steady, specs):
        write_depth(target.path(frame), values, spec, {**attributes, "focuspull/input": shot.input.path(frame)})
    return target


def stabilized_depth_written(shot: "Source", frames: "Sequence[int]", target: "SequencePattern") -> bool:
    """``target`` holds this shot's stabilised depth for ``frames``, made with the same depth and settings."""
    from focuspull.estimate.shot import reusable

    frames = tuple(frames)
    return reusable(target, frames, _signature(shot, frames))


def _pixels(shot: "Source", frame: int) -> int:
    """The frame's pixel count (its plate's data window: the disparity is resampled to it)."""
    from focuspull.io.header import read_header

    x0, y0, x1, y1 = read_header(shot.input.path(frame), frame)["data_window"]
    return (x1 - x0 + 1) * (y1 - y0 + 1)


def _signature(shot: "Source", frames: "tuple[int, ...]") -> str:
    """What the stabilised depth depends on: the depth source, its files, the plate's, the steps."""
    from focuspull.io.written import source_signature
    from focuspull.settings import to_mapping

    job = shot.job
    return source_signature({
        "v": 1, "plate": shot.input.canonical(), "depth": to_mapping(job.depth),
        "colorspace": shot.input_colorspace, "frames": list(frames),
        "steps": shot.conditioning.header_attributes(),
    }, [shot.input] + ([shot.depth] if shot.depth is not None else []), frames)

