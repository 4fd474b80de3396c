"""Temporal stabilisation of per-frame depth along optical flow.

A monocular estimator looks at each frame alone, so its depth shimmers from
frame to frame, and every shimmer becomes a pumping blur. Per frame t:

1. DIS optical flow from frame t back to t-1 (and forward, for a check);
2. the stabilised depth of t-1 is warped onto frame t;
3. pixels where the flow does not survive the round trip (occlusions,
   disocclusions, wrong flow) or where the warped image does not match the
   frame are left alone;
4. on the remaining pixels the raw prediction is first aligned to the warped
   one by a robust scale and shift (the model's per-frame affine drift), then
   blended: s_t = w * warp(s_{t-1}) + (1 - w) * aligned_t.

The blend is an exponential filter that follows the motion: noise of
variance v falls to v (1 - w) / (1 + w) and the frame-to-frame change (its
standard deviation) by (1 - w) / sqrt(1 + w), 0.41 at w = 0.5, while moving
subjects do not smear because the previous frame is moved with them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: gray levels (of 255) by which the warped previous frame may differ from the frame
_PHOTOMETRIC_TOLERANCE = 12.0
#: alignment needs at least this share of consistent pixels
_MIN_ALIGN_SHARE = 0.05
#: pixels used for the scale/shift fit (a regular subsample)
_ALIGN_SAMPLES = 20000


def stabilize(
    raw: Sequence["np.ndarray"],
    gray: Sequence["np.ndarray"],
    *,
    weight: float = 0.5,
    align: bool = True,
    preset: str = "medium",
) -> list["np.ndarray"]:
    """Stabilised copies of ``raw`` (T frames of (h, w) disparity).

    ``gray``: the frames as (h, w) uint8 at the same size, for the flow.
    ``weight``: w above, 0 <= w < 1 (0 returns the frames unchanged).
    """
    import numpy as np

    from focuspull.flow import FlowEstimator, consistency_mask, warp

    if len(raw) != len(gray):
        raise ValueError(f"{len(raw)} depth frames but {len(gray)} images")
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"stabilisation weight {weight} must be in [0, 1)")
    out = [np.asarray(raw[0], dtype=np.float32)]
    if weight == 0.0 or len(raw) < 2:
        return out + [np.asarray(r, dtype=np.float32) for r in raw[1:]]
    flow = FlowEstimator(preset)
    shares = []
    for t in range(1, len(raw)):
        current = np.asarray(raw[t], dtype=np.float32)
        if gray[t].shape != current.shape:
            raise ValueError(f"frame {t}: image {gray[t].shape} and depth {current.shape} differ in size")
        to_previous = flow(gray[t], gray[t - 1])
        from_previous = flow(gray[t - 1], gray[t])
        valid = consistency_mask(to_previous, from_previous)
        matched = warp(gray[t - 1], to_previous).astype(np.float32)
        valid &= np.abs(matched - gray[t].astype(np.float32)) <= _PHOTOMETRIC_TOLERANCE
        previous = warp(out[t - 1], to_previous)
        shares.append(float(valid.mean()))
        if align and valid.mean() >= _MIN_ALIGN_SHARE:
            current = _align(current, previous, valid)
        out.append(np.where(valid, weight * previous + (1.0 - weight) * current, current).astype(np.float32))
    log.debug("stabilise: %.0f%% of pixels followed the flow on average", 100 * float(np.mean(shares)))
    return out


def _align(current: "np.ndarray", target: "np.ndarray", valid: "np.ndarray") -> "np.ndarray":
    """a * current + b matching target's spread (10th-90th percentile) and median on valid pixels.

    Matching spreads rather than least squares: a least-squares slope is
    pulled below 1 by the noise of ``current`` (regression dilution), and
    applied frame after frame that would shrink the shot's depth range.
    """
    import numpy as np

    x = current[valid]
    y = target[valid]
    step = max(1, x.size // _ALIGN_SAMPLES)
    x, y = x[::step].astype(np.float64), y[::step].astype(np.float64)
    x10, x50, x90 = np.percentile(x, (10, 50, 90))
    y10, y50, y90 = np.percentile(y, (10, 50, 90))
    if not (x90 > x10 and y90 > y10):  # a flat patch says nothing about scale
        return current
    a = (y90 - y10) / (x90 - x10)
    b = y50 - a * x50
    return (a * current + b).astype(np.float32)
