#!/usr/bin/env bash
# Creates (or updates) the worker environment in .venv and installs focuspull.
#   bash install/setup.sh            core only (physical engine, CLI, demo)
#   bash install/setup.sh dev        everything, with the test tools
#   bash install/setup.sh neural,ui  chosen extras
# FOCUSPULL_TORCH names the torch requirement (default: keep an installed torch,
# else "torch", which on Linux brings the CUDA libraries). On a machine without a
# GPU, FOCUSPULL_TORCH=torch==2.13.0 with a local CPU wheel avoids that download.
# FOCUSPULL_VENV overrides the environment folder, PYTHON the interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
venv="${FOCUSPULL_VENV:-.venv}"
python="${PYTHON:-python3}"

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
vpy="$venv/bin/python"
"$vpy" -m pip install -q --disable-pip-version-check --upgrade pip setuptools
if [ -n "${FOCUSPULL_TORCH:-}" ]; then
  "$vpy" -m pip install -q --disable-pip-version-check "$FOCUSPULL_TORCH"
elif ! "$vpy" -c "import torch" 2>/dev/null; then
  "$vpy" -m pip install -q --disable-pip-version-check torch
fi
spec="."
[ -z "$extras" ] || spec=".[$extras]"
"$vpy" -m pip install -q --disable-pip-version-check -e "$spec"
echo "focuspull set up in $venv ($("$vpy" -c 'import torch; print("torch", torch.__version__)'))" >&2
