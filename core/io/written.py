"""Is this file already made by this job? (resume, and reuse of estimated depth)

A writer records a fingerprint of what made a file in its header
(``focuspull/job`` for rendered frames, ``focuspull/depth_signature`` for
estimated depth). A file counts as written when that header value matches and
its pixels read: our writes are atomic, but a copy or a sync tool can truncate
a file after its header.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from focuspull.errors import FocusPullError

if TYPE_CHECKING:
    from focuspull.io.patterns import SequencePattern


def written_by(path: str, key: str, fingerprint: str) -> bool:
    """True when ``path`` is a complete image whose header says ``key`` = ``fingerprint``."""
    from focuspull.io.header import read_header

    if not os.path.isfile(path):
        return False
    try:
        metadata = read_header(path)["metadata"]
    except FocusPullError:
        return False
    if metadata.get(key) != fingerprint:
        return False
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(str(path))
    return bool(buf.read(force=True)) and not buf.has_error


def source_signature(
    description: Mapping[str, Any], sources: Iterable["SequencePattern"], frames: Sequence[int]
) -> str:
    """A fingerprint of derived files: what made them (``description``) and the size and
    modification time of each source file, so a source re-rendered under the same
    name never lets stale results be reused."""
    digest = hashlib.sha256()
    digest.update(json.dumps(dict(description), sort_keys=True, default=str).encode())
    for pattern in sources:
        for frame in frames:
            try:
                stat = os.stat(pattern.path(frame))
            except OSError:
                continue
            digest.update(f"{frame}:{stat.st_size}:{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:24]
