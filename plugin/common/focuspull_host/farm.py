"""Submit to farm from a host: export the shot's job bundle, submit it when Deadline Cloud is set up.

The host never builds an Open Job Description template itself: the worker does,

    <worker python> -m focuspull farm export job.json BUNDLE --chunk-size N [--gpu] --json
    <worker python> -m focuspull farm submit BUNDLE --json        (runs `deadline bundle submit`)

and each prints one JSON object (``{"event": "done", ...}`` or ``{"event":
"error", "code": ..., "message": ...}``). With ``submit="auto"`` a missing or
unconfigured Deadline Cloud CLI is not an error: the artist gets the bundle
folder and the command to submit it.

Which Python the *farm workers* run is ``farm_python`` (argument), else
``$FOCUSPULL_FARM_PYTHON``, else ``"farm_python"`` in the worker settings file,
else the exporting worker's own interpreter (right for a shared install).
"""

import logging
import os
import re
import subprocess
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from .errors import ClientError, FarmFailed, InvalidJob, RenderCancelled
from .jobs import job_path_for, write_json
from .progress import iter_events_from_lines
from .schema import SCHEMA_FILE, check_job
from .worker import read_settings, settings_path, worker_command, worker_environment

log = logging.getLogger("focuspull.host")

ENV_FARM_PYTHON = "FOCUSPULL_FARM_PYTHON"
DEFAULT_CHUNK_SIZE = 10
# Codes of `focuspull farm submit` that mean "not set up here", not "failed".
NOT_SET_UP = ("deadline_unavailable",)
class FarmResult:
    """What "Submit to farm" did: the bundle, and the Deadline job when it was submitted."""

    def __init__(self, bundle: Dict[str, Any], job_path: str, job_id: Optional[str] = None,
                 submitted: bool = False, reason: str = "") -> None:
        self.bundle = bundle
        self.job_path = job_path
        self.job_id = job_id
        self.submitted = submitted
        self.reason = reason

    @property
    def bundle_dir(self) -> str:
        return str(self.bundle.get("bundle", ""))

    @property
    def tasks(self) -> int:
        return len(self.bundle.get("chunks") or [])

    def __repr__(self) -> str:
        return "FarmResult({!r}, submitted={}, job_id={!r})".format(self.bundle_dir, self.submitted, self.job_id)


def bundle_dir_for(job_path: str) -> str:
    """``/shots/out/refocus.job.json`` -> ``/shots/out/refocus.farm`` (one bundle per output)."""
    folder, name = os.path.split(os.path.abspath(job_path))
    stem = re.sub(r"(\.job)?\.json$", "", name) or "focuspull"
    return os.path.join(folder, stem + ".farm")


def needs_gpu(job: Dict[str, Any]) -> bool:
    """Whether the job's tasks belong on GPU workers: the neural engine, or a device set to cuda."""
    engine = job.get("engine") or {}
    return engine.get("name") == "neural" or engine.get("device") == "cuda"


def resolve_farm_python(explicit: Optional[str] = None, environ: Optional[Dict[str, str]] = None) -> Optional[str]:
    env = os.environ if environ is None else environ
    if explicit:
        return explicit
    if env.get(ENV_FARM_PYTHON):
        return env[ENV_FARM_PYTHON]
    try:
        value = read_settings(settings_path(dict(env))).get("farm_python")
    except ClientError:
        return None
    return value if isinstance(value, str) and value else None


def _run_worker(argv: List[str], env: Optional[Dict[str, str]], cwd: Optional[str], timeout_s: Optional[float],
                is_cancelled: Optional[Callable[[], bool]] = None, poll_s: float = 0.2) -> Dict[str, Any]:
    """Run one ``focuspull farm ... --json`` command; its JSON line, or a FarmFailed (RenderCancelled on cancel)."""
    log.info("running: %s", " ".join(argv))
    kwargs = {}  # type: Dict[str, Any]
    if os.name == "nt":
        kwargs["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, cwd=cwd, **kwargs)
    except OSError as err:
        raise FarmFailed("cannot start the worker {}: {}".format(argv[0], err), code="worker_failed_to_start") from err
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while True:
        try:
            out, err_bytes = proc.communicate(timeout=poll_s)
            break
        except subprocess.TimeoutExpired:
            cancelled = is_cancelled is not None and is_cancelled()
            if cancelled or (deadline is not None and time.monotonic() > deadline):
                proc.kill()
                proc.communicate()
                if cancelled:
                    raise RenderCancelled("farm submission cancelled during: {}".format(" ".join(argv[-5:])))
                raise FarmFailed("{} did not finish in {:.0f}s".format(" ".join(argv[-4:]), timeout_s or 0))
    stdout = out.decode("utf-8", "replace")
    stderr = err_bytes.decode("utf-8", "replace").strip()
    events = list(iter_events_from_lines(stdout.splitlines()))
    result = events[-1] if events else None
    if result is not None and result.get("event") == "error":
        raise FarmFailed(str(result.get("message") or "the worker reported an error"), code=str(result.get("code") or "farm_error"))
    if proc.returncode != 0 or result is None or result.get("event") != "done":
        tail = stderr.splitlines()[-1:] or ["(no log output)"]
        raise FarmFailed("the worker exited with code {} without a result: {}".format(proc.returncode, tail[0]),
                         code="worker_crashed")
    return result


def export_bundle(
    job_path: str,
    bundle_dir: Optional[str] = None,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    gpu: bool = False,
    farm_python: Optional[str] = None,
    name: Optional[str] = None,
    command: Optional[Sequence[str]] = None,
    env: Optional[Dict[str, str]] = None,
    timeout_s: Optional[float] = 600.0,
    is_cancelled: Optional[Callable[[], bool]] = None,
) -> Dict[str, Any]:
    """Write the bundle of the job file ``job_path``; returns the worker's summary
    (``bundle``, ``template``, ``frames``, ``chunks``, ``output``...)."""
    if int(chunk_size) < 1:
        raise InvalidJob("frames per task: {} must be 1 or more".format(chunk_size))
    bundle_dir = bundle_dir or bundle_dir_for(job_path)
    argv = list(command) if command is not None else worker_command()
    argv += ["farm", "export", os.path.abspath(job_path), os.path.abspath(bundle_dir), "--chunk-size", str(int(chunk_size)), "--json"]
    if gpu:
        argv.append("--gpu")
    python = resolve_farm_python(farm_python, env)
    if python:
        argv += ["--worker-python", python]
    if name:
        argv += ["--name", name]
    return _run_worker(argv, env if env is not None else worker_environment(),
                       os.path.dirname(os.path.abspath(job_path)), timeout_s, is_cancelled)


def submit_bundle(
    bundle_dir: str,
    *,
    farm_id: Optional[str] = None,
    queue_id: Optional[str] = None,
    command: Optional[Sequence[str]] = None,
    env: Optional[Dict[str, str]] = None,
    timeout_s: Optional[float] = 3600.0,
    is_cancelled: Optional[Callable[[], bool]] = None,
) -> Dict[str, Any]:
    """``deadline bundle submit`` through the worker; returns ``{"job_id": ..., ...}``.

    Raises FarmFailed with code ``deadline_unavailable`` when the Deadline Cloud
    CLI is missing or has no farm/queue, ``submit_failed`` when it failed.
    """
    argv = list(command) if command is not None else worker_command()
    argv += ["farm", "submit", os.path.abspath(bundle_dir), "--json"]
    if farm_id:
        argv += ["--farm-id", farm_id]
    if queue_id:
        argv += ["--queue-id", queue_id]
    # Job attachments may upload a whole plate: this can take long, and it is not the artist's render.
    return _run_worker(argv, env if env is not None else worker_environment(), None, timeout_s, is_cancelled)


def submit_to_farm(
    job: Dict[str, Any],
    job_path: Optional[str] = None,
    *,
    bundle_dir: Optional[str] = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    gpu: Optional[bool] = None,
    submit: Union[bool, str] = "auto",
    farm_python: Optional[str] = None,
    farm_id: Optional[str] = None,
    queue_id: Optional[str] = None,
    command: Optional[Sequence[str]] = None,
    env: Optional[Dict[str, str]] = None,
    host_prefixes: Sequence[str] = (),
    validate: bool = True,
    on_status: Optional[Callable[[str], None]] = None,
    is_cancelled: Optional[Callable[[], bool]] = None,
) -> FarmResult:
    """The "Submit to farm" button: validate and write ``job``, export its bundle, submit it.

    ``submit``: True (a missing Deadline set-up is an error), False (export
    only) or "auto" (submit when the Deadline Cloud CLI is installed and
    configured, else return the bundle with ``reason`` saying why not).
    ``gpu`` None: GPU workers only when the job needs them (``needs_gpu``).
    ``on_status`` hears each stage ("exporting the farm bundle", "submitting
    to Deadline Cloud") for a host's status line.
    """
    def status(text: str) -> None:
        if on_status is not None:
            on_status(text)

    if validate and os.path.exists(SCHEMA_FILE):
        check_job(job)
    job_path = job_path or job_path_for(job["output"]["pattern"])
    write_json(job, job_path)
    env = env if env is not None else worker_environment(host_prefixes=host_prefixes)
    if gpu is None:
        gpu = needs_gpu(job)
    status("exporting the farm bundle")
    summary = export_bundle(job_path, bundle_dir, chunk_size=chunk_size, gpu=gpu, farm_python=farm_python,
                            command=command, env=env, is_cancelled=is_cancelled)
    result = FarmResult(summary, job_path)
    if submit is False:
        result.reason = "export only"
        return result
    status("submitting to Deadline Cloud")
    try:
        submitted = submit_bundle(result.bundle_dir, farm_id=farm_id, queue_id=queue_id, command=command, env=env,
                                  is_cancelled=is_cancelled)
    except FarmFailed as err:
        if submit == "auto" and err.code in NOT_SET_UP:
            result.reason = err.message
            return result
        raise
    result.submitted = True
    result.job_id = submitted.get("job_id")
    return result


def describe_result(result: FarmResult) -> str:
    """A message for the artist's dialog."""
    if result.submitted:
        return "FocusPull: submitted {} task(s) to Deadline Cloud as {}.\nBundle: {}".format(
            result.tasks, result.job_id or "(job id not reported)", result.bundle_dir)
    text = "FocusPull: farm bundle written ({} task(s)): {}".format(result.tasks, result.bundle_dir)
    if result.reason and result.reason != "export only":
        text += "\nNot submitted: {}".format(result.reason)
    text += "\nSubmit it with:  deadline bundle submit \"{}\"".format(result.bundle_dir)
    return text


def status_text(result: FarmResult) -> str:
    """One line for a node's status knob."""
    if result.submitted:
        return "on the farm: {} ({} task(s))".format(result.job_id or "submitted", result.tasks)
    return "farm bundle written: {}".format(result.bundle_dir)


