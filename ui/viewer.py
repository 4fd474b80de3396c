"""The image viewer: a QImage drawn in plate-pixel coordinates, fit or zoomed.

Everything the viewer reports (clicks, hover) is in continuous plate pixels,
origin at the top left of the data window, pixel i spanning i..i+1 — even
when the image shown is a reduced-resolution preview stretched over the plate.
Zoomed in, pixels are drawn as blocks (no filtering), as in a compositor's
viewer, so what is seen is the value that was computed.

The display window (the format) is drawn as a frame with the data window
inside it, as Nuke's viewer does: a CG plate whose data window covers part
of the format shows where that part sits. Fit frames both. An A/B wipe is a
vertical line at the split.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from focuspull.ui._qt import QtCore, QtGui, QtWidgets

if TYPE_CHECKING:
    from focuspull.ui.compose import Windows

_CLICK_SLOP_PX = 4
_ZOOM_STEP = 1.25
_BACKGROUND = QtGui.QColor(38, 38, 38)
#: inside the display window where the data window has no pixels
DISPLAY_FILL = QtGui.QColor(0, 0, 0)
DISPLAY_FRAME = QtGui.QColor(150, 150, 150)
DATA_FRAME = QtGui.QColor(200, 180, 60)
WIPE_LINE = QtGui.QColor(255, 255, 255)


class ImageView(QtWidgets.QWidget):
    clicked = QtCore.Signal(float, float)  # plate pixels
    scaleChanged = QtCore.Signal(float)  # widget pixels per plate pixel
    hovered = QtCore.Signal(float, float)  # plate pixels; (-1, -1) when the cursor leaves
    wipeMoved = QtCore.Signal(float)  # Ctrl-drag: the A/B split as a fraction of the width

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMouseTracking(True)
        self.setFocusPolicy(QtCore.Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QtWidgets.QSizePolicy.Policy.Expanding, QtWidgets.QSizePolicy.Policy.Expanding)
        self._image: QtGui.QImage | None = None
        self._plate_size = (0, 0)
        self._fit = True
        self._zoom = 1.0
        self._center = QtCore.QPointF(0, 0)  # plate point at the widget centre when not fitting
        self._press: QtCore.QPointF | None = None
        self._wiping = False
        self._pan_from: tuple[QtCore.QPointF, QtCore.QPointF] | None = None
        self._message = ""
        self._windows: Windows | None = None
        self._wipe: float | None = None

    # -- content ------------------------------------------------------------
    def set_image(self, image: QtGui.QImage | None, plate_size: tuple[int, int] | None = None) -> None:
        """Show ``image`` stretched over a plate of ``plate_size`` (default: the image's size)."""
        self._image = image
        if image is not None:
            size = plate_size or (image.width(), image.height())
            if size != self._plate_size:
                self._plate_size = size
                self._center = QtCore.QPointF(size[0] / 2, size[1] / 2)
        self.update()

    def set_windows(self, windows: "Windows | None") -> None:
        """The display window to frame around the data window (None: the data window alone)."""
        self._windows = windows
        self.update()

    def set_wipe(self, split: float | None) -> None:
        self._wipe = split
        self.update()

    @property
    def message(self) -> str:
        return self._message

    def set_message(self, text: str) -> None:
        """A line drawn over the image's top left (e.g. preview state)."""
        self._message = text
        self.update()

    @property
    def image(self) -> QtGui.QImage | None:
        return self._image

    @property
    def plate_size(self) -> tuple[int, int]:
        return self._plate_size

    # -- coordinates ------------------------------------------------------------
    def scale(self) -> float:
        if self._fit:
            return self.fit_scale(self._plate_size)
        return self._zoom

    def _bounds(self, plate_size: tuple[int, int] | None = None) -> QtCore.QRectF:
        """The data window and the display window together, in plate pixels."""
        width, height = plate_size or self._plate_size
        rect = QtCore.QRectF(0, 0, width, height)
        if self._windows is not None:
            rect = rect.united(QtCore.QRectF(*self._windows.display))
        return rect

    def fit_scale(self, plate_size: tuple[int, int] | None = None) -> float:
        bounds = self._bounds(plate_size)
        if bounds.width() <= 0 or bounds.height() <= 0:
            return 1.0
        return min(self.width() / bounds.width(), self.height() / bounds.height())

    @property
    def fitting(self) -> bool:
        return self._fit

    def _origin(self) -> QtCore.QPointF:
        s = self.scale()
        center = self._bounds().center() if self._fit else self._center
        return QtCore.QPointF(self.width() / 2 - center.x() * s, self.height() / 2 - center.y() * s)

    def image_to_widget(self, x_px: float, y_px: float) -> QtCore.QPointF:
        origin, s = self._origin(), self.scale()
        return QtCore.QPointF(origin.x() + x_px * s, origin.y() + y_px * s)

    def widget_to_image(self, point: QtCore.QPointF) -> tuple[float, float]:
        origin, s = self._origin(), self.scale()
        return (point.x() - origin.x()) / s, (point.y() - origin.y()) / s

    def contains(self, x_px: float, y_px: float) -> bool:
        return 0 <= x_px < self._plate_size[0] and 0 <= y_px < self._plate_size[1]

    # -- zoom ---------------------------------------------------------------------
    def fit(self) -> None:
        self._fit = True
        self.update()
        self.scaleChanged.emit(self.scale())

    def set_zoom(self, zoom: float, anchor: QtCore.QPointF | None = None) -> None:
        """Zoom (widget pixels per plate pixel) keeping the plate point under ``anchor`` still."""
        anchor = anchor or QtCore.QPointF(self.width() / 2, self.height() / 2)
        x, y = self.widget_to_image(anchor)
        self._fit = False
        self._zoom = min(max(zoom, 1 / 64), 64.0)
        self._center = QtCore.QPointF(
            x - (anchor.x() - self.width() / 2) / self._zoom, y - (anchor.y() - self.height() / 2) / self._zoom
        )
        self.update()
        self.scaleChanged.emit(self._zoom)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.scaleChanged.emit(self.scale())

    # -- painting -------------------------------------------------------------------
    def paintEvent(self, event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        painter.fillRect(self.rect(), _BACKGROUND)
        if self._windows is not None and self._plate_size[0]:
            x, y, w, h = self._windows.display
            top_left, bottom_right = self.image_to_widget(x, y), self.image_to_widget(x + w, y + h)
            frame = QtCore.QRectF(top_left, bottom_right)
            painter.fillRect(frame, DISPLAY_FILL)
        if self._image is not None and self._plate_size[0]:
            s = self.scale()
            # Blocks when enlarged (each plate pixel is one colour), filtered when reduced.
            painter.setRenderHint(QtGui.QPainter.RenderHint.SmoothPixmapTransform, s < 1.0)
            top_left = self.image_to_widget(0, 0)
            target = QtCore.QRectF(top_left.x(), top_left.y(), self._plate_size[0] * s, self._plate_size[1] * s)
            painter.drawImage(target, self._image, QtCore.QRectF(self._image.rect()))
            if self._windows is not None:
                painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                if self._windows.display != self._windows.data:
                    painter.setPen(QtGui.QPen(DATA_FRAME, 1, QtCore.Qt.PenStyle.DotLine))
                    painter.drawRect(target.adjusted(-0.5, -0.5, 0.5, 0.5))
                painter.setPen(QtGui.QPen(DISPLAY_FRAME, 1))
                painter.drawRect(frame.adjusted(-1, -1, 0.5, 0.5))
            if self._wipe is not None:
                x = target.left() + self._wipe * target.width()
                painter.setPen(QtGui.QPen(WIPE_LINE, 1))
                painter.drawLine(QtCore.QPointF(x, target.top()), QtCore.QPointF(x, target.bottom()))
        if self._message:
            painter.setPen(QtGui.QColor(230, 230, 230))
            painter.drawText(QtCore.QRectF(8, 6, self.width() - 16, 20), self._message)
        painter.end()

    # -- mouse ----------------------------------------------------------------------
    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        pos = event.position()
        pan = event.button() == QtCore.Qt.MouseButton.MiddleButton or (
            event.button() == QtCore.Qt.MouseButton.LeftButton
            and event.modifiers() & QtCore.Qt.KeyboardModifier.AltModifier
        )
        wipe = (event.button() == QtCore.Qt.MouseButton.LeftButton
                and event.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier and self._wipe is not None)
        if wipe:
            self._wiping = True
            self._emit_wipe(pos)
        elif pan:
            if self._fit:
                self.set_zoom(self.scale())
            self._pan_from = (pos, QtCore.QPointF(self._center))
        elif event.button() == QtCore.Qt.MouseButton.LeftButton:
            self._press = pos
        event.accept()

    def mouseMoveEvent(self, event: QtGui.QMouseEvent) -> None:
        pos = event.position()
        if self._wiping:
            self._emit_wipe(pos)
        if self._pan_from is not None:
            start, center = self._pan_from
            self._center = QtCore.QPointF(
                center.x() - (pos.x() - start.x()) / self._zoom, center.y() - (pos.y() - start.y()) / self._zoom
            )
            self.update()
        x, y = self.widget_to_image(pos)
        if self.contains(x, y):
            self.hovered.emit(x, y)
        else:
            self.hovered.emit(-1.0, -1.0)

    def mouseReleaseEvent(self, event: QtGui.QMouseEvent) -> None:
        pos = event.position()
        if self._wiping:
            self._wiping = False
            return
        if self._pan_from is not None:
            self._pan_from = None
            return
        if self._press is not None and event.button() == QtCore.Qt.MouseButton.LeftButton:
            moved = (pos - self._press).manhattanLength()
            self._press = None
            x, y = self.widget_to_image(pos)
            if moved <= _CLICK_SLOP_PX and self.contains(x, y):
                self.clicked.emit(x, y)

    def _emit_wipe(self, pos: QtCore.QPointF) -> None:
        width = self._plate_size[0]
        if width:
            x, _ = self.widget_to_image(pos)
            self.wipeMoved.emit(min(max(x / width, 0.0), 1.0))

    def leaveEvent(self, event: QtCore.QEvent) -> None:
        self.hovered.emit(-1.0, -1.0)

    def wheelEvent(self, event: QtGui.QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.scale() * _ZOOM_STEP**steps, event.position())

    def keyPressEvent(self, event: QtGui.QKeyEvent) -> None:
        if event.key() == QtCore.Qt.Key.Key_F:
            self.fit()
        elif event.key() == QtCore.Qt.Key.Key_1:
            self.set_zoom(1.0)
        else:
            super().keyPressEvent(event)
