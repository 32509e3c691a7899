#!/usr/bin/env bash
# Sluice side by side with TensorFlow 1.x sessions (and XLA), PyTorch (and
# torch.compile), JAX and ONNX Runtime, in one command from a fresh clone:
# builds Sluice in Release, installs the peers into bench/.venv, runs every
# workload of bench/WORKLOADS.md in every system, and writes
# bench/results/latest.json and latest.md.
#
#   bench/run.sh                      # every workload, every core
#   bench/run.sh --threads 1 --workloads one_op,matmul1024 --rounds 3
#
# Arguments go to bench/compare.py (--help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
cmake --build build --target sluice_workload

python=${PYTHON:-python3}
if [[ ! -x bench/.venv/bin/python ]]; then
  "$python" -m venv bench/.venv
fi
bench/.venv/bin/python -m pip install -q --upgrade pip
bench/.venv/bin/python -m pip install -q -r bench/requirements.txt

exec bench/.venv/bin/python bench/compare.py "$@"
