"""The demo: a procedural plate with a Z pass and a keyframed pull that lands
on the post first and the wall last."""

import numpy as np
import OpenImageIO as oiio

from focuspull.cli import main
from focuspull.demo import DemoShot, make_frame


def _pixels(path):
    buf = oiio.ImageBuf(str(path))
    assert not buf.has_error, buf.geterror()
    return buf.get_pixels(oiio.FLOAT)


def eroded(mask, r):
    """Pixels whose (2r+1)^2 neighbourhood is all inside ``mask``."""
    out = mask.copy()
    padded = np.pad(mask, r, constant_values=False)
    h, w = mask.shape
    for dy in range(2 * r + 1):
        for dx in range(2 * r + 1):
            out &= padded[dy : dy + h, dx : dx + w]
    return out


def test_plate_depth_pass_has_the_three_subjects():
    shot = DemoShot(width_px=160, height_px=90)
    rgba, z = make_frame(shot, shot.first_frame)
    assert rgba.shape == (90, 160, 4) and z.shape == (90, 160)
    assert {shot.near_distance, shot.card_distance, shot.far_distance} <= set(np.unique(z).tolist())
    assert rgba[..., :3].max() > 10.0  # HDR lights, scene-linear


def test_demo_renders_a_pull_and_a_contact_sheet(tmp_path):
    out = tmp_path / "demo"
    assert main(["demo", str(out), "--frames", "8", "--size", "160x90", "--progress", "none"]) == 0
    shot = DemoShot(width_px=160, height_px=90, num_frames=8)
    first, last = shot.frames[0], shot.frames[-1]
    renders = sorted((out / "render").glob("demo_refocus.*.exr"))
    assert [p.name for p in renders] == [f"demo_refocus.{f}.exr" for f in shot.frames]

    def sharpness_error(frame, distance, margin_px):
        """Mean change on the subject, away from where other subjects' blur may spread."""
        rgba, z = make_frame(shot, frame)
        out_px = _pixels(out / "render" / f"demo_refocus.{frame}.exr")
        region = eroded(z == distance, margin_px)
        assert region.sum() > 20
        return np.abs(out_px[..., :3] - rgba[..., :3])[region].mean()

    # First frame: focus on the post; last frame: on the wall.
    # Nothing is in front of the post; the wall is measured beyond the post's largest spread (~9 px).
    assert sharpness_error(first, shot.near_distance, 2) < 0.25 * sharpness_error(first, shot.far_distance, 2)
    assert sharpness_error(last, shot.far_distance, 10) < 0.25 * sharpness_error(last, shot.near_distance, 2)

    sheet = oiio.ImageBuf(str(out / "contact_sheet.png"))
    spec = sheet.spec()
    assert (spec.nchannels, spec.format.basetype) == (3, oiio.UINT8)
    # Two rows (plate, render) of six frames at half size with 2 px borders.
    assert (spec.width, spec.height) == (6 * (80 + 4), 2 * (45 + 4))
    assert (out / "job.json").exists()


def test_short_shots_get_a_valid_pull():
    from focuspull.demo import demo_job

    for n in range(1, 7):
        shot = DemoShot(num_frames=n)
        job = demo_job(shot, "p.####.exr", "o.####.exr")
        frames = [k.frame for k in job.focus.value.keys]
        assert frames[0] == shot.first_frame and frames == sorted(set(frames))
        assert job.focus.value(shot.first_frame) == shot.near_distance
