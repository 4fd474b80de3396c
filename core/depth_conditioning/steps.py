"""Which conditioning steps run for a depth source, and the per-frame (spatial) steps.

``auto`` (the default of each switch) turns a step on where it helps and
never where it can make good depth worse:

* **metric depth** (``depth``, ``inverse_depth``: a renderer's Z pass) is
  exact, edge for edge: every step is off, a CG pass goes to the engine
  untouched;
* **supplied disparity maps** (``disparity``, ``normalized_disparity`` from
  a sequence or a plate channel: estimators, stereo, 8-bit maps) get
  outlier removal only. It changes nothing but isolated pixels (none of the
  breakdance disparity's 590 000 at 1024 px). Edge refinement stays off: a
  supplied map's edges may well be better than what the plate's colours
  say (on the breakdance disparity the edge step gains nothing at the
  dancer's edge: 92.16 % of the pixels near it are on its matte's side,
  92.05 % after; and as it decides each stretch of edge frame by frame it
  adds flicker, 0.601 -> 0.606; see docs/depth.md), so it is asked for
  (``refine_edges: on``) when the render shows a halo. Temporal stabilisation stays off too (it reads the whole
  shot and needs optical flow, and a video depth estimator's output is
  usually steady already): ask for it with ``depth.stabilize: on``;
* **estimated depth** (``source: estimate``) gets all three: the model works
  at 518 px on the short side, so its edges are soft and off by pixels of a
  1080p plate, and it wobbles. Stabilisation (``stabilize_weight``, 0.5)
  runs twice: inside the estimation on the model's output (before the
  shot's normalisation), and over the shot after the spatial steps, as for
  a supplied map (the edge step decides frame by frame; see
  :mod:`focuspull.depth_conditioning.shot`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

#: default weight of the temporal stabilisation (``depth.stabilize_weight``)
STABILIZE_WEIGHT = 0.5
#: radius of the edge refinement when ``depth.edge_radius_px`` is not given
EDGE_RADIUS_PX = 9


@dataclass(frozen=True)
class ConditioningSteps:
    """The steps resolved for one job's depth source."""

    remove_outliers: bool = False
    refine_edges: bool = False
    edge_radius_px: int = EDGE_RADIUS_PX
    #: weight of the temporal filter; 0 = off
    stabilize: float = 0.0

    @classmethod
    def for_depth(cls, depth: Any) -> "ConditioningSteps":
        """Resolve ``auto`` for a ``DepthSpec`` (see the module docstring)."""
        estimated = depth.source == "estimate"

        def switch(value: str, auto: bool) -> bool:
            return auto if value == "auto" else value == "on"

        stabilize = depth.stabilize_weight if switch(depth.stabilize, estimated) else 0.0
        return cls(switch(depth.remove_outliers, estimated or not depth.is_metric),
                   switch(depth.refine_edges, estimated), depth.edge_radius_px, stabilize)

    @property
    def spatial(self) -> bool:
        return self.remove_outliers or self.refine_edges

    def header_attributes(self) -> dict[str, Any]:
        """What was done, for the output header."""
        return {
            "focuspull/depth_remove_outliers": int(self.remove_outliers),
            "focuspull/depth_refine_edges": self.edge_radius_px if self.refine_edges else 0,
            "focuspull/depth_stabilize": self.stabilize,
        }


def made_for_the_shot(depth: Any) -> bool:
    """A ``DepthSpec`` whose depth is made once for the whole shot before any frame renders
    (estimated, or stabilised over time): minutes of work that ``prepare`` does and later renders,
    a farm's chunks among them, reuse."""
    return depth.source == "estimate" or ConditioningSteps.for_depth(depth).stabilize > 0


def condition_frame(disparity: "np.ndarray", rgb: "np.ndarray", steps: ConditioningSteps) -> "np.ndarray":
    """The spatial steps on one frame: outliers first (so they do not steer the edges), then edges."""
    from focuspull.depth_conditioning.edges import refine_edges
    from focuspull.depth_conditioning.outliers import remove_outliers

    if steps.remove_outliers:
        disparity = remove_outliers(disparity)
    if steps.refine_edges:
        disparity = refine_edges(disparity, rgb, steps.edge_radius_px)
    return disparity
