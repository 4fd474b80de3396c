"""The memory check: a frame that would not fit is refused from its header,
before any pixel is read, with a message naming what it needs."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import OpenImageIO as oiio
import pytest

from focuspull.cli import main
from focuspull.io import memory as memory_module
from focuspull.io import sequence as sequence_module
from focuspull.io.memory import FrameMemory, estimate_frame_bytes


def _huge_exr(path, width, height):
    """An RGBA+Z frame of constant pixels, written in chunks (small on disk)."""
    spec = oiio.ImageSpec(width, height, 5, "half")
    spec.channelnames = ("R", "G", "B", "A", "Z")
    spec.attribute("compression", "zip")
    out = oiio.ImageOutput.create(str(path))
    assert out.open(str(path), spec), out.geterror()
    rows = np.ones((16, width, 5), np.float32)  # one zip chunk at a time
    for y in range(0, height, 16):
        assert out.write_scanlines(y, y + 16, 0, rows), out.geterror()
    out.close()


def test_estimate_counts_parts_frames_in_flight_and_the_engine() -> None:
    header = {"parts": [{"data_window": [0, 0, 99, 49], "channels": {"R": "half", "G": "half", "B": "half"}},
                        {"data_window": [10, 10, 19, 19], "channels": {"Z": "float"}}]}
    memory = estimate_frame_bytes(header, work_pixels=6000, layers=2, engine="physical", frames_held=2)
    assert memory.read_bytes == 100 * 50 * 3 * 4 + 10 * 10 * 4
    assert memory.engine_bytes == 6000 * (220 + 16)
    assert memory.total_bytes == memory.read_bytes * 3 + memory.engine_bytes + memory_module.BASELINE_BYTES


def test_a_frame_that_would_not_fit_is_refused_before_any_pixel_is_read(tmp_path, monkeypatch) -> None:
    (tmp_path / "p").mkdir()
    _huge_exr(tmp_path / "p" / "big.1001.exr", 4096, 2160)
    monkeypatch.setattr(memory_module, "available_bytes", lambda: 2**30)

    def no_read(*args, **kwargs):
        raise AssertionError("pixels were read")

    monkeypatch.setattr(sequence_module, "read_image", no_read)
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["render", str(tmp_path / "p" / "big.####.exr"), "-o", str(tmp_path / "o" / "r.####.exr"),
                     "--focus", "2", "--strength", "2", "--progress", "none", "--device", "cpu"])
    lines = [line for line in err.getvalue().splitlines() if "error" in line]
    assert code == 2 and len(lines) == 1
    # 8.8 M pixels: 0.2 GB per frame read (x3: two read ahead), 1.8 GB for the engine, 0.4 GB baseline
    assert "big.1001.exr: frame 1001: a 4096x2160 frame needs about 2.7 GB of memory" in lines[0]
    assert "(0.2 GB per frame read, x3 in flight; 1.8 GB for the engine) but 1.0 GB is available" in lines[0]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_check_passes_when_memory_is_unknown() -> None:
    memory_module.check_frame_memory("x", (1, 1), FrameMemory(2**40, 2**40, 2), None)
    with pytest.raises(Exception, match="needs about"):
        memory_module.check_frame_memory("x", (1, 1), FrameMemory(2**40, 0, 0), 2**30)
