#!/usr/bin/env bash
# The neural engine's GPU checks (issue 15) as one run of a few minutes of device time.
#
#   bash bench/gpu_neural.sh            # results in $OUT (the device tool's folder) or /tmp/focuspull-gpu
#   COMPILE=1 bash bench/gpu_neural.sh  # also time torch.compile (adds minutes of compilation)
#
# Steps, each under its own time limit (about 6 minutes in all on an H200):
#   1. the CUDA tests: pytest -m gpu tests/test_neural_gpu.py
#   2. speed: 576x1024, 8/16/48 frames, float16 and bfloat16, full-size random model, SDPA
#   3. memory: a 200-frame 1080p shot in float16, peak GPU memory against 24 GiB
#   4. channels-last weights, 16 frames, float16 (and torch.compile with COMPILE=1)
#
# Needs a python3 with CUDA torch, transformers and safetensors (the device image has them) plus
# diffusers, which a bare GPU machine lacks: carry it as wheels in .whl/ (ignored by git), made here with
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux2014_x86_64 -d .whl diffusers==0.42.1 importlib_metadata opencolorio
# (opencolorio is optional: without it the colour conversions are timed with the built-in sRGB transfer).
# The fixture test needs the a2b_tiny fixture, which does not travel from ../shared: copy it into the
# checkout as .a2b_tiny/ (ignored by git, about 28 MB) and carry it with the wheels.
# The package itself need not be installed: core/ is put on the path as `focuspull`.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/focuspull-gpu}"
mkdir -p "$OUT"
PY="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 2
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
if ! "$PY" -c "import focuspull" 2>/dev/null; then
    mkdir -p /tmp/fp && ln -sfn "$PWD/core" /tmp/fp/focuspull
    export PYTHONPATH="/tmp/fp${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PY" -c "import torch, diffusers, transformers; print('torch', torch.__version__, torch.cuda.get_device_name(0), \
'diffusers', diffusers.__version__, 'transformers', transformers.__version__)" || exit 2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true

if [ -d .a2b_tiny/reference ]; then export FOCUSPULL_A2B_FIXTURE="$PWD/.a2b_tiny"; fi

LOG="$OUT/gpu_neural.log"
step() {
    local limit=$1
    shift
    echo "== $* (limit ${limit}s)" | tee -a "$LOG"
    timeout "$limit" "$@" 2>&1 | grep --line-buffered -v "^Loading weights" | tee -a "$LOG"
}
step 150 "$PY" -m pytest -q -p no:cacheprovider -o addopts="" -m gpu tests/test_neural_gpu.py
step 240 "$PY" bench/bench_neural.py --json "$OUT/neural_speed.json"
step 180 "$PY" bench/bench_neural.py --memory-check --precision float16 --json "$OUT/neural_memory.json"
step 120 "$PY" bench/bench_neural.py --frames 16 --precision float16 --channels-last --json "$OUT/neural_channels_last.json"
if [ "${COMPILE:-0}" = 1 ]; then
    step 420 "$PY" bench/bench_neural.py --frames 16 --precision float16 --compile --json "$OUT/neural_compile.json"
fi
