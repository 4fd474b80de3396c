"""The worker: which interpreter runs it, its environment, and one running worker process.

The worker interpreter comes from ``$FOCUSPULL_WORKER_PYTHON``, else from the
settings file that ``focuspull install`` writes (``~/.focuspull/worker.json``,
folder overridable with ``$FOCUSPULL_CONFIG_DIR``)::

    {"python": "/opt/focuspull/.venv/bin/python"}
    {"command": ["rez", "env", "focuspull", "--", "python", "-m", "focuspull"]}
"""

import collections
import json
import logging
import os
import queue
import signal
import subprocess
import threading
from typing import Any, Callable, Deque, Dict, List, Optional, Sequence

from .errors import RenderFailed, WorkerNotConfigured

log = logging.getLogger("focuspull.host")

ENV_WORKER_PYTHON = "FOCUSPULL_WORKER_PYTHON"
ENV_CONFIG_DIR = "FOCUSPULL_CONFIG_DIR"
SETTINGS_NAME = "worker.json"

# Host interpreters export these for their own embedded Python; inherited by
# the worker they would point it at the host's standard library.
HOST_PYTHON_VARIABLES = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "PYTHONNOUSERSITE")
LIBRARY_PATH_VARIABLES = ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "DYLD_FRAMEWORK_PATH")

Event = Dict[str, Any]


def settings_dir(environ: Optional[Dict[str, str]] = None) -> str:
    env = os.environ if environ is None else environ
    return env.get(ENV_CONFIG_DIR) or os.path.join(os.path.expanduser("~"), ".focuspull")


def settings_path(environ: Optional[Dict[str, str]] = None) -> str:
    return os.path.join(settings_dir(environ), SETTINGS_NAME)


def read_settings(path: Optional[str] = None) -> Dict[str, Any]:
    """The worker settings the installer wrote; {} when there are none."""
    path = path or settings_path()
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise WorkerNotConfigured("cannot read worker settings {}: {}".format(path, err)) from err
    if not isinstance(data, dict):
        raise WorkerNotConfigured("worker settings {} must be a JSON object".format(path))
    return data


def worker_command(environ: Optional[Dict[str, str]] = None, settings: Optional[Dict[str, Any]] = None) -> List[str]:
    """The command that starts the worker, up to (not including) ``render ...``."""
    env = os.environ if environ is None else environ
    python = env.get(ENV_WORKER_PYTHON)
    source = "${}".format(ENV_WORKER_PYTHON)
    if not python:
        path = settings_path(dict(env))
        data = read_settings(path) if settings is None else settings
        command = data.get("command")
        if command:
            if not (isinstance(command, list) and all(isinstance(c, str) for c in command)):
                raise WorkerNotConfigured("{}: 'command' must be a list of strings".format(path))
            return list(command)
        python = data.get("python")
        source = path
    if not python:
        raise WorkerNotConfigured(
            "no worker Python is configured (neither ${} nor {})".format(ENV_WORKER_PYTHON, settings_path(dict(env)))
        )
    if not os.path.isfile(python):
        raise WorkerNotConfigured("the worker Python {} (from {}) does not exist".format(python, source))
    return [python, "-m", "focuspull"]


def worker_environment(base: Optional[Dict[str, str]] = None, host_prefixes: Sequence[str] = ()) -> Dict[str, str]:
    """The worker's environment: the host's, minus what points into the host's own Python and libraries."""
    env = dict(os.environ if base is None else base)
    for name in HOST_PYTHON_VARIABLES:
        env.pop(name, None)
    prefixes = [os.path.normcase(os.path.abspath(p)) for p in host_prefixes if p]
    if prefixes:
        for name in LIBRARY_PATH_VARIABLES:
            if name not in env:
                continue
            kept = [p for p in env[name].split(os.pathsep)
                    if p and not any(os.path.normcase(os.path.abspath(p)).startswith(pre) for pre in prefixes)]
            if kept:
                env[name] = os.pathsep.join(kept)
            else:
                env.pop(name)
    # Progress must arrive line by line, not when a pipe buffer fills.
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


# -- the worker process -----------------------------------------------------
_EOF = object()


class WorkerProcess:
    """One worker run: its own process group, progress events through a queue.

    Two reader threads drain stdout (JSON events) and stderr (logs) so neither
    pipe can fill and stall the worker; ``cancel`` terminates the whole process
    tree, children included.
    """

    def __init__(
        self,
        job_path: str,
        command: Optional[Sequence[str]] = None,
        env: Optional[Dict[str, str]] = None,
        cwd: Optional[str] = None,
        on_log: Optional[Callable[[str], None]] = None,
        log_lines: int = 40,
    ) -> None:
        self.job_path = job_path
        self.command = list(command) if command is not None else worker_command()
        self.env = worker_environment() if env is None else env
        self.cwd = cwd
        self.on_log = on_log
        self.proc: "Optional[subprocess.Popen[bytes]]" = None
        self.events: "queue.Queue[Any]" = queue.Queue()
        self._log: Deque[str] = collections.deque(maxlen=log_lines)
        self._threads: List[threading.Thread] = []
        self._eof = False
        self.cancelled = False

    @property
    def argv(self) -> List[str]:
        return self.command + ["render", "--job", self.job_path, "--progress", "jsonl"]

    def start(self) -> "WorkerProcess":
        kwargs: Dict[str, Any] = {}
        if os.name == "nt":
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200) | getattr(
                subprocess, "CREATE_NO_WINDOW", 0x08000000
            )
        else:
            kwargs["start_new_session"] = True  # its own process group: cancel reaches every child
        log.info("starting worker: %s", " ".join(self.argv))
        try:
            self.proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.env,
                cwd=self.cwd,
                **kwargs
            )
        except OSError as err:
            raise RenderFailed(
                "cannot start the worker {}: {}".format(self.command[0], err), code="worker_failed_to_start"
            ) from err
        for target, stream in ((self._read_stdout, self.proc.stdout), (self._read_stderr, self.proc.stderr)):
            thread = threading.Thread(target=target, args=(stream,), name="focuspull-worker-io", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _read_stdout(self, stream: Any) -> None:
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").strip()
                if not line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    event = None
                if isinstance(event, dict) and "event" in event:
                    self.events.put(event)
                else:
                    self._remember("stdout: " + line)
        finally:
            stream.close()
            self.events.put(_EOF)

    def _read_stderr(self, stream: Any) -> None:
        try:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip()
                if line:
                    self._remember(line)
        finally:
            stream.close()

    def _remember(self, line: str) -> None:
        self._log.append(line)
        if self.on_log is not None:
            try:
                self.on_log(line)
            except Exception:  # a host logging callback must not stop the reader
                log.exception("log callback failed")

    @property
    def log_tail(self) -> str:
        return "\n".join(self._log)

    def next_event(self, timeout: Optional[float] = None) -> Optional[Event]:
        """The next progress event; None on timeout or once stdout has closed."""
        if self._eof:
            return None
        try:
            item = self.events.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is _EOF:
            self._eof = True
            return None
        return item  # type: ignore[no-any-return]

    @property
    def finished_output(self) -> bool:
        return self._eof

    def poll(self) -> Optional[int]:
        return None if self.proc is None else self.proc.poll()

    def wait(self, timeout: Optional[float] = None) -> int:
        assert self.proc is not None, "start() first"
        code = self.proc.wait(timeout)
        for thread in self._threads:
            thread.join(timeout=2.0)
        return code

    def cancel(self, grace_s: float = 5.0) -> None:
        """Stop the worker and every process it started: politely, then by force."""
        self.cancelled = True
        proc = self.proc
        if proc is None:
            return
        if os.name == "nt":
            if proc.poll() is None:
                try:
                    proc.send_signal(getattr(signal, "CTRL_BREAK_EVENT"))
                except (OSError, ValueError, AttributeError):
                    pass
                if not _wait(proc, grace_s):
                    subprocess.run(["taskkill", "/F", "/T", "/PID", str(proc.pid)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            _wait(proc, grace_s)
            return
        _signal_group(proc.pid, signal.SIGTERM)
        if not _wait(proc, grace_s):
            _signal_group(proc.pid, signal.SIGKILL)
            _wait(proc, grace_s)
        # Grandchildren that ignored SIGTERM outlive the leader; the group id still reaches them.
        _signal_group(proc.pid, signal.SIGKILL)


def _signal_group(pgid: int, sig: int) -> None:
    killpg = getattr(os, "killpg", None)  # POSIX only
    if killpg is None:
        return
    try:
        killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(proc: "subprocess.Popen[bytes]", timeout: float) -> bool:
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


