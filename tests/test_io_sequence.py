"""check_frames and read_sequence (read-ahead order, errors, early stop)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from focuspull.errors import ImageReadError, MissingFramesError
from focuspull.io import sequence as sequence_module
from focuspull.io.image import ImageFrame, read_image
from focuspull.io.patterns import SequencePattern
from focuspull.io.sequence import check_frames, read_sequence


def test_check_frames_passes_when_all_exist(write_sequence_files) -> None:
    folder = write_sequence_files("plate.####.exr", [1001, 1002, 1003])
    check_frames(SequencePattern.parse(str(folder / "plate.%04d.exr")), [1001, 1002, 1003])


def test_missing_frames_are_listed_compactly(write_sequence_files) -> None:
    folder = write_sequence_files("plate.####.exr", [1001, 1002, 1005, 1006, 1007, 1008, 1009, 1011, 1012])
    pattern = SequencePattern.parse(str(folder / "plate.####.exr"))
    with pytest.raises(MissingFramesError) as info:
        check_frames(pattern, range(1001, 1013), what="input")
    assert str(info.value) == f"input {pattern.text}: 3 frame(s) missing: 1003-1004,1010"
    assert info.value.code == "missing_frames"


def test_missing_folder_is_explained(tmp_path: Path) -> None:
    pattern = SequencePattern.parse(str(tmp_path / "nope" / "p.####.exr"))
    with pytest.raises(MissingFramesError, match=r"2 frame\(s\) missing: 1-2 \(folder .* does not exist\)"):
        check_frames(pattern, [1, 2], what="depth")


def test_single_file_pattern(write_exr, tmp_path: Path) -> None:
    still = SequencePattern.parse(str(write_exr(tmp_path / "still.exr")))
    check_frames(still, [1001, 1002])
    with pytest.raises(MissingFramesError, match="does not exist"):
        check_frames(SequencePattern.parse(str(tmp_path / "other.exr")), [1001])


def test_read_sequence_yields_frames_in_order(write_sequence_files) -> None:
    frames = [1004, 1001, 1003, 1002]  # caller's order, not sorted
    folder = write_sequence_files("p.####.exr", frames)
    pattern = SequencePattern.parse(str(folder / "p.####.exr"))
    for prefetch in (0, 1, 3):
        got = list(read_sequence(pattern, frames, prefetch=prefetch))
        assert [f for f, _ in got] == frames
        for frame, image in got:
            assert image.path == pattern.path(frame)
            np.testing.assert_allclose(image.pixels, frame / 1000.0, rtol=1e-7)


def test_read_ahead_overlaps_and_is_bounded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    started: list[int] = []
    lock = threading.Lock()

    def fake_read(path: str, frame: int | None = None) -> ImageFrame:
        with lock:
            started.append(int(Path(path).name.split(".")[1]))
        return ImageFrame(np.zeros((1, 1, 3), np.float32), ("R", "G", "B"), None, path)

    monkeypatch.setattr(sequence_module, "read_image", fake_read)
    pattern = SequencePattern.parse(str(tmp_path / "p.####.exr"))
    gen = read_sequence(pattern, range(1, 21), prefetch=2)
    assert next(gen)[0] == 1
    time.sleep(0.3)  # the reader fills the queue while "compute" runs
    with lock:
        ahead = list(started)
    # Frame 1 is out, 2 frames are queued and at most one more is read and waiting.
    assert ahead[:3] == [1, 2, 3]
    assert 3 <= len(ahead) <= 4
    gen.close()
    time.sleep(0.3)
    with lock:
        assert len(started) <= 4  # closing stopped the reader


def test_reader_error_is_raised_at_its_frame(write_sequence_files, tmp_path: Path) -> None:
    folder = write_sequence_files("p.####.exr", [1, 2, 4])
    (folder / "p.0003.exr").write_bytes(b"not an exr at all")
    pattern = SequencePattern.parse(str(folder / "p.####.exr"))
    seen = []
    with pytest.raises(ImageReadError) as info:
        for frame, _ in read_sequence(pattern, [1, 2, 3, 4], prefetch=2):
            seen.append(frame)
    assert seen == [1, 2]
    assert str(folder / "p.0003.exr") in str(info.value)


def test_unexpected_reader_error_is_wrapped_with_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def broken(path: str, frame: int | None = None) -> ImageFrame:
        raise MemoryError("out of memory")

    monkeypatch.setattr(sequence_module, "read_image", broken)
    pattern = SequencePattern.parse(str(tmp_path / "p.####.exr"))
    with pytest.raises(ImageReadError, match=r"p\.0007\.exr \(frame 7\): out of memory"):
        list(read_sequence(pattern, [7], prefetch=1))


def test_consumer_exception_stops_reader(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    reads: list[str] = []

    def fake_read(path: str, frame: int | None = None) -> ImageFrame:
        reads.append(path)
        return ImageFrame(np.zeros((1, 1, 3), np.float32), ("R", "G", "B"), None, path)

    monkeypatch.setattr(sequence_module, "read_image", fake_read)
    pattern = SequencePattern.parse(str(tmp_path / "p.####.exr"))
    before = threading.active_count()
    with pytest.raises(RuntimeError, match="engine failed"):
        for _ in read_sequence(pattern, range(1000), prefetch=2):
            raise RuntimeError("engine failed")
    assert len(reads) <= 4
    assert threading.active_count() == before  # the thread was joined


def test_real_read_matches_read_image(write_sequence_files) -> None:
    folder = write_sequence_files("p.#.exr", [9, 10])
    pattern = SequencePattern.parse(str(folder / "p.#.exr"))
    for frame, image in read_sequence(pattern, [9, 10]):
        np.testing.assert_array_equal(image.pixels, read_image(pattern.path(frame)).pixels)
