#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) in build-fuzz and runs
# each over a temporary copy of its seed corpus in fuzz/corpus, which is never
# written. Exits non-zero if any target crashes, leaks or times out; crashing
# inputs are kept under the output folder. See docs/fuzzing.md.
#
#   scripts/fuzz.sh [--seconds N] [--runs N] [--target NAME]... [--out DIR]
#                   [--build-only | --no-build] [--regenerate-corpus]
#
#   --seconds N   run each target for at most N seconds (default 30)
#   --runs N      and for at most N executions (default: no limit)
#   --target NAME only this target (repeatable; default: all)
#   --out DIR     where logs and crashing inputs go
#                 (default: build-fuzz/fuzz-out/<date-time>)
#   --build-only  build the targets and stop
#   --no-build    run the targets already built in the build folder
#   --regenerate-corpus  rewrite fuzz/corpus with fuzz/make_corpus (the
#                 crash regressions under fuzz/corpus/*/crash-* are kept)
#
# Environment: SLUICE_FUZZ_BUILD_DIR (default build-fuzz), SLUICE_FUZZ_JOBS
# (build parallelism, default 2), SLUICE_FUZZ_RSS_MB (default 2048),
# SLUICE_FUZZ_TIMEOUT (seconds for one input, default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

all_targets=(graph_loader_fuzzer checkpoint_fuzzer npy_fuzzer idx_fuzzer session_fuzzer)
seconds=30
runs=""
targets=()
out=""
build_only=0
no_build=0
regenerate=0
while (($#)); do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --target) targets+=("$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --build-only) build_only=1; shift ;;
    --no-build) no_build=1; shift ;;
    --regenerate-corpus) regenerate=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz: --seconds wants a whole number, not '$seconds'" >&2; exit 2; }
[[ -z $runs || $runs =~ ^[0-9]+$ ]] || { echo "fuzz: --runs wants a whole number, not '$runs'" >&2; exit 2; }
((${#targets[@]})) || targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [[ " ${all_targets[*]} " == *" $t "* ]] || {
    echo "fuzz: unknown target '$t'; targets: ${all_targets[*]}" >&2
    exit 2
  }
done

build_dir=${SLUICE_FUZZ_BUILD_DIR:-build-fuzz}
jobs=${SLUICE_FUZZ_JOBS:-2}
rss_mb=${SLUICE_FUZZ_RSS_MB:-2048}
timeout=${SLUICE_FUZZ_TIMEOUT:-10}

if ((!no_build)); then
  command -v clang++ >/dev/null || {
    echo "fuzz: clang++ not found; install clang and libclang-rt-14-dev (scripts/setup.sh)" >&2
    exit 1
  }
  # As in scripts/test.sh: cache hits in any clone, debug info included.
  export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
  flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  if [[ ! -f $build_dir/build.ninja ]]; then
    CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DSLUICE_FUZZ=ON -DSLUICE_CUDA=OFF -DBUILD_TESTING=OFF \
      "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags" >/dev/null
  fi
  build_targets=("${targets[@]}")
  ((regenerate)) && build_targets+=(make_corpus)
  nice cmake --build "$build_dir" -j"$jobs" --target "${build_targets[@]}"
fi

if ((regenerate)); then
  fresh=$(mktemp -d)
  "$build_dir/bin/make_corpus" "$fresh/corpus"
  for t in "${all_targets[@]}"; do
    mkdir -p "fuzz/corpus/$t"
    find "fuzz/corpus/$t" -maxdepth 1 -type f ! -name 'crash-*' -delete
    cp "$fresh/corpus/$t"/* "fuzz/corpus/$t/"
  done
  cp "$fresh"/corpus/*.dict fuzz/corpus/
  rm -rf "$fresh"
  echo "fuzz: rewrote the seeds under fuzz/corpus"
fi
((build_only)) && exit 0

out=${out:-$build_dir/fuzz-out/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
# Leaks are checked by libFuzzer itself (-detect_leaks=1, the default).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=1

failed=()
summary=()
for t in "${targets[@]}"; do
  work=$(mktemp -d "${TMPDIR:-/tmp}/sluice-fuzz-$t.XXXXXX")
  mkdir "$work/corpus" "$work/tmp"
  cp -r "fuzz/corpus/$t/." "$work/corpus/"
  args=(-max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout"
        -print_final_stats=1 -artifact_prefix="$out/$t-")
  [[ -n $runs ]] && args+=(-runs="$runs")
  [[ -f fuzz/corpus/$t.dict ]] && args+=(-dict="fuzz/corpus/$t.dict")
  log=$out/$t.log
  echo "fuzz: $t for ${seconds}s${runs:+ or $runs runs} (log $log)"
  start=$SECONDS
  rc=0
  TMPDIR=$work/tmp nice "$build_dir/bin/$t" "${args[@]}" "$work/corpus" >"$log" 2>&1 || rc=$?
  elapsed=$((SECONDS - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1 || true)
  cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1 || true)
  corpus=$(grep -Eo 'corp: [0-9]+/[0-9]+[a-zA-Z]*' "$log" | tail -1 || true)
  line=$(printf '%-20s %6ss %10s execs  %-20s %s' "$t" "$elapsed" "${execs:-?}" "${cov:-cov: ?}" "${corpus:-}")
  if ((rc != 0)); then
    line+="  FAILED (exit $rc; see $log)"
    failed+=("$t")
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|ALARM|property failed)' "$log" | head -5 >&2 || true
  fi
  summary+=("$line")
  rm -rf "$work"
done

echo
printf '%s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}; inputs and logs in $out" >&2
  exit 1
fi
echo "fuzz: no crash, leak or timeout; logs in $out"
