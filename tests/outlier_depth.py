"""A tiny shot whose supplied disparity has one isolated outlier pixel (the workspace's depth-conditioning tests)."""

from __future__ import annotations

import numpy as np


OUTLIER = (20, 10)  # (x, y) of the one pixel of the depth that matches none of its neighbours


def outlier_plate(folder, write_exr) -> tuple[str, str, np.ndarray]:
    """A grey plate and a disparity sequence: a ramp across x with one outlier pixel, nearer than all."""
    ramp = np.tile(np.linspace(0.2, 0.8, 48, dtype=np.float32), (32, 1))
    disparity = ramp.copy()
    disparity[OUTLIER[1], OUTLIER[0]] = 1.0
    for f in (1, 2):
        write_exr(folder / f"plate.{f}.exr", np.full((32, 48, 3), 0.18, np.float32), ("R", "G", "B"), formats="float")
        write_exr(folder / f"disp.{f}.exr", disparity, ("Y",), formats="float")
    return str(folder / "plate.#.exr"), str(folder / "disp.#.exr"), ramp

