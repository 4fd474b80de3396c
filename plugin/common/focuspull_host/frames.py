"""The frame grammar of ARCHITECTURE.md: ranges (1001-1100x2) and patterns (####, %04d, $F4, @@@@)."""

import os
import re
from typing import Iterable, List, Optional, Set, Tuple

from .errors import InvalidJob

_FRAME_TOKEN = re.compile(r"^(-?\d+)(?:-(-?\d+)(?:x(\d+))?)?$")
_PATTERN_TOKEN = re.compile(r"#+|@+|%0?(\d*)d|\$F(\d*)")
_NUMBERED_FILE = re.compile(r"^(?P<head>.*?)(?P<digits>\d+)(?P<tail>\.[A-Za-z0-9]+)$")


def parse_frames(text: str) -> List[int]:
    """``1001-1100``, ``1001-1100x2``, ``1001,1005,1010-1012`` -> sorted unique frames."""
    frames = set()  # type: Set[int]
    tokens = [t for t in re.split(r"[,\s]+", str(text).strip()) if t]
    if not tokens:
        raise InvalidJob("frame range {!r} is empty; expected e.g. 1001-1100".format(text))
    for token in tokens:
        match = _FRAME_TOKEN.match(token)
        if match is None:
            raise InvalidJob("frame range token {!r} in {!r} is not a frame, FIRST-LAST or FIRST-LASTxSTEP".format(token, text))
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        step = int(match.group(3)) if match.group(3) is not None else 1
        if last < first or step < 1:
            raise InvalidJob("frame range {!r} runs backwards or has step 0".format(token))
        frames.update(range(first, last + 1, step))
    return sorted(frames)


def frame_runs(frames: Iterable[int]) -> List[Tuple[int, int]]:
    """Consecutive runs: [1001, 1002, 1003, 1007] -> [(1001, 1003), (1007, 1007)]."""
    runs = []  # type: List[Tuple[int, int]]
    for f in sorted(set(int(f) for f in frames)):
        if runs and f == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], f)
        else:
            runs.append((f, f))
    return runs


def format_frames(frames: Iterable[int]) -> str:
    """The inverse of ``parse_frames`` (runs as FIRST-LAST)."""
    return ",".join(str(a) if a == b else "{}-{}".format(a, b) for a, b in frame_runs(frames))


def pattern_padding(pattern: str) -> Optional[int]:
    """Digits of the frame token in a pattern (####, %04d, $F4, @@@@), None if it has none."""
    matches = list(_PATTERN_TOKEN.finditer(pattern))
    if not matches:
        return None
    token = matches[-1].group(0)
    if token[0] in "#@":
        return len(token)
    digits = matches[-1].group(1) if token.startswith("%") else matches[-1].group(2)
    return int(digits) if digits else 1


def frame_path(pattern: str, frame: int) -> str:
    """The file of one frame: ``frame_path('a.####.exr', 7) == 'a.0007.exr'``."""
    matches = list(_PATTERN_TOKEN.finditer(pattern))
    if not matches:
        return pattern
    m = matches[-1]
    padding = pattern_padding(pattern) or 1
    number = "-{:0{}d}".format(-frame, padding) if frame < 0 else "{:0{}d}".format(frame, padding)
    return pattern[: m.start()] + number + pattern[m.end():]


def same_frame_file(pattern_a: str, pattern_b: str, frame: int) -> bool:
    """Whether two patterns name the same file at ``frame`` (an output that would overwrite its plate)."""
    def where(pattern: str) -> str:
        return os.path.normcase(os.path.abspath(frame_path(pattern, frame)))

    return where(pattern_a) == where(pattern_b)


def to_hash_pattern(pattern: str) -> str:
    """The same sequence written with #### (Nuke, Fusion and the core all read it)."""
    matches = list(_PATTERN_TOKEN.finditer(pattern))
    if not matches:
        return pattern
    m = matches[-1]
    return pattern[: m.start()] + "#" * (pattern_padding(pattern) or 1) + pattern[m.end():]


def pattern_from_filename(path: str) -> Tuple[str, Optional[int]]:
    """``/p/plate.1001.exr`` -> (``/p/plate.####.exr``, 1001); a file without a number -> (path, None)."""
    folder, name = os.path.split(path)
    match = _NUMBERED_FILE.match(name)
    if match is None:
        return path, None
    digits = match.group("digits")
    return os.path.join(folder, match.group("head") + "#" * len(digits) + match.group("tail")), int(digits)


def resolve_path(path: str, base_dir: Optional[str]) -> str:
    """``path`` with ``$VARS`` and ``~`` expanded; a relative path is taken from ``base_dir``
    (Nuke: the project directory, as its Read and Write nodes do)."""
    text = os.path.expanduser(os.path.expandvars(path.strip()))
    if text and not os.path.isabs(text) and base_dir:
        text = os.path.join(base_dir, text)
    return text
