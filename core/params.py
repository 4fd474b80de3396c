"""Per-frame parameters of a shot: one typed value, resolved once at the boundary.

Following a focus value from a host knob to a pixel: the job holds curves;
:func:`resolve_frame_params` evaluates them (focus modes, lens strength,
keyframed aperture and engine options) for the frames of the shot into one
:class:`FrameParams` of (T,) float64 arrays. From there on nothing evaluates a
curve: the pipeline hands engines ``params.select(frames)`` for each batch,
the workspace and the diagnostics read the same value, and the lens law is
applied with :meth:`FrameParams.signed_coc_px` (``focuspull.coc``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from focuspull.job import Job

#: per-frame values every engine and overlay understands, with their neutral value
#: (the physical engine's keyframeable options and the aperture's; other engines
#: simply leave them neutral)
NEUTRAL = {"in_focus_width": 0.0, "front_scale": 1.0, "back_scale": 1.0, "rotation_deg": 0.0, "aspect": 1.0}


@dataclass(frozen=True, eq=False)
class FrameParams:
    """Per frame of ``frames``: the lens law's inputs and every keyframed option, each (T,) float64.

    focus_disparity: d_f, disparity of the sharp plane.
    strength_px:     K of r_px = K * (d - d_f), in pixels of the plate.
    in_focus_width, front_scale, back_scale: the shape of the law (``focuspull.coc``).
    rotation_deg, aspect: the aperture's keyframeable values.
    options:         any other keyframed engine option, by its field name.
    """

    frames: tuple[int, ...]
    focus_disparity: "np.ndarray"
    strength_px: "np.ndarray"
    in_focus_width: "np.ndarray"
    front_scale: "np.ndarray"
    back_scale: "np.ndarray"
    rotation_deg: "np.ndarray"
    aspect: "np.ndarray"
    options: Mapping[str, "np.ndarray"] = field(default_factory=dict)

    @classmethod
    def of(
        cls, frames: int | Sequence[int], focus_disparity: Any, strength_px: Any, **values: Any
    ) -> "FrameParams":
        """Build from scalars or per-frame sequences; ``frames`` may be a count (frames 0..T-1).

        Named law/aperture values left out take their neutral value; any other
        name becomes an entry of ``options``.
        """
        frames = tuple(range(frames)) if isinstance(frames, int) else tuple(int(f) for f in frames)
        count = len(frames)
        law = {name: _per_frame(name, values.pop(name, neutral), count) for name, neutral in NEUTRAL.items()}
        options = {name: _per_frame(name, value, count) for name, value in values.items()}
        return cls(
            frames=frames,
            focus_disparity=_per_frame("focus_disparity", focus_disparity, count),
            strength_px=_per_frame("strength_px", strength_px, count),
            options=options,
            **law,
        )

    def __len__(self) -> int:
        return len(self.frames)

    def __eq__(self, other: object) -> bool:
        import numpy as np

        if not isinstance(other, FrameParams):
            return NotImplemented
        if self.frames != other.frames or set(self.options) != set(other.options):
            return False
        mine, theirs = self._arrays(), other._arrays()
        return all(np.array_equal(mine[name], theirs[name]) for name in mine)

    __hash__ = None  # type: ignore[assignment]

    def _arrays(self) -> dict[str, "np.ndarray"]:
        arrays = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in ("frames", "options")}
        return {**arrays, **{f"options.{k}": v for k, v in self.options.items()}}

    def index(self, frame: int) -> int:
        return self.frames.index(frame)

    def take(self, indices: Sequence[int]) -> "FrameParams":
        """The values at these positions (0-based), as a new FrameParams."""
        import numpy as np

        idx = np.asarray(list(indices), dtype=np.intp)

        def pick(values: "np.ndarray") -> "np.ndarray":
            out = values[idx]
            out.flags.writeable = False
            return out

        law = {f.name: pick(getattr(self, f.name)) for f in dataclasses.fields(self) if f.name not in ("frames", "options")}
        return FrameParams(
            frames=tuple(self.frames[i] for i in idx.tolist()),
            options={name: pick(v) for name, v in self.options.items()},
            **law,
        )

    def select(self, frames: Sequence[int]) -> "FrameParams":
        """The values for these host frame numbers (each must be in ``frames``)."""
        return self.take([self.index(f) for f in frames])

    def replace(self, **values: Any) -> "FrameParams":
        """A copy with some per-frame values replaced (scalars broadcast), e.g. ``strength_px=K / 2``."""
        count = len(self.frames)
        return dataclasses.replace(self, **{name: _per_frame(name, v, count) for name, v in values.items()})

    def value(self, name: str, t: int) -> float:
        """Frame t's value of a field or an engine option, as a float."""
        values = self.options[name] if name in self.options else getattr(self, name)
        return float(values[t])

    def law(self, t: int) -> dict[str, float]:
        """Keyword arguments of ``coc.signed_coc_px`` for frame t (position in ``frames``)."""
        return {
            "focus_disparity": float(self.focus_disparity[t]),
            "strength_px": float(self.strength_px[t]),
            "in_focus_width": float(self.in_focus_width[t]),
            "front_scale": float(self.front_scale[t]),
            "back_scale": float(self.back_scale[t]),
        }

    def signed_coc_px(self, disparity: Any, t: int) -> Any:
        """The lens law at frame t (position in ``frames``) for a disparity array or tensor."""
        from focuspull.coc import signed_coc_px

        return signed_coc_px(disparity, **self.law(t))


def _per_frame(name: str, value: Any, count: int) -> "np.ndarray":
    import numpy as np

    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        array = np.full(count, float(array))
    elif array.shape != (count,):
        raise ValueError(f"FrameParams.{name}: {array.shape[0] if array.ndim == 1 else array.shape} values for {count} frames")
    else:
        array = array.copy()
    array.flags.writeable = False
    return array


FrameSource = Callable[[Sequence[int]], Iterable[Any]]


def keyframed_values(frames: Sequence[int], *settings: Any) -> dict[str, list[float]]:
    """Every Curve-typed field of these settings objects, evaluated at ``frames``."""
    from focuspull.curves import Curve

    values: dict[str, list[float]] = {}
    for obj in settings:
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if isinstance(value, Curve):
                values[f.name] = value.evaluate(frames)
    return values


def resolve_frame_params(
    job: "Job",
    frames: Sequence[int],
    *,
    engine_options: Any,
    width_px: float | None,
    read: FrameSource | None = None,
    shot_frames: Sequence[int] | None = None,
) -> FrameParams:
    """The FrameParams of ``frames``: focus (every mode), K (every mode), keyframed options.

    ``read(frames)`` supplies decoded frames when a focus or strength mode
    picks from the depth (see ``focus.resolve_per_frame``); ``width_px`` is
    the plate's display width (lens mode).
    """
    from focuspull.focus import resolve_per_frame

    frames = tuple(frames)
    per_frame = resolve_per_frame(job, frames, width_px=width_px, read=read, shot_frames=shot_frames)
    values = keyframed_values(frames, job.aperture, *([engine_options] if engine_options is not None else []))
    return FrameParams.of(frames, per_frame.focus_disparity, per_frame.strength_px, **values)
