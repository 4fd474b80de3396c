"""The key editor: which curve, its value at this frame, key/delete, interpolation, and the hover readout.

Binds to the view-model only. The hover readout (depth and CoC under the
cursor) is recomputed on every change of the job or the frame, not only when
the mouse moves, so it follows a key the moment it is set.
"""

from __future__ import annotations

from focuspull.ui import keys as keyops
from focuspull.ui import model as m
from focuspull.ui._qt import QtGui, QtWidgets
from focuspull.ui.binding import set_combo, set_quietly


class KeysPanel(QtWidgets.QWidget):
    def __init__(self, model: m.WorkspaceModel, key_action: QtGui.QAction, delete_action: QtGui.QAction,
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.key_action, self.delete_action = key_action, delete_action
        row = QtWidgets.QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.curve_combo = QtWidgets.QComboBox()
        self.curve_combo.addItem("Focus", "focus")
        self.curve_combo.addItem("Strength K", "strength")
        row.addWidget(self.curve_combo)
        self.value_spin = QtWidgets.QDoubleSpinBox()
        self.value_spin.setDecimals(4)
        self.value_spin.setRange(0.0, 1e9)
        self.value_spin.setKeyboardTracking(False)  # a typed value is set on Enter or when the box loses focus
        self.value_spin.setMinimumWidth(110)
        self.value_spin.setToolTip("The curve's value at this frame; changing it sets a key here")
        row.addWidget(self.value_spin)
        for action in (key_action, delete_action):
            button = QtWidgets.QToolButton()
            button.setDefaultAction(action)
            row.addWidget(button)
        self.interp_combo = QtWidgets.QComboBox()
        for interp in ("constant", "linear", "smooth"):
            self.interp_combo.addItem(interp.capitalize(), interp)
        self.interp_combo.setToolTip("Interpolation of the segment leaving the key at this frame")
        row.addWidget(self.interp_combo)
        row.addStretch(1)
        self.pixel_info = QtWidgets.QLabel()
        row.addWidget(self.pixel_info)

        self.curve_combo.currentIndexChanged.connect(lambda i: model.set_active_curve(self.curve_combo.itemData(i)))
        self.value_spin.valueChanged.connect(model.set_value)
        self.interp_combo.activated.connect(self._on_interp)
        model.changed.connect(self._sync)
        self._sync(frozenset({m.SHOT}))

    def commit(self) -> None:
        """Take a value typed but not yet entered (before a render, say)."""
        if self.value_spin.hasFocus() or self.value_spin.lineEdit().isModified():
            self.value_spin.interpretText()

    def _on_interp(self, index: int) -> None:
        model = self.model
        if model.frame is not None:
            model.set_interpolation(model.active_curve, float(model.frame), self.interp_combo.itemData(index))

    def _sync(self, aspects: frozenset[str]) -> None:
        if aspects & {m.SHOT, m.JOB, m.FRAME, m.CURVE}:
            self._sync_editor()
        if aspects & {m.SHOT, m.JOB, m.FRAME, m.HOVER}:
            self.pixel_info.setText(self.model.pixel_readout())

    def _sync_editor(self) -> None:
        model = self.model
        curves = model.curves()
        item_model = self.curve_combo.model()
        for i in range(self.curve_combo.count()):
            item_model.item(i).setEnabled(self.curve_combo.itemData(i) in curves)
        set_combo(self.curve_combo, model.active_curve)
        curve = curves.get(model.active_curve)
        frame = model.frame
        key = keyops.key_at(curve, frame) if curve is not None and frame is not None else None
        self.value_spin.setEnabled(curve is not None and frame is not None)
        self.key_action.setEnabled(curve is not None)
        self.interp_combo.setEnabled(key is not None)
        self.delete_action.setEnabled(curve is not None)
        if curve is not None and frame is not None:
            self.value_spin.setSingleStep(1.0 if model.active_curve == "strength" else 0.05)
            set_quietly(self.value_spin, "setValue", curve(frame))
        if key is not None:
            set_combo(self.interp_combo, key.interpolation)
