"""The focuspull host client: write a job, run the worker, read its progress.

This module runs inside Nuke, Resolve and Fusion, so it is standard library
only and Python 3.9+. Torch never loads in the host: the render runs in a
separate worker process,

    <worker python> -m focuspull render --job job.json --progress jsonl

which prints one JSON event per line on stdout (``start``, ``frame``, then
``done`` or ``error``) and human logs on stderr. Exit code 0 means every frame
was written.

The worker interpreter comes from ``$FOCUSPULL_WORKER_PYTHON``, else from the
settings file that ``focuspull install`` writes (``~/.focuspull/worker.json``,
folder overridable with ``$FOCUSPULL_CONFIG_DIR``)::

    {"python": "/opt/focuspull/.venv/bin/python"}
    {"command": ["rez", "env", "focuspull", "--", "python", "-m", "focuspull"]}

Host adapters use, in order: ``curve_from_samples`` (knob values per frame),
``make_job``, ``validate_job`` (against the JSON Schema shipped next to this
file), ``run_job`` (blocking; call it from a thread in a GUI), and
``describe_error`` to turn a failure into a message for the artist.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Union

log = logging.getLogger("focuspull.client")

SCHEMA_ID = "focuspull.job/1"
SCHEMA_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "focuspull_job.schema.json")
ENV_WORKER_PYTHON = "FOCUSPULL_WORKER_PYTHON"
ENV_CONFIG_DIR = "FOCUSPULL_CONFIG_DIR"
SETTINGS_NAME = "worker.json"

# Host interpreters export these for their own embedded Python; inherited by
# the worker they would point it at the host's standard library.
HOST_PYTHON_VARIABLES = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONEXECUTABLE", "PYTHONNOUSERSITE")
LIBRARY_PATH_VARIABLES = ("LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH", "DYLD_FRAMEWORK_PATH")

Event = Dict[str, Any]
Curve = Union[float, Dict[str, List[float]]]

HINTS = {
    "worker_not_configured": "Run `focuspull install nuke` (or resolve) with the Python that has focuspull installed, "
    "or set FOCUSPULL_WORKER_PYTHON to that interpreter.",
    "worker_failed_to_start": "Check that the worker Python exists and has focuspull installed: run "
    "`<worker python> -m focuspull doctor`.",
    "worker_crashed": "The worker stopped without reporting an error; its last log lines are above.",
    "invalid_job": "A node setting is out of range; the message names it.",
    "invalid_curve": "A keyframed value is malformed; re-key it.",
    "missing_frames": "Check the frame range and that every input frame exists on disk.",
    "sequence_error": "Check the input file pattern and the frame range.",
    "unreadable_file": "The named file is unreadable or corrupt; re-render or replace it.",
    "bad_pixels": "The plate or depth holds NaN/Inf or mismatched sizes; fix the named frame.",
    "color_error": "Check the OCIO config ($OCIO) and the input colour space.",
    "output_error": "Choose an output folder you can write to (never the input's files).",
    "engine_error": "Try device 'cpu', or the physical engine.",
    "missing_weights": "Download the neural engine's weights (`focuspull models`), or use the physical engine.",
    "cancelled": "The render was cancelled; frames already written stay on disk.",
    "internal_error": "This is a bug in focuspull; please report it with the job file and the worker log.",
}


# -- errors -----------------------------------------------------------------
class ClientError(Exception):
    """A failure the host shows to the artist; ``code`` matches the worker's error codes."""

    code = "client_error"

    def __init__(self, message: str, code: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class WorkerNotConfigured(ClientError):
    code = "worker_not_configured"


class InvalidJob(ClientError):
    code = "invalid_job"


class RenderFailed(ClientError):
    """The worker reported an error event, or exited non-zero."""

    code = "worker_crashed"

    def __init__(self, message: str, code: Optional[str] = None, returncode: Optional[int] = None, log_tail: str = "") -> None:
        super().__init__(message, code)
        self.returncode = returncode
        self.log_tail = log_tail


class RenderCancelled(ClientError):
    code = "cancelled"


def describe_error(error: BaseException) -> str:
    """A message for a host dialog or status line: what failed, its code and what to do."""
    if isinstance(error, ClientError):
        text = "FocusPull: {} [{}]".format(error.message, error.code)
        hint = HINTS.get(error.code)
        if hint:
            text += "\n" + hint
        tail = getattr(error, "log_tail", "")
        if tail and error.code == "worker_crashed":
            text += "\n\nLast worker log lines:\n" + tail
        return text
    return "FocusPull: unexpected {}: {}".format(type(error).__name__, error)


# -- frames and patterns ----------------------------------------------------
_FRAME_TOKEN = re.compile(r"^(-?\d+)(?:-(-?\d+)(?:x(\d+))?)?$")
_PATTERN_TOKEN = re.compile(r"#+|@+|%0?(\d*)d|\$F(\d*)")


def parse_frames(text: str) -> List[int]:
    """``1001-1100``, ``1001-1100x2``, ``1001,1005,1010-1012`` -> sorted unique frames."""
    frames: Set[int] = set()
    tokens = [t for t in re.split(r"[,\s]+", str(text).strip()) if t]
    if not tokens:
        raise InvalidJob("frame range {!r} is empty; expected e.g. 1001-1100".format(text))
    for token in tokens:
        match = _FRAME_TOKEN.match(token)
        if match is None:
            raise InvalidJob("frame range token {!r} in {!r} is not a frame, FIRST-LAST or FIRST-LASTxSTEP".format(token, text))
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        step = int(match.group(3)) if match.group(3) is not None else 1
        if last < first or step < 1:
            raise InvalidJob("frame range {!r} runs backwards or has step 0".format(token))
        frames.update(range(first, last + 1, step))
    return sorted(frames)


def frame_runs(frames: Iterable[int]) -> List[Tuple[int, int]]:
    """Consecutive runs: [1001, 1002, 1003, 1007] -> [(1001, 1003), (1007, 1007)]."""
    runs: List[Tuple[int, int]] = []
    for f in sorted(set(int(f) for f in frames)):
        if runs and f == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], f)
        else:
            runs.append((f, f))
    return runs


def format_frames(frames: Iterable[int]) -> str:
    """The inverse of ``parse_frames`` (runs as FIRST-LAST)."""
    return ",".join(str(a) if a == b else "{}-{}".format(a, b) for a, b in frame_runs(frames))


def pattern_padding(pattern: str) -> Optional[int]:
    """Digits of the frame token in a pattern (####, %04d, $F4, @@@@), None if it has none."""
    matches = list(_PATTERN_TOKEN.finditer(pattern))
    if not matches:
        return None
    m = matches[-1]
    token = m.group(0)
    if token[0] in "#@":
        return len(token)
    digits = m.group(1) if token.startswith("%") else m.group(2)
    return int(digits) if digits else 1


def frame_path(pattern: str, frame: int) -> str:
    """The file of one frame: ``frame_path('a.####.exr', 7) == 'a.0007.exr'``."""
    matches = list(_PATTERN_TOKEN.finditer(pattern))
    if not matches:
        return pattern
    m = matches[-1]
    padding = pattern_padding(pattern) or 1
    number = "-{:0{}d}".format(-frame, padding) if frame < 0 else "{:0{}d}".format(frame, padding)
    return pattern[: m.start()] + number + pattern[m.end():]


def same_frame_file(pattern_a: str, pattern_b: str, frame: int) -> bool:
    """Whether two patterns name the same file at ``frame`` (an output that would overwrite its plate)."""
    def where(pattern: str) -> str:
        return os.path.normcase(os.path.abspath(frame_path(pattern, frame)))

    return where(pattern_a) == where(pattern_b)


def to_hash_pattern(pattern: str) -> str:
    """The same sequence written with #### (Nuke, Fusion and the core all read it)."""
    matches = list(_PATTERN_TOKEN.finditer(pattern))
    if not matches:
        return pattern
    m = matches[-1]
    return pattern[: m.start()] + "#" * (pattern_padding(pattern) or 1) + pattern[m.end():]


_NUMBERED_FILE = re.compile(r"^(?P<head>.*?)(?P<digits>\d+)(?P<tail>\.[A-Za-z0-9]+)$")


def pattern_from_filename(path: str) -> Tuple[str, Optional[int]]:
    """``/p/plate.1001.exr`` -> (``/p/plate.####.exr``, 1001); a file without a number -> (path, None).

    Fusion Loaders name one file of the sequence; the digits just before the
    extension are the frame number and their count the padding.
    """
    folder, name = os.path.split(path)
    match = _NUMBERED_FILE.match(name)
    if match is None:
        return path, None
    digits = match.group("digits")
    return os.path.join(folder, match.group("head") + "#" * len(digits) + match.group("tail")), int(digits)


# -- curves and the job -----------------------------------------------------
def curve_from_samples(frames: Sequence[float], values: Sequence[float], *, collapse_constant: bool = True) -> Curve:
    """Dense per-frame samples of a host curve as a job curve.

    Hosts sample their own curves (``knob.getValueAt(f)``, ``GetInput(name, t)``)
    at every frame instead of re-implementing their interpolation; a curve
    that never changes is sent as a plain number.
    """
    if len(frames) != len(values):
        raise InvalidJob("{} frames but {} values".format(len(frames), len(values)))
    if not frames:
        raise InvalidJob("a curve needs at least one sample")
    numbers = [float(v) for v in values]
    for f, v in zip(frames, numbers):
        if v != v or v in (float("inf"), float("-inf")):
            raise InvalidJob("value at frame {} is {}, not a finite number".format(f, v))
    if collapse_constant and len(set(numbers)) == 1:
        return numbers[0]
    return {"frames": [_plain_number(f) for f in frames], "values": numbers}


def sample_curve(value_at: Callable[[float], float], frames: Sequence[float], *, collapse_constant: bool = True) -> Curve:
    """``curve_from_samples`` of ``value_at(frame)`` at every frame."""
    return curve_from_samples(frames, [value_at(f) for f in frames], collapse_constant=collapse_constant)


def _plain_number(f: float) -> Union[int, float]:
    return int(f) if float(f).is_integer() else float(f)


def make_job(
    input_pattern: str,
    output_pattern: str,
    focus: Optional[Curve],
    strength: Optional[Curve],
    *,
    frames: Optional[Sequence[int]] = None,
    input_colorspace: Optional[str] = None,
    depth_source: str = "channel",
    depth_channel: Optional[str] = None,
    depth_pattern: Optional[str] = None,
    depth_kind: Optional[str] = None,
    depth_options: Optional[Dict[str, Any]] = None,
    focus_mode: str = "auto",
    focus_options: Optional[Dict[str, Any]] = None,
    strength_mode: str = "k",
    strength_options: Optional[Dict[str, Any]] = None,
    engine: str = "physical",
    engine_options: Optional[Dict[str, Any]] = None,
    device: str = "auto",
    aperture: Optional[Dict[str, Any]] = None,
    output_colorspace: Optional[str] = None,
    pixel_type: str = "half",
    compression: Optional[str] = None,
    aux_channels: Sequence[str] = (),
    ocio_config: Optional[str] = None,
) -> Dict[str, Any]:
    """A ``focuspull.job/1`` document as a dict (validate it with ``validate_job``).

    ``focus`` / ``strength`` are None in the modes that need no value (focus
    'point' and 'matte', strength 'lens'); the ``*_options`` dicts carry the
    other fields of their section (e.g. ``focus_options={"x": ..., "y": ...}``).
    ``depth_kind`` None lets the worker pick (depth, or normalized_disparity
    for estimated depth).
    """
    depth: Dict[str, Any] = {"source": depth_source}
    if depth_kind:
        depth["kind"] = depth_kind
    if depth_channel:
        depth["channel"] = depth_channel
    if depth_pattern:
        depth["pattern"] = depth_pattern
    depth.update(depth_options or {})
    focus_section: Dict[str, Any] = {"mode": focus_mode}
    if focus is not None:
        focus_section["value"] = focus
    focus_section.update(focus_options or {})
    strength_section: Dict[str, Any] = {"mode": strength_mode}
    if strength is not None:
        strength_section["value"] = strength
    strength_section.update(strength_options or {})
    job: Dict[str, Any] = {
        "schema": SCHEMA_ID,
        "input": {"pattern": input_pattern},
        "depth": depth,
        "focus": focus_section,
        "strength": strength_section,
        "output": {"pattern": output_pattern, "pixel_type": pixel_type},
        "engine": {"name": engine, "options": dict(engine_options or {}), "device": device},
    }
    if frames is not None:
        job["input"]["frames"] = format_frames(frames)
    if input_colorspace:
        job["input"]["colorspace"] = input_colorspace
    if output_colorspace:
        job["output"]["colorspace"] = output_colorspace
    if compression:
        job["output"]["compression"] = compression
    if aux_channels:
        job["output"]["aux_channels"] = list(aux_channels)
    if aperture:
        job["aperture"] = dict(aperture)
    if ocio_config:
        job["ocio_config"] = ocio_config
    return job


def job_path_for(output_pattern: str) -> str:
    """Where a host keeps the job of an output: next to the frames, ``<name>.job.json``."""
    folder, name = os.path.split(output_pattern)
    stem = _PATTERN_TOKEN.sub("", name)
    stem = re.sub(r"\.[A-Za-z0-9]+$", "", stem).rstrip("._-") or "focuspull"
    return os.path.join(folder, stem + ".job.json")


def write_json(data: Any, path: str) -> str:
    """Write JSON through a temporary file in the same folder, then rename it into place."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# -- validation against the shipped JSON Schema -----------------------------
_schema_cache: Dict[str, Dict[str, Any]] = {}


def load_schema(path: str = SCHEMA_FILE) -> Dict[str, Any]:
    if path not in _schema_cache:
        with open(path, encoding="utf-8") as f:
            _schema_cache[path] = json.load(f)
    return _schema_cache[path]


def validate_job(job: Any, schema: Optional[Dict[str, Any]] = None) -> List[str]:
    """Problems of ``job`` against the job schema (empty when valid), each naming its field.

    A small validator for the JSON Schema keywords the exported schema uses,
    so host code can reject a bad node setting before a worker starts.
    """
    return _check(job, schema if schema is not None else load_schema(), "job")


def check_job(job: Any, schema: Optional[Dict[str, Any]] = None) -> None:
    problems = validate_job(job, schema)
    if problems:
        raise InvalidJob("; ".join(problems[:5]))


_TYPES: Dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, (list, tuple)),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "integer": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer(),
}


def _check(value: Any, schema: Dict[str, Any], where: str) -> List[str]:
    errors: List[str] = []
    kind = schema.get("type")
    if kind is not None:
        kinds = kind if isinstance(kind, list) else [kind]
        if not any(_TYPES[k](value) for k in kinds):
            return ["{}: expected {}, got {}".format(where, " or ".join(kinds), _show(value))]
    if "const" in schema and value != schema["const"]:
        errors.append("{}: expected {!r}, got {}".format(where, schema["const"], _show(value)))
    if "enum" in schema and not any(_same(value, e) for e in schema["enum"]):
        errors.append("{}: {} is not one of {}".format(where, _show(value), ", ".join(repr(e) for e in schema["enum"])))
    if _TYPES["number"](value):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append("{}: {} is below the minimum {}".format(where, value, schema["minimum"]))
        if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
            errors.append("{}: {} must be greater than {}".format(where, value, schema["exclusiveMinimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            errors.append("{}: {} is above the maximum {}".format(where, value, schema["maximum"]))
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            errors.append("{}: {} must be less than {}".format(where, value, schema["exclusiveMaximum"]))
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append("{}.{}: required field is missing".format(where, name))
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in props:
                errors.extend(_check(item, props[name], "{}.{}".format(where, name)))
            elif extra is False:
                errors.append("{}: unknown field {!r}; expected one of {}".format(where, name, ", ".join(props)))
            elif isinstance(extra, dict):
                errors.extend(_check(item, extra, "{}.{}".format(where, name)))
    if isinstance(value, (list, tuple)):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append("{}: expected at least {} item(s), got {}".format(where, schema["minItems"], len(value)))
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append("{}: expected at most {} item(s), got {}".format(where, schema["maxItems"], len(value)))
        prefix = schema.get("prefixItems", [])
        for i, item in enumerate(value):
            sub = prefix[i] if i < len(prefix) else schema.get("items")
            if isinstance(sub, dict):
                errors.extend(_check(item, sub, "{}[{}]".format(where, i)))
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            results = [_check(value, option, where) for option in schema[combinator]]
            passed = sum(1 for r in results if not r)
            if passed == 0:
                # The branch with the fewest problems is the one the author most likely meant.
                best = min(results, key=len)
                errors.append("{}: {} matches none of the allowed forms ({})".format(where, _show(value), best[0]))
            elif combinator == "oneOf" and passed > 1:
                errors.append("{}: {} matches more than one allowed form".format(where, _show(value)))
    for option in schema.get("allOf", []):
        errors.extend(_check(value, option, where))
    return errors


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b or (_TYPES["number"](a) and _TYPES["number"](b) and a == b)


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, tuple) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- the worker interpreter -------------------------------------------------
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


def progress_text(event: Event) -> str:
    """A status line for one event: ``frame 1003 (3/48)``."""
    kind = event.get("event")
    if kind == "start":
        return "starting: {} frame(s)".format(event.get("total", "?"))
    if kind == "frame":
        return "frame {} ({}/{})".format(event.get("frame"), event.get("done"), event.get("total"))
    if kind == "done":
        return "done: {} frame(s)".format(event.get("frames", "?"))
    if kind == "error":
        return "error [{}]: {}".format(event.get("code"), event.get("message"))
    return str(kind)


def progress_fraction(event: Event) -> Optional[float]:
    if event.get("event") == "frame" and event.get("total"):
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


__all__ = [
    "ClientError", "WorkerNotConfigured", "InvalidJob", "RenderFailed", "RenderCancelled", "RenderResult",
    "WorkerProcess", "describe_error", "parse_frames", "format_frames", "frame_runs", "frame_path",
    "same_frame_file", "pattern_from_filename", "to_hash_pattern", "pattern_padding", "curve_from_samples",
    "sample_curve", "make_job", "job_path_for", "write_json", "load_schema", "validate_job", "check_job",
    "settings_dir", "settings_path", "read_settings", "worker_command", "worker_environment", "run_job",
    "progress_text", "progress_fraction", "iter_events_from_lines", "SCHEMA_ID", "SCHEMA_FILE",
]

if sys.version_info < (3, 9):  # pragma: no cover - hosts older than Nuke 13 / Resolve 18
    log.warning("focuspull_client expects Python 3.9+, running on %s", sys.version.split()[0])
