"""Small helpers for panels that show the view-model: set a control without echoing it back."""

from __future__ import annotations

from typing import Any

from focuspull.ui._qt import QtWidgets


def set_combo(combo: QtWidgets.QComboBox, data: Any) -> None:
    """Select the item holding ``data`` without emitting the combo's signals."""
    i = combo.findData(data)
    if i >= 0 and i != combo.currentIndex():
        blocked = combo.blockSignals(True)
        combo.setCurrentIndex(i)
        combo.blockSignals(blocked)


def set_quietly(widget: QtWidgets.QWidget, setter: str, value: Any) -> None:
    """``widget.<setter>(value)`` with its signals blocked (the model already holds the value)."""
    blocked = widget.blockSignals(True)
    try:
        getattr(widget, setter)(value)
    finally:
        widget.blockSignals(blocked)


def fill_combo(combo: QtWidgets.QComboBox, items: list[tuple[str, Any]], current: Any) -> None:
    blocked = combo.blockSignals(True)
    try:
        combo.clear()
        for label, data in items:
            combo.addItem(label, data)
        i = combo.findData(current)
        if i >= 0:
            combo.setCurrentIndex(i)
    finally:
        combo.blockSignals(blocked)
