"""Running a job: a render to the end, and one background run (render or farm) with progress and cancel.

``run_job`` blocks until the worker is done and raises ``RenderFailed`` /
``RenderCancelled``. ``BackgroundRun`` runs either a render or a farm
submission on a thread (or in the calling thread), reports progress through
``on_event`` and stops when ``cancel()`` is called; every host uses it: Nuke
on a thread, the Lua side of Fusion through ``python -m focuspull_host run``.
"""

import logging
import os
import threading
import time
from typing import Any, Callable, Dict, Optional, Sequence, Union

from . import farm
from .errors import ClientError, RenderCancelled, RenderFailed
from .jobs import job_path_for, write_json
from .schema import SCHEMA_FILE, check_job
from .worker import Event, WorkerProcess, worker_environment

log = logging.getLogger("focuspull.host")


class RenderResult:
    """What a finished render reports: the frames written and the worker's ``done`` event."""

    def __init__(self, output_pattern: str, frames_done: int, total: int, done: Event, job_path: str, seconds: float) -> None:
        self.output_pattern = output_pattern
        self.frames_done = frames_done
        self.total = total
        self.done = done
        self.job_path = job_path
        self.seconds = seconds

    def __repr__(self) -> str:
        return "RenderResult({!r}, {}/{} frames)".format(self.output_pattern, self.frames_done, self.total)


def run_job(
    job: Dict[str, Any],
    job_path: Optional[str] = None,
    *,
    on_event: Optional[Callable[[Event], None]] = None,
    is_cancelled: Optional[Callable[[], bool]] = None,
    on_start: Optional[Callable[[WorkerProcess], None]] = None,
    on_log: Optional[Callable[[str], None]] = None,
    command: Optional[Sequence[str]] = None,
    env: Optional[Dict[str, str]] = None,
    host_prefixes: Sequence[str] = (),
    poll_s: float = 0.1,
    validate: bool = True,
) -> RenderResult:
    """Validate and write ``job``, run the worker to the end and return what it wrote.

    Blocks; a GUI host calls it from a thread and marshals ``on_event`` into its
    main thread. ``is_cancelled`` is polled every ``poll_s`` seconds; when it
    returns True the worker's process tree is terminated and
    ``RenderCancelled`` raised. Failures raise ``RenderFailed`` with the
    worker's error code and message (``describe_error`` formats them).
    """
    if validate and os.path.exists(SCHEMA_FILE):
        check_job(job)
    output_pattern = job["output"]["pattern"]
    job_path = job_path or job_path_for(output_pattern)
    write_json(job, job_path)
    started = time.monotonic()
    worker = WorkerProcess(job_path, command=command, env=env if env is not None else worker_environment(host_prefixes=host_prefixes),
                           cwd=os.path.dirname(os.path.abspath(job_path)), on_log=on_log)
    worker.start()
    if on_start is not None:
        on_start(worker)
    done_event: Optional[Event] = None
    error_event: Optional[Event] = None
    frames_done, total = 0, 0
    while True:
        if is_cancelled is not None and is_cancelled() and not worker.cancelled:
            worker.cancel()
        if worker.cancelled:
            worker.wait()
            raise RenderCancelled("render cancelled after {} of {} frame(s)".format(frames_done, total or "?"))
        event = worker.next_event(timeout=poll_s)
        if event is None:
            if worker.finished_output:
                break
            continue
        kind = event.get("event")
        if kind == "start":
            total = int(event.get("total") or 0)
        elif kind == "frame":
            frames_done = int(event.get("done", frames_done + 1))
            total = int(event.get("total", total) or total)
        elif kind == "done":
            done_event = event
        elif kind == "error":
            error_event = event
        if on_event is not None:
            on_event(event)
    code = worker.wait()
    if worker.cancelled:
        raise RenderCancelled("render cancelled after {} of {} frame(s)".format(frames_done, total or "?"))
    if error_event is not None:
        raise RenderFailed(
            str(error_event.get("message") or "the worker reported an error"),
            code=str(error_event.get("code") or "worker_crashed"),
            returncode=code,
            log_tail=worker.log_tail,
        )
    if code != 0 or done_event is None:
        reason = "exited with code {}".format(code) if code != 0 else "exited without reporting 'done'"
        last = worker.log_tail.strip().splitlines()[-1:] or ["(no log output)"]
        raise RenderFailed(
            "the worker {}: {}".format(reason, last[0]), code="worker_crashed", returncode=code, log_tail=worker.log_tail
        )
    frames_done = int(done_event.get("frames", frames_done) or frames_done)
    return RenderResult(
        str(done_event.get("output") or output_pattern),
        frames_done,
        total or frames_done,
        done_event,
        job_path,
        time.monotonic() - started,
    )


ACTIONS = ("render", "farm")


class BackgroundRun:
    """One render or farm submission of one node, with progress and cancel.

    ``start(wait=False)`` runs it on a daemon thread, ``wait=True`` in the
    calling thread. ``on_event`` hears every progress event (the worker's
    ``start``/``frame`` events, and ``status`` events of the farm stages);
    ``on_begin`` and ``on_finish`` are called first and last, in the thread that runs it
    (GUI hosts marshal both into their main thread). Afterwards ``result``
    (a ``RenderResult`` or ``farm.FarmResult``) or ``error`` is set.
    """

    def __init__(self, name: str, job: Dict[str, Any], job_path: Optional[str] = None, action: str = "render",
                 chunk_size: int = farm.DEFAULT_CHUNK_SIZE, submit: Union[bool, str] = "auto",
                 on_event: Optional[Callable[[Event], None]] = None,
                 on_finish: Optional[Callable[["BackgroundRun"], None]] = None,
                 is_cancelled: Optional[Callable[[], bool]] = None,
                 command: Optional[Sequence[str]] = None, host_prefixes: Sequence[str] = (),
                 on_log: Optional[Callable[[str], None]] = None,
                 on_begin: Optional[Callable[["BackgroundRun"], None]] = None) -> None:
        if action not in ACTIONS:
            raise ValueError("action must be one of {}, got {!r}".format(ACTIONS, action))
        self.name = name
        self.job = job
        self.job_path = job_path or job_path_for(job["output"]["pattern"])
        self.action = action
        self.chunk_size = chunk_size
        self.submit = submit
        self.on_event = on_event
        self.on_finish = on_finish
        self.extra_cancel = is_cancelled
        self.command = command
        self.host_prefixes = host_prefixes
        self.on_log = on_log
        self.on_begin = on_begin
        self.cancel_requested = threading.Event()
        self.finished = threading.Event()
        self.thread = None  # type: Optional[threading.Thread]
        self.worker = None  # type: Optional[WorkerProcess]
        self.result = None  # type: Optional[Any]
        self.error = None  # type: Optional[BaseException]
        self.started = time.monotonic()

    @property
    def running(self) -> bool:
        return not self.finished.is_set()

    def cancel(self) -> None:
        self.cancel_requested.set()

    def is_cancelled(self) -> bool:
        if self.extra_cancel is not None and self.extra_cancel():
            self.cancel_requested.set()
        return self.cancel_requested.is_set()

    def start(self, wait: bool = False) -> "BackgroundRun":
        if wait:
            self._run()
        else:
            self.thread = threading.Thread(target=self._run, name="FocusPull " + self.name, daemon=True)
            self.thread.start()
        return self

    def wait(self, timeout: Optional[float] = None) -> bool:
        return self.finished.wait(timeout)

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # a host callback must not stop the run
                log.exception("progress callback failed")

    def _run(self) -> None:
        try:
            if self.on_begin is not None:
                self.on_begin(self)  # in the thread that runs: hosts tie progress bars to it
            if self.action == "render":
                self.result = run_job(self.job, self.job_path, on_event=self._emit, is_cancelled=self.is_cancelled,
                                      on_start=self._started, on_log=self.on_log, command=self.command,
                                      host_prefixes=self.host_prefixes)
            else:
                self.result = farm.submit_to_farm(
                    self.job, self.job_path, chunk_size=self.chunk_size, submit=self.submit, command=self.command,
                    host_prefixes=self.host_prefixes, is_cancelled=self.is_cancelled,
                    on_status=lambda text: self._emit({"event": "status", "message": text}))
        except Exception as err:  # reported through ``error``; the host shows it
            if not isinstance(err, ClientError):
                log.exception("FocusPull %s: unexpected error", self.name)
            self.error = err
        finally:
            self.finished.set()
            if self.on_finish is not None:
                self.on_finish(self)

    def _started(self, worker: WorkerProcess) -> None:
        self.worker = worker

    def summary(self) -> str:
        """One line for the node's status once finished."""
        if self.error is not None:
            if isinstance(self.error, RenderCancelled):
                return "cancelled: " + self.error.message
            from .errors import status_line

            return status_line(self.error)
        if isinstance(self.result, RenderResult):
            return "rendered {} frame(s) to {} in {:.1f}s".format(self.result.frames_done, self.result.output_pattern,
                                                                 self.result.seconds)
        if isinstance(self.result, farm.FarmResult):
            return farm.status_text(self.result)
        return "running" if self.running else "idle"
