"""The workspace's commands as QActions: shared by its buttons, the window's menus and shortcuts.

Inside Nuke the panel must not steal the host's shortcuts, so every shortcut
acts only while the workspace (or a child) has focus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from focuspull.ui._qt import QtCore, QtGui, QtWidgets


class WorkspaceActions:
    def __init__(self, owner: QtWidgets.QWidget, handlers: dict[str, Callable[[], Any]]) -> None:
        self._owner = owner
        act, h = self._action, handlers
        keys = QtGui.QKeySequence.StandardKey
        self.open_plate = act("Open plate…", h["open_plate"], "Ctrl+Shift+O", "Open an EXR sequence")
        self.open_job = act("Open job…", h["open_job"], keys.Open,
                            "Open a focuspull.job/1 file (e.g. written by a Nuke node)")
        self.save_job = act("Save job", h["save_job"], keys.Save)
        self.save_job_as = act("Save job as…", h["save_job_as"], keys.SaveAs)
        self.undo = act("Undo", h["undo"], keys.Undo)
        self.redo = act("Redo", h["redo"], keys.Redo)
        self.play = act("Play", h["play"], "Space", "Play the frames in memory")
        self.play.setCheckable(True)
        self.prev = act("Previous frame", h["prev"], "Left")
        self.next = act("Next frame", h["next"], "Right")
        self.first = act("First frame", h["first"], "Home")
        self.last = act("Last frame", h["last"], "End")
        self.key = act("Key", h["key"], "K", "Set a key at this frame")
        self.delete_key = act("Delete key", h["delete_key"], None, "Delete the key at this frame (or the selected one)")
        self.render = act("Render", h["render"], "Ctrl+R", "Render the job's frames")
        self.cancel = act("Cancel", h["cancel"], None, "Stop after the frame being written")
        self.fit = act("Fit", h["fit"], "F", "Fit the plate in the viewer")
        style = owner.style()
        icons = QtWidgets.QStyle.StandardPixmap
        for action, icon in ((self.prev, icons.SP_MediaSeekBackward), (self.next, icons.SP_MediaSeekForward),
                             (self.first, icons.SP_MediaSkipBackward), (self.last, icons.SP_MediaSkipForward),
                             (self.play, icons.SP_MediaPlay)):
            action.setIcon(style.standardIcon(icon))

    @property
    def transport(self) -> tuple[QtGui.QAction, ...]:
        return (self.first, self.prev, self.play, self.next, self.last)

    @property
    def needs_job(self) -> tuple[QtGui.QAction, ...]:
        return (self.save_job, self.save_job_as, self.play, self.prev, self.next, self.first, self.last)

    def _action(self, text: str, slot: Callable[[], Any], shortcut: Any = None, tip: str = "") -> QtGui.QAction:
        action = QtGui.QAction(text, self._owner)
        if shortcut is not None:
            action.setShortcut(QtGui.QKeySequence(shortcut))
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WidgetWithChildrenShortcut)
        if tip:
            action.setToolTip(tip)
        action.triggered.connect(lambda checked=False: slot())
        self._owner.addAction(action)
        return action
