"""The disparity spread of a frame: the scale that conditioning thresholds are relative to.

Disparity comes in any unit (1/metres, 0..1, stereo pixels), so "a jump",
"an outlier" or "flat" are fractions of the frame's robust spread (2nd to
98th percentile), never absolute numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

#: pixels sampled for the percentiles (a regular stride, deterministic)
_SAMPLES = 65536


def disparity_spread(disparity: "torch.Tensor") -> float:
    """98th minus 2nd percentile of an (H, W) disparity map; > 0 (tiny for a flat map)."""
    import torch

    flat = disparity.reshape(-1)
    step = max(1, flat.numel() // _SAMPLES)
    sample = flat[::step].to(torch.float32)
    low, high = torch.quantile(sample, torch.tensor([0.02, 0.98])).tolist()
    return max(high - low, 1e-6 * max(abs(high), 1.0), 1e-12)
