"""The focus-pull workspace: the view-model, its panels and its background tasks, assembled.

``FocusPullWidget`` is what a standalone window and a Nuke panel both show.
The state lives in :class:`~focuspull.ui.model.WorkspaceModel` (no Qt); each
panel binds to it; the view pipeline and the render run as background tasks.
This module only builds and connects them, and holds the file dialogs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from focuspull.errors import FocusPullError
from focuspull.ui import model as m
from focuspull.ui._qt import QtCore, QtGui, QtWidgets, warn_if_known_bad_release
from focuspull.ui.actions import WorkspaceActions
from focuspull.ui.keys_panel import KeysPanel
from focuspull.ui.render import RenderController
from focuspull.ui.render_bar import RenderBar
from focuspull.ui.session import DEFAULT_CACHE_BYTES, pattern_from_file
from focuspull.ui.timeline_panel import Playback, TimelinePanel
from focuspull.ui.view_pipeline import ViewPipeline
from focuspull.ui.viewer_panel import ViewerPanel

if TYPE_CHECKING:
    from focuspull.engines.base import Engine
    from focuspull.pipeline import Shot

log = logging.getLogger(__name__)

_ERROR_STYLE = "color: rgb(240, 110, 100);"


class FocusPullWidget(QtWidgets.QWidget):
    """The workspace. Constructible without arguments (Nuke builds panels that way)."""

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
        model = self.model = m.WorkspaceModel(cache_bytes)
        self.playback = Playback(model, parent=self)
        self.actions = WorkspaceActions(self, {
            "open_plate": self._ask_open_plate, "open_job": self._ask_open_job,
            "save_job": self._save_or_ask, "save_job_as": self._ask_save_job,
            "undo": model.undo, "redo": model.redo, "play": self.playback.toggle,
            "prev": lambda: model.step_frame(-1), "next": lambda: model.step_frame(1),
            "first": lambda: model.step_frame(-len(model.frames)), "last": lambda: model.step_frame(len(model.frames)),
            "key": model.key_current_value,
            "delete_key": lambda: model.delete_current_key(self.timeline.timeline.selected_key()),
            "render": self.start_render, "cancel": self.cancel_render, "fit": lambda: self.viewer.view.fit(),
        })
        a = self.actions
        self.renderer = RenderController(self)
        self.viewer = ViewerPanel(model, (a.open_plate, a.open_job, a.save_job, None, a.undo, a.redo, None), self)
        self.pipeline = ViewPipeline(model, self.viewer.display_step, engine_factory, self)
        self.keys = KeysPanel(model, a.key, a.delete_key, self)
        self.timeline = TimelinePanel(model, a.transport, self)
        self.render_bar = RenderBar(model, self.renderer, a.render, a.cancel, self)
        self.status = QtWidgets.QLabel()
        self.status.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        self._flash_timer = QtCore.QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(model.end_flash)

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.viewer, 1)
        for panel in (self.timeline, self.keys, self.render_bar, self.status):
            layout.addWidget(panel)

        self.pipeline.shown.connect(self.viewer.show_composed)
        self.pipeline.cacheChanged.connect(self.timeline.set_cached)
        self.pipeline.failed.connect(model.error)
        self.viewer.zoomChanged.connect(self.pipeline.refresh)
        self.playback.stopped.connect(lambda: a.play.setChecked(False))
        self.renderer.finished.connect(self._on_render_finished)
        self.renderer.failed.connect(lambda message: model.error(f"render failed: {message}"))
        self.renderer.cancelled.connect(lambda: model.info("render cancelled"))
        self.renderer.runningChanged.connect(lambda running: self._sync_actions())
        model.message.connect(self._show_message)
        model.changed.connect(self._on_changed)
        self._closed = False
        self._on_changed(frozenset({m.SHOT, m.UNDO}))

    # -- commands --------------------------------------------------------------------------
    def start_render(self) -> None:
        """Render the job's frames, with whatever was typed in the fields committed first."""
        model = self.model
        if model.job is None:
            model.error("open a plate or a job first")
            return
        self.keys.commit()
        if not self.render_bar.commit():
            return
        try:
            self.renderer.start(model.job)
        except FocusPullError as err:
            model.error(str(err))
            return
        self.render_bar.start(len(model.frames))
        model.info(f"rendering to {model.job.output.pattern}")

    def cancel_render(self) -> None:
        if self.renderer.running:
            self.renderer.cancel()
            self.model.info("cancelling after the current frame…")

    def shutdown(self) -> None:
        """Stop the background tasks (a running render stops after its current frame)."""
        if self._closed:
            return
        self._closed = True
        self.playback.timer.stop()
        self._flash_timer.stop()
        self.pipeline.shutdown()
        self.renderer.shutdown()
        self.model.cache.clear()

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    # -- model to widgets -----------------------------------------------------------------------
    def _on_changed(self, aspects: frozenset[str]) -> None:
        if m.FLASH in aspects and self.model.flash is not None:
            self._flash_timer.start(int(m.FLASH_S * 1000))
        if aspects & {m.SHOT, m.UNDO, m.JOB}:
            self._sync_actions()
            self.titleChanged.emit(self.model.title())

    def _sync_actions(self) -> None:
        a, model = self.actions, self.model
        stack = model.undo_stack
        a.undo.setEnabled(stack.can_undo)
        a.undo.setText(f"Undo {stack.undo_text}".strip())
        a.redo.setEnabled(stack.can_redo)
        a.redo.setText(f"Redo {stack.redo_text}".strip())
        for action in a.needs_job:
            action.setEnabled(model.job is not None)
        a.render.setEnabled(model.job is not None and not self.renderer.running)
        a.cancel.setEnabled(self.renderer.running)

    def _show_message(self, text: str, is_error: bool) -> None:
        self.status.setStyleSheet(_ERROR_STYLE if is_error else "")
        self.status.setText(text)
        self.statusChanged.emit(text)

    def _on_render_finished(self, report: object) -> None:
        self.model.depth_written()
        self.model.info(f"rendered {len(report.frames)} frames to {report.output} in {report.seconds:.1f}s")  # type: ignore[attr-defined]
        self.model.set_source("render")  # "open the result": show it where the artist is looking

    # -- file dialogs -------------------------------------------------------------------------------
    def _ask_open_plate(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a frame of the plate", "",
                                                        "Images (*.exr *.tif *.tiff *.dpx *.png);;All files (*)")
        if path:
            self.model.open_pattern(pattern_from_file(path))

    def _ask_open_job(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a job", "", "Jobs (*.json);;All files (*)")
        if path:
            self.model.open_job(path)

    def _ask_save_job(self) -> None:
        if self.model.job is None:
            return
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the job", self.model.path or "job.json",
                                                        "Jobs (*.json)")
        if path:
            self._save(path)

    def _save_or_ask(self) -> None:
        if self.model.path:
            self._save(None)
        else:
            self._ask_save_job()

    def _save(self, path: str | None) -> None:
        try:
            self.model.save_job(path)
        except (OSError, FocusPullError) as err:
            self.model.error(f"cannot save {path or self.model.path}: {err}")
