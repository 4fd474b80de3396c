"""Progress events of the worker (``--progress jsonl``) as text for a status line."""

import json
from typing import Any, Dict, Iterable, Iterator, Optional

Event = Dict[str, Any]

#: what a status line says while the worker makes the shot's depth, before the first frame
STAGE_LABELS = {"depth": "estimating depth", "stabilize": "stabilising depth"}


def progress_text(event: Event) -> str:
    """A status line for one event: ``frame 1003 (3/48)``."""
    kind = event.get("event")
    if kind == "start":
        return "starting: {} frame(s)".format(event.get("total", "?"))
    if kind == "frame":
        return "frame {} ({}/{})".format(event.get("frame"), event.get("done"), event.get("total"))
    if kind == "stage":
        stage = str(event.get("stage"))
        return "{} ({}/{})".format(STAGE_LABELS.get(stage, stage), event.get("done"), event.get("total"))
    if kind == "done":
        return "done: {} frame(s)".format(event.get("frames", "?"))
    if kind == "error":
        return "error [{}]: {}".format(event.get("code"), event.get("message"))
    if kind == "status":
        return str(event.get("message", ""))
    return str(kind)


def progress_fraction(event: Event) -> Optional[float]:
    if event.get("event") in ("frame", "stage") and event.get("total"):
        return float(event.get("done", 0)) / float(event["total"])
    if event.get("event") == "done":
        return 1.0
    return None


def iter_events_from_lines(lines: Iterable[str]) -> Iterator[Event]:
    """Progress events parsed from JSON lines (tests and log replays)."""
    for line in lines:
        line = line.strip()
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and "event" in event:
                yield event


