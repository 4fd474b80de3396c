"""Background frame loading: fills the frame cache so playback runs from memory.

The loader walks the shot from the current frame onwards on its own QThread
and stops when the cache budget is full or the shot changes; the viewer loads
a frame itself only when it is asked for one that is not there yet.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from focuspull.errors import FocusPullError
from focuspull.ui._qt import QtCore
from focuspull.ui.threads import start_worker, stop
from focuspull.ui.session import FrameCache, frame_bytes, load_frame_data

if TYPE_CHECKING:
    from focuspull.pipeline import Shot

log = logging.getLogger(__name__)


class CacheWorker(QtCore.QObject):
    loaded = QtCore.Signal(int, int)  # token, frame
    failed = QtCore.Signal(int, int, str)  # token, frame, message
    evicted = QtCore.Signal(int, object)  # token, frames

    def __init__(self, cache: FrameCache) -> None:
        super().__init__()
        self.cache = cache
        # Written by the GUI thread, read here: a newer token stops the walk.
        self.token = 0

    @QtCore.Slot(int, object, object)
    def fill(self, token: int, shot: "Shot", frames: Sequence[int]) -> None:
        last_size = None
        for frame in frames:
            if token != self.token:
                return
            if frame in self.cache:
                continue
            if last_size is not None and not self.cache.has_room(last_size):
                log.debug("frame cache full (%d bytes); stopped before frame %d", self.cache.nbytes, frame)
                return
            try:
                data = load_frame_data(shot, frame)
            except FocusPullError as err:
                self.failed.emit(token, frame, str(err))
                return
            if token != self.token:
                return
            last_size = frame_bytes(data)
            dropped = self.cache.put(data)
            if dropped:
                self.evicted.emit(token, dropped)
            self.loaded.emit(token, frame)


class CacheLoader(QtCore.QObject):
    """Owns the loader thread; ``start`` restarts the walk for a shot."""

    loaded = QtCore.Signal(int)
    evicted = QtCore.Signal(object)
    failed = QtCore.Signal(int, str)
    _fill = QtCore.Signal(int, object, object)

    def __init__(self, cache: FrameCache, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.cache = cache
        self._token = 0
        self._worker = CacheWorker(cache)
        self._fill.connect(self._worker.fill)
        self._worker.loaded.connect(self._on_loaded)
        self._worker.evicted.connect(self._on_evicted)
        self._worker.failed.connect(self._on_failed)
        self._thread = start_worker(self._worker, "focuspull-frame-cache")

    def start(self, shot: "Shot", first: int | None = None) -> None:
        """Load the shot's frames from ``first`` to the end, then from the start."""
        frames = list(shot.frames)
        if first in frames:
            i = frames.index(first)
            frames = frames[i:] + frames[:i]
        self._token += 1
        self._worker.token = self._token
        self._fill.emit(self._token, shot, frames)

    def stop(self) -> None:
        self._token += 1
        self._worker.token = self._token

    def shutdown(self) -> None:
        self.stop()
        stop(self._thread)

    @QtCore.Slot(int, int)
    def _on_loaded(self, token: int, frame: int) -> None:
        if token == self._token:
            self.loaded.emit(frame)

    @QtCore.Slot(int, object)
    def _on_evicted(self, token: int, frames: object) -> None:
        self.evicted.emit(frames)

    @QtCore.Slot(int, int, str)
    def _on_failed(self, token: int, frame: int, message: str) -> None:
        if token == self._token:
            self.failed.emit(frame, message)
