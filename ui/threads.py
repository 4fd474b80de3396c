"""Worker threads that outlive a careless owner.

Qt aborts the process when a running QThread is destroyed. A widget can be
destroyed without being closed (garbage collection, a host deleting a
panel), so the threads are not owned by the widgets: they are kept here until
they have finished, asked to stop when their owner goes, and stopped when the
application quits.
"""

from __future__ import annotations

import atexit
import logging
import threading

from focuspull.ui._qt import QtCore

log = logging.getLogger(__name__)

_lock = threading.Lock()
_live: list[tuple[QtCore.QThread, QtCore.QObject]] = []
_hooked = False


def start_worker(worker: QtCore.QObject, name: str) -> QtCore.QThread:
    """Move ``worker`` to a new started thread (its slots then run there)."""
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


def stop(thread: QtCore.QThread, wait: bool = True) -> None:
    """Ask the thread's event loop to end (after the slot it is running); optionally wait."""
    thread.quit()
    if wait:
        thread.wait()


def stop_all() -> None:
    with _lock:
        live = list(_live)
    for thread, _ in live:
        thread.quit()
    for thread, _ in live:
        thread.wait()
    with _lock:
        _live.clear()
