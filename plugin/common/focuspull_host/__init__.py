"""The focuspull host package: everything Nuke, Resolve and Fusion share (standard library only).

It runs inside the hosts' own Pythons (3.6 and later) and, for hosts that run
no Python (free DaVinci Resolve 21.1+), in the worker's Python through
``python -m focuspull_host run``. Torch never loads here: the render runs in
a separate worker process,

    <worker python> -m focuspull render --job job.json --progress jsonl

Modules: ``errors`` (one root, codes, messages), ``frames`` (frame ranges and
patterns), ``schema`` (the shipped job schema: checking jobs, controls made
from it), ``jobs`` (the one job builder), ``worker`` (the worker process),
``runs`` (a render to the end; a background render or farm submission with
progress and cancel), ``farm`` (bundle export and Deadline submission),
``progress`` (status text). A host adds a thin adapter: sample its controls,
find the plate/depth/matte sequences, show progress, load the result.
"""

import sys

from .errors import (ClientError, FarmFailed, InvalidJob, RenderCancelled, RenderFailed, WorkerNotConfigured,
                     describe_error, status_line)
from .frames import (format_frames, frame_path, frame_runs, parse_frames, pattern_from_filename, pattern_padding,
                     resolve_path, same_frame_file, to_hash_pattern)
from .jobs import Curve, HostInputs, build_job, curve_from_samples, job_path_for, write_json
from .progress import iter_events_from_lines, progress_fraction, progress_text
from .runs import BackgroundRun, RenderResult, run_job
from .schema import SCHEMA_FILE, SCHEMA_ID, check_job, choices, load_schema, validate_job
from .worker import (Event, WorkerProcess, read_settings, settings_dir, settings_path, worker_command,
                     worker_environment)
from . import farm

MIN_PYTHON = (3, 6)

__all__ = [
    "ClientError", "FarmFailed", "InvalidJob", "RenderCancelled", "RenderFailed", "WorkerNotConfigured",
    "describe_error", "status_line", "format_frames", "frame_path", "frame_runs", "parse_frames",
    "pattern_from_filename", "pattern_padding", "resolve_path", "same_frame_file", "to_hash_pattern", "Curve",
    "HostInputs", "build_job", "curve_from_samples", "job_path_for", "write_json", "iter_events_from_lines",
    "progress_fraction", "progress_text", "BackgroundRun", "RenderResult", "run_job", "SCHEMA_FILE", "SCHEMA_ID",
    "check_job", "choices", "load_schema", "validate_job", "Event", "WorkerProcess", "read_settings",
    "settings_dir", "settings_path", "worker_command", "worker_environment", "farm", "MIN_PYTHON",
]

if sys.version_info < MIN_PYTHON:  # pragma: no cover - older than any supported host
    raise ImportError("focuspull_host needs Python 3.6+, this is {}".format(sys.version.split()[0]))
