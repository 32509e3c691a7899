#!/usr/bin/env bash
# Installs the Debian packages Sluice needs (only those missing) and
# configures a Release build in build/. Safe to run any number of times.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config
  clang libclang-rt-14-dev libomp-dev   # scripts/fuzz.sh: libFuzzer, the sanitizers, OpenMP
  libprotobuf-dev protobuf-compiler
  libabsl-dev
  libdnnl-dev ocl-icd-opencl-dev   # oneDNN's CMake config looks for OpenCL
  catch2
  zlib1g-dev
  libbenchmark-dev
  dataset-fashion-mnist   # /usr/share/datasets/fashion-mnist: examples, demo, training tests
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build_dir=${SLUICE_BUILD_DIR:-build}
build_type=${SLUICE_BUILD_TYPE:-Release}
if [[ ! -f $build_dir/build.ninja ]]; then  # a failed configure leaves a cache but no build.ninja
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" ${SLUICE_CMAKE_ARGS:-} >/dev/null
fi
echo "setup: configured $build_dir ($build_type)"
