"""Per-frame focus and strength: curves evaluated at host frame numbers.

Everything here turns the job's keyframed values into the engine's per-frame
numbers: the focus disparity d_f and K of r_px = K * |d - d_f|. A bad value
names the frame and the value, as a compositor needs to find the key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from focuspull.errors import JobError
from focuspull.job import Job


def focus_disparity(job: Job, frames: Sequence[int]) -> list[float]:
    """d_f per frame: 1/S for a focus distance S, or the disparity itself."""
    values = job.focus.value.evaluate(frames)
    mode = job.focus_mode
    out = []
    for frame, value in zip(frames, values):
        if mode == "distance":
            if not value > 0:
                raise JobError(f"focus: frame {frame}: distance {value:g} must be > 0 (scene units of the depth pass)")
            out.append(0.0 if math.isinf(value) else 1.0 / value)
        else:
            if value < 0:
                raise JobError(f"focus: frame {frame}: disparity {value:g} must be >= 0 (larger = nearer)")
            out.append(value)
    return out


def strength_px(job: Job, frames: Sequence[int]) -> list[float]:
    """K per frame, in pixels of the plate per unit of disparity."""
    values = job.strength.value.evaluate(frames)
    for frame, value in zip(frames, values):
        if value < 0:
            raise JobError(f"strength: frame {frame}: K {value:g} must be >= 0")
    return values
