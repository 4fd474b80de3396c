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

# Metadata the EXR library writes itself; not interesting to show or compare.
_BOOKKEEPING = {"oiio:ColorSpace", "oiio:subimages", "openexr:chunkCount", "openexr:lineOrder", "openexr:version"}


#: headers kept at most (a few KB each): a long shot's plate, depth and output
_CACHE_SIZE = 8192
_cache: dict[tuple[str, int, int, int], dict[str, Any]] = {}
_lock = threading.Lock()


def read_header(path: str) -> dict[str, Any]:
    """Size, windows, channels (with pixel types), pixel aspect, compression, metadata."""
    try:
        st = os.stat(path)
    except OSError:
        return _read_header(path)  # the reader names the problem
    key = (os.path.abspath(str(path)), st.st_ino, st.st_size, st.st_mtime_ns)
    with _lock:
        header = _cache.get(key)
    if header is None:
        header = _read_header(path)
        with _lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.clear()
            _cache[key] = header
    return copy.deepcopy(header)


def _read_header(path: str) -> dict[str, Any]:
    import OpenImageIO as oiio

    inp = oiio.ImageInput.open(str(path))
    if inp is None:
        raise ImageReadError(f"cannot read {path}: {oiio.geterror() or 'unknown format or missing file'}")
    try:
        spec = inp.spec()
        channels = {
            name: str(spec.channelformat(i)) for i, name in enumerate(spec.channelnames)
        }
        return {
            "format": inp.format_name(),
            "size": f"{spec.width}x{spec.height}",
            "data_window": [spec.x, spec.y, spec.x + spec.width - 1, spec.y + spec.height - 1],
            "display_window": [spec.full_x, spec.full_y, spec.full_x + spec.full_width - 1,
                               spec.full_y + spec.full_height - 1],
            "pixel_aspect": float(spec.get_float_attribute("PixelAspectRatio", 1.0)),
            "compression": spec.get_string_attribute("compression", ""),
            "channels": channels,
            "metadata": {
                a.name: a.value for a in spec.extra_attribs
                if a.name not in _BOOKKEEPING and a.name not in ("compression", "PixelAspectRatio")
            },
        }
    finally:
        inp.close()
