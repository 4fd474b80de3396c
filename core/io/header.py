"""Reading only an image's header: cheap checks of a whole shot before rendering.

Headers are cached per file version (path, inode, size, modification time),
so a run opens each header once however many checks ask for it, and a file
replaced on disk (outputs are renamed into place) is read again.
"""

from __future__ import annotations

import copy
import os
import threading
from typing import Any

from focuspull.errors import ImageReadError
from focuspull.io.text import clean, library_error, safe_text

# Metadata the EXR library writes itself; not interesting to show or compare.
_BOOKKEEPING = {"oiio:ColorSpace", "oiio:subimages", "openexr:chunkCount", "openexr:lineOrder", "openexr:version"}


#: headers kept at most (a few KB each): a long shot's plate, depth and output
_CACHE_SIZE = 8192
_cache: dict[tuple[str, int, int, int], dict[str, Any]] = {}
_lock = threading.Lock()


def read_header(path: str, frame: int | None = None) -> dict[str, Any]:
    """Size, windows, channels (with pixel types), pixel aspect, compression and
    metadata of the first part, plus ``parts``: name, view, channels, data
    window and MIP levels of every part.

    Raises :class:`ImageReadError` naming the file (and ``frame``) when the
    header cannot be read; library messages are decoded safely.
    """
    try:
        st = os.stat(path)
    except OSError:
        return _read_header(path, frame)  # the reader names the problem
    key = (os.path.abspath(str(path)), st.st_ino, st.st_size, st.st_mtime_ns)
    with _lock:
        header = _cache.get(key)
    if header is None:
        header = _read_header(path, frame)
        with _lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.clear()
            _cache[key] = header
    return copy.deepcopy(header)


def _read_header(path: str, frame: int | None) -> dict[str, Any]:
    import OpenImageIO as oiio

    path = os.fspath(path)
    where = path if frame is None else f"{path} (frame {frame})"
    inp = oiio.ImageInput.open(path)
    if inp is None:
        detail = "no such file" if not os.path.exists(path) else library_error(default="unknown format")
        raise ImageReadError(f"cannot read {where}: {detail}")
    try:
        specs = []
        while inp.seek_subimage(len(specs), 0):
            specs.append(oiio.ImageSpec(inp.spec()))
        if not specs:
            raise ImageReadError(f"cannot read {where}: {library_error(inp, 'no image in the file')}")
        parts = [_part(inp, i, spec) for i, spec in enumerate(specs)]
        spec = specs[0]
        return {
            "format": safe_text(inp.format_name),
            "size": f"{spec.width}x{spec.height}",
            "data_window": parts[0]["data_window"],
            "display_window": [spec.full_x, spec.full_y, spec.full_x + spec.full_width - 1,
                               spec.full_y + spec.full_height - 1],
            "pixel_aspect": float(spec.get_float_attribute("PixelAspectRatio", 1.0)),
            "compression": safe_text(lambda: spec.get_string_attribute("compression", "")),
            "channels": parts[0]["channels"],
            "metadata": attributes(spec),
            "parts": parts,
        }
    except ImageReadError:
        raise
    except Exception as err:  # a binding error on a damaged header: still one clean line
        raise ImageReadError(f"cannot read {where}: {safe_text(lambda: str(err))}") from err
    finally:
        inp.close()


def _part(inp: Any, index: int, spec: Any) -> dict[str, Any]:
    levels = 1
    while inp.seek_subimage(index, levels):
        levels += 1
    return {
        "name": safe_text(lambda: spec.get_string_attribute("name", "")),
        "view": safe_text(lambda: spec.get_string_attribute("view", "")),
        "channels": {clean(name): str(spec.channelformat(i)) for i, name in enumerate(spec.channelnames)},
        "data_window": [spec.x, spec.y, spec.x + spec.width - 1, spec.y + spec.height - 1],
        "tiles": [spec.tile_width, spec.tile_height] if spec.tile_width else None,
        "mip_levels": levels,
        "multi_view": multi_view_of(spec),
        "deep": bool(spec.deep),
    }


def multi_view_of(spec: Any) -> list[str]:
    """The views a ``multiView`` attribute lists (single-part stereo), else []."""
    try:
        value = spec.getattribute("multiView")
    except UnicodeDecodeError:
        return []
    if isinstance(value, (tuple, list)):
        return [clean(str(v)) for v in value]
    return [v.strip() for v in value.split(",") if v.strip()] if isinstance(value, str) else []


def attributes(spec: Any) -> dict[str, Any]:
    """The spec's metadata (names -> values), skipping bookkeeping; a value that
    cannot be decoded is shown with replacement characters, never raised."""
    out: dict[str, Any] = {}
    for attr in spec.extra_attribs:
        name = safe_text(lambda a=attr: a.name)
        if name in _BOOKKEEPING or name in ("compression", "PixelAspectRatio"):
            continue
        try:
            value = attr.value
        except UnicodeDecodeError as err:
            value = bytes(err.object).decode("utf-8", errors="replace")
        out[name] = clean(value) if isinstance(value, str) else value
    return out
