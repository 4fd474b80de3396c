"""The focus-pull workspace: viewer, timeline, key editor, preview and render in one widget.

``FocusPullWidget`` is what a standalone window and a Nuke panel both show.
It owns the job (with undo), the resolved shot, the frame cache and three
worker threads (frame loading, preview, render); the GUI thread only
composes, displays and edits.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from focuspull.errors import FocusPullError, JobError
from focuspull.ui import keys as keyops
from focuspull.ui._qt import QtCore, QtGui, QtWidgets, warn_if_known_bad_release
from focuspull.ui.cache import CacheLoader
from focuspull.ui.display import display_rgb, display_step, quantize, resize_nearest
from focuspull.ui.document import CURVES, JobDocument
from focuspull.ui.overlays import DEFAULT_FOCUS_THRESHOLD_PX, OVERLAY_LABELS, OVERLAYS, apply_overlay
from focuspull.ui.preview import PREVIEW_SCALES, PreviewController, PreviewResult
from focuspull.ui.render import RenderController
from focuspull.ui.sampling import data_to_display, focus_units, focus_value, pick_disparity
from focuspull.ui.session import DEFAULT_CACHE_BYTES, FrameCache, load_frame_data, needs_prepare, new_job, update_shot
from focuspull.ui.timeline import CurveTimeline
from focuspull.ui.viewer import ImageView, rgb8_to_qimage

if TYPE_CHECKING:
    import numpy as np

    from focuspull.engines.base import Engine
    from focuspull.job import Job
    from focuspull.pipeline import FrameData, Shot

log = logging.getLogger(__name__)

SOURCES = ("plate", "preview", "render")
SOURCE_LABELS = {"plate": "Plate", "preview": "Preview", "render": "Render"}
DEFAULT_FPS = 24.0
_ERROR_STYLE = "color: rgb(240, 110, 100);"


class FocusPullWidget(QtWidgets.QWidget):
    """The workspace. Constructible without arguments (Nuke builds panels that way)."""

    frameChanged = QtCore.Signal(int)
    statusChanged = QtCore.Signal(str)
    titleChanged = QtCore.Signal(str)

    def __init__(
        self,
        parent: QtWidgets.QWidget | None = None,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        engine_factory: Callable[["Shot"], "Engine"] | None = None,
    ) -> None:
        super().__init__(parent)
        warn_if_known_bad_release()
        self.setObjectName("FocusPullWidget")
        self.setWindowTitle("FocusPull")
        self.document = JobDocument(self)
        self.cache = FrameCache(cache_bytes)
        self.loader = CacheLoader(self.cache, self)
        self.previewer = PreviewController(engine_factory, self)
        self.renderer = RenderController(self)
        self.shot: Shot | None = None
        self.frame: int | None = None
        self.source = "plate"
        self.overlay = "none"
        self.exposure_stops = 0.0
        self.display: str | None = None
        self.view_name: str | None = None
        self.preview_scale = 2
        self.focus_threshold_px = DEFAULT_FOCUS_THRESHOLD_PX
        self.fps = DEFAULT_FPS
        self.last_preview: PreviewResult | None = None
        self._preview_error = ""
        self._prepared: tuple[Any, Any] | None = None  # (job, shot) checked before an edit
        self._syncing = False
        self._closed = False

        self._build_actions()
        self._build_ui()
        self._connect()
        self._play_timer = QtCore.QTimer(self)
        self._play_timer.timeout.connect(self._play_step)
        self._sync_all()
        # Closing stops the workers; a widget destroyed without being closed
        # (a host deleting its panel) must still let them go.
        self.destroyed.connect(functools.partial(
            _release_workers, (self.loader._thread, self.previewer._thread, self.renderer._thread),
            self.loader._worker, self.renderer.worker, self.cache))

    # ================================================================== building
    def _action(self, text: str, slot: Callable[..., Any], shortcut: Any = None, tip: str = "") -> QtGui.QAction:
        action = QtGui.QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QtGui.QKeySequence(shortcut))
            # Inside Nuke the panel must not steal the host's shortcuts.
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        if tip:
            action.setToolTip(tip)
        action.triggered.connect(lambda checked=False: slot())
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.open_plate_action = self._action("Open plate…", self._ask_open_plate, "Ctrl+Shift+O", "Open an EXR sequence")
        self.open_job_action = self._action("Open job…", self._ask_open_job, QtGui.QKeySequence.StandardKey.Open,
                                            "Open a focuspull.job/1 file (e.g. written by a Nuke node)")
        self.save_job_action = self._action("Save job", self._save_or_ask, QtGui.QKeySequence.StandardKey.Save)
        self.save_job_as_action = self._action("Save job as…", self._ask_save_job, QtGui.QKeySequence.StandardKey.SaveAs)
        stack = self.document.undo_stack
        self.undo_action = stack.createUndoAction(self, "Undo")
        self.undo_action.setShortcut(QtGui.QKeySequence.StandardKey.Undo)
        self.redo_action = stack.createRedoAction(self, "Redo")
        self.redo_action.setShortcut(QtGui.QKeySequence.StandardKey.Redo)
        for action in (self.undo_action, self.redo_action):
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
        self.play_action = self._action("Play", self.toggle_playback, "Space", "Play the cached frames")
        self.play_action.setCheckable(True)
        self.prev_action = self._action("Previous frame", lambda: self.step_frame(-1), "Left")
        self.next_action = self._action("Next frame", lambda: self.step_frame(1), "Right")
        self.first_action = self._action("First frame", lambda: self.set_frame(self.shot.frames[0]) if self.shot else None,
                                         "Home")
        self.last_action = self._action("Last frame", lambda: self.set_frame(self.shot.frames[-1]) if self.shot else None,
                                        "End")
        style = self.style()
        icons = QtWidgets.QStyle.StandardPixmap
        for action, icon in ((self.prev_action, icons.SP_MediaSeekBackward), (self.next_action, icons.SP_MediaSeekForward),
                             (self.first_action, icons.SP_MediaSkipBackward), (self.last_action, icons.SP_MediaSkipForward),
                             (self.play_action, icons.SP_MediaPlay)):
            action.setIcon(style.standardIcon(icon))
        self.key_action = self._action("Key", self.key_current_value, "K", "Set a key at this frame")
        self.delete_key_action = self._action("Delete key", self.delete_current_key, None, "Delete the key at this frame")
        self.render_action = self._action("Render", self.start_render, "Ctrl+R", "Render the job's frames")
        self.cancel_action = self._action("Cancel", self.cancel_render, None, "Stop after the frame being written")
        self.fit_action = self._action("Fit", lambda: self.view.fit(), "F", "Fit the plate in the viewer")

    def _build_ui(self) -> None:
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)

        bar = QtWidgets.QToolBar(self)
        bar.setIconSize(QtCore.QSize(16, 16))
        for action in (self.open_plate_action, self.open_job_action, self.save_job_action):
            bar.addAction(action)
        bar.addSeparator()
        bar.addAction(self.undo_action)
        bar.addAction(self.redo_action)
        bar.addSeparator()
        self.source_combo = QtWidgets.QComboBox()
        for name in SOURCES:
            self.source_combo.addItem(SOURCE_LABELS[name], name)
        self.source_combo.setToolTip("What the viewer shows: the plate, the live preview or the rendered frames")
        self.overlay_combo = QtWidgets.QComboBox()
        for name in OVERLAYS:
            self.overlay_combo.addItem(OVERLAY_LABELS[name], name)
        self.display_combo = QtWidgets.QComboBox()
        self.view_combo = QtWidgets.QComboBox()
        self.exposure_spin = QtWidgets.QDoubleSpinBox()
        self.exposure_spin.setRange(-16.0, 16.0)
        self.exposure_spin.setSingleStep(0.5)
        self.exposure_spin.setDecimals(1)
        self.exposure_spin.setSuffix(" EV")
        self.exposure_spin.setToolTip("Exposure in stops, applied in scene linear before the view")
        self.scale_combo = QtWidgets.QComboBox()
        for factor in PREVIEW_SCALES:
            self.scale_combo.addItem("Full res" if factor == 1 else f"1/{factor} res", factor)
        self.scale_combo.setToolTip("Preview resolution (K is scaled with it)")
        for combo, chars in ((self.display_combo, 10), (self.view_combo, 17)):
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(chars)
        self.display_combo.setToolTip("OCIO display")
        self.view_combo.setToolTip("OCIO view")
        for label, widget in (("", self.source_combo), ("", self.scale_combo), ("", self.overlay_combo),
                              ("", self.exposure_spin), ("", self.display_combo), ("", self.view_combo)):
            if label:
                bar.addWidget(QtWidgets.QLabel(f" {label} "))
            bar.addWidget(widget)
        layout.addWidget(bar)

        self.view = ImageView(self)
        self.view.setToolTip("Click to focus on what is under the cursor; wheel zooms, middle-drag pans, F fits")
        layout.addWidget(self.view, 1)

        transport = QtWidgets.QHBoxLayout()
        for action in (self.first_action, self.prev_action, self.play_action, self.next_action, self.last_action):
            button = QtWidgets.QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonIconOnly)
            button.setAutoRaise(True)
            transport.addWidget(button)
        self.frame_spin = QtWidgets.QSpinBox()
        self.frame_spin.setRange(-10**7, 10**7)
        self.frame_spin.setKeyboardTracking(False)
        transport.addWidget(QtWidgets.QLabel("Frame"))
        transport.addWidget(self.frame_spin)
        self.frame_info = QtWidgets.QLabel()
        transport.addWidget(self.frame_info, 1)
        transport.addWidget(QtWidgets.QLabel("Depth is"))
        self.depth_kind_combo = QtWidgets.QComboBox()
        for kind, label in (("depth", "distance z"), ("inverse_depth", "1/z (far = 0)"), ("disparity", "disparity"),
                            ("normalized_disparity", "disparity 0..1")):
            self.depth_kind_combo.addItem(label, kind)
        transport.addWidget(self.depth_kind_combo)
        layout.addLayout(transport)

        keyrow = QtWidgets.QHBoxLayout()
        self.curve_combo = QtWidgets.QComboBox()
        self.curve_combo.addItem("Focus", "focus")
        self.curve_combo.addItem("Strength K", "strength")
        keyrow.addWidget(self.curve_combo)
        self.value_spin = QtWidgets.QDoubleSpinBox()
        self.value_spin.setDecimals(4)
        self.value_spin.setRange(0.0, 1e9)
        self.value_spin.setKeyboardTracking(False)
        self.value_spin.setMinimumWidth(110)
        self.value_spin.setToolTip("The curve's value at this frame; changing it sets a key here")
        keyrow.addWidget(self.value_spin)
        for action in (self.key_action, self.delete_key_action):
            button = QtWidgets.QToolButton()
            button.setDefaultAction(action)
            keyrow.addWidget(button)
        self.interp_combo = QtWidgets.QComboBox()
        for interp in ("constant", "linear", "smooth"):
            self.interp_combo.addItem(interp.capitalize(), interp)
        self.interp_combo.setToolTip("Interpolation of the segment leaving the key at this frame")
        keyrow.addWidget(self.interp_combo)
        keyrow.addStretch(1)
        self.pixel_info = QtWidgets.QLabel()
        keyrow.addWidget(self.pixel_info)
        layout.addLayout(keyrow)

        self.timeline = CurveTimeline(self)
        self.timeline.setMinimumHeight(130)
        layout.addWidget(self.timeline)

        render = QtWidgets.QHBoxLayout()
        render.addWidget(QtWidgets.QLabel("Output"))
        self.output_edit = QtWidgets.QLineEdit()
        self.output_edit.setToolTip("Output pattern, e.g. /shots/a/refocus/plate.####.exr")
        render.addWidget(self.output_edit, 3)
        render.addWidget(QtWidgets.QLabel("Frames"))
        self.frames_edit = QtWidgets.QLineEdit()
        self.frames_edit.setPlaceholderText("all on disk")
        self.frames_edit.setToolTip("1001-1100, 1001-1100x2 or 1001,1005,1010-1012; empty: every frame on disk")
        render.addWidget(self.frames_edit, 1)
        for action in (self.render_action, self.cancel_action):
            button = QtWidgets.QToolButton()
            button.setDefaultAction(action)
            render.addWidget(button)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        render.addWidget(self.progress, 2)
        layout.addLayout(render)

        self.status = QtWidgets.QLabel()
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)

    def _connect(self) -> None:
        self.document.jobChanged.connect(self._on_job_changed)
        self.document.undo_stack.cleanChanged.connect(lambda clean: self._emit_title())
        self.view.clicked.connect(self._on_view_clicked)
        self.view.scaleChanged.connect(self._on_view_scale)
        self.view.hovered.connect(self._on_hover)
        self.timeline.frameRequested.connect(self.set_frame)
        self.timeline.keyAdded.connect(self._on_key_added)
        self.timeline.keyMoved.connect(self._on_key_moved)
        self.timeline.keyDeleted.connect(self._on_key_deleted)
        self.timeline.interpolationChanged.connect(self._on_interpolation)
        self.timeline.selectionChanged.connect(self._on_key_selected)
        self.frame_spin.valueChanged.connect(self._on_frame_spin)
        self.source_combo.currentIndexChanged.connect(lambda i: self.set_source(self.source_combo.itemData(i)))
        self.overlay_combo.currentIndexChanged.connect(lambda i: self.set_overlay(self.overlay_combo.itemData(i)))
        self.display_combo.currentIndexChanged.connect(self._on_display_combo)
        self.view_combo.currentIndexChanged.connect(self._on_view_combo)
        self.exposure_spin.valueChanged.connect(self._on_exposure_spin)
        self.scale_combo.currentIndexChanged.connect(lambda i: self.set_preview_scale(self.scale_combo.itemData(i)))
        self.curve_combo.currentIndexChanged.connect(self._on_curve_combo)
        self.value_spin.valueChanged.connect(self._on_value_spin)
        self.interp_combo.activated.connect(self._on_interp_combo)
        self.depth_kind_combo.activated.connect(self._on_depth_kind)
        self.output_edit.editingFinished.connect(self._on_output_edit)
        self.frames_edit.editingFinished.connect(self._on_frames_edit)
        self.loader.loaded.connect(self._on_frame_cached)
        self.loader.evicted.connect(lambda frames: self.timeline.set_cached(self.cache.frames()))
        self.loader.failed.connect(lambda frame, message: self.show_error(f"frame {frame}: {message}"))
        self.previewer.ready.connect(self._on_preview_ready)
        self.previewer.failed.connect(self._on_preview_failed)
        self.renderer.progress.connect(self._on_render_progress)
        self.renderer.finished.connect(self._on_render_finished)
        self.renderer.failed.connect(lambda message: self.show_error(f"render failed: {message}"))
        self.renderer.cancelled.connect(lambda: self.show_status("render cancelled"))
        self.renderer.runningChanged.connect(lambda running: self._sync_enabled())

    # ================================================================== public API
    @property
    def job(self) -> "Job | None":
        return self.document.job

    def open_pattern(self, pattern: str, **options: Any) -> bool:
        """Open a plate with a new default job (options: see ``session.new_job``)."""
        try:
            job = new_job(pattern, **options)
        except FocusPullError as err:
            self.show_error(str(err))
            return False
        return self.load_job(job)

    def open_job(self, path: str) -> bool:
        from focuspull.job import Job

        try:
            job = Job.load(path)
        except FocusPullError as err:
            self.show_error(str(err))
            return False
        return self.load_job(job, os.path.abspath(path))

    def load_job(self, job: "Job", path: str | None = None, frame: int | None = None) -> bool:
        from focuspull.pipeline import prepare

        try:
            shot = prepare(job, check_output=False)
        except FocusPullError as err:
            self.show_error(str(err))
            return False
        self._install_shot(shot, frame)
        self._prepared = (job, shot)
        self.document.reset(job, path)
        self.show_status(f"{len(shot.frames)} frames of {shot.input.canonical()}")
        return True

    def save_job(self, path: str | None = None) -> str:
        """Write the job (to ``path``, else where it came from); returns the path."""
        job = self.document.job
        if job is None:
            raise JobError("there is no job to save")
        path = path or self.document.path
        if not path:
            raise JobError("the job has no file yet; give a path")
        job.save(path)
        self.document.path = os.path.abspath(path)
        self.document.undo_stack.setClean()
        self._emit_title()
        self.show_status(f"saved {path}")
        return path

    def set_frame(self, frame: int) -> None:
        if self.shot is None or frame not in self.shot.frames:
            return
        changed = frame != self.frame
        self.frame = frame
        self._syncing = True
        try:
            self.frame_spin.setValue(frame)
        finally:
            self._syncing = False
        self.timeline.set_current_frame(frame)
        self._sync_key_editor()
        self._request_preview()
        self.refresh_view()
        if changed:
            self.frameChanged.emit(frame)

    def step_frame(self, step: int) -> None:
        if self.shot is None or self.frame is None:
            return
        frames = self.shot.frames
        i = frames.index(self.frame) + step
        self.set_frame(frames[max(0, min(len(frames) - 1, i))])

    def set_source(self, source: str) -> None:
        if source not in SOURCES:
            raise ValueError(f"unknown view source {source!r}; expected one of {', '.join(SOURCES)}")
        self.source = source
        self._set_combo(self.source_combo, source)
        if source == "preview":
            self._request_preview()
        else:
            self.previewer.cancel()
        self.refresh_view()

    def set_overlay(self, overlay: str) -> None:
        if overlay not in OVERLAYS:
            raise ValueError(f"unknown overlay {overlay!r}; expected one of {', '.join(OVERLAYS)}")
        self.overlay = overlay
        self._set_combo(self.overlay_combo, overlay)
        self.refresh_view()

    def set_exposure(self, stops: float) -> None:
        self.exposure_stops = float(stops)
        self._syncing = True
        try:
            self.exposure_spin.setValue(self.exposure_stops)
        finally:
            self._syncing = False
        self.refresh_view()

    def set_display_view(self, display: str | None, view: str | None = None) -> None:
        self.display, self.view_name = display, view
        self._sync_display_combos()
        self.refresh_view()

    def set_preview_scale(self, factor: int) -> None:
        if factor not in PREVIEW_SCALES:
            raise ValueError(f"preview scale {factor}; expected one of {PREVIEW_SCALES}")
        self.preview_scale = int(factor)
        self._set_combo(self.scale_combo, self.preview_scale)
        self._request_preview()
        self.refresh_view()

    def set_active_curve(self, name: str) -> None:
        self._set_combo(self.curve_combo, name)
        self.timeline.set_active(name)
        self._sync_key_editor()

    def frame_data(self, frame: int | None = None) -> "FrameData":
        """The current (or given) frame, from the cache or read now."""
        if self.shot is None:
            raise FocusPullError("no plate is open")
        frame = self.frame if frame is None else frame
        assert frame is not None
        data = self.cache.get(frame)
        if data is None:
            data = load_frame_data(self.shot, frame)
            self.cache.put(data)
            self.timeline.set_cached(self.cache.frames())
        return data

    def focus_at(self, x_px: float, y_px: float) -> float:
        """Click to focus: key the focus at the current frame from the depth under (x, y).

        The core's point sampler picks a robust disparity around the point; it
        is keyed in the job's units (a distance 1/d for metric depth, else the
        disparity) as one undoable edit. A job in focus mode ``point`` gets an
        x/y key there instead. Returns the picked disparity.
        """
        job, shot, frame = self.job, self.shot, self.frame
        if job is None or shot is None or frame is None:
            raise FocusPullError("no plate is open")
        data = self.frame_data()
        mode = job.focus_mode
        if mode == "matte":
            raise FocusPullError("this job's focus comes from a subject matte (focus mode 'matte'); it has no keys to set")
        disparity = pick_disparity(data, x_px, y_px, job.focus.window_px)
        if mode == "point":
            x, y = data_to_display(data.image.spec, x_px, y_px, job.focus.origin)
            spec = job.focus
            assert spec.x is not None and spec.y is not None
            focus = dataclasses.replace(spec, x=keyops.set_key(spec.x, frame, x, frames=shot.frames),
                                        y=keyops.set_key(spec.y, frame, y, frames=shot.frames))
            self._edit_job(job.replace(focus=focus), f"Focus point ({x:.0f}, {y:.0f}) at frame {frame}")
            self.show_status(f"focus point key at frame {frame}: ({x:.1f}, {y:.1f}), disparity {disparity:.4g}")
            return disparity
        value = focus_value(job, disparity)
        assert job.focus.value is not None
        curve = keyops.set_key(job.focus.value, frame, value, frames=shot.frames)
        self._edit_job(self.document.with_curve("focus", curve), f"Focus {value:.4g} at frame {frame}")
        self.show_status(f"focus key at frame {frame}: {focus_units(job)} {value:.4g} (disparity {disparity:.4g})")
        return disparity

    def edit_curve(self, name: str, edit: Callable[[Any], Any], text: str, merge_key: str | None = None) -> bool:
        """Apply ``edit(curve) -> curve`` to a curve as one undoable step; errors go to the status line."""
        try:
            curve = self.document.curve(name)
            if curve is None:
                raise FocusPullError(f"the job's {name} mode has no curve to key")
            self._edit_job(self.document.with_curve(name, edit(curve)), text, merge_key)
        except FocusPullError as err:
            self.show_error(str(err))
            self._sync_curves()
            self._sync_key_editor()
            return False
        return True

    def key_current_value(self) -> None:
        if self.frame is None or self.job is None:
            return
        name = self.timeline.active
        curve = self.document.curve(name)
        if curve is None:
            return
        value = curve(self.frame)
        frames = self.shot.frames if self.shot else ()
        self.edit_curve(name, lambda c: keyops.set_key(c, self.frame, value, frames=frames),
                        f"Key {name} at frame {self.frame}")

    def delete_current_key(self) -> None:
        if self.job is None:
            return
        name = self.timeline.active
        curve = self.document.curve(name)
        if curve is None:
            return
        frame = self.frame if self.frame is not None and keyops.key_at(curve, self.frame) else None
        frame = frame if frame is not None else self.timeline.selected_key()
        if frame is None:
            self.show_status("no key at this frame")
            return
        self.edit_curve(name, lambda c: keyops.remove_key(c, frame), f"Delete {name} key at frame {frame:g}")

    def toggle_playback(self) -> None:
        if self._play_timer.isActive():
            self._play_timer.stop()
            self.play_action.setChecked(False)
        elif self.shot is not None:
            self._play_timer.start(max(int(1000 / self.fps), 1))
            self.play_action.setChecked(True)

    def start_render(self) -> None:
        if self.job is None:
            self.show_error("open a plate or a job first")
            return
        try:
            self.renderer.start(self.job)
        except FocusPullError as err:
            self.show_error(str(err))
            return
        self.progress.setRange(0, max(len(self.shot.frames) if self.shot else 1, 1))
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m frames")
        self.show_status(f"rendering to {self.job.output.pattern}")

    def cancel_render(self) -> None:
        if self.renderer.running:
            self.renderer.cancel()
            self.show_status("cancelling after the current frame…")

    def coc_px(self, frame: int, disparity: "np.ndarray") -> "np.ndarray":
        """Signed CoC radius (plate pixels) of disparities of a frame at the job's current settings."""
        assert self.shot is not None
        return self.shot.params.signed_coc_px(disparity, self.shot.index(frame))

    def refresh_view(self) -> None:
        """Compose what the viewer shows: source, exposure, display/view and overlay."""
        if self.shot is None or self.frame is None:
            self.view.set_image(None)
            self.view.set_message("Open a plate (Ctrl+Shift+O) or a job (Ctrl+O)")
            return
        try:
            data = self.frame_data()
        except FocusPullError as err:
            self.show_error(str(err))
            self.view.set_image(None)
            self.view.set_message(str(err))
            return
        height, width = data.disparity.shape
        step = self._shown_step = display_step(self.view.fit_scale((width, height)) if self.view.fitting else self.view.scale())
        shown = (-(-height // step), -(-width // step))
        base, message = data.rgba, ""
        if self.source == "preview":
            base, message = self._preview_image(data)
        elif self.source == "render":
            base, message = self._render_image(data)
        try:
            rgb = display_rgb(resize_nearest(base, *shown), self.shot.color, self.display, self.view_name,
                              self.exposure_stops)
            if self.overlay != "none":
                disparity = data.disparity[::step, ::step]
                rgb = apply_overlay(self.overlay, rgb, disparity, self.coc_px(self.frame, disparity),
                                    self.focus_threshold_px)
        except FocusPullError as err:
            self.show_error(str(err))
            return
        self.view.set_image(rgb8_to_qimage(quantize(rgb)), (width, height))
        self.view.set_message(message)

    def shutdown(self) -> None:
        """Stop the worker threads (a running render stops after its current frame)."""
        if self._closed:
            return
        self._closed = True
        self._play_timer.stop()
        self.loader.shutdown()
        self.previewer.shutdown()
        self.renderer.shutdown()
        self.cache.clear()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def title(self) -> str:
        name = os.path.basename(self.document.path) if self.document.path else (
            os.path.basename(self.shot.input.text) if self.shot else "")
        dirty = "" if self.document.undo_stack.isClean() else " *"
        return f"FocusPull — {name}{dirty}" if name else "FocusPull"

    def show_status(self, text: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(text)
        self.statusChanged.emit(text)

    def show_error(self, text: str) -> None:
        log.warning("%s", text)
        self.status.setStyleSheet(_ERROR_STYLE)
        self.status.setText(text)
        self.statusChanged.emit(text)

    # ================================================================== internals
    def _install_shot(self, shot: "Shot", frame: int | None = None) -> None:
        """A new or re-resolved shot: new frames, colour config and cache."""
        self.loader.stop()
        self.previewer.cancel()
        self.cache.clear()
        self.last_preview = None
        self.shot = shot
        if frame not in shot.frames:
            frame = self.frame if self.frame in shot.frames else shot.frames[0]
        self.frame = frame
        self.timeline.set_frames(shot.frames)
        self.timeline.set_cached(set())
        self.timeline.set_current_frame(frame)
        self._syncing = True
        try:
            self.frame_spin.setRange(shot.frames[0], shot.frames[-1])
            self.frame_spin.setValue(frame)
        finally:
            self._syncing = False
        if self.display not in shot.color.displays():
            self.display, self.view_name = None, None
        self._sync_display_combos()
        self.loader.start(shot, frame)

    def _on_job_changed(self, old: "Job | None", new: "Job | None") -> None:
        prepared, self._prepared = self._prepared, None
        if new is None:
            self.shot, self.frame = None, None
            self._sync_all()
            return
        try:
            shot = prepared[1] if prepared and prepared[0] is new else self._resolve(new)
        except FocusPullError as err:
            self.show_error(str(err))
            return
        if self.shot is None or needs_prepare(self.shot.job, new):
            self._install_shot(shot, self.frame)
        else:
            self.shot = shot
        self._sync_all()
        self._request_preview()
        self.refresh_view()

    def _resolve(self, job: "Job") -> "Shot":
        """The shot for ``job``: checked against the disk, per-frame focus and K resolved."""
        return update_shot(self.shot, job, read=self._read_cached)

    def _read_cached(self, frames: Any) -> Any:
        for frame in frames:
            yield self.frame_data(frame)

    def _edit_job(self, job: "Job", text: str, merge_key: str | None = None) -> None:
        """Push an undoable edit once the job resolves (raises FocusPullError, recording nothing, if not)."""
        self._prepared = (job, self._resolve(job))
        try:
            self.document.edit(job, text, merge_key)
        finally:
            self._prepared = None

    def _try_edit_job(self, job: "Job", text: str) -> bool:
        try:
            self._edit_job(job, text)
        except FocusPullError as err:
            self.show_error(str(err))
            self._sync_all()
            return False
        return True

    def _sync_all(self) -> None:
        self._sync_curves()
        self._sync_key_editor()
        self._sync_job_fields()
        self._sync_enabled()
        self._emit_title()

    def _curve_label(self, name: str) -> str:
        job = self.job
        if name == "strength":
            if job is not None and job.strength.mode == "max_blur":
                return "Largest blur (px)"
            return "Strength K (px per unit disparity)"
        if job is not None and focus_units(job) == "distance":
            return "Focus distance (scene units)"
        return "Focus disparity"

    def _sync_curves(self) -> None:
        job = self.job
        curves = {name: getattr(job, name).value for name in CURVES} if job is not None else {}
        curves = {name: curve for name, curve in curves.items() if curve is not None}
        model = self.curve_combo.model()
        for i in range(self.curve_combo.count()):
            model.item(i).setEnabled(self.curve_combo.itemData(i) in curves)
        if curves and self.timeline.active not in curves:
            self.set_active_curve(next(iter(curves)))
        self.timeline.set_curves(curves, {name: self._curve_label(name) for name in curves})

    def _sync_key_editor(self) -> None:
        job, shot, frame = self.job, self.shot, self.frame
        self._syncing = True
        try:
            if job is None or shot is None or frame is None:
                self.frame_info.setText("")
                return
            name = self.timeline.active
            curve = self.document.curve(name)
            key = keyops.key_at(curve, frame) if curve is not None else None
            self.value_spin.setEnabled(curve is not None)
            self.key_action.setEnabled(curve is not None)
            self.interp_combo.setEnabled(key is not None)
            self.delete_key_action.setEnabled(key is not None or self.timeline.selected_key() is not None)
            if curve is not None:
                self.value_spin.setSingleStep(1.0 if name == "strength" else 0.05)
                self.value_spin.setValue(curve(frame))
            if key is not None:
                self._set_combo(self.interp_combo, key.interpolation)
            i = shot.index(frame)
            d_f, k = float(shot.params.focus_disparity[i]), float(shot.params.strength_px[i])
            focus = f"distance {1 / d_f:.4g}" if focus_units(job) == "distance" and d_f > 0 else f"disparity {d_f:.4g}"
            keyed = [n for n in CURVES if (c := self.document.curve(n)) is not None and keyops.key_at(c, frame)]
            marks = f"  · keyed: {', '.join(keyed)}" if keyed else ""
            self.frame_info.setText(f"  focus {focus}   K {k:.4g} px{marks}")
        finally:
            self._syncing = False

    def _sync_job_fields(self) -> None:
        job = self.job
        self._syncing = True
        try:
            self.output_edit.setText(job.output.pattern if job else "")
            self.frames_edit.setText((job.input.frames or "") if job else "")
            if job is not None:
                self._set_combo(self.depth_kind_combo, job.depth.kind)
        finally:
            self._syncing = False

    def _sync_enabled(self) -> None:
        has_job = self.job is not None
        running = self.renderer.running
        if not has_job:
            self.value_spin.setEnabled(False)
            self.key_action.setEnabled(False)
        for widget in (self.save_job_action, self.save_job_as_action, self.play_action,
                       self.prev_action, self.next_action, self.first_action, self.last_action):
            widget.setEnabled(has_job)
        self.render_action.setEnabled(has_job and not running)
        self.cancel_action.setEnabled(running)
        for widget in (self.curve_combo, self.output_edit, self.frames_edit, self.depth_kind_combo, self.frame_spin):
            widget.setEnabled(has_job)

    def _sync_display_combos(self) -> None:
        if self.shot is None:
            return
        color = self.shot.color
        display = self.display or str(color.config.getDefaultDisplay())
        views = color.views(display)
        view = self.view_name if self.view_name in views else str(color.config.getDefaultView(display))
        self._syncing = True
        try:
            self.display_combo.clear()
            for name in color.displays():
                self.display_combo.addItem(name, name)
            self._set_combo(self.display_combo, display)
            self.view_combo.clear()
            for name in views:
                self.view_combo.addItem(name, name)
            self._set_combo(self.view_combo, view)
        finally:
            self._syncing = False
        self.display, self.view_name = display, view

    def _emit_title(self) -> None:
        try:
            self.titleChanged.emit(self.title())
        except RuntimeError:  # the undo stack announces its own destruction
            pass

    @staticmethod
    def _set_combo(combo: QtWidgets.QComboBox, data: Any) -> None:
        i = combo.findData(data)
        if i >= 0 and i != combo.currentIndex():
            blocked = combo.blockSignals(True)
            combo.setCurrentIndex(i)
            combo.blockSignals(blocked)

    def _preview_image(self, data: "FrameData") -> tuple["np.ndarray", str]:
        result = self.last_preview
        label = "full res" if self.preview_scale == 1 else f"1/{self.preview_scale} res"
        if result is not None and result.frame == self.frame and result.scale == self.preview_scale:
            state = "" if result.revision == self.document.revision else "  (updating…)"
            return result.rgba, f"preview {label}, {result.seconds:.2f}s{state}"
        if self._preview_error:
            return data.rgba, f"preview failed: {self._preview_error}"
        return data.rgba, f"plate — preview {label} rendering…"

    def _render_image(self, data: "FrameData") -> tuple["np.ndarray", str]:
        from focuspull.io import read_image

        assert self.shot is not None and self.frame is not None
        path = self.shot.output.path(self.frame)
        if not os.path.exists(path):
            return data.rgba, f"plate — not rendered yet: {os.path.basename(path)}"
        try:
            image = read_image(path)
            rgb = image.pixels[..., list(image.rgba_indices[:3])]
            rgb = self.shot.color.to_working(rgb, self.shot.output_colorspace)
        except FocusPullError as err:
            return data.rgba, f"plate — cannot read the render: {err}"
        if rgb.shape[:2] != data.rgba.shape[:2]:
            return data.rgba, f"plate — the render {os.path.basename(path)} has another size"
        return rgb, f"render {os.path.basename(path)}"

    def _request_preview(self) -> None:
        if self.source != "preview" or self.shot is None or self.frame is None or self._closed:
            return
        try:
            data = self.frame_data()
        except FocusPullError:
            return
        self._preview_error = ""
        self.previewer.request(self.shot, data, self.document.revision, self.preview_scale)

    # ================================================================== slots
    def _on_view_clicked(self, x: float, y: float) -> None:
        try:
            self.focus_at(x, y)
        except FocusPullError as err:
            self.show_error(str(err))

    def _on_view_scale(self, scale: float) -> None:
        if self.shot is not None and display_step(scale) != getattr(self, "_shown_step", 1):
            self.refresh_view()

    def _on_hover(self, x: float, y: float) -> None:
        if x < 0 or self.shot is None or self.frame is None:
            self.pixel_info.setText("")
            return
        data = self.cache.get(self.frame)
        if data is None:
            return
        col, row = int(x), int(y)
        d = float(data.disparity[row, col])
        coc = float(self.coc_px(self.frame, data.disparity[row : row + 1, col : col + 1])[0, 0])
        depth = f"z {1 / d:.4g}" if self.job and focus_units(self.job) == "distance" and d > 0 else f"d {d:.4g}"
        self.pixel_info.setText(f"x {col} y {row}   {depth}   CoC {coc:+.1f}px")

    def _on_frame_spin(self, value: int) -> None:
        if not self._syncing:
            self.set_frame(value)

    def _on_key_added(self, name: str, frame: float, value: float) -> None:
        frames = self.shot.frames if self.shot else ()
        self.edit_curve(name, lambda c: keyops.set_key(c, frame, value, frames=frames),
                        f"Add {name} key at frame {frame:g}")

    def _on_key_moved(self, name: str, frame: float, new_frame: float, new_value: float) -> None:
        self.edit_curve(name, lambda c: keyops.move_key(c, frame, new_frame, new_value),
                        f"Move {name} key {frame:g} → {new_frame:g}")

    def _on_key_deleted(self, name: str, frame: float) -> None:
        self.edit_curve(name, lambda c: keyops.remove_key(c, frame), f"Delete {name} key at frame {frame:g}")

    def _on_interpolation(self, name: str, frame: float, interpolation: str) -> None:
        self.edit_curve(name, lambda c: keyops.set_interpolation(c, frame, interpolation),
                        f"{interpolation.capitalize()} {name} key at frame {frame:g}")

    def _on_key_selected(self, frame: object) -> None:
        if isinstance(frame, float) and self.shot is not None and frame.is_integer() and int(frame) in self.shot.frames:
            self.set_frame(int(frame))
        self._sync_key_editor()

    def _on_curve_combo(self, index: int) -> None:
        self.timeline.set_active(self.curve_combo.itemData(index))
        self._sync_key_editor()

    def _on_value_spin(self, value: float) -> None:
        if self._syncing or self.frame is None or self.job is None:
            return
        name, frame = self.timeline.active, self.frame
        frames = self.shot.frames if self.shot else ()
        self.edit_curve(name, lambda c: keyops.set_key(c, frame, value, frames=frames),
                        f"Set {name} to {value:g} at frame {frame}", merge_key=f"value:{name}:{frame}")

    def _on_interp_combo(self, index: int) -> None:
        if self.frame is None or self.job is None:
            return
        self._on_interpolation(self.timeline.active, float(self.frame), self.interp_combo.itemData(index))

    def _on_depth_kind(self, index: int) -> None:
        job = self.job
        kind = self.depth_kind_combo.itemData(index)
        if job is None or kind == job.depth.kind:
            return
        self._try_edit_job(job.replace(depth=dataclasses.replace(job.depth, kind=kind)), f"Depth is {kind}")

    def _on_output_edit(self) -> None:
        from focuspull.io import SequencePattern

        job, text = self.job, self.output_edit.text().strip()
        if self._syncing or job is None or text == job.output.pattern:
            return
        try:
            SequencePattern.parse(text)
            if SequencePattern.parse(text).same_files_as(SequencePattern.parse(job.input.pattern)):
                raise JobError(f"output {text} names the input plate's files")
        except FocusPullError as err:
            self.show_error(f"output: {err}")
            self._sync_job_fields()
            return
        self._try_edit_job(job.replace(output=dataclasses.replace(job.output, pattern=text)), "Output pattern")

    def _on_frames_edit(self) -> None:
        from focuspull.io import parse_frames

        job, text = self.job, self.frames_edit.text().strip()
        if self._syncing or job is None or (text or None) == job.input.frames:
            return
        try:
            if text:
                parse_frames(text)
        except FocusPullError as err:
            self.show_error(f"frames: {err}")
            self._sync_job_fields()
            return
        self._try_edit_job(job.replace(input=dataclasses.replace(job.input, frames=text or None)), "Frame range")

    def _on_display_combo(self, index: int) -> None:
        if not self._syncing and index >= 0:
            self.set_display_view(self.display_combo.itemData(index), None)

    def _on_view_combo(self, index: int) -> None:
        if not self._syncing and index >= 0:
            self.view_name = self.view_combo.itemData(index)
            self.refresh_view()

    def _on_exposure_spin(self, value: float) -> None:
        if not self._syncing:
            self.exposure_stops = float(value)
            self.refresh_view()

    def _on_frame_cached(self, frame: int) -> None:
        self.timeline.set_cached(self.cache.frames())

    def _on_preview_ready(self, result: PreviewResult) -> None:
        self.last_preview = result
        self._preview_error = ""
        if self.source == "preview" and result.frame == self.frame:
            self.refresh_view()

    def _on_preview_failed(self, message: str) -> None:
        self._preview_error = message
        self.show_error(f"preview: {message}")
        if self.source == "preview":
            self.refresh_view()

    def _on_render_progress(self, done: int, total: int, frame: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if done:
            self.show_status(f"rendered frame {frame} ({done}/{total})")

    def _on_render_finished(self, report: Any) -> None:
        self.show_status(f"rendered {len(report.frames)} frames to {report.output} in {report.seconds:.1f}s")
        # "Open the result": show the render where the artist is looking.
        self.set_source("render")

    def _play_step(self) -> None:
        if self.shot is None or self.frame is None:
            self.toggle_playback()
            return
        frames = self.shot.frames
        cached = self.cache.frames()
        start = frames.index(self.frame)
        for step in range(1, len(frames) + 1):
            frame = frames[(start + step) % len(frames)]
            if frame in cached:
                if frame != self.frame:
                    self.set_frame(frame)
                return
        self.toggle_playback()

    # ================================================================== file dialogs
    def _ask_open_plate(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a frame of the plate", "",
                                                        "Images (*.exr *.tif *.tiff *.dpx *.png);;All files (*)")
        if path:
            self.open_pattern(_pattern_from_file(path))

    def _ask_open_job(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a job", "", "Jobs (*.json);;All files (*)")
        if path:
            self.open_job(path)

    def _ask_save_job(self) -> None:
        if self.job is None:
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the job", self.document.path or "job.json",
                                                        "Jobs (*.json)")
        if path:
            try:
                self.save_job(path)
            except (OSError, FocusPullError) as err:
                self.show_error(f"cannot save {path}: {err}")

    def _save_or_ask(self) -> None:
        if self.document.path:
            try:
                self.save_job()
            except (OSError, FocusPullError) as err:
                self.show_error(f"cannot save: {err}")
        else:
            self._ask_save_job()


def _pattern_from_file(path: str) -> str:
    """``/a/plate.1001.exr`` -> ``/a/plate.####.exr`` (the frame number's digits become hashes)."""
    import re

    folder, name = os.path.split(path)
    match = re.search(r"(\d+)(\.[^.]+)$", name)
    if not match:
        return path
    digits = match.group(1)
    return os.path.join(folder, name[: match.start(1)] + "#" * len(digits) + match.group(2))


def _release_workers(threads: tuple, loader_worker: Any, render_worker: Any, cache: FrameCache, *args: Any) -> None:
    loader_worker.token = -1
    cache.clear()
    render_worker.cancel_event.set()
    for thread in threads:
        try:
            thread.quit()
        except RuntimeError:  # already gone with the application
            pass
