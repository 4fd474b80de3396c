"""Keyframed parameters: curves of (frame, value, interpolation) keys.

A key's interpolation governs the segment that leaves it:

* ``constant`` holds the key's value until the next key,
* ``linear`` interpolates straight to the next key,
* ``smooth`` is a cubic Hermite segment with monotone (Fritsch-Carlson)
  tangents and flat ends, so an eased focus pull never overshoots its keys
  (an overshoot would put the sharp plane behind the subject).

Before the first and after the last key the value is held. Pure Python: the
curve maths is needed where numpy and torch are not (job validation).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from focuspull.errors import CurveError

INTERPOLATIONS = ("constant", "linear", "smooth")
DEFAULT_CLI_INTERPOLATION = "linear"


@dataclass(frozen=True)
class Key:
    frame: float
    value: float
    interpolation: str = "linear"


@dataclass(frozen=True)
class Curve:
    """A validated, sorted list of keys; a constant is a single key."""

    keys: tuple[Key, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise CurveError("a curve needs at least one key")
        for key in self.keys:
            if key.interpolation not in INTERPOLATIONS:
                raise CurveError(
                    f"key at frame {_fmt(key.frame)} has interpolation {key.interpolation!r}; "
                    f"expected one of {', '.join(INTERPOLATIONS)}"
                )
            if not (math.isfinite(key.frame) and math.isfinite(key.value)):
                raise CurveError(f"key ({key.frame}, {key.value}) is not finite")
        for a, b in zip(self.keys, self.keys[1:]):
            if b.frame == a.frame:
                raise CurveError(f"duplicate key at frame {_fmt(a.frame)}")
            if b.frame < a.frame:
                raise CurveError(
                    f"keys are not sorted: frame {_fmt(b.frame)} comes after frame {_fmt(a.frame)}"
                )

    # -- construction -----------------------------------------------------
    @classmethod
    def constant(cls, value: float) -> "Curve":
        return cls((Key(0.0, float(value), "constant"),))

    @classmethod
    def dense(cls, frames: Sequence[float], values: Sequence[float]) -> "Curve":
        """Per-frame samples (what host nodes send): linear between, exact on."""
        if len(frames) != len(values):
            raise CurveError(f"{len(frames)} frames but {len(values)} values")
        return cls(tuple(Key(float(f), float(v), "linear") for f, v in zip(frames, values)))

    @property
    def is_constant(self) -> bool:
        return len({k.value for k in self.keys}) == 1

    # -- evaluation -------------------------------------------------------
    def __call__(self, frame: float) -> float:
        return self.evaluate([frame])[0]

    def evaluate(self, frames: Iterable[float]) -> list[float]:
        keys = self.keys
        tangents = _monotone_tangents(keys) if any(k.interpolation == "smooth" for k in keys) else None
        out = []
        for f in frames:
            f = float(f)
            if f <= keys[0].frame:
                out.append(keys[0].value)
                continue
            if f >= keys[-1].frame:
                out.append(keys[-1].value)
                continue
            i = _segment(keys, f)
            a, b = keys[i], keys[i + 1]
            t = (f - a.frame) / (b.frame - a.frame)
            if a.interpolation == "constant":
                out.append(a.value)
            elif a.interpolation == "linear":
                out.append(a.value + t * (b.value - a.value))
            else:
                h = b.frame - a.frame
                assert tangents is not None
                out.append(_hermite(a.value, b.value, tangents[i] * h, tangents[i + 1] * h, t))
        return out

    # -- serialisation ----------------------------------------------------
    def to_json(self) -> Any:
        if len(self.keys) == 1:
            return self.keys[0].value
        return {"keys": [[_num(k.frame), k.value, k.interpolation] for k in self.keys]}

    @classmethod
    def from_json(cls, data: Any, where: str = "curve") -> "Curve":
        """Accept a number, ``{"keys": [[f, v, interp], ...]}`` or ``{"frames": [...], "values": [...]}``."""
        try:
            if isinstance(data, bool):
                raise CurveError(f"expected a number or a curve, got {data!r}")
            if isinstance(data, (int, float)):
                return cls.constant(float(data))
            if isinstance(data, dict) and "keys" in data:
                _only(data, {"keys"})
                keys = []
                for item in data["keys"]:
                    if not isinstance(item, (list, tuple)) or len(item) not in (2, 3):
                        raise CurveError(f"key {item!r} is not [frame, value] or [frame, value, interpolation]")
                    f, v = _number(item[0]), _number(item[1])
                    interp = item[2] if len(item) == 3 else "linear"
                    keys.append(Key(f, v, interp))
                return cls(tuple(keys))
            if isinstance(data, dict) and "values" in data:
                _only(data, {"frames", "values"})
                frames = data.get("frames")
                if frames is None:
                    raise CurveError("dense values need a 'frames' list of the same length")
                return cls.dense([_number(f) for f in frames], [_number(v) for v in data["values"]])
        except CurveError as err:
            raise CurveError(f"{where}: {err}") from err
        raise CurveError(
            f"{where}: expected a number, {{\"keys\": [[frame, value, interpolation], ...]}} "
            f"or {{\"frames\": [...], \"values\": [...]}}, got {data!r}"
        )

    @classmethod
    def parse_cli(cls, text: str, where: str = "curve") -> "Curve":
        """``2.5`` | ``1001:2.5,1040:4.0:smooth`` | ``@curve.json``."""
        text = text.strip()
        if text.startswith("@"):
            path = Path(text[1:])
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError) as err:
                raise CurveError(f"{where}: cannot read curve file {path}: {err}") from err
            return cls.from_json(data, where=f"{where} ({path})")
        try:
            return cls.constant(float(text))
        except ValueError:
            pass
        keys = []
        for part in text.split(","):
            fields = part.strip().split(":")
            if len(fields) not in (2, 3):
                raise CurveError(
                    f"{where}: {part!r} is not FRAME:VALUE or FRAME:VALUE:INTERPOLATION "
                    f"(e.g. 1001:2.5,1040:4.0:smooth)"
                )
            try:
                f, v = float(fields[0]), float(fields[1])
            except ValueError as err:
                raise CurveError(f"{where}: {part!r} has a non-numeric frame or value") from err
            keys.append(Key(f, v, fields[2] if len(fields) == 3 else DEFAULT_CLI_INTERPOLATION))
        try:
            return cls(tuple(keys))
        except CurveError as err:
            raise CurveError(f"{where}: {err}") from err


def _segment(keys: Sequence[Key], frame: float) -> int:
    lo, hi = 0, len(keys) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if keys[mid].frame <= frame:
            lo = mid
        else:
            hi = mid
    return lo


def _monotone_tangents(keys: Sequence[Key]) -> list[float]:
    """Fritsch-Carlson tangents (value per frame); zero at both ends."""
    n = len(keys)
    slopes = [(keys[i + 1].value - keys[i].value) / (keys[i + 1].frame - keys[i].frame) for i in range(n - 1)]
    tangents = [0.0] * n
    for i in range(1, n - 1):
        s0, s1 = slopes[i - 1], slopes[i]
        if s0 * s1 <= 0:
            continue
        h0 = keys[i].frame - keys[i - 1].frame
        h1 = keys[i + 1].frame - keys[i].frame
        w0, w1 = 2 * h1 + h0, h1 + 2 * h0
        tangents[i] = (w0 + w1) / (w0 / s0 + w1 / s1)  # weighted harmonic mean keeps monotonicity
    return tangents


def _hermite(p0: float, p1: float, m0: float, m1: float, t: float) -> float:
    t2, t3 = t * t, t * t * t
    return (2 * t3 - 3 * t2 + 1) * p0 + (t3 - 2 * t2 + t) * m0 + (-2 * t3 + 3 * t2) * p1 + (t3 - t2) * m1


def _number(x: Any) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise CurveError(f"{x!r} is not a number")
    return float(x)


def _only(data: dict, allowed: set[str]) -> None:
    extra = set(data) - allowed
    if extra:
        raise CurveError(f"unexpected field(s) {', '.join(sorted(extra))}")


def _num(f: float) -> float | int:
    return int(f) if float(f).is_integer() else f


def _fmt(f: float) -> str:
    return str(_num(f))
