"""Depth -> disparity and focus/strength per frame: known answers and clear errors."""

import numpy as np
import pytest

from focuspull.depth import to_disparity
from focuspull.errors import ImageDataError, JobError
from focuspull.focus import focus_disparity, strength_px
from focuspull.job import Job


def test_metric_depth_becomes_inverse_depth_and_sky_is_infinitely_far():
    z = np.array([[2.0, 4.0, 0.0], [np.inf, np.nan, 0.5]], np.float32)
    d = to_disparity(z, "depth", source="z.exr", frame=1001)
    np.testing.assert_allclose(d, [[0.5, 0.25, 0.0], [0.0, 0.0, 2.0]])


def test_negative_depth_names_file_frame_and_count():
    z = np.array([[2.0, -1.0, -3.0]], np.float32)
    with pytest.raises(ImageDataError, match=r"z\.exr: frame 1004: 2 depth pixel\(s\) are negative"):
        to_disparity(z, "depth", source="z.exr", frame=1004)


def test_all_empty_depth_is_an_error():
    with pytest.raises(ImageDataError, match="every depth pixel is 0, inf or NaN"):
        to_disparity(np.zeros((4, 4), np.float32), "depth", source="z.exr", frame=1)


def test_disparity_is_used_as_is_and_checked():
    d = np.array([[0.0, 0.5, 1.0]], np.float32)
    assert to_disparity(d, "disparity", source="d.exr", frame=1).tolist() == [[0.0, 0.5, 1.0]]
    with pytest.raises(ImageDataError, match="1 disparity pixel"):
        to_disparity(np.array([[np.nan, 1.0]], np.float32), "disparity", source="d.exr", frame=1)


def _job(focus, strength, kind="depth"):
    return Job.from_dict(
        {
            "schema": "focuspull.job/1",
            "input": {"pattern": "p.####.exr"},
            "depth": {"kind": kind},
            "focus": focus,
            "strength": strength,
            "output": {"pattern": "o.####.exr"},
        }
    )


def test_focus_distance_is_inverted_and_keyframed():
    job = _job({"keys": [[1, 2.0, "linear"], [3, 4.0, "linear"]]}, 10)
    assert focus_disparity(job, [1, 2, 3]) == pytest.approx([0.5, 1 / 3, 0.25])


def test_focus_disparity_mode_for_disparity_maps():
    job = _job(0.4, 10, kind="disparity")
    assert focus_disparity(job, [1, 2]) == [0.4, 0.4]


def test_bad_focus_and_strength_name_the_frame():
    with pytest.raises(JobError, match="focus: frame 2: distance -1 must be > 0"):
        focus_disparity(_job({"keys": [[1, 1.0, "linear"], [3, -3.0, "linear"]]}, 1), [1, 2, 3])
    with pytest.raises(JobError, match="strength: frame 3: K -2"):
        strength_px(_job(1.0, {"keys": [[1, 2.0, "linear"], [3, -2.0, "linear"]]}), [1, 2, 3])
