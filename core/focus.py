"""Per-frame focus and strength: the engine's d_f and K of r_px = K * |d - d_f|.

Focus modes (``focus.mode``), all keyframeable:

* ``distance`` / ``disparity`` (``auto`` picks by the depth kind): a curve;
  a distance S gives d_f = 1/S and needs metric depth.
* ``point``: the disparity under a screen point (x, y), an edge-aware
  weighted median in a small window (pixels that look like the clicked one
  count most, so a click on a thin subject does not pick the background);
  with ``track`` the point follows the subject by optical flow from each key.
* ``matte``: the mean or median disparity inside a subject matte (>= 0.5).

Picked focus can be smoothed over time (Gaussian, ``smooth_frames``).

Strength modes (``strength.mode``): ``k`` (K given, optionally in pixels of
a reference width), ``lens`` (K from focal length, f-stop, filmback and the
focus distance; :mod:`focuspull.lens`), ``max_blur`` (K per frame so that
the largest CoC radius in the frame is the value).

Point, matte and max_blur need the depth: :func:`resolve_per_frame` scans
the frames once before rendering. Tracking and smoothing look at neighbours,
so they scan the whole shot even when only some frames are rendered: a farm
chunk then gets the same focus as a full render. A bad value names the frame
and the value, as a compositor needs to find the key.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from focuspull.depth import disparity_to_distance, distance_to_disparity
from focuspull.errors import ImageDataError, JobError
from focuspull.job import Job

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: colour distance (in stops, RMS over RGB) at which a window pixel's weight falls to exp(-1/2)
_POINT_COLOR_SIGMA_STOPS = 0.5
#: disparity distance from the clicked 3x3 median, as a share of the window's 5-95% spread,
#: at which a pixel's weight falls to exp(-1/2): across a depth edge the far side drops out
_POINT_DEPTH_SIGMA = 0.25
#: darkest level the colour comparison resolves (linear), so noise in black does not dominate
_POINT_COLOR_FLOOR = 1.0 / 64.0
#: the flow for tracking is computed on frames at most this wide (speed; tracking needs no more)
_TRACK_WIDTH_PX = 960
#: half-size (in pixels of the flow image) of the window whose median flow moves a tracked point
_TRACK_WINDOW_PX = 7
#: patch (pixels of the flow image) of the Lucas-Kanade step that refines a tracked point
_TRACK_LK_WINDOW_PX = 9
#: matte level counted as inside the subject
MATTE_THRESHOLD = 0.5


# -- curve modes -------------------------------------------------------------------
def focus_disparity(job: Job, frames: Sequence[int]) -> list[float]:
    """d_f per frame from the focus curve: 1/S for a distance S, or the disparity itself."""
    mode = job.focus_mode
    if mode in ("point", "matte"):
        raise JobError(f"focus: mode {mode!r} picks the focus from the depth; use resolve_per_frame")
    if mode == "distance" and not job.depth.is_metric:
        raise JobError(
            f"focus.mode: a focus distance needs metric depth (depth.kind depth or inverse_depth), "
            f"not {job.depth.kind}; give the focus as a disparity"
        )
    assert job.focus.value is not None
    values = job.focus.value.evaluate(frames)
    out = []
    for frame, value in zip(frames, values):
        if mode == "distance":
            if not value > 0:
                raise JobError(f"focus: frame {frame}: distance {value:g} must be > 0 (scene units of the depth pass)")
            out.append(distance_to_disparity(value))
        else:
            if value < 0:
                raise JobError(f"focus: frame {frame}: disparity {value:g} must be >= 0 (larger = nearer)")
            out.append(value)
    return out


def strength_px(
    job: Job,
    frames: Sequence[int],
    *,
    width_px: float | None = None,
    focus: Sequence[float] | None = None,
    disparity_range: Mapping[int, tuple[float, float]] | None = None,
) -> list[float]:
    """K per frame, in pixels of the plate per unit of disparity.

    ``width_px``: the plate's display-window width (needed for a reference
    width and for a lens). ``focus``: d_f per frame (lens, max_blur).
    ``disparity_range``: frame -> (min, max) disparity (max_blur).
    """
    spec = job.strength
    if spec.mode == "lens":
        return _lens_strength(job, frames, width_px, focus)
    assert spec.value is not None
    values = spec.value.evaluate(frames)
    for frame, value in zip(frames, values):
        if value < 0:
            what = "K" if spec.mode == "k" else "largest blur"
            raise JobError(f"strength: frame {frame}: {what} {value:g} must be >= 0")
    scale = 1.0
    if spec.reference_width_px is not None:
        if width_px is None:
            raise JobError("strength.reference_width_px: the plate's width is unknown")
        scale = width_px / spec.reference_width_px
    if spec.mode == "k":
        return [v * scale for v in values]
    if focus is None or disparity_range is None:
        raise JobError("strength: mode 'max_blur' needs the depth of every frame; use resolve_per_frame")
    out = []
    for frame, value, d_f in zip(frames, values, focus):
        low, high = disparity_range[frame]
        reach = max(high - d_f, d_f - low)  # |d - d_f| is largest at an extreme of d
        out.append(value * scale / reach if reach > 0 else 0.0)
    return out


def _lens_strength(job: Job, frames: Sequence[int], width_px: float | None, focus: Sequence[float] | None) -> list[float]:
    from focuspull.lens import lens_k

    spec = job.strength
    if not job.depth.is_metric:
        raise JobError(
            f"strength.mode: a physical lens needs metric depth (depth.kind depth or inverse_depth), "
            f"not {job.depth.kind}; use strength mode k or max_blur"
        )
    if width_px is None or focus is None:
        raise JobError("strength: mode 'lens' needs the plate's width and the focus per frame")
    assert spec.focal_length_mm is not None and spec.f_stop is not None and spec.filmback_width_mm is not None
    focal = spec.focal_length_mm.evaluate(frames)
    stops = spec.f_stop.evaluate(frames)
    out = []
    for frame, f_mm, n, d_f in zip(frames, focal, stops, focus):
        distance = disparity_to_distance(d_f)
        try:
            out.append(lens_k(focal_length_mm=f_mm, f_stop=n, focus_distance=distance,
                              filmback_width_mm=spec.filmback_width_mm, width_px=width_px,
                              scene_unit_mm=spec.scene_unit_mm))
        except ValueError as err:
            raise JobError(f"strength: frame {frame}: {err} (scene unit = {spec.scene_unit_mm:g} mm)") from err
    return out


# -- picking from pixels --------------------------------------------------------------
def weighted_median(values: "np.ndarray", weights: "np.ndarray") -> float:
    """The value where the cumulative weight (sorted by value) reaches half the total."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64).ravel()
    weights = np.asarray(weights, dtype=np.float64).ravel()
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, 0.5 * cumulative[-1]))
    return float(values[order][min(index, len(values) - 1)])


def pick_point(disparity: "np.ndarray", rgb: "np.ndarray", col: float, row: float, window_px: int) -> float:
    """Edge-aware robust disparity around pixel (col, row) of the data window.

    A weighted median over the (2 window_px + 1)^2 window: a pixel's weight
    falls with its colour distance (in stops) from the clicked pixel's 3x3
    median colour, with its disparity distance from the 3x3 median disparity
    and with its distance from the point. A click on a thin subject in front
    of a busy background picks the subject even where the background fills
    most of the window; on one surface it is a noise-robust median.
    """
    import numpy as np

    height, width = disparity.shape
    c, r = int(math.floor(col)), int(math.floor(row))
    w = int(window_px)
    y0, y1, x0, x1 = max(0, r - w), min(height, r + w + 1), max(0, c - w), min(width, c + w + 1)
    d = disparity[y0:y1, x0:x1]
    colours = np.log2(np.maximum(rgb[y0:y1, x0:x1, :3], 0.0) + _POINT_COLOR_FLOOR)
    centre = np.log2(np.maximum(rgb[max(0, r - 1): r + 2, max(0, c - 1): c + 2, :3], 0.0) + _POINT_COLOR_FLOOR)
    reference = np.median(centre.reshape(-1, 3), axis=0)
    distance2 = np.mean((colours - reference) ** 2, axis=-1)
    # The 3x3 median disparity says which side of a depth edge the click is on.
    centre_d = float(np.median(disparity[max(0, r - 1): r + 2, max(0, c - 1): c + 2]))
    low, high = np.percentile(d, (5, 95))
    sigma_d = max(_POINT_DEPTH_SIGMA * float(high - low), 1e-6)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    spatial2 = ((yy - r) ** 2 + (xx - c) ** 2) / max(w, 1) ** 2
    weights = np.exp(-0.5 * distance2 / _POINT_COLOR_SIGMA_STOPS**2 - 0.5 * ((d - centre_d) / sigma_d) ** 2
                     - 0.5 * spatial2)
    return weighted_median(d, weights)


def matte_focus(disparity: "np.ndarray", matte: "np.ndarray", statistic: str) -> float | None:
    """Mean or median disparity where the matte is >= 0.5; None for an empty matte."""
    import numpy as np

    inside = matte >= MATTE_THRESHOLD
    if not inside.any():
        return None
    values = disparity[inside]
    return float(np.mean(values, dtype=np.float64)) if statistic == "mean" else float(np.median(values))


def smooth(values: Sequence[float], sigma_frames: float, frames: Sequence[float] | None = None) -> list[float]:
    """Gaussian smoothing over time (sigma in frames), renormalised at the ends of the shot.

    ``frames``: the frame number of each value (default 0, 1, 2, ...), so a
    shot rendered on twos is smoothed over the same time as on ones.
    """
    import numpy as np

    if sigma_frames <= 0 or len(values) < 2:
        return [float(v) for v in values]
    data = np.asarray(values, dtype=np.float64)
    t = np.arange(len(data), dtype=np.float64) if frames is None else np.asarray(frames, dtype=np.float64)
    weights = np.exp(-0.5 * ((t[:, None] - t[None, :]) / sigma_frames) ** 2)
    return [float(v) for v in weights @ data / weights.sum(axis=1)]


def display_to_data(spec: Any, x: float, y: float, origin: str) -> tuple[float, float]:
    """A point in display-window pixels -> (column, row) in the data-window array."""
    full_x, full_y = getattr(spec, "full_x", 0), getattr(spec, "full_y", 0)
    data_x, data_y = getattr(spec, "x", 0), getattr(spec, "y", 0)
    full_height = getattr(spec, "full_height", 0) or getattr(spec, "height", 0)
    y_down = y if origin == "top_left" else full_height - y
    return x + full_x - data_x, y_down + full_y - data_y


# -- the scan -------------------------------------------------------------------------
@dataclass(frozen=True)
class PerFrame:
    """What the engine gets per frame: d_f and K, in the order of the frames asked for."""

    focus_disparity: tuple[float, ...]
    strength_px: tuple[float, ...]


def needs_scan(job: Job) -> bool:
    """True when focus or strength depend on the depth (one pass over the frames first)."""
    return job.focus.mode in ("point", "matte") or job.strength.mode == "max_blur"


def needs_whole_shot(job: Job) -> bool:
    """True when a frame's focus depends on its neighbours (tracking, smoothing)."""
    return job.focus.track or job.focus.smooth_frames > 0


FrameSource = Callable[[Sequence[int]], Iterable[Any]]


def resolve_per_frame(
    job: Job,
    frames: Sequence[int],
    *,
    width_px: float | None,
    shot_frames: Sequence[int] | None = None,
    read: FrameSource | None = None,
) -> PerFrame:
    """d_f and K for ``frames``.

    ``read(frames)`` yields objects with ``frame``, ``rgba`` (H, W, C working
    linear), ``disparity`` (H, W) and ``image.spec`` (windows), in order; it
    is called once when the modes need the depth. ``shot_frames``: the whole
    shot, scanned instead of ``frames`` when tracking or smoothing.
    """
    frames = tuple(frames)
    if not needs_scan(job):
        focus = focus_disparity(job, frames)
        focus = _smoothed(job, frames, focus, shot_frames)
        return PerFrame(tuple(focus), tuple(strength_px(job, frames, width_px=width_px, focus=focus)))
    if read is None:
        raise JobError("focus/strength: these modes need the depth, but no frames can be read")
    scan_frames = tuple(sorted(set(shot_frames) | set(frames))) if (shot_frames and needs_whole_shot(job)) else frames
    picks, ranges = _scan(job, scan_frames, read)
    if job.focus.mode in ("point", "matte"):
        focus_all = smooth(picks, job.focus.smooth_frames, scan_frames)
    else:
        focus_all = smooth(focus_disparity(job, scan_frames), job.focus.smooth_frames, scan_frames)
    by_frame = dict(zip(scan_frames, focus_all))
    focus = [by_frame[f] for f in frames]
    strength = strength_px(job, frames, width_px=width_px, focus=focus, disparity_range=ranges)
    return PerFrame(tuple(focus), tuple(strength))


def _smoothed(job: Job, frames: tuple[int, ...], focus: list[float], shot_frames: Sequence[int] | None) -> list[float]:
    if job.focus.smooth_frames <= 0:
        return focus
    scan = tuple(shot_frames) if shot_frames else frames
    scan = tuple(sorted(set(scan) | set(frames)))
    by_frame = dict(zip(scan, smooth(focus_disparity(job, scan), job.focus.smooth_frames, scan)))
    return [by_frame[f] for f in frames]


def _scan(job: Job, frames: tuple[int, ...], read: FrameSource) -> tuple[list[float], dict[int, tuple[float, float]]]:
    """One pass: the picked focus (point/matte) and the disparity range of every frame."""
    spec = job.focus
    picker: _Picker
    if spec.mode == "point":
        picker = _PointPicker(job, frames)
    elif spec.mode == "matte":
        picker = _MattePicker(job, frames)
    else:
        picker = _Picker()
    ranges: dict[int, tuple[float, float]] = {}
    picks: list[float | None] = []
    try:
        for data in read(frames):
            disparity = data.disparity
            ranges[data.frame] = (float(disparity.min()), float(disparity.max()))
            picks.append(picker.pick(data))
    finally:
        picker.close()
    if len(ranges) != len(frames):
        raise ImageDataError(f"focus: read {len(ranges)} of {len(frames)} frame(s)")
    if spec.mode not in ("point", "matte"):
        return [], ranges
    return picker.fill(frames, picks), ranges


class _Picker:
    def pick(self, data: Any) -> float | None:
        return None

    def fill(self, frames: Sequence[int], picks: list[float | None]) -> list[float]:
        return [p if p is not None else 0.0 for p in picks]

    def close(self) -> None:
        pass


class _MattePicker(_Picker):
    """Mean/median disparity inside the matte; empty frames take their neighbours' focus."""

    def __init__(self, job: Job, frames: Sequence[int]) -> None:
        from focuspull.io import SequencePattern, check_frames, read_sequence

        spec = job.focus
        assert spec.matte is not None
        self.pattern = SequencePattern.parse(spec.matte)
        check_frames(self.pattern, frames, "focus matte")
        self.channel = spec.matte_channel
        self.statistic = spec.statistic
        self.mattes = read_sequence(self.pattern, frames, prefetch=2)

    def pick(self, data: Any) -> float | None:
        import numpy as np

        from focuspull.depth import check_depth_size, resample

        frame, image = next(self.mattes)
        if frame != data.frame:  # pragma: no cover - both readers follow the same list
            raise ImageDataError(f"focus matte: frame {frame} read for frame {data.frame}")
        channel = self.channel or ("A" if "A" in image.channels else image.channels[0])
        matte = image.channel(channel)
        height, width = data.disparity.shape
        if check_depth_size(image.size, (width, height), path=image.path, frame=frame):
            matte = resample(matte, (width, height))
        bad = int((~np.isfinite(matte)).sum())
        if bad:
            raise ImageDataError(f"{image.path}: frame {frame}: {bad} matte pixel(s) are NaN or inf")
        return matte_focus(data.disparity, matte, self.statistic)

    def fill(self, frames: Sequence[int], picks: list[float | None]) -> list[float]:
        empty = [f for f, p in zip(frames, picks) if p is None]
        if len(empty) == len(frames):
            raise ImageDataError(
                f"focus matte {self.pattern.text}: the matte is empty (< {MATTE_THRESHOLD}) on every frame; "
                "wrong channel (--focus-matte-channel) or an inverted matte?"
            )
        if empty:
            from focuspull.io import format_frames

            log.warning("focus matte %s: empty on frame(s) %s; focus there is interpolated from the neighbours",
                        self.pattern.text, format_frames(empty))
        return _interpolate_gaps(frames, picks)

    def close(self) -> None:
        self.mattes.close()


class _PointPicker(_Picker):
    """Edge-aware disparity under a keyed or tracked screen point."""

    def __init__(self, job: Job, frames: Sequence[int]) -> None:
        spec = job.focus
        assert spec.x is not None and spec.y is not None
        self.spec = spec
        self.xs = dict(zip(frames, spec.x.evaluate(frames)))
        self.ys = dict(zip(frames, spec.y.evaluate(frames)))
        key_frames = {k.frame for k in spec.x.keys} | {k.frame for k in spec.y.keys}
        self.anchors = {f for f in frames if f in key_frames} | {frames[0]}
        self.flow: Any = None
        self.previous: Any = None  # (gray image for flow, its scale, (col, row), disparity, pick) of the last frame
        self.clamped: list[int] = []

    def pick(self, data: Any) -> float:
        import numpy as np

        frame = data.frame
        height, width = data.disparity.shape
        if not self.spec.track or frame in self.anchors:
            col, row = display_to_data(data.image.spec, self.xs[frame], self.ys[frame], self.spec.origin)
            if not (0 <= col < width and 0 <= row < height):
                raise JobError(
                    f"focus: frame {frame}: point ({self.xs[frame]:g}, {self.ys[frame]:g}) "
                    f"({self.spec.origin.replace('_', '-')} display-window pixels) is outside the image's "
                    f"{width}x{height} data window"
                )
        else:
            col, row = self._track(data)
        picked = pick_point(data.disparity, np.asarray(data.rgba), col, row, self.spec.window_px)
        if self.spec.track:
            from focuspull.flow import resize_to_width, to_gray8

            small, scale = resize_to_width(to_gray8(data.rgba), _TRACK_WIDTH_PX)
            self.previous = (small, scale, (col, row), data.disparity, picked)
        return picked

    def _track(self, data: Any) -> tuple[float, float]:
        """Move the point by the median flow of the pixels near it that are at its depth,
        so a subject in front of a still background is followed, not the background."""
        import numpy as np

        from focuspull.flow import FlowEstimator, resize_to_width, to_gray8

        if self.flow is None:
            self.flow = FlowEstimator("medium", full_resolution=True)
        small_prev, scale, (col, row), disparity_prev, picked = self.previous
        small, _ = resize_to_width(to_gray8(data.rgba), _TRACK_WIDTH_PX)
        flow = self.flow(small_prev, small)
        h, w = small.shape
        c, r = int(min(max(col * scale, 0), w - 1)), int(min(max(row * scale, 0), h - 1))
        k = _TRACK_WINDOW_PX
        y0, y1, x0, x1 = max(0, r - k), min(h, r + k + 1), max(0, c - k), min(w, c + k + 1)
        patch = flow[y0:y1, x0:x1].reshape(-1, 2)
        # the previous disparity at the flow image's pixel centres
        rows = np.minimum(((np.arange(y0, y1) + 0.5) / scale).astype(int), disparity_prev.shape[0] - 1)
        cols = np.minimum(((np.arange(x0, x1) + 0.5) / scale).astype(int), disparity_prev.shape[1] - 1)
        depth = disparity_prev[np.ix_(rows, cols)].ravel()
        low, high = np.percentile(depth, (5, 95))
        same = np.abs(depth - picked) <= max(_POINT_DEPTH_SIGMA * float(high - low), 1e-6)
        if same.sum() >= 5:
            patch = patch[same]
        start = (col * scale, row * scale)
        dx, dy = np.median(patch, axis=0)
        # Dense flow smooths a small subject's motion toward its background's; a
        # Lucas-Kanade step on a patch smaller than the subject, started from the
        # dense estimate, lands on the subject's own motion.
        refined = refine_point(small_prev, small, start, (start[0] + float(dx), start[1] + float(dy)))
        col, row = refined[0] / scale, refined[1] / scale
        height, width = data.disparity.shape
        if not (0 <= col < width and 0 <= row < height):
            self.clamped.append(data.frame)
            col, row = min(max(col, 0.0), width - 1.0), min(max(row, 0.0), height - 1.0)
        return col, row

    def fill(self, frames: Sequence[int], picks: list[float | None]) -> list[float]:
        if self.clamped:
            from focuspull.io import format_frames

            log.warning("focus: the tracked point left the frame on frame(s) %s; it was held at the edge "
                        "(add a key to place it again)", format_frames(self.clamped))
        return [float(p) for p in picks if p is not None]


def refine_point(previous: "np.ndarray", current: "np.ndarray", point: tuple[float, float],
                 guess: tuple[float, float]) -> tuple[float, float]:
    """Where ``point`` of gray ``previous`` is in ``current``: one Lucas-Kanade fit
    of a small patch from ``guess``; ``guess`` itself when the fit fails."""
    import numpy as np

    from focuspull.flow import require_cv2

    cv2 = require_cv2()
    start = np.array([[point]], np.float32)
    initial = np.array([[guess]], np.float32)
    found, status, _ = cv2.calcOpticalFlowPyrLK(
        previous, current, start, initial, winSize=(_TRACK_LK_WINDOW_PX, _TRACK_LK_WINDOW_PX), maxLevel=0,
        flags=cv2.OPTFLOW_USE_INITIAL_FLOW,
    )
    if status is None or not status[0, 0] or not np.isfinite(found).all():
        return guess
    return float(found[0, 0, 0]), float(found[0, 0, 1])


def _interpolate_gaps(frames: Sequence[int], picks: list[float | None]) -> list[float]:
    import numpy as np

    known = [(f, p) for f, p in zip(frames, picks) if p is not None]
    xs = np.array([f for f, _ in known], dtype=np.float64)
    ys = np.array([p for _, p in known], dtype=np.float64)
    return [float(v) for v in np.interp(np.asarray(frames, dtype=np.float64), xs, ys)]

