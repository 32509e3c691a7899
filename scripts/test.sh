#!/usr/bin/env bash
# Sets up, builds and runs every test through CTest. Exits non-zero on any
# failure. Arguments go to ctest, except one sanitizer mode:
#   --sanitize=address,undefined  AddressSanitizer (with leak checks) and
#                                 UndefinedBehaviorSanitizer, in build-asan/
#   --sanitize=thread             ThreadSanitizer, in build-tsan/
# Any sanitizer report fails the test that triggered it.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitize=""
ctest_args=()
for arg in "$@"; do
  case $arg in
    --sanitize=*) sanitize=${arg#--sanitize=} ;;
    *) ctest_args+=("$arg") ;;
  esac
done

build_dir=build
runner=()
case $sanitize in
  "") ;;
  address,undefined)
    build_dir=build-asan
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:print_stacktrace=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    ;;
  thread)
    build_dir=build-tsan
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
    # The sanitizer checks Sluice's own threads: concurrent Runs, the
    # inter-op pool, the dataset prefetcher. Intra-op parallelism is
    # libgomp's, which is not instrumented, so TSan cannot see its barriers
    # and would report every OpenMP region. The tests therefore run on one
    # CPU: Sluice sizes OpenMP teams by the CPUs it may use (and calls
    # omp_set_num_threads with that), so every team has one thread and
    # libgomp starts no workers, while oneDNN, asking omp_get_max_threads,
    # plans for one thread too. (OMP_THREAD_LIMIT=1 also stops the workers,
    # but oneDNN still splits its work for omp_get_max_threads threads and
    # leaves the other threads' parts uncomputed.) Sluice's own threads are
    # unaffected: TSan finds races by ordering, not by timing.
    first_cpu=$(taskset -pc $$ | sed 's/.*: //; s/[-,].*//')
    # OMP_NUM_THREADS only for the tests: nproc honours it too, and the
    # build should still use every CPU.
    runner=(env OMP_NUM_THREADS=1 taskset -c "$first_cpu")
    ;;
  *)
    echo "test.sh: unknown --sanitize value '$sanitize' (expected address,undefined or thread)" >&2
    exit 2
    ;;
esac
if [[ -n $sanitize ]]; then
  export SLUICE_BUILD_DIR=$build_dir SLUICE_BUILD_TYPE=RelWithDebInfo
  export SLUICE_CMAKE_ARGS="-DSLUICE_SANITIZE=$sanitize"
fi

# ccache keys on paths relative to the checkout, so clones in other folders
# (CI, worktrees) share the cache. The sanitizer builds carry debug info, for
# which ccache would otherwise also key on the build folder's absolute path
# and miss in every new clone; the cost is a compilation directory in the
# debug info that may name another clone.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
scripts/setup.sh
jobs=$(nproc)
cmake --build "$build_dir" -j"$jobs"
cd "$build_dir"
"${runner[@]}" ctest --output-on-failure -j"$jobs" "${ctest_args[@]}"
