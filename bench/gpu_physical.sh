#!/usr/bin/env bash
# The physical engine on a CUDA GPU (issue 12) as one run of a few minutes of device time: the gpu
# tests, then the benchmark in fp32 and fp16 (1080p and 4K depth-edge scenes at K = 60 px, largest
# CoC 30 px; the breakdance plate when ../shared/data/breakdance is there), with peak GPU memory.
#
#   bash bench/gpu_physical.sh [OUT_DIR]     # from the repository root; default $OUT or /tmp/focuspull-gpu
#
# Writes OUT_DIR/device.txt, gpu_tests.txt, bench_float32.md and bench_float16.md. Steps, each under
# its own time limit (9 minutes at most in all, usually far less; the fp16 run skips the scaling table):
#   1. the CUDA tests: pytest -m gpu on the physical engine's test files (the other test files import
#      OpenImageIO, which a bare GPU machine lacks; these do not);
#   2. the benchmark in fp32: real content, stages, scaling; no peer and no CLI runs;
#   3. the same in fp16, 1080p and 4K only.
# Needs a python3 with CUDA torch and numpy (the device image has them; $PYTHON, else .venv/bin/python,
# else python3). The package itself need not be installed: core/ is put on the path as `focuspull`.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-/tmp/focuspull-gpu}}"
mkdir -p "$out"
if [ -n "${PYTHON:-}" ]; then py="$PYTHON"; elif [ -x .venv/bin/python ]; then py=.venv/bin/python; else py=python3; fi
export PYTHONUNBUFFERED=1
if ! "$py" -c "import focuspull" 2>/dev/null; then
    mkdir -p /tmp/fp && ln -sfn "$PWD/core" /tmp/fp/focuspull
    export PYTHONPATH="/tmp/fp${PYTHONPATH:+:$PYTHONPATH}"
fi
"$py" - <<'PY' | tee "$out/device.txt"
import torch
assert torch.cuda.is_available(), "no CUDA device: nothing to measure"
print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))
PY
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >>"$out/device.txt" 2>&1 || true
timeout 120 "$py" -m pytest -q -p no:cacheprovider -m gpu tests/test_physical_gpu.py tests/test_physical_engine.py \
    2>&1 | tee "$out/gpu_tests.txt"
timeout 300 "$py" bench/bench_physical.py --device cuda --dtype float32 --repeat 2 \
    --sizes 1080p,4k --scene-k 60 --skip peer,process 2>&1 | tee "$out/bench_float32.md"
timeout 120 "$py" bench/bench_physical.py --device cuda --dtype float16 --repeat 2 \
    --sizes 1080p,4k --scene-k 60 --skip peer,process,scaling,stages 2>&1 | tee "$out/bench_float16.md"
