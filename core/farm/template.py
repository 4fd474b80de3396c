"""The Open Job Description job template of a focuspull shot.

A step ``Refocus``, whose parameter space is the shot's frames as a
``CHUNK[INT]`` task parameter (the ``TASK_CHUNKING`` extension, which AWS
Deadline Cloud and ``openjd run`` both implement). With ``CONTIGUOUS`` chunks
every task receives its frames as ``START-END`` and runs

    {{Param.WorkerPython}} -m focuspull render --job {{Param.JobFile}}
        --chunk START-END --resume --progress jsonl

so a farm never needs focuspull-specific plugins. When the shot's depth is
made once for the whole shot (estimated, or stabilised over time), a first
step ``Depth`` of one task makes it,

    {{Param.WorkerPython}} -m focuspull render --job {{Param.JobFile}} --depth-only --progress jsonl

and ``Refocus`` depends on it: every chunk then reuses that depth instead of
making it itself. The chunk size, the frame
list, the job file and the worker's Python are job parameters (a wrangler can
change them at submission); the GPU requirement is a host requirement of the
step, fixed when the bundle is written.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from focuspull.farm.errors import FarmError

SPECIFICATION = "jobtemplate-2023-09"
EXTENSIONS = ("TASK_CHUNKING",)
STEP_NAME = "Refocus"
DEPTH_STEP_NAME = "Depth"
TASK_PARAMETER = "Frame"
JOB_FILE_NAME = "job.json"
#: seconds a cancelled task gets after SIGTERM before the farm kills it: the
#: render unwinds, dropping the frame in flight and its temporary file.
CANCEL_NOTIFY_S = 30
NAME_LIMIT = 128


@dataclass(frozen=True)
class FarmSettings:
    """What a wrangler chooses when a shot goes to the farm."""

    chunk_size: int = 10
    gpu: bool = False
    #: the Python that has focuspull on the workers; default: the one running now
    worker_python: str = field(default_factory=lambda: sys.executable)
    name: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.chunk_size, int) or isinstance(self.chunk_size, bool) or self.chunk_size < 1:
            raise FarmError(f"chunk size: {self.chunk_size!r} is not a whole number of frames >= 1")
        if not self.worker_python.strip():
            raise FarmError("worker python: empty; expected the Python that has focuspull installed on the workers")


def openjd_frames(frames: Sequence[int]) -> str:
    """A frame list as an OpenJD range expression: ``1001-1100``, ``1001-1099:2``, ``1,5,7-9``."""
    from focuspull.io import format_frames

    if not frames:
        raise FarmError("frames: the shot has no frames to put on the farm")
    # focuspull writes a step as x2, Open Job Description as :2; nothing else differs.
    return format_frames(frames).replace("x", ":")


def task_arguments() -> list[str]:
    """The worker's arguments for one task, with the template's placeholders."""
    return [
        "-m", "focuspull", "render",
        "--job", "{{Param.JobFile}}",
        "--chunk", "{{Task.Param.%s}}" % TASK_PARAMETER,
        "--resume",
        "--progress", "jsonl",
    ]


def depth_arguments() -> list[str]:
    """The worker's arguments for the task that makes the shot's depth."""
    return ["-m", "focuspull", "render", "--job", "{{Param.JobFile}}", "--depth-only", "--progress", "jsonl"]


def job_template(settings: FarmSettings, frames: Sequence[int], name: str, depth_step: bool = False
                 ) -> dict[str, Any]:
    """The job template (a plain dict, ready for YAML) with ``frames`` as the default frame list;
    ``depth_step``: a first step makes the shot's depth (see the module docstring)."""
    step: dict[str, Any] = {
        "name": STEP_NAME,
        "description": "Refocus the shot, one chunk of frames per task; --resume skips frames already written.",
        "parameterSpace": {
            "taskParameterDefinitions": [
                {
                    "name": TASK_PARAMETER,
                    "type": "CHUNK[INT]",
                    "range": "{{Param.Frames}}",
                    "chunks": {"defaultTaskCount": "{{Param.ChunkSize}}", "rangeConstraint": "CONTIGUOUS"},
                }
            ]
        },
        "script": {
            "actions": {
                "onRun": {
                    "command": "{{Param.WorkerPython}}",
                    "args": task_arguments(),
                    "cancelation": {"mode": "NOTIFY_THEN_TERMINATE", "notifyPeriodInSeconds": CANCEL_NOTIFY_S},
                }
            }
        },
    }
    steps = [step]
    if depth_step:
        steps.insert(0, {
            "name": DEPTH_STEP_NAME,
            "description": "Make the shot's depth once (estimated or stabilised over time) for every chunk to reuse.",
            "script": {"actions": {"onRun": {
                "command": "{{Param.WorkerPython}}",
                "args": depth_arguments(),
                "cancelation": {"mode": "NOTIFY_THEN_TERMINATE", "notifyPeriodInSeconds": CANCEL_NOTIFY_S},
            }}},
        })
        step["dependencies"] = [{"dependsOn": DEPTH_STEP_NAME}]
    if settings.gpu:
        for each in steps:
            each["hostRequirements"] = {"amounts": [{"name": "amount.worker.gpu", "min": 1}]}
    group = "focuspull"
    return {
        "specificationVersion": SPECIFICATION,
        "extensions": list(EXTENSIONS),
        "name": _job_name(name),
        "description": "focuspull refocus of a shot in chunks of frames; every chunk equals the same frames of a "
        "single-machine render.",
        "parameterDefinitions": [
            {
                "name": "JobFile",
                "type": "PATH",
                "objectType": "FILE",
                "dataFlow": "IN",
                # Relative: Deadline and openjd resolve a PATH default against the bundle folder.
                "default": JOB_FILE_NAME,
                "description": "The focuspull.job/1 file; the bundle holds a snapshot of it.",
                "userInterface": {
                    "control": "CHOOSE_INPUT_FILE",
                    "label": "Job file",
                    "groupLabel": group,
                    "fileFilters": [{"label": "focuspull job", "patterns": ["*.json"]}],
                },
            },
            {
                "name": "Frames",
                "type": "STRING",
                "minLength": 1,
                "default": openjd_frames(frames),
                "description": "Frames to render, as an Open Job Description range (1001-1100, 1001-1099:2, 1,5,7-9); "
                "each must be in the job's shot.",
                "userInterface": {"control": "LINE_EDIT", "label": "Frames", "groupLabel": group},
            },
            {
                "name": "ChunkSize",
                "type": "INT",
                "minValue": 1,
                "default": settings.chunk_size,
                "description": "Frames per task: larger chunks pay the worker start-up (and an engine's context "
                "frames) fewer times; smaller chunks spread a shot over more workers.",
                "userInterface": {"control": "SPIN_BOX", "label": "Frames per task", "groupLabel": group},
            },
            {
                "name": "WorkerPython",
                "type": "STRING",
                "minLength": 1,
                "default": settings.worker_python,
                "description": "The Python interpreter on the workers that has focuspull installed.",
                "userInterface": {"control": "LINE_EDIT", "label": "Worker Python", "groupLabel": group},
            },
        ],
        "steps": steps,
    }


def parameter_values(settings: FarmSettings, frames: Sequence[int]) -> dict[str, Any]:
    """``parameter_values.yaml`` of the Deadline Cloud bundle layout.

    ``JobFile`` is left to its template default so that it resolves against the
    bundle folder wherever the bundle is.
    """
    return {
        "parameterValues": [
            {"name": "Frames", "value": openjd_frames(frames)},
            {"name": "ChunkSize", "value": settings.chunk_size},
            {"name": "WorkerPython", "value": settings.worker_python},
        ]
    }


def _job_name(name: str) -> str:
    # Braces would start a format-string expression in the template.
    clean = " ".join(name.replace("{", "(").replace("}", ")").split())
    return clean[:NAME_LIMIT] or "focuspull"
