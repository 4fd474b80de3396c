"""The job being edited, with undo: every edit swaps one immutable Job for another.

Jobs are frozen dataclasses, so an undo command is just (before, after). The
workspace resolves an edited job (the core's per-frame checks) before it
pushes it, so the stack never holds a job that cannot render.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING

from focuspull.ui._qt import QtCore, QtGui

if TYPE_CHECKING:
    from focuspull.curves import Curve
    from focuspull.job import Job

log = logging.getLogger(__name__)

CURVES = ("focus", "strength")
_MERGE_ID = 0x4650  # commands that may merge (a spin box being stepped) share this id


class JobEdit(QtGui.QUndoCommand):
    def __init__(self, document: "JobDocument", before: "Job", after: "Job", text: str, merge_key: str | None = None):
        super().__init__(text)
        self.document = document
        self.before = before
        self.after = after
        self.merge_key = merge_key

    def redo(self) -> None:
        self.document._assign(self.after)

    def undo(self) -> None:
        self.document._assign(self.before)

    def id(self) -> int:
        return _MERGE_ID if self.merge_key else -1

    def mergeWith(self, other: QtGui.QUndoCommand) -> bool:
        if not isinstance(other, JobEdit) or other.merge_key != self.merge_key:
            return False
        self.after = other.after
        return True


class JobDocument(QtCore.QObject):
    """Holds the job; emits ``jobChanged(old, new)`` after every change (edits, undo, redo, open)."""

    jobChanged = QtCore.Signal(object, object)

    def __init__(self, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.undo_stack = QtGui.QUndoStack(self)
        self._job: Job | None = None
        self.path: str | None = None
        #: bumped on every change; previews are tagged with it
        self.revision = 0

    @property
    def job(self) -> "Job | None":
        return self._job

    def reset(self, job: "Job | None", path: str | None = None) -> None:
        """A new job (opened, not edited): clears the undo history."""
        self.undo_stack.clear()
        self.path = path
        self._assign(job)
        self.undo_stack.setClean()

    def edit(self, job: "Job", text: str, merge_key: str | None = None) -> None:
        """Push an undoable change from the current job to ``job``."""
        if self._job is None:
            raise RuntimeError("no job to edit")
        if job == self._job:
            return
        self.undo_stack.push(JobEdit(self, self._job, job, text, merge_key))

    def curve(self, name: str) -> "Curve | None":
        """The focus or strength curve; None where the job's mode has none (point/matte focus, lens K)."""
        if self._job is None:
            raise RuntimeError("no job")
        return getattr(self._job, _check_curve(name)).value

    def with_curve(self, name: str, curve: "Curve") -> "Job":
        assert self._job is not None
        spec = getattr(self._job, _check_curve(name))
        return self._job.replace(**{name: dataclasses.replace(spec, value=curve)})

    def _assign(self, job: "Job | None") -> None:
        old, self._job = self._job, job
        self.revision += 1
        self.jobChanged.emit(old, job)


def _check_curve(name: str) -> str:
    if name not in CURVES:
        raise ValueError(f"unknown curve {name!r}; expected one of {', '.join(CURVES)}")
    return name
