"""One error root with a few specific subclasses.

Every error carries a stable ``code`` that the CLI puts into the ``error``
progress event, so host plugins can react without parsing messages.
"""

from __future__ import annotations


class FocusPullError(Exception):
    """Root of every error focuspull raises on purpose."""

    code = "focuspull_error"

    def one_line(self) -> str:
        """The message as one line: libraries (OIIO, OCIO) report over several,
        repeating themselves; a host status line and stderr need one."""
        text = ""
        for line in str(self).splitlines():
            line = line.strip()
            if line and line not in text:
                text += ("" if not text else " " if text[-1] in ".:;," else "; ") + line
        return text


class JobError(FocusPullError):
    """A job, option or command-line value is invalid; the message names the field."""

    code = "invalid_job"


class CurveError(JobError):
    """A keyframed curve is malformed (unsorted or duplicate keys, bad interpolation)."""

    code = "invalid_curve"


class SequenceError(FocusPullError):
    """A frame sequence cannot be resolved: bad pattern, bad range, missing frames."""

    code = "sequence_error"


class MissingFramesError(SequenceError):
    code = "missing_frames"


class ImageReadError(FocusPullError):
    """A file is unreadable or corrupt; the message names the file."""

    code = "unreadable_file"


class ImageDataError(FocusPullError):
    """Pixel data is unusable: NaN/Inf, size mismatch, invalid depth."""

    code = "bad_pixels"


class ColorError(FocusPullError):
    """Unknown colour space or an OCIO config that cannot be loaded."""

    code = "color_error"


class OutputError(FocusPullError):
    """The output cannot be written (unwritable folder, would overwrite the input)."""

    code = "output_error"


class EngineError(FocusPullError):
    """An engine cannot run (unknown engine, device unavailable, out of memory)."""

    code = "engine_error"


class WeightsError(EngineError):
    """Model weights are missing or do not match the model."""

    code = "missing_weights"


class CancelledError(FocusPullError):
    code = "cancelled"
