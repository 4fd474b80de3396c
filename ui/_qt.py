"""The one import of PySide6, failing with the extra to install when it is absent.

Nuke 16 ships PySide6, so the same widgets run standalone and as a Nuke panel.

PySide6 6.12.0 on Python < 3.12 (where None is not yet immortal) drops one
reference to ``None`` on every call of a method that returns void, so a
session dies with "deallocating None" after some 50,000 such calls (about a
minute of playback). The ``ui`` extra excludes that release; where it is
installed anyway (a host's own environment) we say so once.
"""

from __future__ import annotations

import logging
import sys

try:
    import PySide6
    from PySide6 import QtCore, QtGui, QtWidgets
except ImportError as err:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        f"the focuspull UI needs PySide6 ({err}); install it with: pip install focuspull[ui]"
    ) from err

__all__ = ["QtCore", "QtGui", "QtWidgets", "warn_if_known_bad_release", "NONE_REFCOUNT_BUG"]

log = logging.getLogger(__name__)

#: True where void calls leak a reference to None (see the module docstring)
NONE_REFCOUNT_BUG = sys.version_info < (3, 12) and PySide6.__version__ == "6.12.0"


def warn_if_known_bad_release() -> None:
    if NONE_REFCOUNT_BUG:
        log.warning(
            "PySide6 %s on Python %d.%d leaks references to None and crashes after a minute of playback; "
            "install another release: pip install 'pyside6-essentials!=6.12.0'",
            PySide6.__version__, *sys.version_info[:2],
        )
