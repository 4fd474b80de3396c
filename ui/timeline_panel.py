"""The timeline panel: transport, frame number, depth kind, and the curve timeline.

Binds to the view-model only: the timeline's key requests become model edits
(each one undo step); the model's changes redraw it. Playback steps through
the frames in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

from focuspull.ui import model as m
from focuspull.ui._qt import QtCore, QtGui, QtWidgets
from focuspull.ui.binding import set_combo, set_quietly
from focuspull.ui.timeline import CurveTimeline

DEFAULT_FPS = 24.0
DEPTH_STEP_LABELS = {"remove_outliers": "Outliers", "refine_edges": "Edges", "stabilize": "Stabilise"}
DEPTH_STEP_TIPS = {
    "remove_outliers": "auto: on for disparity maps and estimated depth, off for metric depth",
    "refine_edges": "auto: on for estimated depth, off for supplied depth and metric depth",
    "stabilize": "auto: on for estimated depth, off for supplied depth. The render reads the whole shot once "
                 "and writes it next to the output; the workspace shows it once written",
}
DEPTH_KIND_LABELS = {"depth": "distance z", "inverse_depth": "1/z (far = 0)", "disparity": "disparity",
                     "normalized_disparity": "disparity 0..1"}


class TimelinePanel(QtWidgets.QWidget):
    def __init__(self, model: m.WorkspaceModel, transport: Sequence[QtGui.QAction],
                 parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QtWidgets.QHBoxLayout()
        for action in transport:
            button = QtWidgets.QToolButton()
            button.setDefaultAction(action)
            button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonIconOnly)
            button.setAutoRaise(True)
            row.addWidget(button)
        self.frame_spin = QtWidgets.QSpinBox()
        self.frame_spin.setRange(-10**7, 10**7)
        self.frame_spin.setKeyboardTracking(False)
        row.addWidget(QtWidgets.QLabel("Frame"))
        row.addWidget(self.frame_spin)
        self.frame_info = QtWidgets.QLabel()
        # takes the room left over (cut short in a narrow window) so the row's switches always fit
        self.frame_info.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        row.addWidget(self.frame_info, 1)
        row.addWidget(QtWidgets.QLabel("Depth is"))
        self.depth_kind_combo = QtWidgets.QComboBox()
        for kind in m.DEPTH_KINDS:
            self.depth_kind_combo.addItem(DEPTH_KIND_LABELS[kind], kind)
        row.addWidget(self.depth_kind_combo)
        layout.addLayout(row)
        # the conditioning steps on a row of their own, right-aligned under "Depth is": one row would
        # not fit an 800-px window
        row = QtWidgets.QHBoxLayout()
        row.addStretch(1)
        row.addWidget(QtWidgets.QLabel("Depth conditioning"))
        #: depth conditioning switches (job depth.remove_outliers / refine_edges / stabilize)
        self.depth_step_combos: dict[str, QtWidgets.QComboBox] = {}
        for step, label in DEPTH_STEP_LABELS.items():
            combo = QtWidgets.QComboBox()
            for value in m.SWITCHES:  # the label in the items, not beside them: the row stays narrow
                combo.addItem(f"{label} {value}", value)
            combo.setToolTip(f"Depth conditioning: {label.lower()} ({DEPTH_STEP_TIPS[step]})")
            combo.activated.connect(lambda i, step=step, combo=combo: model.set_depth_step(step, combo.itemData(i)))
            row.addWidget(combo)
            self.depth_step_combos[step] = combo
            if step == "refine_edges":
                #: the edge refinement's radius (job depth.edge_radius_px), beside its switch
                self.edge_radius_spin = QtWidgets.QSpinBox()
                self.edge_radius_spin.setRange(3, 32)
                self.edge_radius_spin.setSuffix(" px")
                self.edge_radius_spin.setKeyboardTracking(False)  # one edit per value, not per digit
                self.edge_radius_spin.setToolTip("Edge refinement radius: depth edges up to about half of it off "
                                                 "the plate's edge move to it")
                self.edge_radius_spin.valueChanged.connect(model.set_depth_edge_radius)
                row.addWidget(self.edge_radius_spin)
        layout.addLayout(row)
        self.timeline = CurveTimeline(self)
        self.timeline.setMinimumHeight(130)
        layout.addWidget(self.timeline)

        tl = self.timeline
        tl.frameRequested.connect(model.set_frame)
        tl.keyAdded.connect(lambda name, frame, value: model.set_key(name, frame, value))
        tl.keyMoved.connect(model.move_key)
        tl.keyDeleted.connect(model.remove_key)
        tl.interpolationChanged.connect(model.set_interpolation)
        tl.selectionChanged.connect(self._on_key_selected)
        self.frame_spin.valueChanged.connect(model.set_frame)
        self.depth_kind_combo.activated.connect(lambda i: model.set_depth_kind(self.depth_kind_combo.itemData(i)))
        model.changed.connect(self._sync)
        self._sync(frozenset({m.SHOT}))

    def set_cached(self, frames: set[int]) -> None:
        self.timeline.set_cached(frames)

    def _on_key_selected(self, frame: object) -> None:
        if isinstance(frame, float) and frame.is_integer() and int(frame) in self.model.frames:
            self.model.set_frame(int(frame))

    def _sync(self, aspects: frozenset[str]) -> None:
        model, tl = self.model, self.timeline
        if m.SHOT in aspects:
            frames = model.frames
            tl.set_frames(frames)
            if frames:
                blocked = self.frame_spin.blockSignals(True)
                self.frame_spin.setRange(frames[0], frames[-1])
                self.frame_spin.blockSignals(blocked)
        if aspects & {m.SHOT, m.JOB, m.CURVE}:
            curves = model.curves()
            tl.set_active(model.active_curve)
            tl.set_curves(curves, {name: model.curve_label(name) for name in curves})
            if model.job is not None:
                set_combo(self.depth_kind_combo, model.job.depth.kind)
                for step, combo in self.depth_step_combos.items():
                    set_combo(combo, getattr(model.job.depth, step))
                set_quietly(self.edge_radius_spin, "setValue", model.job.depth.edge_radius_px)
            for widget in (self.frame_spin, self.depth_kind_combo, self.edge_radius_spin,
                           *self.depth_step_combos.values()):
                widget.setEnabled(model.job is not None)
        if aspects & {m.SHOT, m.FRAME}:
            tl.set_current_frame(model.frame)
            if model.frame is not None:
                set_quietly(self.frame_spin, "setValue", model.frame)
        if aspects & {m.SHOT, m.JOB, m.FRAME}:
            self.frame_info.setText(f"  {model.frame_info()}" if model.job else "")


class Playback(QtCore.QObject):
    """Steps through the frames in memory at up to ``fps``; frames not read yet are skipped."""

    stopped = QtCore.Signal()

    def __init__(self, model: m.WorkspaceModel, fps: float = DEFAULT_FPS, parent: QtCore.QObject | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.fps = fps
        self.timer = QtCore.QTimer(self)
        self.timer.timeout.connect(self._step)

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

    def toggle(self) -> None:
        if self.timer.isActive():
            self.timer.stop()
            self.stopped.emit()
        elif self.model.shot is not None:
            self.timer.start(max(int(1000 / self.fps), 1))

    def _step(self) -> None:
        model = self.model
        if model.frame is None:
            self.toggle()
            return
        frames, cached = model.frames, model.cache.frames()
        start = frames.index(model.frame)
        for step in range(1, len(frames) + 1):
            frame = frames[(start + step) % len(frames)]
            if frame in cached:
                model.set_frame(frame)
                return
        self.toggle()
