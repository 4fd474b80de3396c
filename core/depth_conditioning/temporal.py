"""Temporal stabilisation of a shot's disparity along optical flow, keeping the shot's scale.

Depth made frame by frame (a monocular estimator, a stereo solve) wobbles:
its scale and offset change a little every frame, and its pixels shimmer;
both become a pumping, flickering blur. Three steps, none pinned to any
one frame of the shot:

1. **Scale and offset.** Between each pair of neighbouring frames, the
   disparity of frame t is matched to frame t-1's (warped onto it along
   DIS optical flow, on pixels whose flow survives the round trip and whose
   colour matches) by a robust affine fit (spreads and medians, not least
   squares, which the noise would bias towards flat). Chained, the fits put
   every frame in common units; their slow part over the shot (a Gaussian
   of ``scale_sigma_frames``) is real change (a dolly in, a rack of the
   depth range) and is kept, the fast part is wobble and is undone. The
   corrections are centred so their mean over the shot is the identity:
   the shot keeps its mean scale and offset, nothing drifts towards the
   first frame (or any other).
2. **Pixels.** Each pixel is averaged with its motion-compensated
   neighbours in time, weights ``weight ** |k|`` for the frame k away (a
   forward and a backward exponential filter combined: no lag, no
   direction). Where the flow fails (occlusions, disocclusions, wrong flow)
   the filter restarts from the frame's own value, and a neighbour farther
   than ``SAME_SURFACE`` x the shot's spread from the pixel's surface is
   another surface and not averaged. At depth edges (within 2 px of such a
   jump) the neighbour is the nearest sample along the flow, not an
   interpolated one (which would mix the two surfaces), and must be within
   that of the pixel's own value (not of its 5x5 mean, which mixes them
   too): edge noise is averaged like the rest and moving edges do not
   smear. Pixel noise of variance v falls to
   v (1 + w^2)(1 - w) / (1 + w)^3, 0.19 v at w = 0.5.
3. **Sides.** An edge pixel on one surface in its frame and on another in
   both the frame before and the frame after (their nearest samples along
   the flow agree, and the flow is trusted both ways) takes theirs: a
   stretch of edge that a per-frame step (the edge step) put on the other
   side in one frame only would flicker.

Flow is computed on the plate at most ``FLOW_WIDTH_PX`` wide (quality
beyond that buys nothing for depth) and enlarged to the depth's size.
Needs OpenCV (the ``depth`` extra).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: flow is computed on frames at most this wide
FLOW_WIDTH_PX = 640
#: Gaussian sigma (frames) separating real change of the depth range (kept) from wobble (removed)
SCALE_SIGMA_FRAMES = 8.0
#: neighbours in time farther apart than this fraction of the shot's disparity spread are not averaged
SAME_SURFACE = 0.1
#: gray levels (of 255) by which the warped neighbour may differ from the frame
_PHOTOMETRIC_TOLERANCE = 12.0
#: a pair's affine fit needs at least this share of consistent pixels
_MIN_FIT_SHARE = 0.05
#: pixels used for a fit (a regular subsample)
_FIT_SAMPLES = 20000


def stabilize(
    disparity: Sequence["np.ndarray"],
    gray: Sequence["np.ndarray"],
    *,
    weight: float = 0.5,
    scale_sigma_frames: float = SCALE_SIGMA_FRAMES,
    preset: str = "medium",
) -> list["np.ndarray"]:
    """Stabilised copies of T frames of (H, W) ``disparity``.

    ``gray``: the plate's frames as (h, w) uint8 (any size of the same aspect;
    flow is computed on them and scaled to the depth). ``weight``: w above,
    0 <= w < 1; 0 returns the frames unchanged.
    """
    import numpy as np

    from focuspull.flow import require_cv2
    from focuspull.focus import smooth

    if len(disparity) != len(gray):
        raise ValueError(f"{len(disparity)} depth frames but {len(gray)} images")
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"stabilisation weight {weight} must be in [0, 1)")
    frames = [np.asarray(d, dtype=np.float32) for d in disparity]
    if weight == 0.0 or len(frames) < 2:
        return [f.copy() for f in frames]
    links = _Links(gray, frames[0].shape, preset)

    # 1. scale and offset, around the shot's median disparity (so they barely interact)
    pivot = float(np.median(np.concatenate([f[::7, ::7].ravel() for f in frames])))
    log_scale, offset = [0.0], [0.0]  # frame t in frame 0's units: u = exp(s) (d - pivot) + o
    for t in range(1, len(frames)):
        a, b = links.fit(frames[t], frames[t - 1], t, pivot)
        log_scale.append(log_scale[-1] + np.log(a))
        offset.append(offset[-1] + np.exp(log_scale[-2]) * b)
    slow_scale = smooth(log_scale, scale_sigma_frames)
    slow_offset = smooth(offset, scale_sigma_frames)
    # the part undone: fast scale/offset; centred so the shot's mean mapping is kept
    fast_scale = np.asarray(log_scale) - np.asarray(slow_scale)
    fast_scale -= fast_scale.mean()
    fast_offset = (np.asarray(offset) - np.asarray(slow_offset)) / np.exp(np.asarray(slow_scale))
    fast_offset -= fast_offset.mean()
    log.debug("stabilise: scale wobble %.2f%% rms removed", 100 * float(np.sqrt(np.mean(fast_scale ** 2))))

    # 2. pixels: forward and backward exponential filters along the flow, combined. Two copies of
    # the shot are held, no more (the input and the result, which holds the forward filter until the
    # backward pass overwrites it); each frame's steadied values and edges are recomputed where needed.
    def steadied(t: int, values: "np.ndarray") -> "np.ndarray":
        return (np.exp(fast_scale[t]) * (values - pivot) + pivot + fast_offset[t]).astype(np.float32)

    low, high = np.percentile(np.concatenate([steadied(t, f[::7, ::7]).ravel() for t, f in enumerate(frames)]), (2, 98))
    same = SAME_SURFACE * max(float(high - low), 1e-12)

    cv2 = require_cv2()
    square = np.ones((5, 5), np.uint8)

    def surfaces(t: int) -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
        """Frame t steadied, its 5x5 mean (edges and surfaces judged without the pixel noise), its depth edges."""
        own = steadied(t, frames[t])
        local = cv2.blur(own, (5, 5))
        return own, local, cv2.dilate(local, square) - cv2.erode(local, square) > same

    def blend(values: "np.ndarray", t: int, u: int, own: "np.ndarray", local: "np.ndarray",
              on_edge: "np.ndarray") -> "np.ndarray":
        """Frame u's filtered ``values`` moved onto frame t and blended with frame t's own."""
        (moved, nearest), valid = links.onto(values, t, u)
        # off edges: a neighbour on the same surface as the pixel's 5x5 mean; at edges: the one
        # nearest sample (an interpolated one mixes the two surfaces) on the pixel's own surface
        moved = np.where(on_edge, nearest, moved)
        alike = np.where(on_edge, np.abs(nearest - own) <= same, np.abs(moved - local) <= same)
        return np.where(valid & alike, weight * moved + (1.0 - weight) * own, own)

    result: list["np.ndarray"] = []
    for t in range(len(frames)):
        own, local, on_edge = surfaces(t)
        result.append(own if t == 0 else blend(result[t - 1], t, t - 1, own, local, on_edge))
    backward = None
    for t in reversed(range(len(frames))):
        own, local, on_edge = surfaces(t)
        backward = own if backward is None else blend(backward, t, t + 1, own, local, on_edge)
        result[t] = ((result[t] + backward - (1.0 - weight) * own) / (1.0 + weight)).astype(np.float32)
    # an edge pixel on one surface in this frame and on another in the frames before and after (the
    # nearest samples along the flow agree) is a side decided differently in one frame: it flickers
    previous = result[0]
    for t in range(1, len(frames) - 1):
        current = result[t]
        (before,), valid_before = links.onto(previous, t, t - 1, ("nearest",))
        (after,), valid_after = links.onto(result[t + 1], t, t + 1, ("nearest",))
        agree = valid_before & valid_after & (np.abs(before - after) <= same)
        flipped = surfaces(t)[2] & agree & (np.abs(current - before) > same) & (np.abs(current - after) > same)
        result[t] = np.where(flipped, 0.5 * (before + after), current).astype(np.float32)
        previous = current
    return result


class _Links:
    """Flow between neighbouring frames, computed once, small; used at the depth's size."""

    def __init__(self, gray: Sequence["np.ndarray"], size: tuple[int, int], preset: str) -> None:
        import numpy as np

        from focuspull.flow import FlowEstimator, consistency_mask, require_cv2, resize_to_width

        cv2 = require_cv2()
        self.size = size
        self._grid: "list[np.ndarray] | None" = None
        small = [resize_to_width(np.ascontiguousarray(g), FLOW_WIDTH_PX)[0] for g in gray]
        self.gray = [cv2.resize(g, (size[1], size[0]), interpolation=cv2.INTER_AREA) if g.shape != size else g
                     for g in gray]
        flow = FlowEstimator(preset)
        #: (t, u) -> (flow from t to u at small size, consistent pixels)
        self.links: dict[tuple[int, int], tuple["np.ndarray", "np.ndarray"]] = {}
        for t in range(1, len(small)):
            back, ahead = flow(small[t], small[t - 1]), flow(small[t - 1], small[t])
            self.links[(t, t - 1)] = (back, consistency_mask(back, ahead))
            self.links[(t - 1, t)] = (ahead, consistency_mask(ahead, back))

    def _maps(self, t: int, u: int) -> tuple["np.ndarray", "np.ndarray", "np.ndarray"]:
        """Where each pixel of frame t is in frame u (x and y sampling maps at the depth's size), and
        where that can be trusted."""
        import numpy as np

        from focuspull.flow import require_cv2

        cv2 = require_cv2()
        small, ok = self.links[(t, u)]
        height, width = self.size
        if small.shape[:2] != (height, width):
            scale = np.array([width / small.shape[1], height / small.shape[0]], np.float32)
            small = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR) * scale
            ok = cv2.resize(ok.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
        if self._grid is None:  # one pixel grid for every link (a new one per warp costs as much as the warp)
            self._grid = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        map_x, map_y = self._grid[0] + small[..., 0], self._grid[1] + small[..., 1]
        matched = self._remap(self.gray[u], map_x, map_y).astype(np.float32)
        ok = ok & (np.abs(matched - self.gray[t].astype(np.float32)) <= _PHOTOMETRIC_TOLERANCE)
        return map_x, map_y, ok

    @staticmethod
    def _remap(values: "np.ndarray", map_x: "np.ndarray", map_y: "np.ndarray", nearest: bool = False) -> "np.ndarray":
        from focuspull.flow import require_cv2

        cv2 = require_cv2()
        return cv2.remap(values, map_x, map_y, interpolation=cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)

    def onto(self, values: "np.ndarray", t: int, u: int, modes: Sequence[str] = ("linear", "nearest")
             ) -> tuple[list["np.ndarray"], "np.ndarray"]:
        """Frame u's ``values`` moved onto frame t's pixels, sampled each way of ``modes`` (``linear``
        interpolated, ``nearest`` sample), and where that is trusted."""
        map_x, map_y, ok = self._maps(t, u)
        return [self._remap(values, map_x, map_y, nearest=mode == "nearest") for mode in modes], ok

    def fit(self, current: "np.ndarray", previous: "np.ndarray", t: int, pivot: float) -> tuple[float, float]:
        """(a, b) with previous (warped onto t) - pivot ~ a (current - pivot) + b; (1, 0) when unsure.

        Spreads (10th-90th percentile) and medians rather than least squares: a
        least-squares slope is pulled towards 0 by the noise of ``current``.
        """
        import numpy as np

        (target,), valid = self.onto(previous, t, t - 1, ("linear",))
        if valid.mean() < _MIN_FIT_SHARE:
            return 1.0, 0.0
        x, y = current[valid] - pivot, target[valid] - pivot
        step = max(1, x.size // _FIT_SAMPLES)
        x, y = x[::step].astype(np.float64), y[::step].astype(np.float64)
        x10, x50, x90 = np.percentile(x, (10, 50, 90))
        y10, y50, y90 = np.percentile(y, (10, 50, 90))
        if not (x90 > x10 and y90 > y10):  # a flat patch says nothing about scale
            return 1.0, float(y50 - x50)
        a = (y90 - y10) / (x90 - x10)
        return float(a), float(y50 - a * x50)
