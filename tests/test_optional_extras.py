"""Without the optional extras the suite still collects: modules that need an
extra import it lazily, and their tests skip naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: top-level modules of the neural, depth, ui and farm extras
EXTRAS = ("diffusers", "transformers", "accelerate", "safetensors", "huggingface_hub", "cv2", "PySide6", "openjd")

COLLECT = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None  # "import name" now raises ImportError, as if not installed
import pytest
sys.exit(pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:pytest-qt", {tests!r}]))
"""


def test_the_suite_collects_without_any_optional_extra():
    code = COLLECT.format(blocked=EXTRAS, tests=str(TESTS))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=TESTS.parent)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "error" not in run.stdout.splitlines()[-1].lower(), run.stdout[-3000:]
    # the pure neural tests are collected, not skipped with the extra
    assert "test_neural_conditioning.py::test_model_strength_is_plate_k_times_disparity_span_times_scale" in run.stdout


def test_the_data_path_modules_import_nothing_heavy():
    """Plain top-level imports, yet importing the pipeline, the parameters and the lens law
    loads no torch, numpy, OpenImageIO or OpenColorIO (the CLI starts fast)."""
    code = (
        "import sys, focuspull.pipeline, focuspull.params, focuspull.coc, focuspull.focus, focuspull.engines.neural\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'numpy', 'OpenImageIO', 'PyOpenColorIO', 'diffusers', 'transformers')))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
