"""The lens law's one definition (focuspull.coc) and the per-frame parameters that feed it."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from focuspull.coc import coc_px, signed_coc_px
from focuspull.params import FrameParams

ROOT = Path(__file__).resolve().parents[1]
D = [0.2, 0.35, 0.4, 0.45, 0.6]
#: f = 0.4, K = 10, in-focus width 0.1 (0.05 each side), front x2, back x0.5
EXPECTED = [-(0.2 - 0.05) * 10 * 0.5, 0.0, 0.0, 0.0, (0.2 - 0.05) * 10 * 2.0]
SHAPE = {"in_focus_width": 0.1, "front_scale": 2.0, "back_scale": 0.5}


def test_signed_coc_known_answers_on_numpy_and_torch():
    got_np = signed_coc_px(np.array(D, np.float32), 0.4, 10.0, **SHAPE)
    got_t = signed_coc_px(torch.tensor(D), 0.4, 10.0, **SHAPE)
    np.testing.assert_allclose(got_np, EXPECTED, atol=1e-5)
    np.testing.assert_allclose(got_t.numpy(), EXPECTED, atol=1e-5)
    assert got_np.dtype == np.float32 and got_t.dtype == torch.float32
    # numpy float64 scalars (what FrameParams holds) do not promote a float32 image
    assert signed_coc_px(np.array(D, np.float32), np.float64(0.4), np.float64(10.0)).dtype == np.float32
    assert signed_coc_px(0.6, 0.4, 10.0) == pytest.approx(2.0)
    np.testing.assert_allclose(coc_px(np.array(D), 0.4, 10.0, **SHAPE), np.abs(EXPECTED), atol=1e-12)


def test_without_shape_the_law_is_k_times_the_offset_exactly():
    d = torch.rand(64, generator=torch.Generator().manual_seed(0))
    assert torch.equal(signed_coc_px(d, 0.37, 23.0), 23.0 * (d - 0.37))


def test_per_frame_focus_broadcasts_over_a_batch():
    d = torch.full((2, 1, 2, 2), 0.5)
    focus = torch.tensor([0.5, 0.3]).view(-1, 1, 1, 1)
    out = signed_coc_px(d, focus, 10.0)
    assert out[0].abs().max() == 0 and torch.allclose(out[1], torch.full((1, 2, 2), 2.0))


def test_frame_params_build_select_and_replace():
    p = FrameParams.of((1001, 1002, 1003), [0.1, 0.2, 0.3], 12.0, front_scale=[1.0, 0.5, 0.25], blades_phase=3.0)
    assert p.strength_px.tolist() == [12.0] * 3 and p.back_scale.tolist() == [1.0] * 3 and p.aspect.tolist() == [1.0] * 3
    assert p.options["blades_phase"].tolist() == [3.0] * 3  # not a law value: an engine option
    sub = p.select([1003, 1001])
    assert sub.frames == (1003, 1001) and sub.focus_disparity.tolist() == [0.3, 0.1]
    assert sub.front_scale.tolist() == [0.25, 1.0] and sub.options["blades_phase"].tolist() == [3.0, 3.0]
    assert p.replace(strength_px=p.strength_px / 2).strength_px.tolist() == [6.0] * 3
    assert p.strength_px.tolist() == [12.0] * 3  # values are immutable
    with pytest.raises(ValueError):
        p.strength_px[0] = 1.0
    assert p == FrameParams.of((1001, 1002, 1003), [0.1, 0.2, 0.3], 12.0, front_scale=[1.0, 0.5, 0.25], blades_phase=3.0)
    assert p != sub
    with pytest.raises(ValueError, match="2 values for 3 frames"):
        FrameParams.of(3, [0.1, 0.2], 1.0)
    # frame 1002 (position 1): front scale 0.5
    assert p.signed_coc_px(np.float32(0.4), 1) == pytest.approx(12.0 * 0.2 * 0.5)


def test_physical_engine_radius_is_the_law_with_the_frames_params():
    from focuspull.aperture import ApertureSpec
    from focuspull.engines.base import EngineInput
    from focuspull.engines.physical import PhysicalEngine, PhysicalOptions

    d = torch.linspace(0.0, 1.0, 32).expand(2, 1, 8, 32).clone()
    rgb = torch.ones(2, 3, 8, 32)
    params = FrameParams.of(2, [0.5, 0.4], [6.0, 3.0], front_scale=[1.0, 0.5], in_focus_width=[0.0, 0.2])
    engine = PhysicalEngine(PhysicalOptions(aux_channels=("coc.radius",)), ApertureSpec(), torch.device("cpu"))
    radius = engine.render(EngineInput(rgb, d, params)).aux["coc.radius"]
    for t in range(2):
        expected = signed_coc_px(d[t, 0], **params.law(t))
        torch.testing.assert_close(radius[t, 0], expected)
    assert float(radius[1, 0, 0, -1]) == pytest.approx(3.0 * (0.6 - 0.1) * 0.5)


@pytest.mark.parametrize("folder", ["core/engines", "ui/overlays.py", "ui/preview.py", "ui/render.py"])
def test_engines_and_views_evaluate_no_curves(folder):
    """Per-frame values come resolved in FrameParams: nothing here imports focuspull.curves
    (options classes declare their Curve-typed, keyframeable fields; they evaluate nothing)."""
    root = ROOT / folder
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*.py") if p.name != "options.py")
    offenders = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n == "focuspull.curves"]
    assert files and not offenders
