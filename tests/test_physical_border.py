"""The frame border: the scene goes on past it, so no light crosses it that a lens would not put there."""

from __future__ import annotations

import pytest
import torch

from physical_scenes import point_light, render


def post_on_a_floor(height: int = 96, width: int = 192) -> tuple[torch.Tensor, torch.Tensor, slice]:
    """A grey wall and a red post at focus; a nearer grey floor along the bottom, the post in front of it."""
    rgb = torch.full((3, height, width), 0.2)
    disp = torch.full((1, height, width), 0.5)
    disp[0, height - 30 :] = 0.8  # the floor: r = K * 0.3
    post = slice(120, 132)
    rgb[:, :, post] = torch.tensor([1.0, 0.05, 0.05])[:, None, None]
    disp[0, :, post] = 0.5  # touches the bottom border, in focus
    return rgb, disp, post


def test_a_sharp_object_at_the_border_does_not_smear_along_it() -> None:
    rgb, disp, post = post_on_a_floor()
    out = render(rgb, disp, focus=0.5, strength=40.0).rgba[0]  # floor radius 12 px
    red = out[0] - out[1]  # grey floor: 0, the red post: 0.95
    # the post shows through the floor's blurred edges within the floor's radius (12 px),
    # and nowhere else along the bottom edge (it smeared 100+ px there when the frame
    # border thinned the floor's cover)
    left, right = post.start - 12 - 2, post.stop + 12 + 2
    bottom = red[-16:]
    assert float(bottom[:, :left].abs().max()) < 0.01
    assert float(bottom[:, right:].abs().max()) < 0.01


def test_a_disk_at_the_border_keeps_its_brightness() -> None:
    # a point light 5 px from the left border blurred to 15 px: the part of the disk inside
    # the frame has the disk's level (the frame border does not renormalise it brighter)
    size = 64
    rgb, disp = point_light(size, size, 32, 5, value=100.0, disparity=0.6)
    out = render(rgb, disp, focus=0.5, strength=150.0).rgba[0]
    level = 100.0 / (torch.pi * 15.0**2)
    assert float(out[0, 32, 0]) == pytest.approx(level, rel=0.05)
    assert float(out[0, 32, 10]) == pytest.approx(level, rel=0.05)
