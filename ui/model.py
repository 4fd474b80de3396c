"""The workspace's view-model: the job, the shot, the current frame, keys and undo — no Qt.

Panels (viewer, keys, timeline, render bar) show this state and call its
methods; they never talk to each other. The widget drives the background
tasks (frame cache, preview, render) from :attr:`WorkspaceModel.changed`.
Everything here runs on the GUI thread and returns at once, except the few
calls that say they may read a frame (a click on a frame not yet in memory,
an edit of a job whose focus is picked from the depth).

``changed`` carries a frozenset of aspects (:data:`JOB`, :data:`SHOT`, ...)
so a panel refreshes only what it shows.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from focuspull.errors import FocusPullError, JobError
from focuspull.ui import keys as keyops
from focuspull.ui.events import Signal
from focuspull.coc import signed_coc_px
from focuspull.depth import DEPTH_KINDS
from focuspull.ui.overlays import DEFAULT_FOCUS_THRESHOLD_PX, OVERLAYS
from focuspull.ui.sampling import data_to_display, focus_units, focus_value, pick_disparity
from focuspull.ui.session import DEFAULT_CACHE_BYTES, FrameCache, load_frame_data, needs_reread, new_job, update_shot
from focuspull.ui.undo import UndoStack

if TYPE_CHECKING:
    import numpy as np

    from focuspull.curves import Curve
    from focuspull.job import Job
    from focuspull.pipeline import FrameData, Shot

log = logging.getLogger(__name__)

#: aspects of a change
JOB = "job"  # the job or its resolved per-frame values (edits, undo, open)
SHOT = "shot"  # a new plate, depth or colour config: frames read again
FRAME = "frame"
VIEW = "view"  # source, overlay, exposure, display/view, preview scale, wipe
CURVE = "curve"  # the curve being edited
FLASH = "flash"  # the focus plane flashed after a click, or the flash ended
HOVER = "hover"
UNDO = "undo"  # undo/redo availability, the saved state

SOURCES = ("plate", "preview", "render")
CURVES = ("focus", "strength")
PREVIEW_SCALES = (1, 2, 4)
#: the depth-conditioning switches the workspace shows (job fields of ``depth``) and their values
DEPTH_STEPS = ("remove_outliers", "refine_edges", "stabilize")
SWITCHES = ("auto", "on", "off")

#: how long a click to focus shows the in-focus matte, in seconds
FLASH_S = 0.8


@dataclass(frozen=True)
class FocusFlash:
    """The in-focus matte shown for a moment after a click to focus."""

    frame: int
    revision: int  # the job revision made by the click


class WorkspaceModel:
    def __init__(self, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.changed = Signal()  # frozenset of aspects
        self.message = Signal()  # text, is_error
        self.undo_stack: UndoStack[tuple["Job", "Shot"]] = UndoStack()
        self.cache = FrameCache(cache_bytes)
        self.job: Job | None = None
        self.shot: Shot | None = None
        self.path: str | None = None
        self.frame: int | None = None
        #: bumped on every job change; previews and composed images carry it
        self.revision = 0
        self.source = "plate"
        self.overlay = "none"
        self.exposure_stops = 0.0
        self.display: str | None = None
        self.view_name: str | None = None
        self.preview_scale = 2
        self.active_curve = "focus"
        self.wipe: float | None = None  # A/B split (0..1 of the width): plate left of it, the source right
        self.flash: FocusFlash | None = None
        self.hover: tuple[float, float] | None = None
        self.focus_threshold_px = DEFAULT_FOCUS_THRESHOLD_PX

    # ================================================================ opening and saving
    def open_pattern(self, pattern: str, **options: Any) -> bool:
        """A plate with a new default job (options: see ``session.new_job``). Reads the first frame."""
        try:
            job = new_job(pattern, **options)
        except FocusPullError as err:
            return self.error(str(err))
        return self.load_job(job)

    def open_job(self, path: str) -> bool:
        from focuspull.job import Job

        try:
            job = Job.load(path)
        except FocusPullError as err:
            return self.error(str(err))
        return self.load_job(job, os.path.abspath(path))

    def load_job(self, job: "Job", path: str | None = None, frame: int | None = None) -> bool:
        from focuspull.pipeline import prepare

        try:
            shot = prepare(job, check_output=False)
        except FocusPullError as err:
            return self.error(str(err))
        self.undo_stack.clear()
        self.path = path
        self.frame = frame if frame in shot.frames else None
        self.shot = None  # a new shot whatever it resolves to
        self._set_job(job, shot, {UNDO})
        self.info(f"{len(shot.frames)} frames of {shot.input.canonical()}")
        return True

    def save_job(self, path: str | None = None) -> str:
        """Write the job (to ``path``, else where it came from); returns the path."""
        if self.job is None:
            raise JobError("there is no job to save")
        path = path or self.path
        if not path:
            raise JobError("the job has no file yet; give a path")
        self.job.save(path)
        self.path = os.path.abspath(path)
        self.undo_stack.set_clean()
        self._emit(UNDO)
        self.info(f"saved {path}")
        return path

    def title(self) -> str:
        name = os.path.basename(self.path) if self.path else (os.path.basename(self.shot.input.text) if self.shot else "")
        dirty = "" if self.undo_stack.is_clean else " *"
        return f"FocusPull — {name}{dirty}" if name else "FocusPull"

    # ================================================================ frames
    @property
    def frames(self) -> tuple[int, ...]:
        return self.shot.frames if self.shot is not None else ()

    def set_frame(self, frame: int) -> None:
        if frame not in self.frames or frame == self.frame:
            return
        self.frame = frame
        self._emit(FRAME)

    def step_frame(self, step: int) -> None:
        if self.frame is None:
            return
        frames = self.frames
        i = frames.index(self.frame) + step
        self.set_frame(frames[max(0, min(len(frames) - 1, i))])

    def cached_frame(self, frame: int | None = None) -> "FrameData | None":
        """The frame if it is in memory (never reads)."""
        frame = self.frame if frame is None else frame
        return None if frame is None else self.cache.get(frame)

    def frame_data(self, frame: int | None = None) -> "FrameData":
        """The current (or given) frame, from memory or read now (on the calling thread)."""
        if self.shot is None:
            raise FocusPullError("no plate is open")
        frame = self.frame if frame is None else frame
        assert frame is not None
        data = self.cache.get(frame)
        if data is None:
            data = load_frame_data(self.shot, frame)
            self.cache.put(data)
        return data

    # ================================================================ what is shown
    def set_source(self, source: str) -> None:
        _check(source, SOURCES, "view source")
        self.source = source
        if source == "plate":
            self.wipe = None
        self._emit(VIEW)

    def set_overlay(self, overlay: str) -> None:
        self.overlay = _check(overlay, OVERLAYS, "overlay")
        self._emit(VIEW)

    def set_exposure(self, stops: float) -> None:
        self.exposure_stops = float(stops)
        self._emit(VIEW)

    def set_display_view(self, display: str | None, view: str | None = None) -> None:
        """An OCIO display and view of the shot's config (its defaults where not one of its own)."""
        self.display, self.view_name = self._display_view(display, view)
        self._emit(VIEW)

    def _display_view(self, display: str | None, view: str | None) -> tuple[str | None, str | None]:
        if self.shot is None:
            return display, view
        color = self.shot.color
        display = display if display in color.displays() else str(color.config.getDefaultDisplay())
        return display, view if view in color.views(display) else str(color.config.getDefaultView(display))

    def set_preview_scale(self, factor: int) -> None:
        self.preview_scale = _check(int(factor), PREVIEW_SCALES, "preview scale")
        self._emit(VIEW)

    def set_wipe(self, split: float | None) -> None:
        """A/B wipe: the plate left of ``split`` (a fraction of the width), the source right of it; None: off."""
        if split is not None and not 0.0 <= split <= 1.0:
            raise ValueError(f"wipe position {split}; expected 0..1 or None")
        self.wipe = split
        self._emit(VIEW)

    def set_hover(self, point: tuple[float, float] | None) -> None:
        self.hover = point
        self._emit(HOVER)

    def end_flash(self) -> None:
        if self.flash is not None:
            self.flash = None
            self._emit(FLASH)

    # ================================================================ per-frame values
    def coc_law(self, frame: int | None = None) -> dict[str, float]:
        """The arguments of the CoC law at ``frame`` (focus disparity, K, in-focus width, front/back scales)."""
        assert self.shot is not None
        return self.shot.params.law(self.shot.index(self.frame if frame is None else frame))

    def coc_px(self, frame: int, disparity: "np.ndarray") -> "np.ndarray":
        """Signed CoC radius (plate pixels) of disparities of a frame at the current settings."""
        return signed_coc_px(disparity, **self.coc_law(frame))

    def pixel_readout(self) -> str:
        """Depth and CoC under the hovered point with the current keys ('' when nothing to say)."""
        if self.hover is None or self.frame is None or self.job is None:
            return ""
        data = self.cached_frame()
        if data is None:
            return ""
        col, row = int(self.hover[0]), int(self.hover[1])
        height, width = data.disparity.shape
        if not (0 <= col < width and 0 <= row < height):
            return ""
        d = float(data.disparity[row, col])
        coc = float(self.coc_px(self.frame, data.disparity[row : row + 1, col : col + 1])[0, 0])
        depth = f"z {1 / d:.4g}" if focus_units(self.job) == "distance" and d > 0 else f"d {d:.4g}"
        return f"x {col} y {row}   {depth}   CoC {coc:+.1f}px"

    def frame_info(self) -> str:
        if self.job is None or self.frame is None:
            return ""
        law = self.coc_law()
        d_f = law["focus_disparity"]
        focus = f"distance {1 / d_f:.4g}" if focus_units(self.job) == "distance" and d_f > 0 else f"disparity {d_f:.4g}"
        keyed = [n for n in CURVES if (c := self.curve(n)) is not None and keyops.key_at(c, self.frame)]
        marks = f"  · keyed: {', '.join(keyed)}" if keyed else ""
        return f"focus {focus}   K {law['strength_px']:.4g} px{marks}"

    # ================================================================ curves and keys
    def curve(self, name: str) -> "Curve | None":
        """The focus or strength curve; None without a job or where its mode has none (point/matte, lens K)."""
        if self.job is None:
            return None
        return getattr(self.job, _check(name, CURVES, "curve")).value

    def curves(self) -> dict[str, "Curve"]:
        return {name: c for name in CURVES if (c := self.curve(name)) is not None}

    def curve_label(self, name: str) -> str:
        job = self.job
        if name == "strength":
            if job is not None and job.strength.mode == "max_blur":
                return "Largest blur (px)"
            return "Strength K (px per unit disparity)"
        if job is not None and focus_units(job) == "distance":
            return "Focus distance (scene units)"
        return "Focus disparity"

    def set_active_curve(self, name: str) -> None:
        self.active_curve = _check(name, CURVES, "curve")
        self._emit(CURVE)

    def edit_curve(self, name: str, edit: Callable[["Curve"], "Curve"], text: str, merge_key: str | None = None) -> bool:
        """Apply ``edit(curve) -> curve`` as one undoable step; errors go to the status line."""
        try:
            curve = self.curve(name)
            if curve is None:
                raise FocusPullError(f"the job's {name} mode has no curve to key")
            spec = getattr(self.job, name)
            assert self.job is not None
            self.edit_job(self.job.replace(**{name: dataclasses.replace(spec, value=edit(curve))}), text, merge_key)
        except FocusPullError as err:
            self._emit(JOB)  # panels show the unedited values again
            return self.error(str(err))
        return True

    def set_key(self, name: str, frame: float, value: float, merge_key: str | None = None) -> bool:
        frames = self.frames
        return self.edit_curve(name, lambda c: keyops.set_key(c, frame, value, frames=frames),
                               f"Set {name} to {value:g} at frame {frame:g}", merge_key)

    def set_value(self, value: float) -> bool:
        """The value box: key the active curve at the current frame (stepping merges into one undo step)."""
        if self.frame is None:
            return False
        name, frame = self.active_curve, self.frame
        return self.set_key(name, frame, value, merge_key=f"value:{name}:{frame}")

    def move_key(self, name: str, frame: float, new_frame: float, new_value: float) -> bool:
        return self.edit_curve(name, lambda c: keyops.move_key(c, frame, new_frame, new_value),
                               f"Move {name} key {frame:g} → {new_frame:g}")

    def remove_key(self, name: str, frame: float) -> bool:
        return self.edit_curve(name, lambda c: keyops.remove_key(c, frame), f"Delete {name} key at frame {frame:g}")

    def set_interpolation(self, name: str, frame: float, interpolation: str) -> bool:
        return self.edit_curve(name, lambda c: keyops.set_interpolation(c, frame, interpolation),
                               f"{interpolation.capitalize()} {name} key at frame {frame:g}")

    def key_current_value(self) -> bool:
        curve = self.curve(self.active_curve)
        if curve is None or self.frame is None:
            return False
        return self.set_key(self.active_curve, self.frame, curve(self.frame))

    def delete_current_key(self, selected: float | None = None) -> bool:
        """Delete the active curve's key at this frame, else the ``selected`` one."""
        curve = self.curve(self.active_curve)
        if curve is None:
            return False
        frame = self.frame if self.frame is not None and keyops.key_at(curve, self.frame) else selected
        if frame is None:
            self.info("no key at this frame")
            return False
        return self.remove_key(self.active_curve, frame)

    def focus_at(self, x_px: float, y_px: float) -> float:
        """Click to focus: key the focus at the current frame from the depth under (x, y).

        The core's point sampler picks a robust disparity around the point; it
        is keyed in the job's units (a distance 1/d for metric depth, else the
        disparity) as one undoable edit, and the focus plane flashes. A job in
        focus mode ``point`` gets an x/y key there instead. Returns the picked
        disparity. Reads the frame if it is not in memory yet.
        """
        job, shot, frame = self.job, self.shot, self.frame
        if job is None or shot is None or frame is None:
            raise FocusPullError("no plate is open")
        mode = job.focus_mode
        if mode == "matte":
            raise FocusPullError("this job's focus comes from a subject matte (focus mode 'matte'); it has no keys to set")
        data = self.frame_data()
        disparity = pick_disparity(data, x_px, y_px, job.focus.window_px)
        if mode == "point":
            x, y = data_to_display(data.image.spec, x_px, y_px, job.focus.origin)
            spec = job.focus
            assert spec.x is not None and spec.y is not None
            focus = dataclasses.replace(spec, x=keyops.set_key(spec.x, frame, x, frames=shot.frames),
                                        y=keyops.set_key(spec.y, frame, y, frames=shot.frames))
            self.edit_job(job.replace(focus=focus), f"Focus point ({x:.0f}, {y:.0f}) at frame {frame}")
            message = f"focus point key at frame {frame}: ({x:.1f}, {y:.1f}), disparity {disparity:.4g}"
        else:
            value = focus_value(job, disparity)
            assert job.focus.value is not None
            curve = keyops.set_key(job.focus.value, frame, value, frames=shot.frames)
            self.edit_job(job.replace(focus=dataclasses.replace(job.focus, value=curve)),
                          f"Focus {value:.4g} at frame {frame}")
            message = f"focus key at frame {frame}: {focus_units(job)} {value:.4g} (disparity {disparity:.4g})"
        self.flash = FocusFlash(frame, self.revision)
        self._emit(FLASH)
        self.info(message)
        return disparity

    # ================================================================ job fields
    def set_output(self, text: str) -> bool:
        from focuspull.io import SequencePattern

        job, text = self.job, text.strip()
        if job is None or text == job.output.pattern:
            return True
        try:
            out = SequencePattern.parse(text)
            if out.same_files_as(SequencePattern.parse(job.input.pattern)):
                raise JobError(f"output {text} names the input plate's files")
            self.edit_job(job.replace(output=dataclasses.replace(job.output, pattern=text)), "Output pattern")
        except FocusPullError as err:
            self._emit(JOB)
            return self.error(f"output: {err}")
        return True

    def set_frames(self, text: str) -> bool:
        """The frames to render (``1001-1100``, ``1001,1005``; empty: every frame on disk)."""
        from focuspull.io import parse_frames

        job, text = self.job, text.strip()
        if job is None or (text or None) == job.input.frames:
            return True
        try:
            if text:
                parse_frames(text)
            self.edit_job(job.replace(input=dataclasses.replace(job.input, frames=text or None)), "Frame range")
        except FocusPullError as err:
            self._emit(JOB)
            return self.error(f"frames: {err}")
        return True

    def set_depth_kind(self, kind: str) -> bool:
        return self._edit_depth(f"Depth is {kind}", kind=_check(kind, DEPTH_KINDS, "depth kind"))

    def set_depth_step(self, step: str, value: str) -> bool:
        """Switch a depth-conditioning step (``remove_outliers``/``refine_edges``/``stabilize``: auto, on, off),
        undoably. The shot's stabilised depth is shown once a render has written it (:meth:`depth_written`)."""
        _check(step, DEPTH_STEPS, "depth conditioning step")
        return self._edit_depth(f"Depth {step.replace('_', ' ')} {value}", **{step: _check(value, SWITCHES, step)})

    def set_depth_edge_radius(self, radius_px: int) -> bool:
        """Set the edge refinement's radius (``depth.edge_radius_px``), undoably; repeated steps merge."""
        radius_px = int(radius_px)
        return self._edit_depth(f"Depth edge radius {radius_px} px", "depth.edge_radius_px", edge_radius_px=radius_px)

    def _edit_depth(self, text: str, merge_key: str | None = None, **changes: Any) -> bool:
        """An undoable edit of ``job.depth``; a refused one shows its error and puts the panels back."""
        job = self.job
        if job is None or all(getattr(job.depth, name) == value for name, value in changes.items()):
            return True
        try:
            self.edit_job(job.replace(depth=dataclasses.replace(job.depth, **changes)), text, merge_key)
        except FocusPullError as err:
            self._emit(JOB)
            return self.error(str(err))
        return True

    def depth_written(self) -> bool:
        """A render wrote the shot's stabilised depth next to the output: show it, as the render used
        it (the workspace never makes it: it reads the whole shot). True when the shot changed."""
        if self.job is None or self.shot is None or self.shot.depth_conditioned or self.shot.conditioning is None \
                or self.shot.conditioning.stabilize <= 0:
            return False
        from focuspull.pipeline import prepare

        try:
            shot = prepare(self.job, check_output=False)
        except FocusPullError as err:
            return self.error(str(err))
        if not shot.depth_conditioned:
            return False
        self.cache.clear()  # the frames in memory hold the per-frame conditioning
        self._set_job(self.job, shot, {SHOT, FRAME})
        return True

    # ================================================================ edits and undo
    def edit_job(self, job: "Job", text: str, merge_key: str | None = None) -> None:
        """An undoable edit, made once the job resolves (raises FocusPullError, recording nothing, if not)."""
        if self.job is None:
            raise FocusPullError("no job to edit")
        if job == self.job:
            return
        shot = self._resolve(job)
        assert self.shot is not None
        self.undo_stack.push((self.job, self.shot), (job, shot), text, merge_key)
        self._set_job(job, shot, {UNDO})

    def undo(self) -> None:
        self._restore(self.undo_stack.undo())

    def redo(self) -> None:
        self._restore(self.undo_stack.redo())

    def _restore(self, state: "tuple[Job, Shot] | None") -> None:
        if state is not None:
            self._set_job(*state, {UNDO})

    def _resolve(self, job: "Job") -> "Shot":
        """The shot for ``job``: checked against the disk, per-frame focus and K resolved."""
        return update_shot(self.shot, job, read=self._read_frames)

    def _read_frames(self, frames: Sequence[int]) -> Iterator["FrameData"]:
        for frame in frames:
            yield self.frame_data(frame)

    def _set_job(self, job: "Job", shot: "Shot", aspects: set[str]) -> None:
        aspects = set(aspects) | {JOB}
        if self.shot is None or needs_reread(self.shot.job, job):
            aspects.add(SHOT)
            self.cache.clear()
            if self.frame not in shot.frames:
                self.frame = shot.frames[0]
            aspects.add(FRAME)
        self.job, self.shot = job, shot
        self.revision += 1
        if SHOT in aspects:  # the display/view must be one of this config's
            self.display, self.view_name = self._display_view(self.display, self.view_name)
            aspects.add(VIEW)
        if self.curve(self.active_curve) is None and (curves := self.curves()):
            self.active_curve = next(iter(curves))
            aspects.add(CURVE)
        self._emit(*aspects)

    # ================================================================ messages
    def info(self, text: str) -> bool:
        self.message.emit(text, False)
        return True

    def error(self, text: str) -> bool:
        log.warning("%s", text)
        self.message.emit(text, True)
        return False

    def _emit(self, *aspects: str) -> None:
        self.changed.emit(frozenset(aspects))


def _check(value: Any, allowed: Sequence[Any], what: str) -> Any:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; expected one of {', '.join(map(str, allowed))}")
    return value
