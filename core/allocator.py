"""Keep freed memory in the process for reuse (glibc ``mallopt``).

A frame render allocates and frees frame-sized temporaries hundreds of
times. By default glibc hands blocks over 128 KiB (and, after a free, the top
of its heap) back to the kernel, so every re-allocation faults its pages in
again and the kernel zeroes them: on the 2-core development VM that was
about a fifth of a 480x270 preview frame (8 500 page faults a frame) and
66 000 faults a 1080p frame. Raising both thresholds keeps the memory mapped
and reused. The peak is unchanged (what was freed would be mapped again at
the next frame); the process keeps its high-water mark until it exits.

Called once per process by the command line (renders, the workspace, farm
tasks); a no-op where the C library is not glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform

log = logging.getLogger(__name__)

# mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc's largest allowed mmap threshold on 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX)
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024
#: freed memory at the top of the heap is kept up to this much (bytes; mallopt takes a C int)
_TRIM_THRESHOLD = 2**31 - 1

_applied = False


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse; True when it took effect (once per process)."""
    global _applied
    if _applied:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX) and libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)
    except (OSError, AttributeError) as err:
        log.debug("mallopt unavailable: %s", err)
        return False
    _applied = bool(ok)
    return _applied
