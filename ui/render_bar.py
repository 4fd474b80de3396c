"""The render bar: output pattern, frames, Render/Cancel and progress.

Typed text is committed to the job when the field loses focus, on Enter, and
before a render starts (a tool button takes no focus when clicked, so
without that a typed range would be ignored).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from focuspull.ui import model as m
from focuspull.ui._qt import QtGui, QtWidgets

if TYPE_CHECKING:
    from focuspull.ui.render import RenderController


#: what the bar says while the shot's depth is made, by progress stage
STAGE_LABELS = {"depth": "estimating depth", "stabilize": "stabilising depth"}


class RenderBar(QtWidgets.QWidget):
    def __init__(self, model: m.WorkspaceModel, renderer: "RenderController", render_action: QtGui.QAction,
                 cancel_action: QtGui.QAction, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.renderer = renderer
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QtWidgets.QLabel("Output"))
        self.output_edit = QtWidgets.QLineEdit()
        self.output_edit.setToolTip("Output pattern, e.g. /shots/a/refocus/plate.####.exr")
        row.addWidget(self.output_edit, 3)
        row.addWidget(QtWidgets.QLabel("Frames"))
        self.frames_edit = QtWidgets.QLineEdit()
        self.frames_edit.setPlaceholderText("all on disk")
        self.frames_edit.setToolTip("1001-1100, 1001-1100x2 or 1001,1005,1010-1012; empty: every frame on disk")
        row.addWidget(self.frames_edit, 1)
        self.buttons = {}
        for action in (render_action, cancel_action):
            button = QtWidgets.QToolButton()
            button.setDefaultAction(action)
            row.addWidget(button)
            self.buttons[action.text()] = button
        self.progress = QtWidgets.QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        row.addWidget(self.progress, 2)

        # editingFinished: Enter, or the field losing focus
        self.output_edit.editingFinished.connect(lambda: self._commit(self.output_edit, model.set_output))
        self.frames_edit.editingFinished.connect(lambda: self._commit(self.frames_edit, model.set_frames))
        renderer.progress.connect(self._on_progress)
        renderer.stage.connect(self._on_stage)
        model.changed.connect(self._sync)
        self._sync(frozenset({m.SHOT}))

    def commit(self) -> bool:
        """Put typed text into the job; False when it was refused (the status line says why)."""
        ok = self._commit(self.output_edit, self.model.set_output)
        return self._commit(self.frames_edit, self.model.set_frames) and ok

    def _commit(self, edit: QtWidgets.QLineEdit, setter: Any) -> bool:
        if not edit.isModified():
            return True
        edit.setModified(False)
        ok = bool(setter(edit.text()))
        if not ok:
            self._sync(frozenset({m.JOB}))  # show the job's value again
        return ok

    def start(self, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(0)
        self.progress.setFormat("%v / %m frames")

    def _on_stage(self, stage: str, done: int, total: int) -> None:
        """The shot's depth being made before the first frame (estimated, stabilised): minutes, shown."""
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{STAGE_LABELS.get(stage, stage)} %v / %m")

    def _on_progress(self, done: int, total: int, frame: int) -> None:
        self.progress.setFormat("%v / %m frames")
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        if done:
            self.model.info(f"rendered frame {frame} ({done}/{total})")

    def _sync(self, aspects: frozenset[str]) -> None:
        if aspects & {m.SHOT, m.JOB}:
            job: Any = self.model.job
            # a field being typed in keeps its text until it is committed
            if not self.output_edit.isModified():
                self.output_edit.setText(job.output.pattern if job else "")
            if not self.frames_edit.isModified():
                self.frames_edit.setText((job.input.frames or "") if job else "")
            for widget in (self.output_edit, self.frames_edit):
                widget.setEnabled(job is not None)
