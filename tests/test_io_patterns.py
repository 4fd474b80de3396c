"""Frame patterns: the spellings hosts use, padding, disk scans, same-file checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from focuspull.errors import SequenceError
from focuspull.io.patterns import SequencePattern


@pytest.mark.parametrize(
    "text",
    ["plate.####.exr", "plate.%04d.exr", "plate.$F4.exr", "plate.@@@@.exr"],
)
def test_all_forms_name_the_same_file(text: str) -> None:
    pattern = SequencePattern.parse(f"/shots/a/{text}")
    assert pattern.is_sequence
    assert pattern.padding == 4
    assert pattern.path(1001) == "/shots/a/plate.1001.exr"
    assert pattern.path(7) == "/shots/a/plate.0007.exr"
    assert pattern.canonical() == "/shots/a/plate.####.exr"


@pytest.mark.parametrize("text", ["plate.#.exr", "plate.%d.exr", "plate.$F.exr", "plate.@.exr"])
def test_unpadded_forms(text: str) -> None:
    pattern = SequencePattern.parse(text)
    assert pattern.padding == 1
    assert pattern.path(7) == "plate.7.exr"
    assert pattern.path(1001) == "plate.1001.exr"


def test_single_hash_is_one_digit_not_four() -> None:
    # Nuke semantics: '#' is one digit of padding, unlike Houdini/Shake's '#' = 4.
    assert SequencePattern.parse("p.#.exr").path(5) == "p.5.exr"
    assert SequencePattern.parse("p.####.exr").path(5) == "p.0005.exr"
    assert SequencePattern.parse("p.##.exr").path(5) == "p.05.exr"


def test_printf_padding_width() -> None:
    assert SequencePattern.parse("p.%06d.exr").path(42) == "p.000042.exr"
    assert SequencePattern.parse("p.$F6.exr").path(42) == "p.000042.exr"


def test_frames_longer_than_padding_and_negative_frames() -> None:
    pattern = SequencePattern.parse("p.####.exr")
    assert pattern.path(12345) == "p.12345.exr"
    assert pattern.path(-1) == "p.-001.exr"
    assert pattern.path(-1234) == "p.-1234.exr"


def test_no_token_is_a_single_file_for_every_frame() -> None:
    pattern = SequencePattern.parse("/shots/a/still.exr")
    assert not pattern.is_sequence
    assert pattern.padding == 0
    assert pattern.path(1001) == pattern.path(1) == "/shots/a/still.exr"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("p.####.%04d.exr", "2 frame tokens"),
        ("/shots/####/p.exr", "folder"),
    ],
)
def test_bad_patterns(text: str, match: str) -> None:
    with pytest.raises(SequenceError, match=match):
        SequencePattern.parse(text)


def test_direct_construction_equals_parse() -> None:
    assert SequencePattern("p.####.exr").padding == 4
    assert SequencePattern("p.####.exr") == SequencePattern.parse("p.####.exr")
    assert len({SequencePattern("p.####.exr"), SequencePattern.parse("p.####.exr")}) == 1


def test_with_frame_token() -> None:
    pattern = SequencePattern.parse("out/p.####.exr")
    assert pattern.with_frame_token("printf") == "out/p.%04d.exr"
    assert pattern.with_frame_token("houdini") == "out/p.$F4.exr"
    assert pattern.with_frame_token("at") == "out/p.@@@@.exr"
    assert SequencePattern.parse("p.#.exr").with_frame_token("printf") == "p.%d.exr"
    with pytest.raises(SequenceError):
        pattern.with_frame_token("nuke")


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_bytes(b"")


def test_frames_on_disk_finds_exactly_the_frames_written(tmp_path: Path) -> None:
    written = [998, 1001, 1002, 1005, 10000, -3]
    pattern = SequencePattern.parse(str(tmp_path / "plate.####.exr"))
    _touch(tmp_path, *(os.path.basename(pattern.path(f)) for f in written))
    # Decoys: other padding, other prefix/suffix, the writer's temp files, a folder.
    _touch(
        tmp_path,
        "plate.01003.exr",
        "plate.12.exr",
        "plate.1004.exr.bak",
        "plate_v2.1006.exr",
        "xplate.1007.exr",
        ".plate.tmp-12-ab12cd34.exr",
        "plate.1008.jpg",
        "plate.abcd.exr",
    )
    assert pattern.frames_on_disk() == tuple(sorted(written))


def test_frames_on_disk_unpadded(tmp_path: Path) -> None:
    _touch(tmp_path, "p.1.exr", "p.10.exr", "p.0002.exr")
    assert SequencePattern.parse(str(tmp_path / "p.#.exr")).frames_on_disk() == (1, 10)


def test_frames_on_disk_missing_folder(tmp_path: Path) -> None:
    assert SequencePattern.parse(str(tmp_path / "nope" / "p.####.exr")).frames_on_disk() == ()


def test_same_files_as(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    a = SequencePattern.parse(str(tmp_path / "plate.####.exr"))
    assert a.same_files_as(SequencePattern.parse("plate.%04d.exr"))  # relative vs absolute
    assert a.same_files_as(SequencePattern.parse("sub/../plate.$F4.exr"))
    assert not a.same_files_as(SequencePattern.parse("plate_out.####.exr"))
    assert not a.same_files_as(SequencePattern.parse("sub/plate.####.exr"))
    assert not a.same_files_as(SequencePattern.parse("plate.####.jpg"))
    # Different padding still collides on 4+ digit frames, unless told the frames.
    b = SequencePattern.parse("plate.#.exr")
    assert a.same_files_as(b)
    assert a.same_files_as(b, frames=[1001])
    assert not a.same_files_as(b, frames=[1, 2, 3])
    # A single file against a sequence that contains it.
    assert a.same_files_as(SequencePattern.parse("plate.1001.exr"))
    assert not a.same_files_as(SequencePattern.parse("plate.01001.exr"))
    assert SequencePattern.parse("still.exr").same_files_as(SequencePattern.parse(str(tmp_path / "still.exr")))


def test_same_files_as_follows_symlinks(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    a = SequencePattern.parse(str(tmp_path / "real" / "p.####.exr"))
    assert a.same_files_as(SequencePattern.parse(str(tmp_path / "link" / "p.####.exr")))
