"""The one import of PySide6, failing with the extra to install when it is absent.

Nuke 16 ships PySide6, so the same widgets run standalone and as a Nuke panel.

PySide6 6.12.0 on Python < 3.12 (where None is not yet immortal) drops one
reference to ``None`` on every call of a method that returns void
(``setText``, ``update``, ``processEvents``...), so a session dies with
"deallocating None" after some 50,000 such calls — about a minute of
playback. :func:`guard_none_refcount` keeps None's count topped up while that
combination runs; the ``ui`` extra should exclude the release.
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

__all__ = ["QtCore", "QtGui", "QtWidgets", "guard_none_refcount", "NONE_REFCOUNT_BUG"]

log = logging.getLogger(__name__)

#: True where void calls leak a reference to None (see the module docstring)
NONE_REFCOUNT_BUG = sys.version_info < (3, 12) and PySide6.__version__ == "6.12.0"

_NONE_RESERVE = 1_000_000  # None's count is kept at least this: ~8 MB, far more than a second of leaks
_ballast: list[None] = []
_timer: QtCore.QTimer | None = None


def _pin_ballast() -> None:
    """Never free the ballast: releasing its references at exit would deallocate None."""
    import ctypes

    ctypes.pythonapi.Py_IncRef(ctypes.py_object(_ballast))


def _top_up() -> None:
    missing = _NONE_RESERVE - sys.getrefcount(None)
    if missing > 0:
        _ballast.extend([None] * missing)


def guard_none_refcount() -> None:
    """Work around the PySide6 6.12.0 None leak (no-op elsewhere); call once a QApplication exists."""
    global _timer
    if not NONE_REFCOUNT_BUG:
        return
    if not _ballast:
        _pin_ballast()
    _top_up()
    app = QtCore.QCoreApplication.instance()
    if _timer is None and app is not None:
        log.warning(
            "PySide6 %s on Python %d.%d leaks references to None; working around it "
            "(install another PySide6 release: pip install 'pyside6-essentials!=6.12.0')",
            PySide6.__version__, *sys.version_info[:2],
        )
        _timer = QtCore.QTimer(app)
        _timer.timeout.connect(_top_up)
        _timer.start(250)
