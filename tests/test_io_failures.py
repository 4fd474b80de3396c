"""Damaged files, holes in sequences and library messages that are not UTF-8:
one clean line naming file and frame, exit code 2, never a traceback."""

from __future__ import annotations

import contextlib
import io
import os
import struct
from pathlib import Path

import numpy as np
import OpenImageIO as oiio
import pytest

from focuspull.cli import main
from focuspull.errors import ImageReadError, MissingFramesError
from focuspull.io.header import read_header
from focuspull.io.image import read_image

CHANNELS = ("R", "G", "B", "A", "Z")


def _small(path: Path, write_exr) -> Path:
    pixels = np.random.default_rng(0).uniform(0.0, 2.0, (8, 16, 5)).astype(np.float32)
    pixels[..., 4] = 2.0
    return write_exr(path, pixels, CHANNELS)


def _run(argv: list[str]) -> tuple[int, list[str]]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    return code, [line for line in err.getvalue().splitlines() if line.strip()]


def _non_utf8_attribute_name(path: Path) -> None:
    """Give the first attribute a name starting with byte 0xff and a size past
    the end of the file: OpenEXR's error message then quotes those raw bytes."""
    data = bytearray(path.read_bytes())
    at = data.index(b"capDate\x00string\x00")
    data[at] = 0xFF
    size_at = at + len(b"capDate\x00string\x00")
    data[size_at : size_at + 4] = struct.pack("<i", 1299)
    path.write_bytes(bytes(data))


def test_a_library_message_that_is_not_utf8_is_one_line(tmp_path, write_exr) -> None:
    (tmp_path / "p").mkdir()
    path = _small(tmp_path / "p" / "plate.1001.exr", write_exr)
    _non_utf8_attribute_name(path)
    # The binding itself cannot decode this message: the case is real.
    assert oiio.ImageInput.open(str(path)) is None
    with pytest.raises(UnicodeDecodeError):
        oiio.geterror()
    oiio.ImageInput.open(str(path))  # leave a fresh pending error for our reader
    with pytest.raises(ImageReadError, match=r"plate\.1001\.exr \(frame 1001\): .*\ufffd"):
        read_header(str(path), 1001)
    for argv in (["info", str(tmp_path / "p" / "plate.####.exr")],
                 ["render", str(tmp_path / "p" / "plate.####.exr"), "-o", str(tmp_path / "o" / "r.####.exr"),
                  "--focus", "2", "--strength", "2", "--progress", "none"]):
        code, lines = _run(argv)
        assert code == 2 and len(lines) == 1, lines
        assert "plate.1001.exr" in lines[0] and "\ufffd" in lines[0]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_a_truncated_frame_names_file_and_frame(tmp_path, write_exr) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    for f in (1001, 1002, 1003):
        _small(folder / f"plate.{f}.exr", write_exr)
    damaged = folder / "plate.1002.exr"
    damaged.write_bytes(damaged.read_bytes()[:-200])
    with pytest.raises(ImageReadError, match=r"plate\.1002\.exr \(frame 1002\)"):
        read_image(str(damaged), 1002)
    code, lines = _run(["render", str(folder / "plate.####.exr"), "-o", str(tmp_path / "o" / "r.####.exr"),
                        "--focus", "2", "--strength", "2", "--progress", "none"])
    assert code == 2 and len(lines) == 1
    assert "plate.1002.exr (frame 1002)" in lines[0]


def test_a_hole_in_the_sequence_on_disk_is_an_error_unless_frames_leave_it_out(tmp_path, write_exr) -> None:
    folder = tmp_path / "p"
    folder.mkdir()
    for f in (1001, 1002, 1004, 1005, 1007):
        _small(folder / f"plate.{f}.exr", write_exr)
    argv = ["render", str(folder / "plate.####.exr"), "-o", str(tmp_path / "o" / "r.####.exr"),
            "--focus", "2", "--strength", "2", "--progress", "none"]
    code, lines = _run(argv)
    assert code == 2 and len(lines) == 1
    assert "2 frame(s) missing between 1001 and 1007: 1003,1006" in lines[0]
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    code, lines = _run(argv + ["--frames", "1004-1005"])
    assert code == 0, lines
    assert sorted(os.listdir(tmp_path / "o")) == ["r.1004.exr", "r.1005.exr"]


def test_the_gap_check_is_its_own_error(tmp_path) -> None:
    from focuspull.io.patterns import SequencePattern
    from focuspull.io.sequence import check_no_gaps

    pattern = SequencePattern.parse(str(tmp_path / "p.####.exr"))
    check_no_gaps(pattern, [5, 6, 7])
    with pytest.raises(MissingFramesError, match="1 frame"):
        check_no_gaps(pattern, [5, 7])


def _corrupt(data: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(data)
    kind = rng.integers(0, 4)
    if kind == 0:  # a few random bytes anywhere
        for _ in range(int(rng.integers(1, 8))):
            out[int(rng.integers(0, len(out)))] = int(rng.integers(0, 256))
    elif kind == 1:  # truncated
        out = out[: int(rng.integers(0, len(out)))]
    elif kind == 2:  # a run of garbage
        at = int(rng.integers(0, len(out)))
        out[at : at + 8] = bytes(rng.integers(0, 256, 8).tolist())
    else:  # the header only: where names, sizes and types live
        header_end = data.index(b"\x00\x00", 300) if len(data) > 400 else len(data) // 2
        for _ in range(int(rng.integers(1, 4))):
            out[int(rng.integers(8, header_end))] = int(rng.integers(0, 256))
    return bytes(out)


def test_fuzz_damaged_copies_fail_cleanly_or_succeed(tmp_path, write_exr) -> None:
    """300 randomly damaged copies through info and render, in process: each
    gives exit code 0, or exit code 2 with exactly one line naming the file."""
    source = _small(tmp_path / "source.exr", write_exr).read_bytes()
    rng = np.random.default_rng(13)
    outcomes = {0: 0, 2: 0}
    for case in range(300):
        folder = tmp_path / f"c{case}"
        folder.mkdir()
        (folder / "plate.1001.exr").write_bytes(_corrupt(source, rng))
        pattern = str(folder / "plate.####.exr")
        for argv in (["info", pattern],
                     ["render", pattern, "-o", str(folder / "out" / "r.####.exr"), "--focus", "2",
                      "--strength", "2", "--progress", "none"]):
            code, lines = _run(argv)
            assert code in (0, 2), (case, argv[0], code, lines)
            if code == 2:
                assert len(lines) == 1 and lines[0].startswith("focuspull: error: "), (case, lines)
                assert "plate.1001.exr" in lines[0] and "1001" in lines[0], (case, lines)
            outcomes[code] += 1
    # The damage is real: most copies are refused, some survive.
    assert outcomes[2] > 200 and outcomes[0] > 0
