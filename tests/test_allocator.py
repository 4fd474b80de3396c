"""Freed memory is kept for reuse, so the next frame's temporaries do not fault their pages in again."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

# a 16 MiB tensor allocated and freed: how much of the heap is kept for reuse afterwards
_SCRIPT = """
import ctypes, ctypes.util, json, sys
import torch
from focuspull.allocator import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(ctypes.util.find_library("c"))
libc.mallinfo2.restype = MallInfo2
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
frame = torch.ones(4 * 1024 * 1024)
del frame
print(json.dumps({"applied": applied, "free_kept": libc.mallinfo2().fordblks}))
"""


def _run(mode: str) -> dict:
    done = subprocess.run([sys.executable, "-c", _SCRIPT, mode], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _glibc_with_mallinfo2() -> bool:
    name, version = platform.libc_ver()
    return platform.system() == "Linux" and name == "glibc" and tuple(int(v) for v in version.split(".")[:2]) >= (2, 33)


@pytest.mark.skipif(not _glibc_with_mallinfo2(), reason="glibc 2.33 or later only (mallinfo2)")
def test_a_freed_frame_stays_in_the_process_for_the_next_one() -> None:
    default, kept = _run("default"), _run("keep")
    assert kept["applied"] is True
    # by default the block is unmapped when freed (the next one faults its pages in again)
    assert default["free_kept"] < 4 * 1024 * 1024
    assert kept["free_kept"] >= 16 * 1024 * 1024


def test_the_command_line_keeps_freed_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    from focuspull import allocator, cli

    calls = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: calls.append(True) or True)
    assert cli.main(["schema"]) == 0
    assert calls == [True]
