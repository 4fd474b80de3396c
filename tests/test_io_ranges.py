"""Frame ranges: parse_frames / format_frames."""

from __future__ import annotations

import pytest

from focuspull.errors import SequenceError
from focuspull.io.ranges import format_frames, parse_frames


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1001", (1001,)),
        ("1001-1005", (1001, 1002, 1003, 1004, 1005)),
        ("1001-1009x2", (1001, 1003, 1005, 1007, 1009)),
        ("1001-1010x4", (1001, 1005, 1009)),
        ("1001,1005,1010-1012", (1001, 1005, 1010, 1011, 1012)),
        ("1010-1012, 1001 ,1005", (1001, 1005, 1010, 1011, 1012)),
        ("1001 1003", (1001, 1003)),
        ("1001-1003,1002-1004", (1001, 1002, 1003, 1004)),  # overlaps collapse
        ("-5--1", (-5, -4, -3, -2, -1)),
        ("-2-2", (-2, -1, 0, 1, 2)),
        ("-3", (-3,)),
        ("7-7", (7,)),
    ],
)
def test_parse_frames(text: str, expected: tuple[int, ...]) -> None:
    assert parse_frames(text) == expected


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("1010-1001", "1010-1001"),
        ("abc", "abc"),
        ("1001-1100,abc", "abc"),
        ("1001-1010x0", "1001-1010x0"),
        ("1001-", "1001-"),
        ("1001-1010x", "1001-1010x"),
        ("1.5", "1.5"),
    ],
)
def test_parse_frames_names_the_bad_token(text: str, bad: str) -> None:
    with pytest.raises(SequenceError) as info:
        parse_frames(text)
    assert repr(bad) in str(info.value)


@pytest.mark.parametrize("text", ["", "   ", ",", " , "])
def test_parse_frames_empty(text: str) -> None:
    with pytest.raises(SequenceError, match="empty frame range"):
        parse_frames(text)


def test_parse_frames_refuses_huge_ranges() -> None:
    with pytest.raises(SequenceError, match="more than"):
        parse_frames("1-1000000000")


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ([1001, 1002, 1003, 1004, 1005, 1010, 1020, 1022, 1024, 1026, 1028, 1030], "1001-1005,1010,1020-1030x2"),
        ([1005, 1001, 1003, 1003], "1001-1005x2"),
        ([1001], "1001"),
        ([], ""),
        ([1001, 1002], "1001-1002"),
        ([1001, 1005], "1001,1005"),
        ([1, 5, 6, 7], "1,5-7"),
        ([1, 3, 4, 5], "1,3-5"),
        ([-5, -4, -3, -2, -1], "-5--1"),
        ([-1, 0, 1], "-1-1"),
    ],
)
def test_format_frames(frames: list[int], expected: str) -> None:
    assert format_frames(frames) == expected


@pytest.mark.parametrize(
    "frames",
    [
        (1001, 1002, 1003, 1004, 1005, 1010, 1020, 1022, 1024, 1026, 1028, 1030),
        (-10, -8, -6, -5, -4, 0, 3, 7, 11, 15, 100),
        tuple(range(1001, 1101, 3)) + (2000, 2001),
    ],
)
def test_format_then_parse_round_trips(frames: tuple[int, ...]) -> None:
    assert parse_frames(format_frames(frames)) == tuple(sorted(set(frames)))
