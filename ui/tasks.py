"""One background-task base for the frame cache, the preview, the viewer's images and the render.

A :class:`TaskRunner` owns a worker QThread. ``submit(fn)`` runs
``fn(cancel, report)`` there: ``cancel`` is a :class:`CancelToken` the task
checks between steps, ``report(payload)`` sends an intermediate result. A
newer submission cancels the running task and replaces the waiting one (the
newest wins: a fast scrub renders the frame the artist stopped on, not every
frame passed on the way). Results, reports and errors arrive as Qt signals on
the GUI thread, tagged with the task id; those of a cancelled task are
dropped. A task already inside a long call (one engine render) finishes that
call and is then dropped, so tasks check ``cancel`` between their steps.

On Linux a runner's thread can run at a lower scheduling priority (``nice``;
threads its tasks start inherit it): the engine, which keeps every core busy
for seconds, then yields to the GUI thread and to the short tasks that put a
picture on screen, and still gets the rest of the CPU.

Qt aborts the process when a running QThread is destroyed, and a widget can
be destroyed without being closed (garbage collection, a host deleting a
panel), so threads are kept in a module registry until they have finished,
and stopped when the application quits.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from focuspull.errors import CancelledError, FocusPullError
from focuspull.ui._qt import QtCore

log = logging.getLogger(__name__)

Report = Callable[[Any], None]

#: nice increments for long CPU-bound work (an engine render) and for reading ahead
NICE_HEAVY = 10
NICE_BACKGROUND = 5


def _lower_this_threads_priority(nice: int) -> None:
    if nice > 0 and sys.platform.startswith("linux"):
        try:  # on Linux a thread is a task with its own nice value
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
        except OSError as err:  # never fatal: the tasks run at the normal priority
            log.debug("cannot lower the worker thread's priority: %s", err)


class CancelToken:
    """Set by the GUI thread when a newer task replaces this one; checked by the task."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def cancel(self) -> None:
        self.event.set()

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()

    def check(self) -> None:
        """Raise :class:`CancelledError` when cancelled (a task calls this between its steps)."""
        if self.event.is_set():
            raise CancelledError("cancelled by a newer request")


@dataclass
class _Task:
    id: int
    fn: Callable[[CancelToken, Report], Any]
    cancel: CancelToken = field(default_factory=CancelToken)


class _Worker(QtCore.QObject):
    reported = QtCore.Signal(int, object)
    finished = QtCore.Signal(int, object)
    failed = QtCore.Signal(int, str)
    dropped = QtCore.Signal(int)

    def __init__(self, nice: int) -> None:
        super().__init__()
        self._nice = nice

    @QtCore.Slot(object)
    def run(self, task: _Task) -> None:
        if self._nice:  # the first task runs on the worker thread: lower its priority once
            _lower_this_threads_priority(self._nice)
            self._nice = 0
        token = task.cancel

        def report(payload: Any) -> None:
            if not token.cancelled:
                self.reported.emit(task.id, payload)

        try:
            token.check()
            result = task.fn(token, report)
            token.check()
        except CancelledError:
            self.dropped.emit(task.id)
        except FocusPullError as err:
            self.failed.emit(task.id, str(err))
        except Exception as err:  # a bug in a task must not kill the thread; the message reaches the artist
            log.exception("background task %d failed", task.id)
            self.failed.emit(task.id, f"{type(err).__name__}: {err}")
        else:
            self.finished.emit(task.id, result)


class TaskRunner(QtCore.QObject):
    """GUI-side owner of one worker thread: newest task wins, results come back as signals."""

    reported = QtCore.Signal(int, object)  # task id, payload of report()
    finished = QtCore.Signal(int, object)  # task id, return value
    failed = QtCore.Signal(int, str)  # task id, message
    cancelled = QtCore.Signal(int)  # task id of a task that was cancelled (and has now stopped)
    busyChanged = QtCore.Signal(bool)
    _submit = QtCore.Signal(object)

    _ids = itertools.count(1)

    def __init__(self, name: str, parent: QtCore.QObject | None = None, *, nice: int = 0) -> None:
        """``nice``: how much lower than the GUI thread the worker thread runs (Linux; 0: the same)."""
        super().__init__(parent)
        self._running: _Task | None = None
        self._pending: _Task | None = None
        self._closed = False
        self._worker = _Worker(nice)
        self._submit.connect(self._worker.run)
        self._worker.reported.connect(self._on_reported)
        self._worker.finished.connect(self._on_finished)
        self._worker.failed.connect(self._on_failed)
        self._worker.dropped.connect(self._on_dropped)
        self._thread = _start(self._worker, name)
        # A runner destroyed without shutdown() (its owner garbage-collected) still stops its task and thread.
        self._tokens: list[CancelToken] = []
        self.destroyed.connect(_quitter(self._thread, self._tokens))

    @property
    def busy(self) -> bool:
        return self._running is not None or self._pending is not None

    @property
    def current(self) -> int | None:
        """Id of the newest task not cancelled (running or waiting)."""
        task = self._pending or self._running
        return None if task is None or task.cancel.cancelled else task.id

    def submit(self, fn: Callable[[CancelToken, Report], Any]) -> int:
        """Run ``fn(cancel, report)`` on the worker thread, cancelling what was asked before; returns its id."""
        if self._closed:
            raise FocusPullError("the workspace is closed")
        self.cancel()
        task = self._pending = _Task(next(self._ids), fn)
        self._start_next()
        self._tokens[:] = [t.cancel for t in (self._running, self._pending) if t is not None]
        return task.id

    def cancel(self) -> None:
        """Cancel the running task (it stops at its next check) and forget the waiting one."""
        if self._running is not None:
            self._running.cancel.cancel()
        if self._pending is not None:
            self._pending.cancel.cancel()
            self._pending = None
            if self._running is None:
                self.busyChanged.emit(False)

    def shutdown(self, wait: bool = True) -> None:
        self._closed = True
        self.cancel()
        self._thread.quit()
        if wait:
            self._thread.wait()

    # -- internals -------------------------------------------------------------------
    def _start_next(self) -> None:
        if self._running is not None or self._pending is None:
            return
        was_idle = self._running is None
        self._running, self._pending = self._pending, None
        if was_idle:
            self.busyChanged.emit(True)
        self._submit.emit(self._running)

    def _done(self, task_id: int) -> bool:
        """The running task ended; start the next one. True when its result is still wanted."""
        task, self._running = self._running, None
        wanted = task is not None and task.id == task_id and not task.cancel.cancelled
        if self._pending is None:
            self.busyChanged.emit(False)
        self._start_next()
        return wanted

    @QtCore.Slot(int, object)
    def _on_reported(self, task_id: int, payload: Any) -> None:
        task = self._running
        if task is not None and task.id == task_id and not task.cancel.cancelled:
            self.reported.emit(task_id, payload)

    @QtCore.Slot(int, object)
    def _on_finished(self, task_id: int, result: Any) -> None:
        if self._done(task_id):
            self.finished.emit(task_id, result)
        else:
            self.cancelled.emit(task_id)

    @QtCore.Slot(int, str)
    def _on_failed(self, task_id: int, message: str) -> None:
        if self._done(task_id):
            self.failed.emit(task_id, message)
        else:
            self.cancelled.emit(task_id)

    @QtCore.Slot(int)
    def _on_dropped(self, task_id: int) -> None:
        self._done(task_id)
        self.cancelled.emit(task_id)


# -- thread lifetime ---------------------------------------------------------------------
_lock = threading.Lock()
_live: list[tuple[QtCore.QThread, QtCore.QObject]] = []
_hooked = False


def _start(worker: QtCore.QObject, name: str) -> QtCore.QThread:
    """Move ``worker`` to a new started thread (its slots then run there) and keep both alive."""
    global _hooked
    thread = QtCore.QThread()
    thread.setObjectName(name)
    worker.moveToThread(thread)
    thread.start()
    with _lock:
        _live[:] = [(t, w) for t, w in _live if not t.isFinished()]
        _live.append((thread, worker))
        if not _hooked:
            app = QtCore.QCoreApplication.instance()
            if app is not None:
                app.aboutToQuit.connect(stop_all)
            atexit.register(stop_all)
            _hooked = True
    return thread


def _quitter(thread: QtCore.QThread, tokens: list[CancelToken]) -> Callable[..., None]:
    def quit_thread(*_: Any) -> None:
        for token in tokens:
            token.cancel()
        try:
            thread.quit()
        except RuntimeError:  # already gone with the application
            pass

    return quit_thread


def stop_all() -> None:
    with _lock:
        live = list(_live)
    for thread, _ in live:
        thread.quit()
    for thread, _ in live:
        thread.wait()
    with _lock:
        _live.clear()
