"""The host package's errors: one root, a code per failure, and a message for the artist."""

from typing import Dict, Optional

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
    "deadline_unavailable": "The bundle is written; install and configure the Deadline Cloud CLI (pip install deadline; "
    "deadline config gui) or submit the bundle folder from a machine where it is.",
    "submit_failed": "deadline bundle submit failed; its last lines are above.",
    "farm_error": "The farm bundle could not be written; the message names the problem.",
}  # type: Dict[str, str]


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

    def __init__(self, message: str, code: Optional[str] = None, returncode: Optional[int] = None,
                 log_tail: str = "") -> None:
        super().__init__(message, code)
        self.returncode = returncode
        self.log_tail = log_tail


class RenderCancelled(ClientError):
    code = "cancelled"


class FarmFailed(ClientError):
    code = "farm_error"


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


def status_line(error: BaseException) -> str:
    """The first line of ``describe_error`` for a node's status: ``error: <message> [code]``."""
    return "error: " + describe_error(error).splitlines()[0].replace("FocusPull: ", "", 1)
