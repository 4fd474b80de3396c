"""The viewer panel: what to show (source, resolution, overlay, exposure, display/view, A/B) and the image.

It binds to the view-model only: its controls set the model, the model's
changes set its controls, and the composed images come from the view
pipeline. A click focuses, the hover point goes to the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from focuspull.errors import FocusPullError
from focuspull.ui import model as m
from focuspull.ui._qt import QtCore, QtGui, QtWidgets
from focuspull.ui.binding import fill_combo, set_combo, set_quietly
from focuspull.ui.display import display_step
from focuspull.ui.overlays import OVERLAY_LABELS, OVERLAYS
from focuspull.ui.viewer import ImageView

if TYPE_CHECKING:
    from focuspull.ui.compose import Composed

SOURCE_LABELS = {"plate": "Plate", "preview": "Preview", "render": "Render"}
#: where an A/B wipe starts
DEFAULT_WIPE = 0.5


class ViewerPanel(QtWidgets.QWidget):
    zoomChanged = QtCore.Signal()

    def __init__(self, model: m.WorkspaceModel, actions: Sequence[QtGui.QAction | None] = (),
                 parent: QtWidgets.QWidget | None = None) -> None:
        """``actions``: commands for the start of the toolbar (None: a separator)."""
        super().__init__(parent)
        self.model = model
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.toolbar = QtWidgets.QToolBar(self)
        self.toolbar.setIconSize(QtCore.QSize(16, 16))
        layout.addWidget(self.toolbar)
        for action in actions:
            self.toolbar.addSeparator() if action is None else self.toolbar.addAction(action)

        self.source_combo = QtWidgets.QComboBox()
        for name in m.SOURCES:
            self.source_combo.addItem(SOURCE_LABELS[name], name)
        self.source_combo.setToolTip("What the viewer shows: the plate, the live preview or the rendered frames")
        self.scale_combo = QtWidgets.QComboBox()
        for factor in m.PREVIEW_SCALES:
            self.scale_combo.addItem("Full res" if factor == 1 else f"1/{factor} res", factor)
        self.scale_combo.setToolTip("Resolution the preview refines to (a 1/8 coarse picture comes first)")
        self.overlay_combo = QtWidgets.QComboBox()
        for name in OVERLAYS:
            self.overlay_combo.addItem(OVERLAY_LABELS[name], name)
        self.exposure_spin = QtWidgets.QDoubleSpinBox()
        self.exposure_spin.setRange(-16.0, 16.0)
        self.exposure_spin.setSingleStep(0.5)
        self.exposure_spin.setDecimals(1)
        self.exposure_spin.setSuffix(" EV")
        self.exposure_spin.setToolTip("Exposure in stops, applied in scene linear before the view")
        self.display_combo = QtWidgets.QComboBox()
        self.display_combo.setToolTip("OCIO display")
        self.view_combo = QtWidgets.QComboBox()
        self.view_combo.setToolTip("OCIO view")
        for combo, chars in ((self.display_combo, 10), (self.view_combo, 17)):
            combo.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(chars)
        self.wipe_check = QtWidgets.QCheckBox("A/B")
        self.wipe_check.setToolTip("Wipe between the plate (left) and the preview or render (right); "
                                   "Ctrl-drag in the viewer moves the split")
        for widget in (self.source_combo, self.scale_combo, self.overlay_combo, self.exposure_spin,
                       self.display_combo, self.view_combo, self.wipe_check):
            self.toolbar.addWidget(widget)

        self._shown: Composed | None = None
        self.view = ImageView(self)
        self.view.setToolTip("Click to focus on what is under the cursor; wheel zooms, middle-drag pans, F fits")
        layout.addWidget(self.view, 1)

        self.source_combo.currentIndexChanged.connect(lambda i: model.set_source(self.source_combo.itemData(i)))
        self.scale_combo.currentIndexChanged.connect(lambda i: model.set_preview_scale(self.scale_combo.itemData(i)))
        self.overlay_combo.currentIndexChanged.connect(lambda i: model.set_overlay(self.overlay_combo.itemData(i)))
        self.exposure_spin.valueChanged.connect(model.set_exposure)
        self.display_combo.activated.connect(lambda i: model.set_display_view(self.display_combo.itemData(i), None))
        self.view_combo.activated.connect(
            lambda i: model.set_display_view(model.display, self.view_combo.itemData(i)))
        self.wipe_check.toggled.connect(lambda on: model.set_wipe(DEFAULT_WIPE if on else None))
        self.view.clicked.connect(self._on_click)
        self.view.hovered.connect(lambda x, y: model.set_hover(None if x < 0 else (x, y)))
        self.view.wipeMoved.connect(lambda split: model.set_wipe(split) if model.wipe is not None else None)
        self.view.scaleChanged.connect(lambda scale: self.zoomChanged.emit())
        model.changed.connect(self._sync)
        self._sync(frozenset({m.SHOT, m.VIEW}))

    def display_step(self, plate_size: tuple[int, int]) -> int:
        """Plate pixels per shown pixel at the current zoom (what the composer needs to make)."""
        return display_step(self.view.fit_scale(plate_size) if self.view.fitting else self.view.scale())

    def show_composed(self, composed: "Composed") -> None:
        self.view.set_windows(composed.windows)
        self.view.set_image(composed.image, composed.plate_size)
        self.view.set_wipe(composed.wipe)
        self._shown = composed
        self._show_message()

    def _show_message(self) -> None:
        composed = self._shown
        frame = self.model.frame
        if self.model.shot is None:
            self.view.set_image(None)
            self.view.set_message("Open a plate (Ctrl+Shift+O) or a job (Ctrl+O)")
        elif composed is None:
            self.view.set_message(f"loading frame {frame}…")
        elif composed.frame != frame:
            what = "loading" if self.model.cached_frame() is None else "rendering"
            self.view.set_message(f"frame {composed.frame} · {what} frame {frame}…")
        else:
            self.view.set_message(composed.message)

    def _on_click(self, x: float, y: float) -> None:
        try:
            self.model.focus_at(x, y)
        except FocusPullError as err:
            self.model.error(str(err))

    def _sync(self, aspects: frozenset[str]) -> None:
        model = self.model
        if aspects & {m.VIEW, m.SHOT}:
            set_combo(self.source_combo, model.source)
            set_combo(self.scale_combo, model.preview_scale)
            set_combo(self.overlay_combo, model.overlay)
            set_quietly(self.exposure_spin, "setValue", model.exposure_stops)
            set_quietly(self.wipe_check, "setChecked", model.wipe is not None)
            self.wipe_check.setEnabled(model.source != "plate")
            if model.shot is not None:
                color = model.shot.color
                fill_combo(self.display_combo, [(d, d) for d in color.displays()], model.display)
                fill_combo(self.view_combo, [(v, v) for v in color.views(model.display)], model.view_name)
        if aspects & {m.SHOT, m.FRAME}:
            if m.SHOT in aspects:
                self._shown = None
            self._show_message()
