"""``python -m focuspull_host run RUN_DIR``: a node's render or farm submission for a host without Python.

Free DaVinci Resolve 21.1+ runs Lua scripts only. Its Lua side gathers the
node (``HostInputs`` as JSON) into ``RUN_DIR/snapshot.json``::

    {"action": "render" | "farm", "name": "FocusPull1", "chunk_size": 10,
     "inputs": {"frames": [...], "plate": ..., "output": ..., "depth": ..., "values": {...}}}

and starts this in the background with the worker's Python. It builds the job
with the one job builder, then renders or submits it (``BackgroundRun``),
appending one JSON event per line to ``RUN_DIR/events.jsonl``: the worker's
``start``/``frame`` events, farm ``status`` events, and one final event,
``done`` (with ``status``, ``output``, ``frames``, ``message``), ``error``
(``code``, ``message``, ``text`` for the console) or ``cancelled``.
Cancel: create ``RUN_DIR/cancel`` (polled), or send SIGTERM; the worker's
whole process tree is stopped either way.
"""

import json
import os
import signal
import sys
from typing import Any, Dict, List, Optional

from .errors import ClientError, RenderCancelled, describe_error, status_line
from .jobs import HostInputs, build_job, job_path_for
from .runs import BackgroundRun, RenderResult
from . import farm

SNAPSHOT = "snapshot.json"
EVENTS = "events.jsonl"
CANCEL = "cancel"
PID = "pid"


class EventFile:
    """Appends one JSON object per line, flushed at once, so a poller never reads half an event."""

    def __init__(self, path: str) -> None:
        self.path = path
        open(path, "w").close()

    def __call__(self, event: Dict[str, Any]) -> None:
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event) + "\n")


def forward(emit: EventFile, event: Dict[str, Any]) -> None:
    """Progress goes through; the worker's own done/error become this run's one final event."""
    if event.get("event") not in ("done", "error"):
        emit(event)


def run(run_dir: str) -> int:
    emit = EventFile(os.path.join(run_dir, EVENTS))
    with open(os.path.join(run_dir, PID), "w") as f:
        f.write("{}\n".format(os.getpid()))  # for a host that must stop a runner deaf to the cancel file
    cancel_file = os.path.join(run_dir, CANCEL)
    try:
        with open(os.path.join(run_dir, SNAPSHOT), encoding="utf-8") as f:
            snapshot = json.load(f)
        inputs = HostInputs.from_dict(snapshot.get("inputs") or {})
        job = build_job(inputs)
    except (OSError, ValueError, ClientError) as err:
        error = err if isinstance(err, ClientError) else ClientError("cannot read the host snapshot: {}".format(err))
        emit({"event": "error", "code": error.code, "message": error.message, "status": status_line(error),
              "text": describe_error(error)})
        return 2
    background = BackgroundRun(str(snapshot.get("name") or "FocusPull"), job, job_path_for(inputs.output),
                               action=str(snapshot.get("action") or "render"),
                               chunk_size=int(snapshot.get("chunk_size") or farm.DEFAULT_CHUNK_SIZE),
                               on_event=lambda event: forward(emit, event),
                               is_cancelled=lambda: os.path.exists(cancel_file))
    if hasattr(signal, "SIGTERM"):
        signal.signal(signal.SIGTERM, lambda signum, frame: background.cancel())
    background.start(wait=True)
    if isinstance(background.error, RenderCancelled):
        emit({"event": "cancelled", "message": background.error.message, "status": background.summary()})
        return 3
    if background.error is not None:
        failure = background.error
        emit({"event": "error", "code": getattr(failure, "code", "internal_error"),
              "message": getattr(failure, "message", str(failure)), "status": background.summary(),
              "text": describe_error(failure)})
        return 2
    final = {"event": "done", "status": background.summary(), "job": background.job_path,
             "output": job["output"]["pattern"]}  # type: Dict[str, Any]
    if isinstance(background.result, RenderResult):
        final.update(output=background.result.output_pattern, frames=background.result.frames_done)
    elif isinstance(background.result, farm.FarmResult):
        final.update(message=farm.describe_result(background.result), bundle=background.result.bundle_dir,
                     job_id=background.result.job_id)
    emit(final)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] != "run":
        sys.stderr.write("usage: python -m focuspull_host run RUN_DIR\n")
        return 64
    return run(args[1])


if __name__ == "__main__":
    sys.exit(main())
