"""Render farms: a shot as an Open Job Description job bundle.

``export_bundle`` writes the bundle (AWS Deadline Cloud layout: template.yaml,
parameter_values.yaml, plus a snapshot of the job); every task of its one
step renders a chunk of frames with ``focuspull render --chunk START-END
--resume``, so a chunked render equals a single-machine render and a
re-queued task skips the frames it already wrote. ``validate_bundle`` checks
it with openjd-model, ``local_run_command`` runs it here with ``openjd run``,
``submit_bundle`` hands it to ``deadline bundle submit``.

Importing this package loads neither torch nor openjd.
"""

from __future__ import annotations

from focuspull.farm.bundle import (
    TEMPLATE_NAME,
    VALUES_NAME,
    Bundle,
    export_bundle,
    farm_job,
    local_run_command,
    read_parameter_values,
    validate_bundle,
)
from focuspull.farm.deadline import Submission, find_deadline, submit_bundle, submit_command
from focuspull.farm.errors import DeadlineUnavailable, FarmError, SubmitError
from focuspull.farm.template import FarmSettings, job_template, openjd_frames, parameter_values

__all__ = [
    "Bundle",
    "DeadlineUnavailable",
    "FarmError",
    "FarmSettings",
    "Submission",
    "SubmitError",
    "TEMPLATE_NAME",
    "VALUES_NAME",
    "export_bundle",
    "farm_job",
    "find_deadline",
    "job_template",
    "local_run_command",
    "openjd_frames",
    "parameter_values",
    "read_parameter_values",
    "submit_bundle",
    "submit_command",
    "validate_bundle",
]
