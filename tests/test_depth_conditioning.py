"""Depth conditioning: known answers for each step on synthetic scenes, and through the CLI."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from focuspull.cli import main
from focuspull.depth_conditioning import ConditioningSteps
from focuspull.depth_conditioning.edges import refine_edges
from focuspull.depth_conditioning.outliers import remove_outliers
from focuspull.job import DepthSpec

H, W = 96, 128


def disc_scene(seed: int = 0, radius: float = 28.0):
    """A red disc (disparity 0.9) over a dark, lightly textured background (0.2)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W]
    distance = np.hypot(yy - H / 2, xx - W / 2)
    rgb = (0.1 + 0.05 * rng.random((H, W, 3))).astype(np.float32)
    rgb[distance < radius] = (0.8, 0.3, 0.2)
    truth = np.where(distance < radius, 0.9, 0.2).astype(np.float32)
    return rgb, truth, distance


# -- outliers -----------------------------------------------------------------------------------------
def test_salt_and_pepper_is_removed_and_a_one_pixel_pole_stays():
    rng = np.random.default_rng(1)
    truth = np.tile(np.linspace(0.2, 0.4, W, dtype=np.float32), (H, 1))
    truth[10:80, 40] = 0.95  # a vertical pole, one pixel wide
    truth[range(20, 60), range(70, 110)] = 0.85  # a diagonal wire, one pixel wide
    noisy = truth.copy()
    # single pixels (salt and pepper at a low density: no two touch), some on the image border
    ys, xs = (a.ravel() for a in np.mgrid[0 : H - 1 : 5, 0 : W - 1 : 5])
    pick = rng.random(ys.size) < 0.3
    ys, xs = ys[pick] + rng.integers(0, 2, pick.sum()), xs[pick] + rng.integers(0, 2, pick.sum())
    keep = (np.abs(xs - 40) > 2) & (np.abs((ys - 20) - (xs - 70)) > 2)  # not on the structures
    ys, xs = ys[keep], xs[keep]
    noisy[ys, xs] = np.where(rng.random(ys.size) < 0.5, 0.0, 1.0)
    out = remove_outliers(noisy)
    # every outlier is back to its neighbours' value, every real pixel untouched
    np.testing.assert_allclose(out, truth, atol=0.2 / W * 2)
    np.testing.assert_array_equal(out[10:80, 40], truth[10:80, 40])
    np.testing.assert_array_equal(out[range(20, 60), range(70, 110)], truth[range(20, 60), range(70, 110)])
    assert np.abs(noisy - truth).max() > 0.5  # there was something to remove


# -- edges ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("offset_px", [-3, 3], ids=["eroded", "dilated"])
def test_a_misplaced_depth_edge_snaps_back_to_the_image_edge(offset_px):
    rgb, truth, distance = disc_scene()
    degraded = np.where(distance < 28 + offset_px, 0.9, 0.2).astype(np.float32)
    out = refine_edges(degraded, rgb)
    wrong_before = int((np.abs(degraded - truth) > 0.1).sum())
    assert wrong_before > 400  # a 3-px ring around the disc
    assert int((np.abs(out - truth) > 0.1).sum()) == 0
    np.testing.assert_allclose(out, truth, atol=1e-3)


@pytest.mark.parametrize("offset_px", [-3, 3], ids=["eroded", "dilated"])
def test_a_soft_depth_edge_moves_whole_leaving_no_ghost_outline(offset_px):
    """An estimator's edge is a ramp: a line of in-between disparities along it. Moved without its
    ramp, that line would stay behind px away from the subject: a ghost outline of middle depth."""
    rgb, truth, distance = disc_scene()
    # a 2-px ramp centred 3 px off the disc's edge; its middle pixels are on neither side
    ramp = np.clip((28 + offset_px + 1 - distance) / 2, 0.0, 1.0)
    degraded = (0.2 + 0.7 * ramp).astype(np.float32)
    out = refine_edges(degraded, rgb)
    in_between = (out > 0.3) & (out < 0.8)
    off_edge = np.abs(distance - 28) > 1.5
    assert int(((degraded > 0.3) & (degraded < 0.8) & off_edge).sum()) > 150  # the ramp, off the edge
    assert int((in_between & off_edge).sum()) == 0
    assert int(((np.abs(out - truth) > 0.1) & off_edge).sum()) == 0


@pytest.mark.parametrize("offset_px", [-3, 3], ids=["eroded", "dilated"])
def test_pixels_that_change_side_take_their_new_surfaces_depth_not_its_noise_extreme(offset_px):
    """On a noisy map (sigma 0.02) the nearest value within reach is ~2.5 sigma above the disc's
    depth; a pixel that joins the disc takes the disc's mean, so the ring it fills is not a halo
    of slightly nearer (or, eroded the other way, farther) depth."""
    rgb, truth, distance = disc_scene()
    degraded = np.where(distance < 28 + offset_px, 0.9, 0.2).astype(np.float32)
    degraded += np.random.default_rng(4).normal(0, 0.02, truth.shape).astype(np.float32)
    out = refine_edges(degraded, rgb)
    ring = (np.abs(distance - 28 - offset_px / 2) < abs(offset_px) / 2 - 0.5)  # the pixels that change side
    assert np.abs(degraded - truth)[ring].min() > 0.5
    moved = ring & (np.abs(out - truth) < 0.3)
    assert moved.sum() > 0.8 * ring.sum()
    assert abs(float(np.mean((out - truth)[moved]))) < 0.006  # the extreme: 0.02 after the band mean


def test_a_strip_of_a_third_surface_between_the_two_stays():
    """A 4-px ring at a middle depth around a disc whose depth is 2 px too large: the disc's edge
    moves in, and the ring's pixels, in the band of that moving edge and on neither of its sides,
    are a surface of their own (alike neighbours across the ring too), not an edge's ramp."""
    rgb, _, distance = disc_scene()
    rgb[(distance >= 28) & (distance < 34)] = (0.2, 0.6, 0.3)
    ring = (distance >= 30) & (distance < 34)
    depth = np.where(distance < 30, 0.9, np.where(ring, 0.55, 0.2)).astype(np.float32)
    out = refine_edges(depth, rgb)
    assert np.abs(out - depth)[distance < 30].max() > 0.3  # the disc's edge moved
    inner_ring = (distance >= 30.5) & (distance < 33)
    np.testing.assert_allclose(out[inner_ring], 0.55, atol=0.02)


def test_edge_refinement_leaves_clean_depth_alone_and_removes_noise():
    rgb, truth, _ = disc_scene()
    np.testing.assert_allclose(refine_edges(truth, rgb), truth, atol=1e-4)
    noisy = truth + np.random.default_rng(2).normal(0, 0.02, truth.shape).astype(np.float32)
    out = refine_edges(noisy, rgb)
    # a 7x7 guided average and a median of ~40 samples: the noise falls several times
    assert np.abs(out - truth).std() < 0.25 * np.abs(noisy - truth).std()


def test_noise_just_beyond_the_edge_band_is_averaged_on_its_own_side():
    """6-9 px from an edge (outside the band the edge step may move) a guided filter's window
    would still reach across the edge and mix the disc's depth into the background's: those
    pixels take the mean of their own surface, as the band does."""
    rgb, truth, distance = disc_scene()
    noisy = truth + np.random.default_rng(2).normal(0, 0.02, truth.shape).astype(np.float32)
    out = refine_edges(noisy, rgb)
    beyond = (np.abs(distance - 28) >= 6) & (np.abs(distance - 28) <= 9)
    # the same-surface mean of ~40 samples: the noise falls to about a sixth, with no bias
    assert np.sqrt(np.mean((out - truth)[beyond] ** 2)) < 0.25 * 0.02
    assert abs(np.mean((out - truth)[beyond & (distance > 28)])) < 0.001


def test_a_depth_edge_the_plate_does_not_show_stays_straight():
    """No colour to follow: the weighted median is a plain median, which keeps a straight edge."""
    rgb = np.full((H, W, 3), 0.3, np.float32)
    truth = np.where(np.arange(W)[None, :] < 60, 0.8, 0.1).repeat(H, axis=0).astype(np.float32)
    np.testing.assert_allclose(refine_edges(truth, rgb), truth, atol=1e-4)


def textured_disc_scene(seed: int = 3, radius: float = 24.0):
    """A warm, textured disc (0.9) with a 1-px anti-aliased rim over a cool, textured background (0.2)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W]
    distance = np.hypot(yy - H / 2, xx - W / 2)
    coverage = np.clip(radius + 0.5 - distance, 0.0, 1.0)[..., None]  # the rim's pixels are mixtures
    disc = np.array([0.7, 0.35, 0.15]) * (0.8 + 0.4 * rng.random((H, W, 1)))
    background = np.array([0.15, 0.3, 0.45]) * (0.8 + 0.4 * rng.random((H, W, 1)))
    rgb = (coverage * disc + (1 - coverage) * background).astype(np.float32)
    truth = np.where(coverage[..., 0] > 0.5, 0.9, 0.2).astype(np.float32)
    return rgb, truth, distance


@pytest.mark.parametrize("offset_px", [-4, 4], ids=["eroded", "dilated"])
def test_an_edge_moves_inwards_and_outwards_even_where_most_of_the_window_is_wrong(offset_px):
    """4 px off with radius 9: around a pixel of the wrong ring, most pixels of the window at the
    subject's depth are background-coloured (dilated) or the other way round (eroded); the edge is
    where the layers' mean colours jump, so the majority does not decide."""
    rgb, truth, distance = textured_disc_scene()
    degraded = np.where(distance < 24 + offset_px, 0.9, 0.2).astype(np.float32)
    out = refine_edges(degraded, rgb, radius_px=9)
    off_rim = np.abs(distance - 24) > 1.0  # rim pixels are mixtures: either depth is right for them
    assert int(((np.abs(degraded - truth) > 0.1) & off_rim).sum()) > 300
    assert int(((np.abs(out - truth) > 0.1) & off_rim).sum()) == 0


@pytest.mark.parametrize("offset_px", [-3, 3], ids=["eroded", "dilated"])
def test_an_edge_moves_where_the_sides_colours_overlap_pixel_by_pixel(offset_px):
    """Disc and background differ by 0.12 in two channels on average, their pixels by up to 0.2
    more (noise of +-0.1): many a pixel's colour is nearer the other side's, a stretch of edge's
    layers are not."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:H, :W]
    distance = np.hypot(yy - H / 2, xx - W / 2)
    inside = distance < 28
    rgb = np.where(inside[..., None], (0.52, 0.45, 0.38), (0.4, 0.45, 0.5)) + rng.uniform(-0.1, 0.1, (H, W, 3))
    rgb = rgb.astype(np.float32) ** 2.2  # the step compares colours as a viewer shows them
    truth = np.where(inside, 0.9, 0.2).astype(np.float32)
    degraded = np.where(distance < 28 + offset_px, 0.9, 0.2).astype(np.float32)
    out = refine_edges(degraded, rgb)
    wrong_before = int((np.abs(degraded - truth) > 0.1).sum())
    assert wrong_before > 400
    # what is left is the two layers at the plate's edge, matted pixel by pixel through the noise
    assert int((np.abs(out - truth) > 0.1).sum()) < 0.15 * wrong_before


def test_an_anti_aliased_rim_keeps_its_depth():
    """Rim pixels are half disc, half background: neither side clearly; a correct edge stays put."""
    rgb, truth, _ = textured_disc_scene()
    np.testing.assert_array_equal(refine_edges(truth, rgb), truth)


def test_distance_layers_are_the_rounded_distance_to_the_other_side_within_the_band():
    import torch

    from focuspull.depth_conditioning.edges import _distance_layers

    near = torch.zeros(20, 30, dtype=torch.bool)
    near[:, :15] = True  # a straight edge between columns 14 and 15
    near[8:11, 26:29] = True  # a 3x3 island of the near side far from it
    band = torch.ones(20, 30, dtype=torch.bool)
    band[:, 0] = False
    layers = _distance_layers(near, band, 5)
    np.testing.assert_array_equal(layers[0, 9:21].numpy(), [0, 5, 4, 3, 2, 1, -1, -2, -3, -4, -5, 0])
    assert int(layers[5, 0]) == 0  # outside the band
    assert int(layers[9, 27]) == 2 and int(layers[9, 25]) == -1  # the island's centre; next to it
    assert int(layers[4, 27]) == -4  # 4 px above the island


def test_window_operations_match_torch_pooling():
    import torch
    import torch.nn.functional as F

    from focuspull.depth_conditioning.edges import box_mean, box_sum, max_filter

    x = torch.rand(37, 53, generator=torch.Generator().manual_seed(0))
    for r in (1, 2, 5, 14):
        pooled = F.max_pool2d(x[None, None], 2 * r + 1, stride=1, padding=r)[0, 0]
        assert torch.equal(max_filter(x, r), pooled)
        summed = F.avg_pool2d(x[None, None], 2 * r + 1, stride=1, padding=r)[0, 0] * (2 * r + 1) ** 2
        torch.testing.assert_close(box_sum(x, r), summed, atol=1e-5, rtol=1e-5)
        mean = F.avg_pool2d(x[None, None], 2 * r + 1, stride=1, padding=r, count_include_pad=False)[0, 0]
        torch.testing.assert_close(box_mean(x, r), mean, atol=1e-5, rtol=0)


# -- temporal -----------------------------------------------------------------------------------------
def texture(seed, shape):
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(seed)
    small = rng.random((shape[0] // 4 + 2, shape[1] // 4 + 2)).astype(np.float32)
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC).clip(0, 1)


def panning_shot(frames: int = 24, seed: int = 0):
    """A textured background ramp panning 1 px a frame and a near square moving 2 px a frame."""
    background = texture(3, (H, W + frames))
    ramp = np.tile(np.linspace(0.2, 0.6, W + frames, dtype=np.float32), (H, 1))
    square = 0.9 * texture(4, (30, 24)) + 0.1
    images, truths = [], []
    for t in range(frames):
        image, truth = background[:, t : t + W].copy(), ramp[:, t : t + W].copy()
        x = 30 + 2 * t
        image[30:60, x : x + 24] = square
        truth[30:60, x : x + 24] = 0.9
        images.append((image * 255).astype(np.uint8))
        truths.append(truth)
    return images, truths


def test_per_frame_scale_jitter_is_removed_and_the_mean_scale_kept():
    from focuspull.depth_conditioning.temporal import stabilize

    images, truths = panning_shot()
    rng = np.random.default_rng(5)
    scales = 1.0 + 0.03 * rng.standard_normal(len(truths))
    scales /= scales.mean()  # the jitter's mean scale is 1: the truth's scale is the shot's
    raw = [(s * t).astype(np.float32) for s, t in zip(scales, truths)]
    out = stabilize(raw, images, weight=0.5)
    ratio = np.array([np.median(o / t) for o, t in zip(out, truths)])
    # frame-to-frame scale change: 3-4 % before, a small fraction of that after
    assert np.abs(np.diff(scales)).mean() > 0.025
    assert np.abs(np.diff(ratio)).mean() < 0.1 * np.abs(np.diff(scales)).mean()
    # no bias: the shot's mean scale is the truth's within 1 % (it was exactly 1 before)
    assert abs(ratio.mean() - 1.0) < 0.01
    # and no pull towards the first frame's scale
    assert abs(ratio.mean() - scales[0]) > 0.01 or abs(scales[0] - 1.0) < 0.01


def test_noise_at_moving_depth_edges_is_averaged_along_the_flow_with_its_own_surface():
    """At a depth edge a neighbour frame's sample is the nearest one (an interpolated sample mixes
    the surfaces) and counts only if it is on the pixel's own surface: the edge's noise falls like
    the rest, and a clean edge stays where it is."""
    cv2 = pytest.importorskip("cv2")
    from focuspull.depth_conditioning.temporal import stabilize

    images, truths = panning_shot(12)
    rng = np.random.default_rng(6)
    noisy = [(t + rng.normal(0, 0.02, t.shape)).astype(np.float32) for t in truths]
    out = stabilize(noisy, images, weight=0.5)
    square = np.ones((5, 5), np.uint8)
    for t in range(3, 9):  # frames with neighbours on both sides
        local = cv2.blur(truths[t], (5, 5))
        edge = cv2.dilate(local, square) - cv2.erode(local, square) > 0.1 * 0.7  # the step's own edge test
        before = np.abs(noisy[t] - truths[t])[edge]
        after = np.abs(out[t] - truths[t])[edge]
        # without flow failures a fifth of the variance would be left; occlusions and disocclusions
        # at the moving square keep some pixels as they are
        assert np.sqrt(np.mean(after ** 2)) < 0.8 * np.sqrt(np.mean(before ** 2))
        assert np.mean(after > 0.1) < 0.002  # no pixel takes the other surface's depth
    clean = stabilize(truths, images, weight=0.5)
    for c, t in zip(clean, truths):
        assert np.abs(c - t).max() < 0.01


def test_an_edge_stretch_on_the_other_side_in_one_frame_only_takes_its_neighbours_side():
    """The edge step decides each frame on its own: a stretch of edge that moves in one frame and
    not in the frames around it flickers. Where the frames before and after agree along the flow,
    the one frame's edge pixels on another surface take theirs."""
    pytest.importorskip("cv2")
    from focuspull.depth_conditioning.temporal import stabilize

    frames = 9
    plate = texture(7, (H, W + frames))
    scene = np.full((H, W + frames), 0.2, np.float32)
    scene[30:60, 40:70] = 0.9  # a near square, textured like the rest: the shot pans 1 px a frame
    images = [(plate[:, t : t + W] * 255).astype(np.uint8) for t in range(frames)]
    truths = [scene[:, t : t + W].copy() for t in range(frames)]
    depth = [t.copy() for t in truths]
    stretch = (slice(60, 62), slice(44 - 4, 64 - 4))  # two rows below the square in frame 4
    depth[4][stretch] = 0.9  # put on the square in that frame only
    out = stabilize(depth, images, weight=0.5)
    np.testing.assert_allclose(out[4][stretch], 0.2, atol=0.02)
    for t in (3, 5):
        assert np.abs(out[t] - truths[t]).max() < 0.01


def test_stabilising_with_weight_zero_returns_the_frames():
    from focuspull.depth_conditioning.temporal import stabilize

    images, truths = panning_shot(4)
    out = stabilize(truths, images, weight=0.0)
    for a, b in zip(out, truths):
        np.testing.assert_array_equal(a, b)


# -- which steps run --------------------------------------------------------------------------------------
def test_auto_turns_outliers_on_for_disparity_maps_everything_on_for_estimates_and_off_for_metric_depth():
    metric = ConditioningSteps.for_depth(DepthSpec(kind="depth"))
    assert (metric.remove_outliers, metric.refine_edges, metric.stabilize) == (False, False, 0.0)
    disparity = ConditioningSteps.for_depth(DepthSpec(source="sequence", pattern="d.####.png",
                                                      kind="normalized_disparity"))
    assert (disparity.remove_outliers, disparity.refine_edges, disparity.stabilize) == (True, False, 0.0)
    estimated = ConditioningSteps.for_depth(DepthSpec(source="estimate"))
    assert (estimated.remove_outliers, estimated.refine_edges, estimated.stabilize) == (True, True, 0.5)
    forced = ConditioningSteps.for_depth(DepthSpec(kind="depth", remove_outliers="on", refine_edges="off",
                                                   stabilize="on", stabilize_weight=0.3))
    assert (forced.remove_outliers, forced.refine_edges, forced.stabilize) == (True, False, 0.3)
    # estimated depth can be left unstabilised, and jobs from before the switch keep their meaning
    assert ConditioningSteps.for_depth(DepthSpec(source="estimate", stabilize="off")).stabilize == 0.0
    assert ConditioningSteps.for_depth(DepthSpec(source="estimate", stabilize=0.0)).stabilize == 0.0
    assert ConditioningSteps.for_depth(DepthSpec(kind="disparity", stabilize=0.7)).stabilize == 0.7
    assert ConditioningSteps.for_depth(DepthSpec(source="estimate", stabilize=None)).stabilize == 0.5
    old = DepthSpec(kind="disparity", stabilize=0.7)
    assert (old.stabilize, old.stabilize_weight) == ("on", 0.7)


def test_stabilize_rejects_what_is_not_a_switch_or_a_weight():
    from focuspull.errors import JobError

    for bad in ({"stabilize": 1.5}, {"stabilize": -0.1}, {"stabilize": 0.01}, {"stabilize": "on", "stabilize_weight": 0.0},
                {"stabilize": "on", "stabilize_weight": 0.99}):
        with pytest.raises(JobError, match="stabilize"):
            DepthSpec(kind="disparity", **bad)


# -- through the CLI --------------------------------------------------------------------------------------
FRAMES = (1001, 1002, 1003, 1004)


@pytest.fixture
def eroded_shot(tmp_path, write_exr):
    """A disc plate with a disparity sequence whose disc is eroded by 3 px."""
    rgb, truth, distance = disc_scene()
    degraded = np.where(distance < 25, 0.9, 0.2).astype(np.float32)
    for f in FRAMES:
        write_exr(tmp_path / f"plate.{f}.exr", rgb, ("R", "G", "B"), formats="float")
        write_exr(tmp_path / f"disp.{f}.exr", degraded, ("Y",), formats="float")
    return tmp_path, truth


def read(path):
    import OpenImageIO as oiio

    buf = oiio.ImageBuf(str(path))
    assert not buf.has_error, buf.geterror()
    return buf.spec(), buf.get_pixels(oiio.FLOAT)


def render_args(folder, out, *extra):
    return ["render", str(folder / "plate.####.exr"), "-o", str(out), "--depth", str(folder / "disp.####.exr"),
            "--depth-kind", "disparity", "--focus", "0.9", "--strength", "4", "--aux", "depth.conditioned",
            "--progress", "none", "--device", "cpu", *extra]


def test_cli_refines_a_supplied_disparity_sequence_on_request_and_says_so(eroded_shot):
    folder, truth = eroded_shot
    out = folder / "out" / "r.####.exr"
    assert main(render_args(folder, out, "--depth-edges", "on")) == 0
    spec, pixels = read(folder / "out" / "r.1002.exr")
    channels = list(spec.channelnames)
    conditioned = pixels[..., channels.index("depth.conditioned")]
    np.testing.assert_allclose(conditioned, truth, atol=1e-3)  # snapped back to the disc's edge
    assert spec.getattribute("focuspull/depth_refine_edges") == 9
    assert spec.getattribute("focuspull/depth_remove_outliers") == 1
    assert spec.getattribute("focuspull/depth_stabilize") == 0.0

    default = folder / "default" / "r.####.exr"  # edges stay as supplied unless asked for
    assert main(render_args(folder, default)) == 0
    spec, pixels = read(folder / "default" / "r.1002.exr")
    assert np.abs(pixels[..., list(spec.channelnames).index("depth.conditioned")] - truth).max() > 0.5
    assert spec.getattribute("focuspull/depth_refine_edges") == 0


def test_cli_stabilises_supplied_depth_into_a_reusable_sequence(eroded_shot, caplog):
    pytest.importorskip("cv2")
    folder, truth = eroded_shot
    out = folder / "out" / "r.####.exr"
    assert main(render_args(folder, out, "--depth-stabilize", "0.5", "--depth-edges", "on")) == 0
    stable = folder / "out" / "r_depth_stable.1003.exr"
    spec, pixels = read(stable)
    np.testing.assert_allclose(pixels[..., 0], truth, atol=1e-3)
    assert spec.getattribute("focuspull/depth_stabilize") == 0.5
    spec, _ = read(folder / "out" / "r.1003.exr")
    assert spec.getattribute("focuspull/depth_stabilize") == 0.5
    caplog.clear()
    with caplog.at_level("INFO"):
        assert main(render_args(folder, folder / "again" / "r.####.exr", "--depth-stabilize", "0.5", "--depth-edges", "on",
                                "--depth-edge-radius", "9")) == 0
    # another output folder: its own sequence; the same job into the same folder reuses it
    assert (folder / "again" / "r_depth_stable.1001.exr").exists()
    caplog.clear()
    with caplog.at_level("INFO"):
        assert main(render_args(folder, out, "--depth-stabilize", "0.5", "--depth-edges", "on")) == 0
    assert any("reusing" in r.getMessage() for r in caplog.records)


def test_the_workspace_uses_a_stabilised_depth_a_render_wrote_and_shows_what_it_was_made_from_as_raw(eroded_shot):
    pytest.importorskip("cv2")
    from focuspull.job import SCHEMA_ID, Job
    from focuspull.pipeline import prepare
    from focuspull.ui.session import load_frame_data, raw_disparity

    folder, truth = eroded_shot
    job = Job.from_dict({
        "schema": SCHEMA_ID, "input": {"pattern": str(folder / "plate.####.exr")},
        "output": {"pattern": str(folder / "out" / "r.####.exr")},
        "depth": {"source": "sequence", "pattern": str(folder / "disp.####.exr"), "kind": "disparity",
                  "refine_edges": "on", "stabilize": "on"},
        "focus": 0.9, "strength": 4})
    supplied = np.where(disc_scene()[2] < 25, 0.9, 0.2).astype(np.float32)

    # viewing never makes it (it reads the whole shot): the spatial steps run per frame meanwhile
    shot = prepare(job, check_output=False)
    assert not shot.depth_conditioned and not (folder / "out").exists()
    data = load_frame_data(shot, 1002)
    np.testing.assert_allclose(data.disparity, truth, atol=1e-3)  # refined per frame
    np.testing.assert_array_equal(raw_disparity(data), supplied)

    prepare(job)  # as a render does: the stabilised depth is written
    shot = prepare(job, check_output=False)
    assert shot.depth_conditioned and shot.depth.text.endswith("r_depth_stable.####.exr")
    data = load_frame_data(shot, 1002)
    np.testing.assert_allclose(data.disparity, truth, atol=1e-3)  # the stabilised, refined depth
    np.testing.assert_array_equal(raw_disparity(data), supplied)  # the sequence as supplied


def test_depth_only_makes_the_shots_stabilised_depth_and_renders_nothing(eroded_shot, capsys):
    pytest.importorskip("cv2")
    folder, truth = eroded_shot
    args = render_args(folder, folder / "out" / "r.####.exr", "--depth-stabilize", "on", "--depth-edges", "on",
                       "--depth-only")
    args[args.index("--progress") + 1] = "jsonl"
    assert main([*args, "--chunk", "1001-1002"]) == 2  # a chunk of the depth of the whole shot: refused
    assert "--chunk does not apply" in json.loads(capsys.readouterr().out.splitlines()[-1])["message"]
    assert main([*args, "--write-job", str(folder / "job.json")]) == 2  # would write the job and drop --depth-only
    assert "--write-job does not apply" in json.loads(capsys.readouterr().out.splitlines()[-1])["message"]
    assert not (folder / "job.json").exists()
    assert main(args) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    event = events[-1]
    assert event["event"] == "done" and event["frames"] == 0 and event["depth"].endswith("r_depth_stable.####.exr")
    stages = [(e["done"], e["total"]) for e in events if e["event"] == "stage" and e["stage"] == "stabilize"]
    assert stages == [(n, len(FRAMES)) for n in range(1, len(FRAMES) + 1)]  # a host can show the slow pass
    assert sorted(p.name for p in (folder / "out").iterdir()) == [f"r_depth_stable.{f}.exr" for f in FRAMES]
    np.testing.assert_allclose(read(folder / "out" / "r_depth_stable.1002.exr")[1][..., 0], truth, atol=1e-3)


def test_a_depth_sequence_named_like_the_stabilised_depth_is_refused_untouched(eroded_shot, capsys):
    pytest.importorskip("cv2")
    folder, _ = eroded_shot
    (folder / "out").mkdir()
    for f in FRAMES:  # the depth given is what stabilising would write for this output
        shutil.copy(folder / f"disp.{f}.exr", folder / "out" / f"r_depth_stable.{f}.exr")
    before = {p.name: p.read_bytes() for p in (folder / "out").iterdir()}
    args = render_args(folder, folder / "out" / "r.####.exr", "--depth-stabilize", "on")
    args[args.index("--depth") + 1] = str(folder / "out" / "r_depth_stable.####.exr")
    args[args.index("--progress") + 1] = "jsonl"
    assert main(args) == 2
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert event["event"] == "error" and "r_depth_stable.####.exr" in event["message"]
    assert {p.name: p.read_bytes() for p in (folder / "out").iterdir()} == before


def test_stabilising_a_shot_too_large_for_memory_is_refused_before_it_is_read(eroded_shot, capsys, monkeypatch):
    pytest.importorskip("cv2")
    import focuspull.io.memory as memory

    folder, _ = eroded_shot
    # two float32 copies of the disparity and a grey plate per frame, four RGBA float32 frames in flight
    need = (4 + 4 + 1) * H * W * len(FRAMES) + 4 * 16 * H * W + memory.BASELINE_BYTES
    memory.check_stabilize_memory("depth", [H * W] * len(FRAMES), int(need / memory.HEADROOM) + 1)  # fits
    monkeypatch.setattr(memory, "available_bytes", lambda: int(need / memory.HEADROOM) - 1)
    monkeypatch.setattr("focuspull.pipeline.read_frames", lambda *a, **k: pytest.fail("the shot was read"))
    args = render_args(folder, folder / "out" / "r.####.exr", "--depth-stabilize", "on")
    args[args.index("--progress") + 1] = "jsonl"
    assert main(args) == 2
    event = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert event["event"] == "error" and f"stabilising the depth of {len(FRAMES)} frame(s)" in event["message"]
    assert not (folder / "out").exists() or not list((folder / "out").iterdir())


def test_job_schema_lists_the_conditioning_fields():
    from focuspull.job import schema

    depth = schema()["properties"]["depth"]["properties"]
    assert depth["refine_edges"]["enum"] == ["auto", "on", "off"]
    assert depth["remove_outliers"]["default"] == "auto"
    assert depth["edge_radius_px"]["default"] == 9
    assert depth["stabilize"]["default"] == "auto"
    assert {"enum": ["auto", "on", "off"]} in depth["stabilize"]["anyOf"]  # a host shows it as a menu
    assert depth["stabilize_weight"]["default"] == 0.5
    json.dumps(schema())
