"""Frame ranges as hosts write them: ``1001-1100``, ``1001-1100x2``, ``1001,1005,1010-1012``.

Frames are the host's frame numbers (1001...), never 0-based indexes. Negative
frames are allowed (``-5--1``, ``-3-2``) because some plates start before zero.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from focuspull.errors import SequenceError

__all__ = ["parse_frames", "format_frames"]

# One token: a frame, or a range with an optional step. The second number may be
# negative too ("-5--1"), so the separator is the first '-' after a digit.
_TOKEN = re.compile(r"^(?P<first>-?\d+)(?:-(?P<last>-?\d+)(?:x(?P<step>\d+))?)?$")

# Expanding "1-1000000000" would eat memory before any frame is read.
_MAX_FRAMES = 1_000_000


def parse_frames(text: str) -> tuple[int, ...]:
    """Parse a frame-range string into sorted, unique frame numbers.

    Tokens are separated by commas and/or whitespace. Raises :class:`SequenceError`
    naming the bad token: an empty string, a range that runs backwards
    (``1010-1001``), a zero step, or anything that is not a frame or range.
    """
    if not isinstance(text, str):
        raise SequenceError(f"frame range must be a string like '1001-1100', got {text!r}")
    tokens = [t for t in re.split(r"[,\s]+", text.strip()) if t]
    if not tokens:
        raise SequenceError(
            f"empty frame range {text!r}; expected e.g. '1001-1100', '1001-1100x2' "
            "or '1001,1005,1010-1012'"
        )
    frames: set[int] = set()
    for token in tokens:
        match = _TOKEN.match(token)
        if match is None:
            raise SequenceError(
                f"bad frame range token {token!r} in {text!r}; expected a frame ('1001'), "
                "a range ('1001-1100') or a stepped range ('1001-1100x2')"
            )
        first = int(match["first"])
        if match["last"] is None:
            frames.add(first)
            continue
        last = int(match["last"])
        step = int(match["step"]) if match["step"] is not None else 1
        if last < first:
            raise SequenceError(
                f"frame range {token!r} in {text!r} runs backwards; write it as "
                f"'{last}-{first}'"
            )
        if step < 1:
            raise SequenceError(
                f"frame range {token!r} in {text!r} has step 0; expected x1 or more"
            )
        if (last - first) // step + 1 + len(frames) > _MAX_FRAMES:
            raise SequenceError(
                f"frame range {token!r} in {text!r} has more than {_MAX_FRAMES} frames"
            )
        frames.update(range(first, last + 1, step))
    return tuple(sorted(frames))


def format_frames(frames: Iterable[int]) -> str:
    """Write frames compactly, the inverse of :func:`parse_frames`.

    Runs of three or more equally spaced frames become ``a-b`` or ``a-bxS``;
    two consecutive frames become ``a-b``; the rest are listed singly.
    ``format_frames([1001, 1002, 1003, 1010, 1020, 1022, 1024])`` is
    ``"1001-1003,1010,1020-1024x2"``.
    """
    values = sorted({int(f) for f in frames})
    parts: list[str] = []
    i = 0
    n = len(values)
    while i < n:
        if i + 1 == n:
            parts.append(str(values[i]))
            break
        step = values[i + 1] - values[i]
        j = i + 1
        while j + 1 < n and values[j + 1] - values[j] == step:
            j += 1
        length = j - i + 1
        if step == 1:
            parts.append(f"{values[i]}-{values[j]}")
            i = j + 1
        elif length >= 3:
            parts.append(f"{values[i]}-{values[j]}x{step}")
            i = j + 1
        else:
            # A pair with a gap is just two frames; the second may start a better run.
            parts.append(str(values[i]))
            i += 1
    return ",".join(parts)
