"""Sequence I/O: frame patterns and ranges, images and sequences via OpenImageIO.

``patterns`` and ``ranges`` are plain Python; ``image``, ``sequence`` and
``header`` import numpy and/or OpenImageIO, so they load on first use of one of
their names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from focuspull.lazy import lazy_exports

from focuspull.io.patterns import SequencePattern
from focuspull.io.ranges import format_frames, parse_frames

if TYPE_CHECKING:
    from focuspull.io.header import read_header
    from focuspull.io.image import ImageFrame, read_image, write_image
    from focuspull.io.sequence import check_frames, read_sequence
    from focuspull.io.written import written_by

__all__ = [
    "SequencePattern",
    "parse_frames",
    "format_frames",
    "ImageFrame",
    "read_image",
    "write_image",
    "check_frames",
    "read_sequence",
    "read_header",
    "written_by",
]

_LAZY = {
    "ImageFrame": "focuspull.io.image",
    "read_image": "focuspull.io.image",
    "write_image": "focuspull.io.image",
    "check_frames": "focuspull.io.sequence",
    "read_sequence": "focuspull.io.sequence",
    "read_header": "focuspull.io.header",
    "written_by": "focuspull.io.written",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
