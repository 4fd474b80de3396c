"""The CLIP image encoder's input, made as the released Any-to-Bokeh pipeline makes it.

The pipeline hands the encoder its all-in-focus frame in -1..1 and:

1. blurs it with a Gaussian per axis, sigma = max((in / out - 1) / 2, 0.001)
   (a no-op when enlarging), kernel size int(max(4 sigma, 3)) made odd,
   reflected at the borders;
2. resizes it to 224 x 224 bicubically with ``align_corners=True``;
3. maps it to 0..1 by (x + 1) / 2, without clamping (bicubic overshoot is
   kept) and without CLIP's mean/std normalisation.

Its training scripts did normalise by the feature extractor's mean/std; the
pipeline, which produced the released results, does not, so normalising is
an option that is off by default (``NeuralOptions.clip_normalize``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["antialiased_resize", "clip_pixels"]


def _gaussian_kernel(sigma: float, size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    offsets = torch.arange(size, dtype=dtype, device=device) - size // 2
    weights = torch.exp(-offsets.pow(2) / (2.0 * sigma**2))
    return weights / weights.sum()


def _blur_axis(x: torch.Tensor, sigma: float, dim: int) -> torch.Tensor:
    """Separable Gaussian along ``dim`` (-1: width, -2: height) of (N, C, H, W), reflect padding."""
    size = int(max(4.0 * sigma, 3.0))
    size += 1 - size % 2  # odd, so the kernel is centred
    kernel = _gaussian_kernel(sigma, size, x.dtype, x.device)
    n, c, h, w = x.shape
    half = size // 2
    if dim == -1:
        padded = F.pad(x, (half, half, 0, 0), mode="reflect")
        weight = kernel.view(1, 1, 1, size)
    else:
        padded = F.pad(x, (0, 0, half, half), mode="reflect")
        weight = kernel.view(1, 1, size, 1)
    out = F.conv2d(padded.reshape(n * c, 1, *padded.shape[-2:]), weight)
    return out.reshape(n, c, h, w)


def antialiased_resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """The pipeline's resize of (N, C, H, W): Gaussian pre-blur, then bicubic with aligned corners."""
    h, w = x.shape[-2:]
    sigma_h = max((h / size[0] - 1.0) / 2.0, 0.001)
    sigma_w = max((w / size[1] - 1.0) / 2.0, 0.001)
    x = _blur_axis(_blur_axis(x, sigma_w, -1), sigma_h, -2)
    return F.interpolate(x, size=size, mode="bicubic", align_corners=True)


def clip_pixels(
    display: torch.Tensor,
    size: tuple[int, int],
    mean: tuple[float, float, float] | None = None,
    std: tuple[float, float, float] | None = None,
) -> torch.Tensor:
    """(N, 3, h, w) display image in 0..1 -> the encoder's (N, 3, *size) input (float32).

    ``mean``/``std``: CLIP's normalisation, applied only when given.
    """
    x = antialiased_resize(display.float() * 2.0 - 1.0, size)
    x = (x + 1.0) / 2.0
    if mean is not None and std is not None:
        mean_t, std_t = (torch.tensor(v, device=x.device).view(1, 3, 1, 1) for v in (mean, std))
        x = (x - mean_t) / std_t
    return x
