"""Sliding-window maxima against max_pool2d and a brute-force window."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from focuspull.engines.physical.maxfilter import max3x3, window_max


@pytest.mark.parametrize("shape", [(5, 7), (1, 4), (3, 1), (1, 1), (40, 33)])
def test_max3x3_is_max_pool_over_the_frame(shape: tuple[int, int]) -> None:
    x = torch.randint(0, 30, shape, generator=torch.Generator().manual_seed(sum(shape)))
    expected = F.max_pool2d(x[None, None].float(), 3, stride=1, padding=1)[0, 0].long()
    assert torch.equal(max3x3(x), expected)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 13])
def test_window_max_is_the_maximum_of_each_window(n: int) -> None:
    x = torch.rand(4, 20, generator=torch.Generator().manual_seed(n))
    expected = torch.stack([x[:, i : i + n].amax(dim=1) for i in range(20 - n + 1)], dim=1)
    assert torch.equal(window_max(x, n, 1), expected)
    assert torch.equal(window_max(x.T, n, 0), expected.T)
