"""Depth conditioning: make any depth source fit to render with.

Real depth is imperfect: monocular estimates are noisy, their edges sit a
few pixels off the subject's silhouette and their scale wobbles from frame
to frame; every engine trusts depth pixel by pixel. Three steps, each
switchable (``depth.remove_outliers``, ``depth.refine_edges``,
``depth.stabilize``), work on disparity (larger = nearer) after the depth
source has been converted:

* :mod:`.outliers`: single pixels whose disparity matches none of their
  eight neighbours (salt-and-pepper) take their neighbours' median; a
  one-pixel-wide real structure (a pole, a wire) keeps its pixels.
* :mod:`.edges`: depth edges move to the plate's edges (each stretch of a
  depth edge shifts along its normal to where the plate's colours jump
  most) and the rest is smoothed by a guided filter with the plate as
  guide.
* :mod:`.temporal`: the shot's per-frame scale/offset wobble is removed
  without pinning it to any frame (the shot's mean mapping is kept), then
  each pixel is averaged with its motion-compensated neighbours in time.

:mod:`.steps` resolves which steps run for a depth source (``auto``: all
three for estimated depth, outliers only for a supplied disparity map,
none for a renderer's metric depth, which is exact); :mod:`.shot` runs the temporal step over a whole shot of supplied
depth and writes the result next to the output.

Importing this package imports neither torch nor numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from focuspull.lazy import lazy_exports

if TYPE_CHECKING:
    from focuspull.depth_conditioning.edges import refine_edges
    from focuspull.depth_conditioning.outliers import remove_outliers
    from focuspull.depth_conditioning.steps import ConditioningSteps, condition_frame
    from focuspull.depth_conditioning.temporal import stabilize

__all__ = ["ConditioningSteps", "condition_frame", "refine_edges", "remove_outliers", "stabilize"]

_LAZY = {
    "ConditioningSteps": "focuspull.depth_conditioning.steps",
    "condition_frame": "focuspull.depth_conditioning.steps",
    "refine_edges": "focuspull.depth_conditioning.edges",
    "remove_outliers": "focuspull.depth_conditioning.outliers",
    "stabilize": "focuspull.depth_conditioning.temporal",
}

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
