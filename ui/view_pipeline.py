"""From the view-model to pixels on screen, all of it off the GUI thread.

``ViewPipeline`` follows the model's changes and drives three background
tasks: the frame loader (a frame not yet in memory is read next, and shown
when it arrives), the progressive preview and the composer (display
transform, overlays, wipe). The GUI thread only snapshots the model and puts
finished images on screen, so scrubbing never waits for a read, a render or a
colour transform. Changes made in one turn of the event loop are gathered
into one request.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from focuspull.ui import model as m
from focuspull.ui._qt import QtCore
from focuspull.ui.cache import CacheLoader
from focuspull.ui.compose import ComposeRequest, Composed, compose
from focuspull.ui.preview import PreviewPipeline, PreviewRequest, PreviewResult
from focuspull.ui.tasks import TaskRunner

if TYPE_CHECKING:
    from focuspull.engines.base import Engine
    from focuspull.pipeline import Shot

log = logging.getLogger(__name__)


class ViewPipeline(QtCore.QObject):
    shown = QtCore.Signal(object)  # Composed, for the viewer
    previewReady = QtCore.Signal(object)  # PreviewResult accepted for the current frame
    cacheChanged = QtCore.Signal(object)  # set of frames in memory
    failed = QtCore.Signal(str)

    def __init__(
        self,
        model: m.WorkspaceModel,
        step: Callable[[tuple[int, int]], int],
        engine_factory: Callable[["Shot"], "Engine"] | None = None,
        parent: QtCore.QObject | None = None,
    ) -> None:
        """``step(plate_size)``: plate pixels per shown pixel at the viewer's current zoom."""
        super().__init__(parent)
        self.model = model
        self._step = step
        self.previewer = PreviewPipeline(engine_factory, self)
        self.loader = CacheLoader(model.cache, self, on_read=self.previewer.proxies.get)
        self.composer = TaskRunner("focuspull-compose", self)
        #: the best preview of the current frame so far
        self.preview: PreviewResult | None = None
        #: what is on screen
        self.last: Composed | None = None
        self._asked: tuple | None = None  # (frame, revision, scale) of the last preview request
        self.preview_error = ""
        self._dirty = False
        self._closed = False
        self._timer = QtCore.QTimer(self)  # gathers the changes of one event-loop turn; dies with the pipeline
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._update)

        model.changed.connect(self._on_model_changed)
        self.loader.loaded.connect(self._on_loaded)
        self.loader.evicted.connect(lambda frames: self.cacheChanged.emit(model.cache.frames()))
        self.loader.failed.connect(self.failed)
        self.previewer.ready.connect(self._on_preview)
        self.previewer.failed.connect(self._on_preview_failed)
        self.composer.finished.connect(self._on_composed)
        self.composer.reported.connect(self._on_composed)  # a quick reduced picture before the full one
        self.composer.failed.connect(lambda task, message: self.failed.emit(message))

    def settled(self) -> bool:
        """The viewer shows the current frame and job, and (previewing) the engine's preview at the chosen resolution."""
        model, last = self.model, self.last
        if model.shot is None:
            return True
        if self._dirty or self.composer.busy or last is None or last.quick:
            return False
        if (last.frame, last.revision, last.source) != (model.frame, model.revision, model.source):
            return False
        if model.source != "preview" or self.preview_error:
            return True
        p = self.preview
        final = p is not None and (p.frame, p.revision, p.scale, p.method) == (
            model.frame, model.revision, model.preview_scale, "engine")
        return final and last.label == p.label  # type: ignore[union-attr]

    def refresh(self) -> None:
        """Compose again soon (e.g. the viewer's zoom changed how many pixels it needs)."""
        self._schedule()

    def shutdown(self) -> None:
        self._closed = True
        self._timer.stop()
        self.model.changed.disconnect(self._on_model_changed)
        self.loader.shutdown()
        self.previewer.shutdown()
        self.composer.shutdown()

    # -- model changes -------------------------------------------------------------------
    def _on_model_changed(self, aspects: frozenset[str]) -> None:
        if m.SHOT in aspects:
            self.preview, self._asked = None, None
            self.previewer.cancel()
            self.cacheChanged.emit(set())
            if self.model.shot is not None:
                self.loader.start(self.model.shot, self.model.frame)
        if aspects & {m.SHOT, m.JOB, m.FRAME, m.VIEW, m.FLASH}:
            self._schedule()

    def _schedule(self) -> None:
        if not self._dirty and not self._closed:
            self._dirty = True
            self._timer.start()

    def _update(self) -> None:
        self._dirty = False
        model = self.model
        if self._closed or model.shot is None or model.frame is None:
            return
        data = model.cached_frame()
        if data is None:  # read it next; shown when the loader says it is there
            if model.frame not in model.cache:
                self.loader.start(model.shot, model.frame)
            return
        if self.preview is not None and self.preview.frame != model.frame:
            self.preview = None
        if model.source == "preview":
            asked = self._request_preview(data)
            stale = self.preview is None or self.preview.revision != model.revision
            if asked and stale:
                return  # the coarse picture is milliseconds away: compose that, not an outdated one
        else:
            self.previewer.cancel()
            self._asked = None
        self._compose(data)

    def _request_preview(self, data: object) -> bool:
        """Ask for the preview of the current state unless it was asked for already; True when asked now."""
        model = self.model
        key = (model.frame, model.revision, model.preview_scale)
        if key == self._asked:
            return False
        self._asked = key
        self.preview_error = ""
        self.previewer.request(PreviewRequest(model.revision, model.shot, data, model.preview_scale,  # type: ignore[arg-type]
                                              model.coc_law()))
        return True

    def _compose(self, data: object) -> None:
        model = self.model
        assert model.shot is not None and model.frame is not None
        preview = self.preview
        label = ""
        if preview is not None:
            label = preview.label + ("" if preview.revision == model.revision else " · updating…")
        flash = model.flash is not None and model.flash.frame == model.frame
        request = ComposeRequest(
            frame=model.frame, revision=model.revision, plate=data, color=model.shot.color,  # type: ignore[arg-type]
            source=model.source, result=preview.rgba if preview is not None else None, label=label,
            result_scale=preview.scale if preview is not None else 1,
            render_path=model.shot.output.path(model.frame) if model.source == "render" else None,
            render_colorspace=model.shot.output_colorspace,
            display=model.display, view=model.view_name, exposure_stops=model.exposure_stops,
            overlay=model.overlay, wipe=model.wipe, flash=flash,
            coc_law=model.coc_law(),
            focus_threshold_px=model.focus_threshold_px,
            step=self._step(data.disparity.shape[::-1]),  # type: ignore[attr-defined]
        )
        self.composer.submit(functools.partial(_compose_task, request))

    # -- results ---------------------------------------------------------------------------
    def _on_loaded(self, frame: int) -> None:
        self.cacheChanged.emit(self.model.cache.frames())
        if frame == self.model.frame and (self.last is None or self.last.frame != frame):
            self._schedule()

    def _on_preview(self, result: PreviewResult) -> None:
        if result.frame != self.model.frame:
            return
        if self.preview is None or self.preview.frame != result.frame or result.rank() >= self.preview.rank():
            self.preview = result
            self.previewReady.emit(result)
            if self.model.source == "preview":
                self._schedule()

    def _on_preview_failed(self, message: str) -> None:
        self.preview_error = message
        self.failed.emit(f"preview: {message}")
        self._schedule()

    def _on_composed(self, task: int, composed: Composed) -> None:
        self.last = composed
        self.shown.emit(composed)


#: a composed picture larger than this (pixels) is preceded by one at a quarter of its size
QUICK_PICTURE_PX = 200_000
QUICK_STEP = 4


def _compose_task(request: ComposeRequest, cancel, report) -> Composed:  # type: ignore[no-untyped-def]
    height, width = request.plate.disparity.shape
    if (height // request.step) * (width // request.step) > QUICK_PICTURE_PX:
        quick = compose(dataclasses.replace(request, step=request.step * QUICK_STEP), cancel)
        report(dataclasses.replace(quick, quick=True))
    return compose(request, cancel)
