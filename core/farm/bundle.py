"""Write, read and validate a job bundle in the AWS Deadline Cloud layout.

A bundle is a folder::

    template.yaml           the Open Job Description job template (focuspull.farm.template)
    parameter_values.yaml   the values chosen at export (Frames, ChunkSize, WorkerPython)
    job.json                a snapshot of the focuspull job, made farm-safe

The snapshot has absolute paths, an explicit frame list and a pinned OCIO
config, so every worker resolves the same shot whatever its working folder
or environment; the render's ``--resume`` fingerprint ignores the frame list,
so frames rendered before export are still recognised.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from focuspull.depth_conditioning.steps import made_for_the_shot
from focuspull.farm.errors import FarmError
from focuspull.farm.template import EXTENSIONS, JOB_FILE_NAME, STEP_NAME, FarmSettings, job_template, parameter_values
from focuspull.job import Job

log = logging.getLogger(__name__)

TEMPLATE_NAME = "template.yaml"
VALUES_NAME = "parameter_values.yaml"
CHUNK_RANGE = re.compile(r"^(-?\d+)-(-?\d+)$")
FARM_EXTRA = "the farm tools need openjd-model: pip install focuspull[farm]"


@dataclass(frozen=True)
class Bundle:
    """A written bundle and the tasks a farm will run with its default values."""

    folder: Path
    job: Job
    frames: tuple[int, ...]
    settings: FarmSettings
    #: the ``--chunk`` of every task, as openjd-model divides the frames (None: not validated)
    chunks: tuple[str, ...] | None

    @property
    def template_path(self) -> Path:
        return self.folder / TEMPLATE_NAME

    @property
    def parameter_values_path(self) -> Path:
        return self.folder / VALUES_NAME

    @property
    def job_path(self) -> Path:
        return self.folder / JOB_FILE_NAME

    def summary(self) -> dict[str, Any]:
        """What ``focuspull farm export --json`` prints."""
        from focuspull.io import format_frames

        return {
            "bundle": str(self.folder),
            "template": str(self.template_path),
            "parameter_values": str(self.parameter_values_path),
            "job": str(self.job_path),
            "frames": format_frames(self.frames),
            "chunk_size": self.settings.chunk_size,
            "gpu": self.settings.gpu,
            "worker_python": self.settings.worker_python,
            "chunks": list(self.chunks) if self.chunks is not None else None,
            "output": self.job.output.pattern,
        }


# -- the farm-safe job ----------------------------------------------------------
#: (section, field) of the job that name files; each becomes absolute in the snapshot
PATH_FIELDS = (
    ("input", "pattern"),
    ("depth", "pattern"),
    ("depth", "model"),
    ("focus", "matte"),
    ("aperture", "kernel_path"),
    ("output", "pattern"),
)


def farm_job(job: Job, frames: Sequence[int], base: str | os.PathLike[str] | None = None) -> Job:
    """``job`` as every worker must see it: paths absolute (relative ones against
    ``base``, default the working folder, as ``focuspull render`` reads them),
    ``frames`` pinned, and the OCIO config pinned to ``$OCIO`` when the job
    leaves it to the environment (a worker's environment may differ)."""
    from focuspull.io import format_frames

    root = Path(base) if base is not None else Path.cwd()

    def absolute(section: str, name: str, path: str | None) -> str | None:
        if not path or path.startswith("ocio://") or os.path.isabs(path):
            return path
        full = os.path.normpath(os.path.join(root, os.path.expanduser(path)))
        if (section, name) == ("depth", "model") and not os.path.exists(full):
            return path  # a model name from `focuspull models`, not a folder
        return full

    changes: dict[str, Any] = {}
    for section, name in PATH_FIELDS:
        spec = changes.get(section, getattr(job, section))
        if hasattr(spec, name):
            changes[section] = dataclasses.replace(spec, **{name: absolute(section, name, getattr(spec, name))})
    changes["input"] = dataclasses.replace(changes["input"], frames=format_frames(frames))
    changes["ocio_config"] = absolute("", "ocio_config", job.ocio_config or os.environ.get("OCIO") or None)
    return job.replace(**changes)


def shot_frames(job: Job, check: bool = True) -> tuple[int, ...]:
    """The shot's frames; with ``check`` the whole job is resolved against the
    disk first (plates, depth, colour spaces, engine options), so a bad job
    fails here and not on a hundred workers. Depth made for the whole shot
    (estimated, stabilised) is left to the bundle's Depth step, and with it
    the per-frame focus and strength that may read it."""
    if check:
        from focuspull.pipeline import check_shot, prepare

        return check_shot(job) if made_for_the_shot(job.depth) else prepare(job).frames
    if not job.input.frames:
        raise FarmError("input.frames: the job has no frame list; give one, or let export check the plate on disk")
    from focuspull.io import parse_frames

    return parse_frames(job.input.frames)


# -- export ---------------------------------------------------------------------
def export_bundle(
    job: Job | str | os.PathLike[str],
    folder: str | os.PathLike[str],
    settings: FarmSettings | None = None,
    *,
    check: bool = True,
    validate: bool | None = None,
) -> Bundle:
    """Write the bundle of ``job`` (a Job, or a job file) into ``folder``.

    ``validate``: check the written bundle with openjd-model (True: required;
    None: when it is installed; False: never).
    """
    settings = settings or FarmSettings()
    if not isinstance(job, Job):
        job = Job.load(job)
    if settings.gpu and job.engine.device == "cpu":
        log.warning("--gpu: the job's engine.device is 'cpu', so the GPU workers will not use their GPU")
    frames = shot_frames(job, check)
    job = farm_job(job, frames)
    folder = Path(folder).absolute()
    if folder.exists() and not folder.is_dir():
        raise FarmError(f"bundle folder {folder}: exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise FarmError(f"bundle folder {folder}: cannot create it: {err.strerror or err}") from err

    name = settings.name or f"focuspull {Path(job.output.pattern).name}"
    _write_text(folder / JOB_FILE_NAME, job.dumps())
    _write_text(folder / TEMPLATE_NAME, _dump_yaml(job_template(settings, frames, name, made_for_the_shot(job.depth))))
    _write_text(folder / VALUES_NAME, _dump_yaml(parameter_values(settings, frames)))
    log.info("wrote bundle %s (%d frame(s), %d per task)", folder, len(frames), settings.chunk_size)

    chunks = None
    if validate or (validate is None and _have_openjd()):
        chunks = tuple(validate_bundle(folder))
    elif validate is None:
        log.warning("openjd-model is not installed: the bundle was not validated (%s)", FARM_EXTRA)
    return Bundle(folder, job, tuple(frames), settings, chunks)


# -- reading and validation -----------------------------------------------------
def read_document(path: Path) -> Any:
    try:
        text = path.read_text()
    except OSError as err:
        raise FarmError(f"{path}: cannot read it: {err.strerror or err}") from err
    try:
        import yaml
    except ImportError:
        yaml = None  # type: ignore[assignment]
    try:
        return yaml.safe_load(text) if yaml is not None else json.loads(text)
    except Exception as err:  # YAML and JSON raise different types
        raise FarmError(f"{path}: not valid YAML/JSON: {err}") from err


def read_parameter_values(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """``parameter_values.yaml`` as {name: value}; {} when the bundle has none."""
    path = Path(folder) / VALUES_NAME
    if not path.exists():
        return {}
    data = read_document(path) or {}
    try:
        return {item["name"]: item["value"] for item in data.get("parameterValues", [])}
    except (AttributeError, KeyError, TypeError) as err:
        raise FarmError(f"{path}: expected parameterValues: [{{name: ..., value: ...}}, ...]") from err


def validate_bundle(folder: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None) -> list[str]:
    """Decode the template and create the job with openjd-model, as a farm would.

    Returns the chunk of every task (``["1001-1003", "1004-1005", ...]``);
    raises FarmError naming the problem.
    """
    try:
        from openjd.model import (
            DecodeValidationError,
            StepParameterSpaceIterator,
            create_job,
            decode_job_template,
            preprocess_job_parameters,
        )
    except ImportError as err:
        raise ImportError(FARM_EXTRA) from err

    folder = Path(folder).absolute()
    template_path = folder / TEMPLATE_NAME
    if not template_path.exists():
        raise FarmError(f"{folder}: no {TEMPLATE_NAME}; is this a bundle written by `focuspull farm export`?")
    document = read_document(template_path)
    values = {name: str(value) for name, value in read_parameter_values(folder).items()}
    values.update({name: str(value) for name, value in (overrides or {}).items()})
    try:
        template = decode_job_template(template=document, supported_extensions=list(EXTENSIONS))
        resolved = preprocess_job_parameters(
            job_template=template, job_parameter_values=values, job_template_dir=folder, current_working_dir=folder
        )
        openjd_job = create_job(job_template=template, job_parameter_values=resolved)
    except (DecodeValidationError, ValueError) as err:
        raise FarmError(f"{template_path}: not a valid Open Job Description job: {err}") from err
    step = next((s for s in openjd_job.steps if s.name == STEP_NAME), None)
    if step is None or step.parameterSpace is None:
        raise FarmError(f"{template_path}: no step {STEP_NAME!r} with a parameter space")
    job_file = Path(resolved["JobFile"].value)
    if not job_file.exists():
        raise FarmError(f"{template_path}: the job file {job_file} does not exist")
    chunks = [str(task["Frame"].value) for task in StepParameterSpaceIterator(space=step.parameterSpace)]
    _check_frames_in_shot(Job.load(job_file), chunks, resolved["Frames"].value)
    return chunks


def _check_frames_in_shot(job: Job, chunks: Sequence[str], frames_text: str) -> None:
    """A task whose chunk holds no frame of the shot would fail on the farm: refuse it here."""
    from focuspull.io import format_frames, parse_frames

    if not job.input.frames:
        return  # resolved on the worker; nothing to compare with
    shot = set(parse_frames(job.input.frames))
    asked: set[int] = set()
    for chunk in chunks:
        match = CHUNK_RANGE.match(chunk)
        if match is None:
            raise FarmError(f"task chunk {chunk!r} is not START-END; the template must use CONTIGUOUS chunks")
        asked.update(range(int(match.group(1)), int(match.group(2)) + 1))
    outside = sorted(asked - shot)
    if outside:
        raise FarmError(
            f"Frames {frames_text}: {format_frames(outside)} not in the job's shot ({job.input.frames})"
        )


def local_run_command(
    folder: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None, openjd: str | None = None
) -> list[str]:
    """The ``openjd run`` command that runs every task of the bundle on this machine."""
    exe = openjd or _find_openjd()
    folder = Path(folder).absolute()
    values = dict(read_parameter_values(folder))
    values.update(overrides or {})
    argv = [exe, "run", str(folder / TEMPLATE_NAME)]
    for name, value in values.items():
        argv += ["--job-param", f"{name}={value}"]
    return argv


def _find_openjd() -> str:
    # Next to this interpreter first: the farm extra installs it into the same environment.
    beside = Path(sys.executable).with_name("openjd.exe" if os.name == "nt" else "openjd")
    found = str(beside) if beside.exists() else shutil.which("openjd")
    if not found:
        raise FarmError(f"the openjd command is not installed: {FARM_EXTRA.replace('openjd-model', 'openjd-cli')}")
    return found


def _have_openjd() -> bool:
    try:
        import openjd.model  # noqa: F401
    except ImportError:
        return False
    return True


def _dump_yaml(data: Any) -> str:
    try:
        import yaml
    except ImportError:
        return json.dumps(data, indent=2) + "\n"  # JSON is YAML: still a valid template.yaml
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100, allow_unicode=True)


def _write_text(path: Path, text: str) -> None:
    """Write through a temporary file and rename, so a farm never reads half a template."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException as err:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise FarmError(f"{path}: cannot write it: {err.strerror or err}") from err
        raise
