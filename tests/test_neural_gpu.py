"""The neural engine's CUDA path (marked ``gpu``; skipped without CUDA).

* the a2b_tiny fixture on CUDA in float32 matches the original's stored run
  (TF32 off: the fixture's tolerances are tighter than TF32 rounding);
* the tiny random model renders on CUDA in float16 and bfloat16 close to its
  float32 CPU render, with in-focus pixels bit-exact from the plate;
* the Fourier features of k computed on the CPU equal CUDA's, so CPU runs
  reproduce the rounding the original had on its GPUs.
"""

from __future__ import annotations

import os
import sys

import pytest
import torch

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))

from a2b_fixture import FIXTURE, load_inputs, reference, run_engine  # noqa: E402
from focuspull.aperture import ApertureSpec  # noqa: E402
from focuspull.engines.base import EngineInput, ShotStatistics  # noqa: E402
from focuspull.engines.neural import NeuralEngine, NeuralOptions  # noqa: E402
from focuspull.engines.neural.conditioning import strength_fourier  # noqa: E402
from focuspull.engines.neural.loader import load_models  # noqa: E402
from focuspull.params import FrameParams  # noqa: E402

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]
CUDA = torch.device("cuda")


@pytest.fixture
def no_tf32():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@pytest.mark.skipif(not (FIXTURE / "reference" / "README.md").is_file(), reason=f"fixture {FIXTURE} not present")
def test_fixture_on_cuda_matches_the_original(no_tf32):
    run = run_engine(load_inputs(), device="cuda")
    call0, call1 = reference("call0_unet_out"), reference("call1_unet_out")
    want = {0: call0[0], 4: call0[1], 8: call1[0]}
    for start, (out, _, _) in run.unet.items():
        assert (out[0].cpu() - want[start]).abs().max() <= 5e-4, start
    difference = (run.output - reference("output_frames")).abs()
    assert difference.max() <= 1e-3 and difference.mean() <= 1e-5


@pytest.mark.parametrize("precision", ["mixed", "float16", "float32"])
def test_strength_features_on_the_cpu_equal_cudas(precision):
    k = torch.arange(1.0, 32.0, 0.37)
    cpu = strength_fourier(k, precision)
    gpu = strength_fourier(k.to(CUDA), precision).cpu()
    assert cpu.dtype == gpu.dtype
    assert (cpu.float() - gpu.float()).abs().max() <= 2e-3  # one float16 step at 1; float32 sin of ~3000 rad
    exponent_dtype = torch.float32 if precision == "float32" else torch.float16
    assert torch.equal(torch.linspace(0, 1, 16, dtype=exponent_dtype),
                       torch.linspace(0, 1, 16, dtype=exponent_dtype, device=CUDA).cpu())


def _render(models, device, precision, rgb, disparity):
    n, _, height, width = rgb.shape
    frames = tuple(range(1, n + 1))
    options = NeuralOptions(weights=str(models.folder), precision=precision, working_width=64, working_height=64,
                            restore_highlights=False)
    engine = NeuralEngine(options, ApertureSpec(), device, models=models)
    engine.begin_shot(ShotStatistics(0.0, 1.0, frames, width, height))
    batch = EngineInput(rgb.to(device), disparity.to(device), FrameParams.of(frames, 0.5, 12.0))
    return torch.cat([o.rgba for o in engine.render_stream(iter([batch]))]).float().cpu()


@pytest.mark.parametrize("precision", ["float16", "bfloat16"])
def test_half_precision_on_cuda_is_close_to_float32_on_the_cpu(tiny_neural_weights, precision, no_tf32):
    g = torch.Generator().manual_seed(0)
    rgb = torch.rand(9, 3, 40, 72, generator=g)
    disparity = torch.linspace(0.0, 1.0, 72).expand(9, 1, 40, 72).contiguous()
    cpu = _render(load_models(tiny_neural_weights, torch.device("cpu"), torch.float32), torch.device("cpu"), "float32",
                  rgb, disparity)
    gpu = _render(load_models(tiny_neural_weights, CUDA, {"float16": torch.float16, "bfloat16": torch.bfloat16}[precision]),
                  CUDA, precision, rgb, disparity)
    assert torch.isfinite(gpu).all()
    sharp = (12.0 * (disparity - 0.5).abs() <= 0.5).expand(-1, 3, -1, -1)
    assert torch.equal(gpu[sharp], rgb[sharp])  # in focus: the plate, bit for bit, in any precision
    tolerance = 0.02 if precision == "float16" else 0.05  # bfloat16 keeps 8 bits of mantissa
    assert (gpu - cpu).abs().mean() <= tolerance
