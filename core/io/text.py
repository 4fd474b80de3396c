"""Text that comes from the image library, decoded safely.

OpenImageIO hands error messages and string attributes to Python as UTF-8.
A damaged file can put any bytes into them (a file name, a garbled attribute),
and the binding then raises ``UnicodeDecodeError`` instead of returning the
text. Every string read from OIIO goes through here, so a damaged file gives
an error message, never a traceback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["clean", "safe_text", "library_error"]


def safe_text(read: Callable[[], Any], default: str = "") -> str:
    """``read()`` as text; undecodable bytes become U+FFFD, never an exception."""
    try:
        value = read()
    except UnicodeDecodeError as err:
        raw = err.object if isinstance(err.object, (bytes, bytearray)) else b""
        return bytes(raw).decode("utf-8", errors="replace").strip() or default
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return default if value is None else clean(str(value))


def clean(text: str) -> str:
    """``text`` with lone surrogates (how the binding smuggles undecodable bytes
    into some names) replaced, so it can be printed and written to a header."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def library_error(source: Any = None, default: str = "unknown error") -> str:
    """The pending error of ``source`` (an ImageInput/ImageOutput/ImageBuf), else
    OIIO's global one, as one safely decoded string (the first non-empty)."""
    import OpenImageIO as oiio

    for read in ((source.geterror,) if source is not None else ()) + (oiio.geterror,):
        text = safe_text(read)
        if text:
            return text
    return default
