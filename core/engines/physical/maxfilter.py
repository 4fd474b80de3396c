"""Sliding-window maxima by doubling windows: a window of n takes about log2(n) elementwise maxima."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def window_max(x: torch.Tensor, n: int, dim: int) -> torch.Tensor:
    """Maximum over each run of n consecutive values along ``dim`` (length L - n + 1)."""
    span = 1
    while span < n:
        step = min(span, n - span)
        length = x.shape[dim] - step
        x = torch.maximum(x.narrow(dim, 0, length), x.narrow(dim, step, length))
        span += step
    return x


def max3x3(x: torch.Tensor) -> torch.Tensor:
    """(H, W) integer map: the maximum over each pixel's 3x3 neighbourhood inside the frame (``max_pool2d`` 3/1/1)."""
    low = int(x.min()) - 1 if x.numel() else 0
    padded = F.pad(x[None], (1, 1, 1, 1), value=low)[0]
    return window_max(window_max(padded, 3, 0), 3, 1)
