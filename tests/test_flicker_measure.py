"""bench/flicker.py's flow-warped flicker: known answers on a panning texture."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

_spec = importlib.util.spec_from_file_location("flicker", Path(__file__).resolve().parents[1] / "bench" / "flicker.py")
flicker = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("flicker", flicker)  # dataclasses look their module up there
_spec.loader.exec_module(flicker)


def panning(frames: int = 5, shift_px: int = 2, size: tuple[int, int] = (96, 128)):
    """A smooth colour texture moving right by ``shift_px`` a frame, with a little sensor noise."""
    rng = np.random.default_rng(0)
    height, width = size
    small = rng.random((height // 8 + 2, (width + shift_px * frames) // 8 + 2, 3)).astype(np.float32)
    texture = cv2.resize(small, ((width + shift_px * frames) // 8 * 8 + 16, height // 8 * 8 + 16),
                         interpolation=cv2.INTER_CUBIC)[:height].clip(0, 1)
    plates = []
    for t in range(frames):
        x = shift_px * (frames - t)
        plates.append((texture[:, x : x + width] + rng.normal(0, 0.01, (height, width, 3))).astype(np.float32))
    return plates


def test_a_render_equal_to_the_plate_has_ratio_one_and_added_flicker_adds_its_size():
    plates = panning()
    same = flicker.measure_warped((p, p.copy()) for p in plates)
    assert same.ratio == pytest.approx(1.0, abs=1e-6)
    assert same.valid_share > 0.8  # the motion is tracked (the entering strip is not)
    # a frame-to-frame brightness flicker of +-0.05: along the motion each pair of the render differs
    # by 0.1 (the plate's noise, about 0.01, barely counts next to it: |0.1 + x| = 0.1 + x for |x| < 0.1)
    flickering = [(p, p + (0.05 if t % 2 else -0.05)) for t, p in enumerate(plates)]
    result = flicker.measure_warped(flickering)
    assert result.input_error == pytest.approx(0.011, abs=0.003)  # noise sigma 0.01 twice, and warping
    assert result.output_error == pytest.approx(0.1, abs=0.005)
    assert result.ratio > 2.0


def test_motion_alone_is_not_flicker():
    """Content that moves with the plate costs nothing: a blur panning with it warps onto itself."""
    plates = [np.clip(p, 0, 1) for p in panning()]
    stable_render = [cv2.GaussianBlur(p, (0, 0), 2.0) for p in plates]  # a blur moving with the plate
    warped = flicker.measure_warped(zip(plates, stable_render))
    assert warped.output_error < 0.01
    assert warped.ratio < 1.0  # the blur averages the plate's noise away
