"""The timeline: a frame ruler, the cached-frames bar and the focus/strength curves.

The active curve is drawn on its own value axis with its keys (square:
constant, diamond: linear, circle: smooth); the other curve is drawn faintly,
scaled to the same height, so the artist sees how the pull and the strength
move together. The widget edits nothing itself: it emits key requests that the
workspace turns into undoable job edits.

Mouse: click or drag on the ruler/background scrubs; drag a key to move it
(frames snap to whole frames); double-click adds a key; right-click a key to
change its interpolation or delete it; Delete removes the selected key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from focuspull.curves import INTERPOLATIONS, Curve
from focuspull.errors import CurveError
from focuspull.ui import keys as keyops
from focuspull.ui._qt import QtCore, QtGui, QtWidgets

RULER_H = 20
CACHE_H = 4
LEFT = 58
RIGHT = 14
BOTTOM = 8
TOP_PAD = 8
KEY_R = 5
HIT_R = 8

COLOURS = {"focus": QtGui.QColor(240, 160, 48), "strength": QtGui.QColor(70, 190, 230)}
_BG = QtGui.QColor(43, 43, 43)
_RULER_BG = QtGui.QColor(32, 32, 32)
_GRID = QtGui.QColor(60, 60, 60)
_TEXT = QtGui.QColor(170, 170, 170)
_CURRENT = QtGui.QColor(230, 70, 60)
_CACHED = QtGui.QColor(80, 170, 80)


def _nice_step(span: float, max_ticks: int) -> float:
    if span <= 0 or max_ticks < 1:
        return 1.0
    raw = span / max_ticks
    base = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * base >= raw:
            return m * base
    return 10 * base


class CurveTimeline(QtWidgets.QWidget):
    frameRequested = QtCore.Signal(int)
    keyAdded = QtCore.Signal(str, float, float)  # curve, frame, value
    keyMoved = QtCore.Signal(str, float, float, float)  # curve, frame, new frame, new value
    keyDeleted = QtCore.Signal(str, float)
    interpolationChanged = QtCore.Signal(str, float, str)
    selectionChanged = QtCore.Signal(object)  # frame of the selected key, or None

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(120)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self._frames: tuple[int, ...] = ()
        self._curves: dict[str, Curve] = {}
        self._labels: dict[str, str] = {}
        self._active = "focus"
        self._current: int | None = None
        self._cached: set[int] = set()
        self._selected: float | None = None
        self._range: tuple[float, float] = (0.0, 1.0)
        self._drag: dict | None = None  # {"mode": "key"|"scrub", ...}
        self._paths: dict[tuple, QtGui.QPainterPath] = {}
        self._ranges: dict[tuple, tuple[float, float]] = {}

    # -- state ----------------------------------------------------------------------
    def set_frames(self, frames: Sequence[int]) -> None:
        self._frames = tuple(frames)
        self._update_range()
        self.update()

    def set_curves(self, curves: Mapping[str, Curve], labels: Mapping[str, str] | None = None) -> None:
        self._curves = dict(curves)
        self._labels = dict(labels or {})
        if self._selected is not None and self.active_curve() is not None:
            if keyops.key_at(self.active_curve(), self._selected) is None:  # type: ignore[arg-type]
                self.select_key(None)
        if self._drag is None:
            self._update_range()
        self.update()

    def set_active(self, name: str) -> None:
        if name != self._active:
            self._active = name
            self.select_key(None)
            self._update_range()
            self.update()

    @property
    def active(self) -> str:
        return self._active

    @property
    def value_range(self) -> tuple[float, float]:
        """The active curve's value axis (low, high)."""
        return self._range

    def active_curve(self) -> Curve | None:
        return self._curves.get(self._active)

    def set_current_frame(self, frame: int | None) -> None:
        self._current = frame
        self.update()

    def set_cached(self, frames: set[int]) -> None:
        self._cached = set(frames)
        self.update()

    def selected_key(self) -> float | None:
        return self._selected

    def select_key(self, frame: float | None) -> None:
        if frame != self._selected:
            self._selected = frame
            self.selectionChanged.emit(frame)
            self.update()

    # -- geometry ---------------------------------------------------------------------
    def _frame_span(self) -> tuple[float, float]:
        if not self._frames:
            return 0.0, 1.0
        return self._frames[0] - 0.5, self._frames[-1] + 0.5

    def plot_rect(self) -> QtCore.QRectF:
        return QtCore.QRectF(LEFT, RULER_H + TOP_PAD, max(self.width() - LEFT - RIGHT, 1),
                             max(self.height() - RULER_H - TOP_PAD - BOTTOM - CACHE_H, 1))

    def frame_to_x(self, frame: float) -> float:
        lo, hi = self._frame_span()
        rect = self.plot_rect()
        return rect.left() + (frame - lo) / (hi - lo) * rect.width()

    def x_to_frame(self, x: float) -> float:
        lo, hi = self._frame_span()
        rect = self.plot_rect()
        return lo + (x - rect.left()) / rect.width() * (hi - lo)

    def value_to_y(self, value: float, value_range: tuple[float, float] | None = None) -> float:
        lo, hi = value_range or self._range
        rect = self.plot_rect()
        return rect.bottom() - (value - lo) / (hi - lo) * rect.height()

    def y_to_value(self, y: float) -> float:
        lo, hi = self._range
        rect = self.plot_rect()
        return lo + (rect.bottom() - y) / rect.height() * (hi - lo)

    def key_position(self, frame: float, name: str | None = None) -> QtCore.QPointF:
        """Widget position of the key at ``frame`` on curve ``name`` (default: the active one)."""
        curve = self._curves[name or self._active]
        key = keyops.key_at(curve, frame)
        if key is None:
            raise CurveError(f"no key at frame {frame:g}")
        return QtCore.QPointF(self.frame_to_x(key.frame), self.value_to_y(key.value))

    def _curve_range(self, curve: Curve) -> tuple[float, float]:
        key = ("range", curve, self._frames)
        if key not in self._ranges:
            if len(self._ranges) > 16:
                self._ranges.clear()
            self._ranges[key] = self._value_span(curve)
        return self._ranges[key]

    def _value_span(self, curve: Curve) -> tuple[float, float]:
        values = list(curve.evaluate(self._frames)) if self._frames else []
        lo_f, hi_f = self._frame_span()
        values += [k.value for k in curve.keys if lo_f <= k.frame <= hi_f] or [curve.keys[0].value]
        lo, hi = min(values), max(values)
        pad = (hi - lo) * 0.12 if hi > lo else max(abs(hi) * 0.25, 0.5)
        return lo - pad, hi + pad

    def _update_range(self) -> None:
        curve = self.active_curve()
        if curve is not None:
            self._range = self._curve_range(curve)

    def _hit_key(self, pos: QtCore.QPointF) -> float | None:
        curve = self.active_curve()
        if curve is None:
            return None
        lo, hi = self._frame_span()
        best, best_d = None, float(HIT_R)
        for key in curve.keys:
            if not lo <= key.frame <= hi:
                continue
            p = QtCore.QPointF(self.frame_to_x(key.frame), self.value_to_y(key.value))
            d = math.hypot(p.x() - pos.x(), p.y() - pos.y())
            if d <= best_d:
                best, best_d = key.frame, d
        return best

    def _snap_frame(self, x: float) -> int:
        frame = int(round(self.x_to_frame(x)))
        if self._frames:
            frame = min(max(frame, self._frames[0]), self._frames[-1])
        return frame

    def _nearest_shot_frame(self, x: float) -> int | None:
        if not self._frames:
            return None
        f = self.x_to_frame(x)
        return min(self._frames, key=lambda g: abs(g - f))

    # -- painting -------------------------------------------------------------------------
    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        p = QtGui.QPainter(self)
        p.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        p.fillRect(self.rect(), _BG)
        p.fillRect(QtCore.QRectF(0, 0, self.width(), RULER_H), _RULER_BG)
        rect = self.plot_rect()
        if not self._frames or not self._curves:
            p.setPen(_TEXT)
            p.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, "open a plate or a job")
            p.end()
            return
        self._paint_ruler(p, rect)
        self._paint_value_grid(p, rect)
        p.save()
        p.setClipRect(rect.adjusted(-KEY_R - 1, -KEY_R - 1, KEY_R + 1, KEY_R + 1))
        for name, curve in self._curves.items():
            if name != self._active:
                self._paint_curve(p, self._preview_curve(name, curve), faint=True, colour=COLOURS.get(name, _TEXT))
        active = self.active_curve()
        if active is not None:
            shown = self._preview_curve(self._active, active)
            self._paint_curve(p, shown, faint=False, colour=COLOURS.get(self._active, _TEXT))
            self._paint_keys(p, shown)
        p.restore()
        self._paint_cache(p, rect)
        if self._current is not None:
            x = self.frame_to_x(self._current)
            p.setPen(QtGui.QPen(_CURRENT, 1.5))
            p.drawLine(QtCore.QPointF(x, 0), QtCore.QPointF(x, rect.bottom()))
        p.setPen(_TEXT)
        label = self._labels.get(self._active, self._active)
        p.drawText(QtCore.QRectF(rect.left() + 6, rect.top(), 300, 16), label)
        p.end()

    def _preview_curve(self, name: str, curve: Curve) -> Curve:
        """The curve as it will be once the key being dragged is dropped."""
        drag = self._drag
        if drag and drag["mode"] == "key" and name == self._active and drag.get("curve") is not None:
            return drag["curve"]
        return curve

    def _paint_ruler(self, p: QtGui.QPainter, rect: QtCore.QRectF) -> None:
        lo, hi = self._frames[0], self._frames[-1]
        step = max(int(_nice_step(hi - lo + 1, max(int(rect.width() / 50), 1))), 1)
        p.setPen(_TEXT)
        first = int(math.ceil(lo / step) * step)
        for f in range(first, hi + 1, step):
            x = self.frame_to_x(f)
            p.drawLine(QtCore.QPointF(x, RULER_H - 5), QtCore.QPointF(x, RULER_H))
            p.drawText(QtCore.QRectF(x - 30, 2, 60, RULER_H - 6), QtCore.Qt.AlignmentFlag.AlignCenter, str(f))

    def _paint_value_grid(self, p: QtGui.QPainter, rect: QtCore.QRectF) -> None:
        lo, hi = self._range
        step = _nice_step(hi - lo, 4)
        v = math.ceil(lo / step) * step
        while v <= hi:
            y = self.value_to_y(v)
            p.setPen(_GRID)
            p.drawLine(QtCore.QPointF(rect.left(), y), QtCore.QPointF(rect.right(), y))
            p.setPen(_TEXT)
            p.drawText(QtCore.QRectF(2, y - 8, LEFT - 6, 16),
                       QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter, f"{v:g}")
            v += step

    def _paint_curve(self, p: QtGui.QPainter, curve: Curve, faint: bool, colour: QtGui.QColor) -> None:
        pen_colour = QtGui.QColor(colour)
        if faint:
            pen_colour.setAlpha(90)
        pen = QtGui.QPen(pen_colour, 1.2 if faint else 2.0)
        if faint:
            pen.setStyle(QtCore.Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        p.drawPath(self._curve_path(curve, faint))

    def _curve_path(self, curve: Curve, faint: bool) -> QtGui.QPainterPath:
        """The curve sampled every 2 widget pixels; kept while the curve, range and size stay (a scrub only
        moves the frame line, and re-evaluating the curves in Python on every frame would stall the GUI)."""
        value_range = self._curve_range(curve) if faint else self._range
        key = (curve, faint, value_range, self._frame_span(), self.width(), self.height())
        path = self._paths.get(key)
        if path is not None:
            return path
        rect = self.plot_rect()
        lo, hi = self._frame_span()
        n = max(int(rect.width() / 2), 2)
        frames = [lo + (hi - lo) * i / n for i in range(n + 1)]
        path = QtGui.QPainterPath()
        for i, (f, v) in enumerate(zip(frames, curve.evaluate(frames))):
            point = QtCore.QPointF(self.frame_to_x(f), self.value_to_y(v, value_range))
            path.moveTo(point) if i == 0 else path.lineTo(point)
        if len(self._paths) > 16:
            self._paths.clear()
        self._paths[key] = path
        return path

    def _paint_keys(self, p: QtGui.QPainter, curve: Curve) -> None:
        lo, hi = self._frame_span()
        colour = COLOURS.get(self._active, _TEXT)
        selected = self._drag["to"][0] if self._drag and self._drag["mode"] == "key" else self._selected
        for key in curve.keys:
            if not lo <= key.frame <= hi:
                continue
            c = QtCore.QPointF(self.frame_to_x(key.frame), self.value_to_y(key.value))
            p.setPen(QtGui.QPen(QtGui.QColor(20, 20, 20), 1))
            p.setBrush(QtGui.QColor(255, 255, 255) if key.frame == selected else colour)
            if key.interpolation == "constant":
                p.drawRect(QtCore.QRectF(c.x() - KEY_R, c.y() - KEY_R, 2 * KEY_R, 2 * KEY_R))
            elif key.interpolation == "linear":
                p.drawPolygon(QtGui.QPolygonF([c + QtCore.QPointF(0, -KEY_R - 1), c + QtCore.QPointF(KEY_R + 1, 0),
                                               c + QtCore.QPointF(0, KEY_R + 1), c + QtCore.QPointF(-KEY_R - 1, 0)]))
            else:
                p.drawEllipse(c, KEY_R, KEY_R)

    def _paint_cache(self, p: QtGui.QPainter, rect: QtCore.QRectF) -> None:
        y = rect.bottom() + BOTTOM
        width = max(rect.width() / max(len(self._frames), 1), 1.0)
        for f in self._cached:
            x = self.frame_to_x(f) - width / 2
            p.fillRect(QtCore.QRectF(x, y, width + 0.5, CACHE_H), _CACHED)

    # -- interaction -------------------------------------------------------------------------
    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        pos = event.position()
        if event.button() != QtCore.Qt.MouseButton.LeftButton or not self._frames:
            return
        hit = self._hit_key(pos) if pos.y() > RULER_H else None
        if hit is not None:
            key = keyops.key_at(self.active_curve(), hit)  # type: ignore[arg-type]
            self.select_key(hit)
            self._drag = {"mode": "key", "from": (hit, key.value), "to": (hit, key.value), "curve": None,  # type: ignore[union-attr]
                          "start": pos}
        else:
            self._drag = {"mode": "scrub"}
            frame = self._nearest_shot_frame(pos.x())
            if frame is not None:
                self.frameRequested.emit(frame)

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        drag = self._drag
        if drag is None:
            return
        pos = event.position()
        if drag["mode"] == "scrub":
            frame = self._nearest_shot_frame(pos.x())
            if frame is not None and frame != self._current:
                self.frameRequested.emit(frame)
            return
        if (pos - drag["start"]).manhattanLength() < 3:
            return
        frame, value = self._snap_frame(pos.x()), self.y_to_value(pos.y())
        try:
            curve = keyops.move_key(self.active_curve(), drag["from"][0], frame, value)  # type: ignore[arg-type]
        except CurveError:
            return  # another key sits on that frame: stay where it was last valid
        drag["to"], drag["curve"] = (float(frame), value), curve
        self.update()

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        drag, self._drag = self._drag, None
        if drag and drag["mode"] == "key" and drag["curve"] is not None and drag["to"] != drag["from"]:
            (old_frame, _), (new_frame, new_value) = drag["from"], drag["to"]
            self._selected = new_frame
            self.keyMoved.emit(self._active, old_frame, new_frame, new_value)
            self.selectionChanged.emit(new_frame)
        self._update_range()
        self.update()

    def mouseDoubleClickEvent(self, event: QtGui.QMouseEvent) -> None:
        pos = event.position()
        if event.button() != QtCore.Qt.MouseButton.LeftButton or not self._frames or pos.y() <= RULER_H:
            return
        if self._hit_key(pos) is not None:
            return
        frame = self._snap_frame(pos.x())
        self.keyAdded.emit(self._active, float(frame), self.y_to_value(pos.y()))
        self.select_key(float(frame))

    def contextMenuEvent(self, event: QtGui.QContextMenuEvent) -> None:
        hit = self._hit_key(QtCore.QPointF(event.pos()))
        if hit is None:
            return
        self.select_key(hit)
        menu = self.build_key_menu(hit)
        menu.exec(event.globalPos())

    def build_key_menu(self, frame: float) -> QtWidgets.QMenu:
        """The right-click menu of the key at ``frame``: interpolation and delete."""
        curve = self.active_curve()
        key = keyops.key_at(curve, frame) if curve is not None else None
        menu = QtWidgets.QMenu(self)
        group = QtGui.QActionGroup(menu)
        for interp in INTERPOLATIONS:
            action = menu.addAction(interp.capitalize())
            action.setCheckable(True)
            action.setChecked(key is not None and key.interpolation == interp)
            group.addAction(action)
            action.triggered.connect(
                lambda checked=False, i=interp, f=frame: self.interpolationChanged.emit(self._active, f, i)
            )
        menu.addSeparator()
        delete = menu.addAction("Delete key")
        delete.triggered.connect(lambda checked=False, f=frame: self.keyDeleted.emit(self._active, f))
        return menu

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        key = event.key()
        if key in (QtCore.Qt.Key.Key_Delete, QtCore.Qt.Key.Key_Backspace) and self._selected is not None:
            self.keyDeleted.emit(self._active, self._selected)
        elif key in (QtCore.Qt.Key.Key_Left, QtCore.Qt.Key.Key_Right) and self._frames and self._current is not None:
            frames = self._frames
            i = frames.index(self._current) if self._current in frames else 0
            i = max(0, min(len(frames) - 1, i + (1 if key == QtCore.Qt.Key.Key_Right else -1)))
            self.frameRequested.emit(frames[i])
        else:
            super().keyPressEvent(event)
