"""The standalone main window: the workspace plus menus."""

from __future__ import annotations

from typing import Any

from focuspull.ui._qt import QtGui, QtWidgets
from focuspull.ui.widget import FocusPullWidget


class FocusPullWindow(QtWidgets.QMainWindow):
    def __init__(self, parent: QtWidgets.QWidget | None = None, **widget_options: Any) -> None:
        super().__init__(parent)
        self.workspace = FocusPullWidget(self, **widget_options)
        self.setCentralWidget(self.workspace)
        self.workspace.titleChanged.connect(self.setWindowTitle)
        self.setWindowTitle(self.workspace.model.title())
        a = self.workspace.actions
        menus = (
            ("&File", (a.open_plate, a.open_job, None, a.save_job, a.save_job_as, None)),
            ("&Edit", (a.undo, a.redo, None, a.key, a.delete_key)),
            ("&View", (a.fit, None, a.play, a.prev, a.next, a.first, a.last)),
            ("&Render", (a.render, a.cancel)),
        )
        for title, actions in menus:
            menu = self.menuBar().addMenu(title)
            for action in actions:
                menu.addSeparator() if action is None else menu.addAction(action)
            if title == "&File":
                quit_action = menu.addAction("Quit")
                quit_action.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
                quit_action.triggered.connect(self.close)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.workspace.shutdown()
        super().closeEvent(event)
