"""What the model is conditioned on, computed from the pipeline's inputs.

The pipeline speaks plate pixels and raw disparity (``r_px = K * |d - d_f|``);
Any-to-Bokeh speaks a disparity normalised to 0..1 over the shot and a
strength k in pixels of its working image per unit of that disparity. With
``d_n = (d - lo) / (hi - lo)``:

    r_px = K * |d - d_f| = K * (hi - lo) * |d_n - d_fn|        (plate pixels)
    r_w  = r_px * scale                                        (working pixels)

so ``k = K * (hi - lo) * scale`` where ``scale`` is working width over plate
width (the plate is resized without squashing, so one number serves both
axes). For a 16:9 plate fitted to the default 1024-wide box this is the
model's own convention, ``k = K * (hi - lo) * 1024 / plate_width``. The
defocus condition is the same law (``focuspull.coc``) with K = 1 on the
normalised disparity, ``|d_n - d_fn|``.
"""

from __future__ import annotations

import torch

from focuspull.coc import coc_px

#: frequencies of the strength embedding: 100 ** (i / 15), i = 0..15
FOURIER_FREQUENCIES = 16
FOURIER_TEMPERATURE = 100.0
#: planes of the multi-plane image that masks the fuser's object tokens
MPI_PLANES = 4


def model_strength(strength_px: torch.Tensor, disparity_span: float, scale: float) -> torch.Tensor:
    """k of the model from K of the pipeline (see the module docstring)."""
    return strength_px.float() * float(disparity_span) * float(scale)


#: how the Fourier features of k are rounded (``NeuralOptions.strength_embedding_dtype``)
STRENGTH_EMBEDDINGS = ("mixed", "float16", "float32")


def strength_fourier(k: torch.Tensor, precision: str = "mixed") -> torch.Tensor:
    """Fourier features of k: ``[sin(k f0), cos(k f0), sin(k f1), ...]`` (..., 32), ``f_i = 100 ** (i / 15)``.

    The original computes them in the dtype of k, so the rounding depends on
    how it was run (phases reach 100 * 32 = 3200 rad, where float16 keeps
    about one digit before the point):

    * ``"mixed"``: as training computed them (fp16 autocast, k cast to
      float16): k and the exponents ``i / 15`` rounded to float16, the power,
      product, sine and cosine in float32. The input the weights were fitted to.
    * ``"float16"``: as the released demo computes them (the whole model in
      float16, no autocast): exponents, frequencies and phases rounded to
      float16, sine and cosine rounded to float16.
    * ``"float32"``: everything in float32 (the a2b_tiny fixture's semantics).
    """
    if precision not in STRENGTH_EMBEDDINGS:
        raise ValueError(f"strength embedding precision {precision!r}: expected one of {', '.join(STRENGTH_EMBEDDINGS)}")
    exponent_dtype = torch.float32 if precision == "float32" else torch.float16
    # linspace in float16 itself (not float32 rounded): its float16 step is part of the released numbers.
    exponents = torch.linspace(0.0, 1.0, FOURIER_FREQUENCIES, device=k.device, dtype=exponent_dtype)
    if precision == "float16":
        frequencies = FOURIER_TEMPERATURE ** exponents
        angles = k.to(torch.float16)[..., None] * frequencies
        # sin/cos of the float16 phase, evaluated in float32 and rounded: what half-precision
        # kernels give, without relying on CPU half kernels.
        angles = angles.float()
    else:
        frequencies = FOURIER_TEMPERATURE ** exponents.float()
        angles = k.to(exponent_dtype).float()[..., None] * frequencies
    features = torch.stack((torch.sin(angles), torch.cos(angles)), dim=-1).flatten(-2)
    return features.to(torch.float16) if precision == "float16" else features


def normalise_disparity(disparity: torch.Tensor, lo: float, hi: float) -> torch.Tensor:
    """Disparity mapped so the shot's range is 0..1 (values outside are kept)."""
    span = hi - lo
    if not span > 0:
        return torch.zeros_like(disparity)
    return (disparity - lo) / span


def defocus_map(disparity_n: torch.Tensor, focus_n: torch.Tensor) -> torch.Tensor:
    """The model's condition c = |d_n - d_fn| in 0..1.

    ``disparity_n`` (T, 1, H, W), ``focus_n`` (T,). The model only knows 0..1
    (it encodes c like an image), so a focus outside the shot's range
    saturates instead of wrapping.
    """
    return coc_px(disparity_n, focus_n.view(-1, 1, 1, 1), 1.0).clamp(0.0, 1.0)


def mpi_plane_index(
    disparity_n: torch.Tensor, focus_n: torch.Tensor, alpha: float = 1.5, planes: int = MPI_PLANES
) -> torch.Tensor:
    """Plane of the focal-plane-adapted MPI for each pixel, 0 = in focus.

    With diff = |d_n - d_fn| and s = d_fn ** alpha the plane boundaries are
    t_i = (i / planes) ** (1 / s), i = 1..planes-1: narrow near focus and
    widening away from it. Returns int64 (T, 1, H, W) in 0..planes-1.
    """
    diff = coc_px(disparity_n, focus_n.view(-1, 1, 1, 1), 1.0)
    # A focus at (or beyond) the far end gives s = 0 and 1/s = inf: every
    # boundary collapses to 0, i.e. all but the exactly-focused pixels are in
    # the last plane. A tiny floor keeps that limit without dividing by zero.
    s = focus_n.clamp(0.0, 1.0).pow(alpha).clamp_min(1e-6)
    i = torch.arange(1, planes, device=disparity_n.device, dtype=torch.float32)
    thresholds = (i[None, :] / planes).pow(1.0 / s[:, None].float())  # (T, planes-1)
    index = torch.zeros_like(diff, dtype=torch.int64)
    for j in range(planes - 1):
        index += (diff > thresholds[:, j].view(-1, 1, 1, 1)).long()
    return index
