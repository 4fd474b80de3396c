"""Background frame loading: fills the frame cache so scrubbing and playback run from memory.

The walk starts at the current frame, runs to the end of the shot and wraps
round, and stops when the cache budget is full. Asking for a frame that is
not in memory restarts the walk there, so the frame the artist is looking at
is read next; a frame being read when the walk restarts is still kept.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from focuspull.errors import FocusPullError
from focuspull.ui._qt import QtCore
from focuspull.ui.session import FrameCache, frame_bytes, load_frame_data
from focuspull.ui.tasks import NICE_BACKGROUND, CancelToken, Report, TaskRunner

if TYPE_CHECKING:
    from focuspull.pipeline import FrameData, Shot

log = logging.getLogger(__name__)


def fill_cache(
    cache: FrameCache,
    shot: "Shot",
    frames: Sequence[int],
    on_read: Callable[["FrameData"], object] | None,
    cancel: CancelToken,
    report: Report,
) -> None:
    """Read ``frames`` into ``cache`` until it is full; reports (frame, evicted frames) per frame read.

    ``on_read(data)`` runs on this thread after each read (e.g. to make the preview's reduced plate).
    """
    generation = cache.generation
    last_size = None
    for frame in frames:
        cancel.check()
        if frame in cache:
            if frame == frames[0]:
                report((frame, []))  # read by a walk that was restarted here: say it is ready
            continue
        if last_size is not None and not cache.has_room(last_size):
            log.debug("frame cache full (%d bytes); stopped before frame %d", cache.nbytes, frame)
            return
        try:
            data = load_frame_data(shot, frame)
        except FocusPullError as err:
            raise FocusPullError(f"frame {frame}: {err}") from err
        last_size = frame_bytes(data)
        evicted = cache.put(data, generation)
        if on_read is not None:
            on_read(data)
        report((frame, evicted))


class CacheLoader(QtCore.QObject):
    loaded = QtCore.Signal(int)  # frame
    evicted = QtCore.Signal(object)  # frames
    failed = QtCore.Signal(str)

    def __init__(
        self,
        cache: FrameCache,
        parent: QtCore.QObject | None = None,
        on_read: Callable[["FrameData"], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.cache = cache
        self._on_read = on_read
        self.runner = TaskRunner("focuspull-frame-cache", self, nice=NICE_BACKGROUND)
        self.runner.reported.connect(self._on_reported)
        self.runner.failed.connect(lambda task, message: self.failed.emit(message))

    def start(self, shot: "Shot", first: int | None = None) -> None:
        """Load the shot's frames from ``first`` to the end, then from the start."""
        frames = list(shot.frames)
        if first in frames:
            i = frames.index(first)
            frames = frames[i:] + frames[:i]
        self.runner.submit(functools.partial(fill_cache, self.cache, shot, frames, self._on_read))

    def stop(self) -> None:
        self.runner.cancel()

    def shutdown(self) -> None:
        self.runner.shutdown()

    @QtCore.Slot(int, object)
    def _on_reported(self, task: int, payload: tuple) -> None:
        frame, evicted = payload
        if evicted:
            self.evicted.emit(evicted)
        self.loaded.emit(frame)
