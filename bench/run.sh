#!/usr/bin/env bash
# Sluice side by side with TensorFlow 1.x sessions (and XLA), PyTorch (and
# torch.compile), JAX and ONNX Runtime, in one command from a fresh clone:
# builds Sluice in Release, installs the peers into bench/.venv, runs every
# workload of bench/WORKLOADS.md in every system, and writes
# bench/results/latest.json and latest.md. On a machine with a GPU that
# Sluice can use, it adds the GPU rows: Sluice on CUDA against PyTorch on
# CUDA and cuBLAS (bench/README.md); without one, a line says why not.
#
#   bench/run.sh                      # every workload, every core
#   bench/run.sh --threads 1 --workloads one_op,matmul1024 --rounds 3
#   bench/run.sh --workloads '' --gpu on --gpu-workloads mlp_train_b128,matmul4096
#
# Arguments go to bench/compare.py (--help lists them). Whether the GPU rows
# run is compare.py's call: the Sluice worker's `info` says whether it can
# use a GPU, and when it cannot, `nvidia-smi -L` tells a missing GPU from a
# build without the CUDA layer in the line that reports the skip.
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
