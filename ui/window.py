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
        self.setWindowTitle(self.workspace.title())
        w = self.workspace

        file_menu = self.menuBar().addMenu("&File")
        for action in (w.open_plate_action, w.open_job_action, None, w.save_job_action, w.save_job_as_action, None):
            file_menu.addSeparator() if action is None else file_menu.addAction(action)
        quit_action = file_menu.addAction("Quit")
        quit_action.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)

        edit_menu = self.menuBar().addMenu("&Edit")
        edit_menu.addAction(w.undo_action)
        edit_menu.addAction(w.redo_action)
        edit_menu.addSeparator()
        edit_menu.addAction(w.key_action)
        edit_menu.addAction(w.delete_key_action)

        view_menu = self.menuBar().addMenu("&View")
        for action in (w.fit_action, None, w.play_action, w.prev_action, w.next_action, w.first_action, w.last_action):
            view_menu.addSeparator() if action is None else view_menu.addAction(action)

        render_menu = self.menuBar().addMenu("&Render")
        render_menu.addAction(w.render_action)
        render_menu.addAction(w.cancel_action)

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.workspace.shutdown()
        super().closeEvent(event)
