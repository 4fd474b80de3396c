"""File-sequence patterns: ``plate.####.exr`` and the other spellings hosts use.

``plate.####.exr``, ``plate.%04d.exr``, ``plate.$F4.exr`` and ``plate.@@@@.exr``
all name the same files. As in Nuke, each ``#`` or ``@`` stands for one digit of
zero padding; ``%d``, ``$F`` and a single ``#`` mean no padding. A path without
a frame token names one file that is used for every frame (a still).

Frame numbers longer than the padding are written in full (frame 12345 of
``####`` is ``12345``) and negative frames keep the padding width including
the sign (frame -1 of ``####`` is ``-001``), which is what Python's ``%0Nd``
and Nuke both do.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from focuspull.errors import SequenceError

__all__ = ["SequencePattern"]

# Order matters only for readability: the alternatives cannot overlap.
_TOKEN = re.compile(
    r"(?P<hash>#+)"
    r"|(?P<at>@+)"
    r"|%(?P<printf>0?\d*)d"
    r"|\$F(?P<houdini>\d*)"
)

_STYLES = ("hash", "printf", "houdini", "at")


def _find_tokens(text: str) -> list[re.Match[str]]:
    return list(_TOKEN.finditer(text))


def _padding_of(match: re.Match[str]) -> int:
    if match["hash"] is not None:
        return len(match["hash"])
    if match["at"] is not None:
        return len(match["at"])
    digits = match["printf"] if match["printf"] is not None else match["houdini"]
    return max(int(digits), 1) if digits else 1


def _norm(path: str) -> str:
    return os.path.normcase(os.path.realpath(os.path.abspath(path)))


@dataclass(frozen=True)
class SequencePattern:
    """A parsed file pattern. Build it with :meth:`parse`."""

    text: str
    # Derived from `text` in __post_init__; not part of equality or hashing.
    _prefix: str = field(init=False, repr=False, compare=False, default="")
    _suffix: str = field(init=False, repr=False, compare=False, default="")
    _padding: int = field(init=False, repr=False, compare=False, default=0)

    def __post_init__(self) -> None:
        text = self.text
        if isinstance(text, os.PathLike):
            text = os.fspath(text)
            object.__setattr__(self, "text", text)
        if not isinstance(text, str) or not text.strip():
            raise SequenceError(
                f"empty file pattern {text!r}; expected e.g. 'plate.####.exr' or 'plate.%04d.exr'"
            )
        tokens = _find_tokens(text)
        prefix, suffix, padding = text, "", 0
        if len(tokens) > 1:
            found = ", ".join(repr(t.group(0)) for t in tokens)
            raise SequenceError(
                f"file pattern {text!r} has {len(tokens)} frame tokens ({found}); "
                "expected exactly one, e.g. 'plate.####.exr'"
            )
        if tokens:
            token = tokens[0]
            folder_end = max(text.rfind("/"), text.rfind(os.sep))
            if token.start() <= folder_end:
                raise SequenceError(
                    f"file pattern {text!r} has its frame token {token.group(0)!r} in a "
                    "folder name; the frame number must be in the file name"
                )
            prefix, suffix, padding = text[: token.start()], text[token.end() :], _padding_of(token)
        object.__setattr__(self, "_prefix", prefix)
        object.__setattr__(self, "_suffix", suffix)
        object.__setattr__(self, "_padding", padding)

    @classmethod
    def parse(cls, text: str) -> SequencePattern:
        """Parse ``text``; raises :class:`SequenceError` for an empty path, more than
        one frame token, or a frame token in a folder name."""
        return cls(text)

    @property
    def is_sequence(self) -> bool:
        """False for a path without a frame token (one file for every frame)."""
        return self._padding > 0

    @property
    def padding(self) -> int:
        """Digits of zero padding (``####`` -> 4, ``%d`` -> 1); 0 for a single file."""
        return self._padding

    @property
    def folder(self) -> str:
        """The folder the files live in (``"."`` for a bare file name)."""
        return os.path.dirname(self._prefix if self.is_sequence else self.text) or "."

    def path(self, frame: int) -> str:
        """The file of ``frame``: zero-padded, negative frames as ``-001``."""
        if not self.is_sequence:
            return self.text
        return f"{self._prefix}{int(frame):0{self._padding}d}{self._suffix}"

    def _name_regex(self) -> re.Pattern[str]:
        name_prefix = os.path.basename(self._prefix)
        return re.compile(
            re.escape(name_prefix) + r"(?P<frame>-?\d+)" + re.escape(self._suffix) + r"\Z"
        )

    def frame_of(self, file_name: str) -> int | None:
        """The frame a file name (base name or path) stands for, or None when the
        name is not one this pattern writes (e.g. ``01001`` for ``####``)."""
        if not self.is_sequence:
            return None
        match = self._name_regex().match(os.path.basename(file_name))
        if match is None:
            return None
        digits = match["frame"]
        frame = int(digits)
        # Only the spelling path() would write counts, so 1001 and 01001 never
        # both claim frame 1001, and frames longer than the padding still match.
        return frame if f"{frame:0{self._padding}d}" == digits else None

    def frames_on_disk(self) -> tuple[int, ...]:
        """Frames whose files exist, sorted; ``()`` when the folder does not exist.

        A single-file pattern has no frames: use ``os.path.exists(pattern.text)``.
        """
        if not self.is_sequence:
            return ()
        try:
            names = os.listdir(self.folder)
        except FileNotFoundError:
            return ()
        except NotADirectoryError:
            return ()
        except OSError as err:
            raise SequenceError(
                f"cannot list folder {self.folder!r} of {self.text!r}: {err}"
            ) from err
        frames = {f for f in (self.frame_of(n) for n in names) if f is not None}
        return tuple(sorted(frames))

    def same_files_as(self, other: SequencePattern, frames: Iterable[int] | None = None) -> bool:
        """True when both patterns can name the same file (after resolving links
        and relative paths); used to refuse writing over the input.

        With ``frames``, compares the files of exactly those frames. Without, it
        is conservative: two sequences with the same folder, prefix and suffix
        match even when their paddings differ, because ``plate.#.exr`` and
        ``plate.####.exr`` both name ``plate.1001.exr``.
        """
        if frames is not None:
            mine = {_norm(self.path(f)) for f in frames}
            return any(_norm(other.path(f)) in mine for f in frames)
        if not self.is_sequence and not other.is_sequence:
            return _norm(self.text) == _norm(other.text)
        if self.is_sequence and other.is_sequence:
            return (
                _norm(self.folder) == _norm(other.folder)
                and os.path.normcase(os.path.basename(self._prefix))
                == os.path.normcase(os.path.basename(other._prefix))
                and os.path.normcase(self._suffix) == os.path.normcase(other._suffix)
            )
        single, seq = (self, other) if not self.is_sequence else (other, self)
        return (
            _norm(single.folder) == _norm(seq.folder)
            and seq.frame_of(os.path.normcase(os.path.basename(single.text))) is not None
        )

    def canonical(self) -> str:
        """The absolute ``####`` form, e.g. ``/shots/a/plate.####.exr``."""
        if not self.is_sequence:
            return os.path.abspath(self.text)
        prefix = os.path.join(os.path.abspath(self.folder), os.path.basename(self._prefix))
        return f"{prefix}{'#' * self._padding}{self._suffix}"

    def with_frame_token(self, style: str = "hash") -> str:
        """The same pattern spelled for another host: ``"hash"`` (``####``),
        ``"printf"`` (``%04d``), ``"houdini"`` (``$F4``) or ``"at"`` (``@@@@``).
        Keeps the path as given (relative stays relative)."""
        if style not in _STYLES:
            raise SequenceError(f"unknown frame token style {style!r}; expected one of {_STYLES}")
        if not self.is_sequence:
            return self.text
        pad = self._padding
        token = {
            "hash": "#" * pad,
            "at": "@" * pad,
            "printf": f"%0{pad}d" if pad > 1 else "%d",
            "houdini": f"$F{pad}" if pad > 1 else "$F",
        }[style]
        return f"{self._prefix}{token}{self._suffix}"

    def __str__(self) -> str:
        return self.text
