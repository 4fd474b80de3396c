"""Rendering the job's range from the UI: the core's render_job as a background task.

Progress arrives as the same events the CLI prints with ``--progress jsonl``
(through ``CallbackProgress``) and crosses to the GUI thread as the task's
reports. Cancel sets the event that ``render_job`` checks before each frame;
frames already written stay (each was written atomically).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from focuspull.errors import FocusPullError
from focuspull.ui._qt import QtCore
from focuspull.ui.tasks import NICE_HEAVY, CancelToken, Report, TaskRunner

if TYPE_CHECKING:
    from focuspull.job import Job

log = logging.getLogger(__name__)


def render_task(job: "Job", cancel: CancelToken, report: Report) -> Any:
    from focuspull.pipeline import render_job
    from focuspull.progress import CallbackProgress

    return render_job(job, CallbackProgress(report), cancel=cancel.event)


class RenderController(QtCore.QObject):
    progress = QtCore.Signal(int, int, int)  # done, total, frame
    stage = QtCore.Signal(str, int, int)  # stage ("depth", "stabilize"), done, total: work before the frames
    finished = QtCore.Signal(object)  # RenderReport
    failed = QtCore.Signal(str)
    cancelled = QtCore.Signal()
    runningChanged = QtCore.Signal(bool)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = TaskRunner("focuspull-render", self, nice=NICE_HEAVY)
        self.runner.reported.connect(self._on_event)
        self.runner.finished.connect(lambda task, report: self.finished.emit(report))
        self.runner.failed.connect(lambda task, message: self.failed.emit(message))
        self.runner.cancelled.connect(lambda task: self.cancelled.emit())
        self.runner.busyChanged.connect(self.runningChanged)

    @property
    def running(self) -> bool:
        return self.runner.busy

    def start(self, job: "Job") -> None:
        if self.running:
            raise FocusPullError("a render is already running; cancel it first")
        self.runner.submit(lambda cancel, report: render_task(job, cancel, report))

    def cancel(self) -> None:
        self.runner.cancel()

    def shutdown(self) -> None:
        self.runner.shutdown()

    @QtCore.Slot(int, object)
    def _on_event(self, task: int, event: Any) -> None:
        if event.get("event") == "stage":
            self.stage.emit(str(event["stage"]), int(event["done"]), int(event["total"]))
        elif event.get("event") == "start":
            self.progress.emit(0, int(event["total"]), int(event.get("first") or 0))
        elif event.get("event") == "frame":
            self.progress.emit(int(event["done"]), int(event["total"]), int(event["frame"]))
