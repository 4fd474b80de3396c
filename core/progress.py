"""Progress events: one protocol, several presentations.

The protocol (architecture note): JSON objects, one per line on stdout with
``--progress jsonl``:

    {"event": "stage", "stage": "depth", "done": 3, "total": 48}   (work before rendering)
    {"event": "start", "total": 48, "first": 1001, "last": 1048}
    {"event": "frame", "frame": 1001, "done": 1, "total": 48}
    {"event": "done", "frames": 48, "output": "/shots/out.####.exr", "seconds": 12.3}
    {"event": "error", "code": "missing_frames", "message": "..."}

Stages: ``depth`` (estimating the shot's depth), ``stabilize`` (conditioning
it over time, frames read). Human logs go to stderr. The UI subscribes with
``CallbackProgress``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import IO, Any

Event = dict[str, Any]


class Progress:
    """Base reporter: turns calls into events and hands them to ``emit``."""

    def emit(self, event: Event) -> None:  # pragma: no cover - overridden
        pass

    def stage(self, stage: str, done: int, total: int) -> None:
        """Progress of a pass before rendering (depth estimation); hosts may ignore it."""
        self.emit({"event": "stage", "stage": stage, "done": done, "total": total})

    def start(self, total: int, first: int | None = None, last: int | None = None) -> None:
        self.emit({"event": "start", "total": total, "first": first, "last": last})

    def frame(self, frame: int, done: int, total: int) -> None:
        self.emit({"event": "frame", "frame": frame, "done": done, "total": total})

    def done(self, **info: Any) -> None:
        self.emit({"event": "done", **info})

    def error(self, code: str, message: str) -> None:
        self.emit({"event": "error", "code": code, "message": message})


class NullProgress(Progress):
    pass


class JsonlProgress(Progress):
    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def emit(self, event: Event) -> None:
        self.stream.write(json.dumps(event, separators=(", ", ": ")) + "\n")
        self.stream.flush()


class CallbackProgress(Progress):
    def __init__(self, callback: Callable[[Event], None]) -> None:
        self.callback = callback

    def emit(self, event: Event) -> None:
        self.callback(event)


class BarProgress(Progress):
    """A one-line bar on a terminal (stderr), with frame rate and time left."""

    width = 30

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stderr
        self.started = time.monotonic()

    def emit(self, event: Event) -> None:
        kind = event["event"]
        if kind == "stage":
            self.stream.write(f"\r{event['stage']}: {event['done']}/{event['total']} ")
            self.stream.flush()
        elif kind == "start":
            if self.stream.isatty():
                self.stream.write("\n")
            self.started = time.monotonic()
        elif kind == "frame":
            done, total = event["done"], max(event["total"], 1)
            elapsed = time.monotonic() - self.started
            rate = done / elapsed if elapsed > 0 else 0.0
            left = (total - done) / rate if rate > 0 else 0.0
            filled = int(self.width * done / total)
            self.stream.write(
                f"\r[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} "
                f"frame {event['frame']}  {rate:.2f} fps  {left:.0f}s left "
            )
            self.stream.flush()
        elif kind == "done":
            self.stream.write("\n")
            self.stream.flush()
        elif kind == "error":
            self.stream.write("\n" if event.get("code") else "")
            self.stream.flush()


def make_progress(kind: str) -> Progress:
    """``bar`` | ``jsonl`` | ``none``; ``auto`` picks the bar on a terminal."""
    if kind == "auto":
        kind = "bar" if sys.stderr.isatty() else "none"
    return {"bar": BarProgress, "jsonl": JsonlProgress, "none": NullProgress}[kind]()
