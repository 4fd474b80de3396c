"""Submit a bundle to AWS Deadline Cloud with its own CLI (``deadline bundle submit``).

focuspull does not talk to the Deadline Cloud API itself: the ``deadline``
command (``pip install deadline``) owns credentials, farm and queue
defaults, job attachments and storage profiles. This module only checks that
the command is there and configured, runs it, and finds the job id in its
output.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from focuspull.farm.errors import DeadlineUnavailable, SubmitError

log = logging.getLogger(__name__)

HOW_TO_INSTALL = "install the Deadline Cloud CLI (pip install deadline) and run `deadline config gui`"
HOW_TO_CONFIGURE = (
    "set a default farm and queue (`deadline config gui`, or `deadline config set defaults.farm_id farm-...` and "
    "`deadline config set defaults.queue_id queue-...`), or pass --farm-id and --queue-id"
)
JOB_ID = re.compile(r"\bjob-[0-9a-f]{32}\b")


@dataclass(frozen=True)
class Submission:
    job_id: str | None
    command: tuple[str, ...]
    output: str


def find_deadline(deadline: str | None = None) -> str:
    """The ``deadline`` executable (``$FOCUSPULL_DEADLINE`` or PATH); raises DeadlineUnavailable."""
    name = deadline or os.environ.get("FOCUSPULL_DEADLINE") or "deadline"
    found = name if os.path.isfile(name) and os.access(name, os.X_OK) else shutil.which(name)
    if not found:
        raise DeadlineUnavailable(f"the Deadline Cloud CLI ({name}) is not installed or not on PATH: {HOW_TO_INSTALL}")
    return found


def configured_default(deadline: str, setting: str, env: Mapping[str, str] | None = None) -> str | None:
    """A setting of the deadline CLI (``deadline config get SETTING``), None when unset."""
    try:
        done = subprocess.run(
            [deadline, "config", "get", setting],
            capture_output=True, text=True, timeout=60, env=dict(env) if env is not None else None, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise DeadlineUnavailable(f"{deadline} config get {setting}: {err}") from err
    value = done.stdout.strip()
    return value if done.returncode == 0 and value and value.lower() != "none" else None


def submit_command(
    bundle: str | os.PathLike[str],
    *,
    deadline: str | None = None,
    farm_id: str | None = None,
    queue_id: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """The ``deadline bundle submit`` command line, after checking the CLI is usable."""
    exe = find_deadline(deadline)
    missing = [
        what for what, given, setting in (("farm", farm_id, "defaults.farm_id"), ("queue", queue_id, "defaults.queue_id"))
        if not given and configured_default(exe, setting, env) is None
    ]
    if missing:
        raise DeadlineUnavailable(
            f"the Deadline Cloud CLI has no default {' and no default '.join(missing)} configured: {HOW_TO_CONFIGURE}"
        )
    argv = [exe, "bundle", "submit", "--yes"]
    if farm_id:
        argv += ["--farm-id", farm_id]
    if queue_id:
        argv += ["--queue-id", queue_id]
    for name, value in (parameters or {}).items():
        argv += ["--parameter", f"{name}={value}"]
    argv += list(extra)
    argv.append(str(Path(bundle).absolute()))
    return argv


def submit_bundle(
    bundle: str | os.PathLike[str],
    *,
    deadline: str | None = None,
    farm_id: str | None = None,
    queue_id: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout_s: float | None = None,
) -> Submission:
    """Run ``deadline bundle submit --yes BUNDLE``; the job id is parsed from its output."""
    from focuspull.farm.bundle import TEMPLATE_NAME, _have_openjd, validate_bundle

    if not (Path(bundle) / TEMPLATE_NAME).exists():
        raise SubmitError(f"{bundle}: no {TEMPLATE_NAME}; write the bundle with `focuspull farm export` first")
    if _have_openjd():
        # A bad ChunkSize or Frames fails here, before job attachments upload anything.
        validate_bundle(bundle, parameters)
    argv = submit_command(
        bundle, deadline=deadline, farm_id=farm_id, queue_id=queue_id, parameters=parameters, extra=extra, env=env
    )
    log.info("submitting: %s", " ".join(argv))
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout_s, env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SubmitError(f"{argv[0]} bundle submit: {err}") from err
    output = (done.stdout or "") + (done.stderr or "")
    if done.returncode != 0:
        last = [line for line in output.strip().splitlines() if line.strip()][-3:]
        raise SubmitError(f"deadline bundle submit exited with code {done.returncode}: {' / '.join(last) or 'no output'}")
    match = JOB_ID.search(output)
    if match is None:
        log.warning("deadline bundle submit succeeded but printed no job id")
    return Submission(match.group(0) if match else None, tuple(argv), output)
