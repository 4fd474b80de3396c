"""Is this file already made by this job? (resume, and reuse of estimated depth)

A writer records a fingerprint of what made a file in its header
(``focuspull/job`` for rendered frames, ``focuspull/depth_signature`` for
estimated depth). A file counts as written when that header value matches and
its pixels read: our writes are atomic, but a copy or a sync tool can truncate
a file after its header.
"""

from __future__ import annotations

import os

from focuspull.errors import FocusPullError


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
