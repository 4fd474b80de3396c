"""focuspull.ui: the PySide6 focus-pull workspace.

Look at the plate through an OCIO display/view, click the subject to key the
focus, edit the focus and strength curves on a timeline, watch a preview
rendered by the physical engine on a worker thread, render the range and save
the ``focuspull.job/1`` that host nodes also write.

Entry points: ``focuspull ui [PATTERN]`` (:func:`focuspull.ui.app.main`), the
embeddable :class:`FocusPullWidget` and :func:`register_nuke_panel` for Nuke.
The widgets need PySide6 (``pip install focuspull[ui]``); the view-model
(:mod:`focuspull.ui.model`) and its helpers import no Qt, so they are tested
and scripted without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from focuspull.lazy import lazy_exports

if TYPE_CHECKING:
    from focuspull.ui.app import main, save_screenshot
    from focuspull.ui.nuke_panel import register_nuke_panel
    from focuspull.ui.widget import FocusPullWidget
    from focuspull.ui.window import FocusPullWindow

__all__ = ["FocusPullWidget", "FocusPullWindow", "main", "save_screenshot", "register_nuke_panel"]

_LAZY = {
    "FocusPullWidget": "focuspull.ui.widget",
    "FocusPullWindow": "focuspull.ui.window",
    "main": "focuspull.ui.app",
    "save_screenshot": "focuspull.ui.app",
    "register_nuke_panel": "focuspull.ui.nuke_panel",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
