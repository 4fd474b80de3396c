"""A procedural CG-style shot and a keyframed focus pull through it.

The plate is made in code so the demo needs no downloads: a slanted ground
plane (a depth ramp), a far wall with HDR lights, a sliding card in the middle
distance and a near post, rendered with a depth pass in a ``Z`` channel. The
focus pulls from the post (near) to the wall (far) while the strength ramps up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoShot:
    width_px: int = 640
    height_px: int = 360
    first_frame: int = 1001
    num_frames: int = 48
    near_distance: float = 2.0  # the post
    card_distance: float = 5.0
    far_distance: float = 20.0  # the wall

    @property
    def frames(self) -> range:
        return range(self.first_frame, self.first_frame + self.num_frames)


def _checker(u: "np.ndarray", v: "np.ndarray", period: float) -> "np.ndarray":
    import numpy as np

    return ((np.floor(u / period) + np.floor(v / period)) % 2).astype(np.float32)


def _layer(coverage: "np.ndarray", rgb: "np.ndarray", z: "np.ndarray | float") -> tuple:
    import numpy as np

    return coverage.astype(np.float32), rgb.astype(np.float32), np.broadcast_to(np.float32(z), coverage.shape)


def make_frame(shot: DemoShot, frame: int) -> tuple["np.ndarray", "np.ndarray"]:
    """One frame: premultiplied scene-linear RGBA (H, W, 4) and depth Z (H, W)."""
    import numpy as np

    h, w = shot.height_px, shot.width_px
    t = (frame - shot.first_frame) / max(shot.num_frames - 1, 1)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32) + 0.5
    aspect = w / h
    # Normalised image coordinates: X in [-aspect, aspect], Y in [-1, 1] (up).
    X, Y = (x / w * 2 - 1) * aspect, 1 - y / h * 2
    horizon = 0.1

    layers = []
    # Far wall with a brick-ish texture and a grid of HDR lights.
    bricks = 0.25 + 0.2 * _checker(X * 6 + (np.floor(Y * 10) % 2) * 0.5, Y * 10, 1.0)
    wall = np.stack([bricks * 0.9, bricks * 0.6, bricks * 0.45], -1)
    lights = np.zeros((h, w), np.float32)
    for i, lx in enumerate(np.linspace(-aspect * 0.85, aspect * 0.85, 9)):
        for j, ly in enumerate((0.55, 0.8)):
            r = np.hypot(X - lx, Y - ly)
            lights += np.clip(1.5 - r * h / 2, 0, 1) * (40.0 if (i + j) % 3 else 80.0)
    wall = wall + lights[..., None] * np.array([1.0, 0.8, 0.55], np.float32)
    layers.append(_layer(np.ones((h, w)), wall, shot.far_distance))

    # Ground plane: a depth ramp from the horizon down to the camera.
    below = np.clip((horizon - Y) * h / 2, 0, 1)
    z_ground = np.where(Y < horizon - 1e-3, 1.2 / np.maximum(horizon - Y, 1e-3), shot.far_distance)
    z_ground = np.minimum(z_ground, shot.far_distance)
    gx = X * z_ground
    tiles = 0.08 + 0.12 * _checker(gx, z_ground, 1.0)
    ground = np.stack([tiles, tiles * 0.95, tiles * 0.85], -1)
    layers.append(_layer(below, ground, z_ground))

    # Middle card sliding left to right, with stripes and a warm light.
    cx = -0.9 + 1.4 * t
    card = np.clip(np.minimum(0.45 - np.abs(X - cx), 0.35 - np.abs(Y - 0.15)) * h / 2 + 0.5, 0, 1)
    stripes = 0.15 + 0.5 * (np.sin((X - cx) * 40) > 0)
    card_rgb = np.stack([stripes * 0.2, stripes * 0.5, stripes * 0.8], -1)
    bulb = np.clip(1.5 - np.hypot(X - cx, Y - 0.35) * h / 2, 0, 1) * 60.0
    card_rgb = card_rgb + bulb[..., None] * np.array([1.0, 0.7, 0.3], np.float32)
    layers.append(_layer(card, card_rgb, shot.card_distance))

    # Near post on the right, lit from the side.
    post = np.clip((0.12 - np.abs(X - aspect * 0.55)) * h / 2 + 0.5, 0, 1) * (Y < 0.9)
    shade = 0.3 + 0.5 * np.clip((X - aspect * 0.55) / 0.12 + 0.5, 0, 1) + 0.15 * (np.sin(Y * 30) > 0)
    post_rgb = np.stack([shade * 0.8, shade * 0.25, shade * 0.2], -1)
    layers.append(_layer(post, post_rgb, shot.near_distance))

    # Composite back to front; the depth pass takes the nearest layer that covers the pixel.
    rgba = np.zeros((h, w, 4), np.float32)
    depth = np.full((h, w), shot.far_distance, np.float32)
    for coverage, rgb, z in sorted(layers, key=lambda layer: -float(np.max(layer[2]))):
        a = coverage[..., None]
        rgba[..., :3] = rgb * a + rgba[..., :3] * (1 - a)
        rgba[..., 3:] = a + rgba[..., 3:] * (1 - a)
        depth = np.where(coverage >= 0.5, z, depth)
    return rgba, depth


def write_plate(shot: DemoShot, folder: Path) -> str:
    """Write the plate as RGBA + Z EXRs; returns its pattern."""
    import numpy as np

    from focuspull.io import write_image

    folder.mkdir(parents=True, exist_ok=True)
    pattern = str(folder / "demo_plate.####.exr")
    for frame in shot.frames:
        rgba, depth = make_frame(shot, frame)
        write_image(
            pattern.replace("####", f"{frame:04d}"),
            np.concatenate([rgba, depth[..., None]], -1),
            ["R", "G", "B", "A", "Z"],
            channel_formats=["half"] * 4 + ["float"],
            compression="zip",
            attributes={"focuspull/demo": "procedural plate"},
        )
    return pattern


def demo_job(shot: DemoShot, plate: str, output: str) -> "object":
    """A focus pull that lands on the post, the card, then the wall, with a strength ramp.

    Keys hold on each subject for a few frames and ease between them, as a
    focus puller would; the pull is keyed in distance like a lens ring.
    """
    from focuspull.job import SCHEMA_ID, Job

    first, last = shot.frames[0], shot.frames[-1]
    n = last - first
    near, card, far = shot.near_distance, shot.card_distance, shot.far_distance
    # K is in pixels of the plate: scaled with the width, the look is the same at any size.
    keys: list[list] = []
    for at, distance in ((0.0, near), (0.2, near), (0.45, card), (0.6, card), (0.85, far)):
        frame = first + round(n * at)
        if not keys or frame > keys[-1][0]:  # short shots: fewer keys, never two on one frame
            keys.append([frame, distance, "smooth"])
    return Job.from_dict(
        {
            "schema": SCHEMA_ID,
            "input": {"pattern": plate, "frames": f"{first}-{last}"},
            "depth": {"source": "channel", "channel": "Z", "kind": "depth"},
            "focus": {"keys": keys},
            "strength": {"keys": [[frame, k * shot.width_px / 640, "linear"] for frame, k in {first: 24.0, last: 40.0}.items()]},
            "output": {"pattern": output, "pixel_type": "half"},
        }
    )


def contact_sheet(
    rows: list[tuple[str, list[str]]], path: Path, color: "object", columns: int = 6, scale: int = 2
) -> None:
    """A PNG grid a person can look at: one row per sequence, display-referred."""
    import numpy as np

    from focuspull.io import read_image, write_image

    tiles = []
    for _, files in rows:
        row = []
        for file in files[:columns]:
            image = read_image(file)
            rgb = image.pixels[..., list(image.rgba_indices[:3])]
            h, w = rgb.shape[:2]
            rgb = rgb[: h - h % scale, : w - w % scale].reshape(h // scale, scale, w // scale, scale, 3).mean((1, 3))
            row.append(np.pad(color.display_view(rgb), ((2, 2), (2, 2), (0, 0))))
        tiles.append(np.concatenate(row, 1))
    sheet = np.clip(np.concatenate(tiles, 0), 0, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_image(str(path), sheet.astype(np.float32), ["R", "G", "B"], channel_formats=["uint8"] * 3)
