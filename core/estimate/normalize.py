"""One mapping of estimated disparity to 0..1 for the whole shot.

A monocular model's output has no fixed scale. Normalising each frame to its
own min..max makes the blur pump as the subject moves; instead the shot's
robust percentiles (default 1st and 99th over every frame) become 0 and 1,
and that one affine map is applied to every frame. Values beyond them are
clamped: the farthest 1% of the shot is at 0, the nearest 1% at 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from focuspull.errors import ImageDataError

if TYPE_CHECKING:
    import numpy as np

#: pixels sampled per frame for the percentiles (a regular stride, so it is deterministic)
SAMPLES_PER_FRAME = 65536


@dataclass(frozen=True)
class ShotNormalization:
    """d_normalised = clip((d - low) / (high - low), 0, 1) for every frame of a shot."""

    low: float
    high: float

    @classmethod
    def fit(
        cls, frames: Iterable["np.ndarray"], percentiles: tuple[float, float] = (1.0, 99.0),
        samples_per_frame: int = SAMPLES_PER_FRAME,
    ) -> "ShotNormalization":
        """Percentiles over the pooled pixels of every frame (a regular subsample of each)."""
        import numpy as np

        samples = []
        for frame in frames:
            flat = np.asarray(frame, dtype=np.float32).ravel()
            step = max(1, flat.size // samples_per_frame)
            samples.append(flat[::step])
        if not samples:
            raise ImageDataError("estimated depth: no frames to normalise")
        pooled = np.concatenate(samples)
        finite = pooled[np.isfinite(pooled)]
        if finite.size == 0:
            raise ImageDataError("estimated depth: the model returned no finite value on any frame")
        low, high = (float(v) for v in np.percentile(finite, percentiles))
        if not high > low:
            raise ImageDataError(
                f"estimated depth is flat over the shot (percentiles {percentiles[0]:g}/{percentiles[1]:g} "
                f"are both {low:g}); the model sees no depth in this plate"
            )
        return cls(low, high)

    def apply(self, disparity: "np.ndarray") -> "np.ndarray":
        import numpy as np

        out = (np.asarray(disparity, dtype=np.float32) - np.float32(self.low)) / np.float32(self.high - self.low)
        return np.clip(np.nan_to_num(out, nan=0.0), 0.0, 1.0).astype(np.float32)
