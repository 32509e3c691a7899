#!/usr/bin/env bash
# Sets up, builds, and runs the main job: build the Fashion-MNIST MLP
# (784-256-10, batch normalisation, dropout, Adam) with the C++ API, save it
# as a graph file, and train that file with `sluice train`. The last line is
# the test accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
cmake --build build -j"$(nproc)" --target sluice_cli example_fashion_mlp
mkdir -p build/demo
graph=build/demo/fashion_mlp.pbtxt
build/bin/example_fashion_mlp --epochs 0 --save-graph "$graph"
echo
build/bin/sluice dump "$graph" | tail -n 4
echo
build/bin/sluice train "$graph" --train-op train --loss loss --accuracy accuracy \
  --data /usr/share/datasets/fashion-mnist --epochs "${SLUICE_DEMO_EPOCHS:-10}" --batch 128 \
  --seed 1 --checkpoint build/demo/fashion_mlp.ckpt --logdir build/demo/logs
