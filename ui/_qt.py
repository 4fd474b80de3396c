"""The one import of PySide6, failing with the extra to install when it is absent.

Nuke 16 ships PySide6, so the same widgets run standalone and as a Nuke panel.
"""

from __future__ import annotations

try:
    from PySide6 import QtCore, QtGui, QtWidgets
except ImportError as err:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        f"the focuspull UI needs PySide6 ({err}); install it with: pip install focuspull[ui]"
    ) from err

__all__ = ["QtCore", "QtGui", "QtWidgets"]
