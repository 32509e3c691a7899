#!/usr/bin/env bash
# Sets up, builds, and runs the main job: build a small model graph with the
# C++ API, save it as .pbtxt, print its dump, and run it on sample inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake --build build -j"$(nproc)" --target sluice_cli example_build_graph
mkdir -p build/demo
build/bin/example_build_graph --out build/demo/mlp.pbtxt --inputs build/demo
echo
build/bin/sluice dump build/demo/mlp.pbtxt
echo
build/bin/sluice run build/demo/mlp.pbtxt --feed images=build/demo/images.npy \
  --feed labels=build/demo/labels.npy --fetch probabilities,predicted,loss --out build/demo/out
