"""Reading frame sequences: existence checks and a read-ahead iterator.

``read_sequence`` reads the next frames on a background thread while the caller
computes on the current one; OpenImageIO releases the GIL while decoding, so
EXR decompression overlaps the engine's work.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Iterator, Sequence

from focuspull.errors import FocusPullError, ImageReadError, MissingFramesError
from focuspull.io.image import ImageFrame, read_image
from focuspull.io.patterns import SequencePattern
from focuspull.io.ranges import format_frames
from focuspull.io.text import safe_text

__all__ = ["check_frames", "check_no_gaps", "read_sequence"]

log = logging.getLogger(__name__)

# How long a blocked producer waits before it looks at the stop flag again.
_POLL_S = 0.1


def check_frames(pattern: SequencePattern, frames: Sequence[int], what: str = "input") -> None:
    """Raise :class:`MissingFramesError` unless every frame's file exists.

    The message lists the missing frames compactly:
    ``input plate.####.exr: 3 frame(s) missing: 1003-1004,1010``.
    One folder listing is used for the whole check, not a stat per frame.
    """
    if not pattern.is_sequence:
        if not os.path.isfile(pattern.text):
            raise MissingFramesError(f"{what} {pattern.text}: file does not exist")
        return
    wanted = sorted(set(int(f) for f in frames))
    if not wanted:
        return
    on_disk = set(pattern.frames_on_disk())
    missing = [f for f in wanted if f not in on_disk]
    if not missing:
        return
    where = ""
    if not os.path.isdir(pattern.folder):
        where = f" (folder {pattern.folder} does not exist)"
    elif not on_disk:
        where = f" (no file in {pattern.folder} matches the pattern)"
    raise MissingFramesError(
        f"{what} {pattern.text}: {len(missing)} frame(s) missing: {format_frames(missing)}{where}"
    )


def check_no_gaps(pattern: SequencePattern, frames: Sequence[int]) -> None:
    """Raise :class:`MissingFramesError` when the frames found on disk have holes.

    A hole is far more often a failed render or copy than a wish: it is an
    error listing the missing frames unless the frame list (``--frames``)
    leaves them out.
    """
    found = sorted(set(int(f) for f in frames))
    if len(found) < 2:
        return
    missing = sorted(set(range(found[0], found[-1] + 1)) - set(found))
    if missing:
        raise MissingFramesError(
            f"input {pattern.text}: {len(missing)} frame(s) missing between {found[0]} and {found[-1]}: "
            f"{format_frames(missing)}; render the frames that exist with --frames "
            f"{format_frames(found)}"
        )


def _read_frame(pattern: SequencePattern, frame: int) -> ImageFrame:
    path = pattern.path(frame)
    try:
        return read_image(path, frame)
    except FocusPullError:
        raise
    except Exception as err:
        raise ImageReadError(f"cannot read {path} (frame {frame}): {safe_text(lambda: str(err))}") from err


_DONE = object()


def read_sequence(
    pattern: SequencePattern, frames: Sequence[int], *, prefetch: int = 2
) -> Iterator[tuple[int, ImageFrame]]:
    """Yield ``(frame, ImageFrame)`` for ``frames`` in the order given.

    With ``prefetch > 0`` a background thread reads up to ``prefetch`` frames
    ahead (a bounded queue, so memory stays at ``prefetch + 1`` frames). An
    error while reading is raised here, at the frame it belongs to, after the
    frames before it were yielded. Closing the generator early (``break``,
    ``close()``, an exception in the caller) stops the thread.
    """
    frames = [int(f) for f in frames]
    if prefetch < 0:
        raise ValueError(f"prefetch must be >= 0, got {prefetch}")
    if prefetch == 0:
        for frame in frames:
            yield frame, _read_frame(pattern, frame)
        return

    slots: queue.Queue[tuple[int, object]] = queue.Queue(maxsize=prefetch)
    stop = threading.Event()

    def put(item: tuple[int, object]) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        for frame in frames:
            if stop.is_set():
                return
            try:
                item: object = _read_frame(pattern, frame)
            except BaseException as err:  # handed to the consumer, raised there
                put((frame, err))
                return
            if not put((frame, item)):
                return
        put((0, _DONE))

    thread = threading.Thread(target=produce, name=f"focuspull-read {pattern.text}", daemon=True)
    thread.start()
    try:
        while True:
            frame, item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, ImageFrame)
            yield frame, item
    finally:
        stop.set()
        # Unblock a producer waiting on a full queue, then let it finish its
        # current read; it never starts another once `stop` is set.
        while True:
            try:
                slots.get_nowait()
            except queue.Empty:
                break
        thread.join(timeout=30)
        if thread.is_alive():
            log.warning("read-ahead thread for %s did not stop", pattern.text)
