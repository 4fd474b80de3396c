"""The workspace as a Nuke panel (Nuke 16 ships PySide6).

Call :func:`register_nuke_panel` from a ``menu.py``; the panel then appears in
Nuke's Pane menu and is restored with saved layouts.
"""

from __future__ import annotations

import sys
from typing import Any

#: what Nuke evaluates to find the widget class (in its __main__ namespace)
WIDGET_PATH = "focuspull.ui.widget.FocusPullWidget"
PANEL_NAME = "FocusPull"
PANEL_ID = "dev.focuspull.workspace"


def register_nuke_panel(name: str = PANEL_NAME, panel_id: str = PANEL_ID, create: bool = False) -> Any:
    """Register :class:`FocusPullWidget` as a Nuke panel; returns what Nuke returns.

    Raises ImportError outside Nuke.
    """
    try:
        import nukescripts.panels
    except ImportError as err:
        raise ImportError(f"register_nuke_panel runs inside Nuke: {err}") from err
    import focuspull
    import focuspull.ui.widget  # noqa: F401  (the path below must resolve)

    # Nuke evaluates the class path in its script namespace, __main__.
    main = sys.modules.get("__main__")
    if main is not None and not hasattr(main, "focuspull"):
        main.focuspull = focuspull  # type: ignore[attr-defined]
    return nukescripts.panels.registerWidgetAsPanel(WIDGET_PATH, name, panel_id, create)
