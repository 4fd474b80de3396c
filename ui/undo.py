"""Undo for job edits, without Qt: every edit swaps one immutable Job for another.

Jobs are frozen dataclasses, so a step is just (before, after). Consecutive
edits with the same ``merge_key`` (a spin box being stepped) merge into one
step, as Qt's QUndoStack merges commands with the same id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class Step(Generic[T]):
    before: T
    after: T
    text: str
    merge_key: str | None = None


class UndoStack(Generic[T]):
    def __init__(self) -> None:
        self._steps: list[Step[T]] = []
        self._index = 0  # steps below this are done
        self._clean: int | None = 0

    def push(self, before: T, after: T, text: str, merge_key: str | None = None) -> None:
        del self._steps[self._index :]
        if self._clean is not None and self._clean > self._index:
            self._clean = None  # the saved state was undone and is now unreachable
        top = self._steps[-1] if self._steps else None
        if merge_key is not None and top is not None and top.merge_key == merge_key and self._clean != self._index:
            top.after = after
            return
        self._steps.append(Step(before, after, text, merge_key))
        self._index += 1

    def undo(self) -> T | None:
        """The job before the step undone, or None when there is nothing to undo."""
        if not self.can_undo:
            return None
        self._index -= 1
        return self._steps[self._index].before

    def redo(self) -> T | None:
        if not self.can_redo:
            return None
        self._index += 1
        return self._steps[self._index - 1].after

    @property
    def can_undo(self) -> bool:
        return self._index > 0

    @property
    def can_redo(self) -> bool:
        return self._index < len(self._steps)

    @property
    def undo_text(self) -> str:
        return self._steps[self._index - 1].text if self.can_undo else ""

    @property
    def redo_text(self) -> str:
        return self._steps[self._index].text if self.can_redo else ""

    @property
    def index(self) -> int:
        return self._index

    def __len__(self) -> int:
        return len(self._steps)

    def clear(self) -> None:
        self._steps.clear()
        self._index = 0
        self._clean = 0

    def set_clean(self) -> None:
        self._clean = self._index

    @property
    def is_clean(self) -> bool:
        return self._clean == self._index
