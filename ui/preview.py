"""The preview: the current frame rendered by the job's engine on a worker QThread.

The GUI thread never renders. Each request carries a cancel flag; a newer
request (a scrub, a key edit) sets the flag of the one before it and waits as
the single pending request, so a fast scrub renders the frame the artist
stopped on, not every frame passed on the way. The engine renders a frame in
one call, so a render already under way finishes and is then dropped rather
than being interrupted part-way.

A reduced resolution (1/2, 1/4) renders a box-filtered plate with K divided by
the factor: K is in pixels of the plate it is applied to.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from focuspull.errors import FocusPullError
from focuspull.ui._qt import QtCore
from focuspull.ui.threads import start_worker, stop

if TYPE_CHECKING:
    import numpy as np

    from focuspull.engines.base import Engine
    from focuspull.pipeline import FrameData, Shot

log = logging.getLogger(__name__)

PREVIEW_SCALES = (1, 2, 4)


@dataclass(frozen=True)
class PreviewRequest:
    generation: int
    revision: int
    frame: int
    shot: "Shot"
    data: "FrameData"
    scale: int = 1
    cancel: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass(frozen=True)
class PreviewResult:
    generation: int
    revision: int
    frame: int
    scale: int
    rgba: "np.ndarray"  # (h, w, C) scene-linear, at 1/scale of the plate
    seconds: float
    thread_id: int  # threading.get_ident() of the thread that rendered it


def downsample(data: "FrameData", factor: int) -> "FrameData":
    """Box-filter the plate by an integer factor; depth is point-sampled so edges stay edges."""
    if factor == 1:
        return data
    height, width = data.disparity.shape
    h, w = height // factor, width // factor
    if h < 1 or w < 1:
        raise FocusPullError(f"a {width}x{height} frame is too small for a 1/{factor} preview")
    rgba = data.rgba[: h * factor, : w * factor]
    rgba = rgba.reshape(h, factor, w, factor, rgba.shape[-1]).mean(axis=(1, 3), dtype="float32")
    mid = factor // 2
    disparity = data.disparity[mid : h * factor : factor, mid : w * factor : factor]
    return dataclasses.replace(data, rgba=rgba.astype("float32"), disparity=disparity.copy())


def render_preview(engine: "Engine", shot: "Shot", data: "FrameData", scale: int = 1) -> "np.ndarray":
    """One frame through the engine at 1/scale resolution; (h, w, C) scene-linear."""
    import torch

    from focuspull.pipeline import engine_input

    small = downsample(data, scale)
    with torch.inference_mode():
        batch = engine_input(shot, [small], engine.device)
        if scale != 1:
            batch = dataclasses.replace(batch, params=batch.params.replace(strength_px=batch.params.strength_px / scale))
        out = engine.render(batch)
        return out.rgba[0].permute(1, 2, 0).float().cpu().numpy()


def _engine_key(shot: "Shot") -> str:
    job = shot.job
    return repr((job.engine.name, job.engine.device, job.aperture, shot.engine_options, shot.color.source))


class PreviewWorker(QtCore.QObject):
    """Lives on the preview thread; keeps one engine while its settings do not change."""

    finished = QtCore.Signal(object)  # PreviewResult
    failed = QtCore.Signal(object, str)  # PreviewRequest, message
    dropped = QtCore.Signal(object)  # PreviewRequest (cancelled)

    def __init__(self, engine_factory: Callable[["Shot"], "Engine"] | None = None) -> None:
        super().__init__()
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._engine_key: str | None = None

    def _engine_for(self, shot: "Shot") -> "Engine":
        key = _engine_key(shot)
        if self._engine is None or key != self._engine_key:
            if self._engine_factory is not None:
                self._engine = self._engine_factory(shot)
            else:
                from focuspull.pipeline import make_engine

                self._engine = make_engine(shot)
            self._engine_key = key
        return self._engine

    @QtCore.Slot(object)
    def run(self, request: PreviewRequest) -> None:
        if request.cancel.is_set():
            self.dropped.emit(request)
            return
        started = time.monotonic()
        try:
            engine = self._engine_for(request.shot)
            if request.cancel.is_set():
                self.dropped.emit(request)
                return
            rgba = render_preview(engine, request.shot, request.data, request.scale)
        except FocusPullError as err:
            self.failed.emit(request, str(err))
            return
        except Exception as err:  # an engine bug must not kill the thread
            log.exception("preview of frame %d failed", request.frame)
            self.failed.emit(request, f"{type(err).__name__}: {err}")
            return
        if request.cancel.is_set():
            self.dropped.emit(request)
            return
        self.finished.emit(
            PreviewResult(
                generation=request.generation,
                revision=request.revision,
                frame=request.frame,
                scale=request.scale,
                rgba=rgba,
                seconds=time.monotonic() - started,
                thread_id=threading.get_ident(),
            )
        )


class PreviewController(QtCore.QObject):
    """GUI-side: coalesces requests, forwards only the newest result."""

    ready = QtCore.Signal(object)  # PreviewResult of the newest request
    failed = QtCore.Signal(str)
    busyChanged = QtCore.Signal(bool)
    _submit = QtCore.Signal(object)

    def __init__(
        self, engine_factory: Callable[["Shot"], "Engine"] | None = None, parent: QtCore.QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._generation = 0
        self._running: PreviewRequest | None = None
        self._pending: PreviewRequest | None = None
        self.worker = PreviewWorker(engine_factory)
        self._submit.connect(self.worker.run)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.dropped.connect(self._on_dropped)
        self._thread = start_worker(self.worker, "focuspull-preview")

    @property
    def busy(self) -> bool:
        return self._running is not None

    @property
    def generation(self) -> int:
        return self._generation

    def request(self, shot: "Shot", data: "FrameData", revision: int, scale: int = 1) -> int:
        """Ask for a preview; cancels whatever was asked before. Returns its generation."""
        if scale not in PREVIEW_SCALES:
            raise ValueError(f"preview scale {scale}; expected one of {PREVIEW_SCALES}")
        self._generation += 1
        request = PreviewRequest(self._generation, revision, data.frame, shot, data, scale)
        if self._running is not None:
            self._running.cancel.set()
        if self._pending is not None:
            self._pending.cancel.set()
        self._pending = request
        self._start_next()
        return request.generation

    def cancel(self) -> None:
        self._generation += 1
        for request in (self._running, self._pending):
            if request is not None:
                request.cancel.set()
        self._pending = None

    def shutdown(self) -> None:
        self.cancel()
        stop(self._thread)

    def _start_next(self) -> None:
        if self._running is not None or self._pending is None:
            return
        self._running, self._pending = self._pending, None
        self.busyChanged.emit(True)
        self._submit.emit(self._running)

    def _done(self) -> None:
        self._running = None
        if self._pending is None:
            self.busyChanged.emit(False)
        self._start_next()

    @QtCore.Slot(object)
    def _on_finished(self, result: PreviewResult) -> None:
        self._done()
        if result.generation == self._generation:
            self.ready.emit(result)

    @QtCore.Slot(object, str)
    def _on_failed(self, request: Any, message: str) -> None:
        self._done()
        if request.generation == self._generation:
            self.failed.emit(message)

    @QtCore.Slot(object)
    def _on_dropped(self, request: Any) -> None:
        self._done()
