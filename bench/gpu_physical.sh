#!/usr/bin/env bash
# The physical engine on a CUDA GPU in a few minutes: the gpu tests, then the benchmark
# in fp32 and fp16 (1080p and 4K depth-edge scenes at K = 60 px, largest CoC 30 px; the
# breakdance plate when ../shared/data/breakdance is there), with peak GPU memory.
#
#   bash bench/gpu_physical.sh [OUT_DIR]        (run from the repository root, .venv ready)
#
# Writes OUT_DIR/gpu_tests.txt and OUT_DIR/bench_fp32.md, OUT_DIR/bench_fp16.md.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-gpu_out}}"
mkdir -p "$out"
py=.venv/bin/python
[ -x "$py" ] || py=python
"$py" - <<'PY' | tee "$out/device.txt"
import torch
assert torch.cuda.is_available(), "no CUDA device: nothing to measure"
print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0))
PY
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 2
# 1. every test marked gpu, plus the engine's own tests (they run on the CPU as well)
timeout 300 "$py" -m pytest -q -p no:cacheprovider -m gpu tests/ 2>&1 | tee "$out/gpu_tests.txt"
# 2. the benchmark on the GPU: real content, stages, scaling; no peer and no CLI runs
for dtype in float32 float16; do
  timeout 420 "$py" bench/bench_physical.py --device cuda --dtype "$dtype" --repeat 3 \
    --sizes 1080p,4k --scene-k 60 --skip peer,process 2>&1 | tee "$out/bench_$dtype.md"
done
