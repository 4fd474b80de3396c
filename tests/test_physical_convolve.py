"""Building blocks of the physical engine: convolutions, the pyramid, the occlusion fill."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from focuspull.engines.physical import convolve
from focuspull.engines.physical.fill import _half, fill_hidden, pull_push
from focuspull.engines.physical.kernels import KernelShape, render_kernel


def test_fft_and_direct_convolution_agree_with_a_reference_convolution() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 20, 30, generator=g)
    for half in (1, 2, 5):
        k = torch.rand(2 * half + 1, 2 * half + 1, generator=g)
        out = convolve.convolve_sum([(x, k)])
        # full convolution = correlation with the flipped kernel over a zero-padded input
        expected = F.conv2d(F.pad(x[:, None], (2 * half,) * 4), torch.flip(k, (0, 1))[None, None])[:, 0]
        assert out.shape == (3, 20 + 2 * half, 30 + 2 * half)
        assert torch.allclose(out, expected, atol=1e-4)


def test_fast_sizes() -> None:
    assert [convolve.fast_size(n) for n in (1, 7, 11, 97, 1000, 1001)] == [1, 8, 12, 100, 1000, 1024]


@pytest.mark.parametrize("factor", [2, 4, 8])
def test_pyramid_keeps_energy_and_position(factor: int) -> None:
    x = torch.zeros(1, 64, 64)
    x[0, 29, 37] = 10.0
    small = convolve.downsample(x, factor)
    assert small.shape == (1, 64 // factor, 64 // factor)
    assert float(small.sum()) * factor**2 == pytest.approx(10.0, rel=1e-5)
    big = convolve.upsample(F.pad(small, (1, 1, 1, 1)), factor)[:, factor:-factor, factor:-factor]
    assert float(big.sum()) == pytest.approx(10.0, rel=1e-5)
    yy, xx = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    assert float((big[0] * yy).sum() / big.sum()) == pytest.approx(29.0, abs=1e-3)
    assert float((big[0] * xx).sum() / big.sum()) == pytest.approx(37.0, abs=1e-3)


def test_disk_kernel_area_matches_its_radius() -> None:
    for radius in (3.0, 7.5, 12.0):
        k = render_kernel(radius, KernelShape())
        area = float(k.sum() / k.max())
        assert area == pytest.approx(torch.pi * radius**2, rel=0.03)


def test_pull_push_fills_holes_from_the_neighbours() -> None:
    values = torch.zeros(1, 32, 32)
    weight = torch.zeros(1, 32, 32)
    weight[:, :, :16] = 1.0
    values[:, :, :16] = 2.0
    weight[:, :, 24:] = 1.0
    values[:, :, 24:] = 6.0
    out = pull_push(values, weight)
    assert torch.allclose(out[:, :, :14], torch.full((1, 32, 14), 2.0))
    hole = out[0, 16, 16:24]
    assert 2.0 <= float(hole.min()) and float(hole.max()) <= 6.0
    assert float(hole[0]) < float(hole[-1])  # nearer to each side, more like it


def test_fill_puts_the_plane_under_nearer_content_only() -> None:
    # a plane covering the left half, a nearer object in the right half
    data = torch.zeros(4, 16, 16)
    data[:3, :, :8] = 0.5
    data[3, :, :8] = 1.0
    nearer = torch.zeros(1, 16, 16)
    nearer[:, :, 8:] = 1.0
    filled = fill_hidden(data.clone(), nearer)
    assert torch.equal(filled[:, :, :8], data[:, :, :8])
    assert torch.allclose(filled[3, :, 8:], torch.ones(16, 8))  # the hole is plugged
    assert torch.allclose(filled[:3, :, 8:], torch.full((3, 16, 8), 0.5), atol=1e-4)
    # where nothing nearer stands, nothing is added
    assert torch.equal(fill_hidden(data.clone(), torch.zeros(1, 16, 16)), data)


@pytest.mark.parametrize("shape", [(3, 8, 10), (2, 7, 10), (2, 8, 9), (1, 7, 5), (1, 1, 3)])
def test_half_is_the_ceil_mode_two_by_two_mean(shape):
    # the pull-push pyramid's fast reduction must equal avg_pool2d(2, ceil_mode=True),
    # including the lone last row/column of odd sizes (averaged over itself only)
    x = torch.randn(shape, generator=torch.Generator().manual_seed(3))
    expected = F.avg_pool2d(x[None], 2, ceil_mode=True)[0]
    assert _half(x).shape == expected.shape
    assert torch.allclose(_half(x), expected, atol=1e-6, rtol=0)
