#!/usr/bin/env bash
# Sets up, builds and runs every test through CTest. Exits non-zero on any
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
jobs=$(nproc)
cmake --build build -j"$jobs"
cd build
ctest --output-on-failure -j"$jobs" "$@"
