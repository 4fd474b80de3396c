"""Running the workspace: ``focuspull ui`` and offscreen screenshots."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from focuspull.errors import FocusPullError, OutputError

log = logging.getLogger(__name__)

DEFAULT_SIZE = (1200, 760)


def _application(argv: Sequence[str] | None, offscreen: bool) -> Any:
    if offscreen and not os.environ.get("QT_QPA_PLATFORM"):
        # Must be decided before the QApplication exists.
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from focuspull.ui.platform_libs import will_use_xcb, xcb_problem

    if will_use_xcb() and (problem := xcb_problem()):
        # Qt would abort the process with a vaguer message; say what to install instead.
        raise FocusPullError(problem)
    from focuspull.ui._qt import QtWidgets

    return QtWidgets.QApplication.instance() or QtWidgets.QApplication(list(argv or ["focuspull"]))


def wait_until_idle(workspace: Any, timeout_s: float = 120.0) -> bool:
    """Process events until the viewer shows the current state (the final preview when previewing)."""
    from focuspull.ui._qt import QtCore, QtWidgets

    app = QtWidgets.QApplication.instance()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        app.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if workspace.pipeline.settled():
            app.processEvents()
            return True
        time.sleep(0.01)
    return False


def save_screenshot(window: Any, path: str | os.PathLike[str], timeout_s: float = 120.0) -> str:
    """Grab ``window`` (shown offscreen if need be) into a PNG once it has settled."""
    window.show()
    workspace = getattr(window, "workspace", window)
    if not wait_until_idle(workspace, timeout_s):
        log.warning("screenshot: the preview did not finish within %.0fs; grabbing what is shown", timeout_s)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().toImage().save(str(path)):
        raise OutputError(f"cannot write the screenshot {path}")
    return str(path)


def main(
    pattern: str | None = None,
    *,
    job: str | None = None,
    screenshot: str | None = None,
    frame: int | None = None,
    source: str = "plate",
    overlay: str = "none",
    exposure_stops: float = 0.0,
    preview_scale: int = 2,
    size: tuple[int, int] = DEFAULT_SIZE,
    open_options: Mapping[str, Any] | None = None,
    argv: Sequence[str] | None = None,
) -> int:
    """Open the workspace on a plate or job; with ``screenshot`` write a PNG and exit."""
    try:
        app = _application(argv, offscreen=screenshot is not None)
    except FocusPullError as err:
        log.error("%s", err)
        return 2
    from focuspull.ui.window import FocusPullWindow

    window = FocusPullWindow()
    window.resize(*size)
    model = window.workspace.model
    ok = True
    if job:
        ok = model.open_job(job)
    elif pattern:
        ok = model.open_pattern(pattern, **dict(open_options or {}))
    if not ok and screenshot:  # the error is logged by the model
        window.close()
        return 2
    if frame is not None and model.shot is not None:
        if frame not in model.frames:
            log.error("frame %d is not in the shot (%d-%d)", frame, model.frames[0], model.frames[-1])
            window.close()
            return 2
        model.set_frame(frame)
    model.set_exposure(exposure_stops)
    model.set_overlay(overlay)
    model.set_preview_scale(preview_scale)
    model.set_source(source)
    if screenshot:
        try:
            written = save_screenshot(window, screenshot)
        except FocusPullError as err:
            log.error("%s", err)
            return 2
        finally:
            window.close()
        log.info("wrote %s", written)
        return 0
    window.show()
    return int(app.exec())
