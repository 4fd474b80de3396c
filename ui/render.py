"""Rendering the job's range from the UI: the core's render_job on a worker QThread.

Progress arrives as the same events the CLI prints with ``--progress jsonl``
(through ``CallbackProgress``) and crosses to the GUI thread as a Qt signal.
Cancel sets the ``threading.Event`` that ``render_job`` checks before each
frame; frames already written stay (each was written atomically).
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from focuspull.errors import CancelledError, FocusPullError
from focuspull.ui._qt import QtCore
from focuspull.ui.threads import start_worker, stop

if TYPE_CHECKING:
    from focuspull.job import Job

log = logging.getLogger(__name__)


class RenderWorker(QtCore.QObject):
    event = QtCore.Signal(object)  # progress event dict
    finished = QtCore.Signal(object)  # RenderReport
    failed = QtCore.Signal(str, str)  # code, message
    cancelled = QtCore.Signal()

    def __init__(self) -> None:
        super().__init__()
        self.cancel_event = threading.Event()

    @QtCore.Slot(object)
    def run(self, job: "Job") -> None:
        from focuspull.pipeline import render_job
        from focuspull.progress import CallbackProgress

        try:
            report = render_job(job, CallbackProgress(self.event.emit), cancel=self.cancel_event)
        except CancelledError:
            self.cancelled.emit()
        except FocusPullError as err:
            self.failed.emit(err.code, str(err))
        except Exception as err:  # keep the thread alive; the message reaches the artist
            log.exception("render failed")
            self.failed.emit("internal_error", f"{type(err).__name__}: {err}")
        else:
            self.finished.emit(report)


class RenderController(QtCore.QObject):
    progress = QtCore.Signal(int, int, int)  # done, total, frame
    finished = QtCore.Signal(object)  # RenderReport
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()
    runningChanged = QtCore.Signal(bool)
    _submit = QtCore.Signal(object)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self._running = False
        self.worker = RenderWorker()
        self._submit.connect(self.worker.run)
        self.worker.event.connect(self._on_event)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.cancelled.connect(self._on_cancelled)
        self._thread = start_worker(self.worker, "focuspull-render")

    @property
    def running(self) -> bool:
        return self._running

    def start(self, job: "Job") -> None:
        if self._running:
            raise FocusPullError("a render is already running; cancel it first")
        self.worker.cancel_event = threading.Event()
        self._set_running(True)
        self._submit.emit(job)

    def cancel(self) -> None:
        self.worker.cancel_event.set()

    def shutdown(self) -> None:
        self.cancel()
        stop(self._thread)

    def _set_running(self, running: bool) -> None:
        self._running = running
        self.runningChanged.emit(running)

    @QtCore.Slot(object)
    def _on_event(self, event: Any) -> None:
        if event.get("event") == "start":
            self.progress.emit(0, int(event["total"]), int(event.get("first") or 0))
        elif event.get("event") == "frame":
            self.progress.emit(int(event["done"]), int(event["total"]), int(event["frame"]))

    @QtCore.Slot(object)
    def _on_finished(self, report: Any) -> None:
        self._set_running(False)
        self.finished.emit(report)

    @QtCore.Slot(str, str)
    def _on_failed(self, code: str, message: str) -> None:
        self._set_running(False)
        self.failed.emit(message)

    @QtCore.Slot()
    def _on_cancelled(self) -> None:
        self._set_running(False)
        self.cancelled.emit()
