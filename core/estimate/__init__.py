"""Depth estimated from the plate: monocular Depth Anything V2, stable over a shot.

* :mod:`.model` loads a transformers depth model from a local folder (never
  from the network) and runs it;
* the predictions are stabilised over time along optical flow by
  :mod:`focuspull.depth_conditioning.temporal` (motion-compensated,
  occlusion-aware, keeping the shot's scale);
* :mod:`.normalize` maps the whole shot to 0..1 with one robust mapping;
* :mod:`.shot` ties it together and writes the result next to the output as
  an EXR sequence (``normalized_disparity``) that the render then reads;
* :mod:`.fetch` downloads a model into the models folder, only when asked
  (``focuspull models fetch NAME``).

Importing this package imports neither torch nor transformers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from focuspull.lazy import lazy_exports

if TYPE_CHECKING:
    from focuspull.estimate.model import DepthEstimator, resolve_model_folder
    from focuspull.estimate.normalize import ShotNormalization
    from focuspull.estimate.shot import default_depth_pattern, estimate_shot_depth

__all__ = [
    "DepthEstimator",
    "ShotNormalization",
    "default_depth_pattern",
    "estimate_shot_depth",
    "resolve_model_folder",
]

_LAZY = {
    "DepthEstimator": "focuspull.estimate.model",
    "resolve_model_folder": "focuspull.estimate.model",
    "ShotNormalization": "focuspull.estimate.normalize",
    "default_depth_pattern": "focuspull.estimate.shot",
    "estimate_shot_depth": "focuspull.estimate.shot",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
