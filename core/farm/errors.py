"""Errors of the farm bundle and its submission (codes for the progress protocol)."""

from __future__ import annotations

from focuspull.errors import FocusPullError


class FarmError(FocusPullError):
    """A farm bundle cannot be written, validated or run."""

    code = "farm_error"


class DeadlineUnavailable(FarmError):
    """The Deadline Cloud CLI is not installed, or has no farm and queue configured."""

    code = "deadline_unavailable"


class SubmitError(FarmError):
    """``deadline bundle submit`` ran and failed."""

    code = "submit_failed"
