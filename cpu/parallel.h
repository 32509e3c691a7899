// Splitting a loop across the OpenMP threads of the calling thread, only
// when the work is large enough to pay for the parallel region (about a
// microsecond on this machine kind; see ../shared/PERF_NOTES.md).
#ifndef SLUICE_CPU_PARALLEL_H_
#define SLUICE_CPU_PARALLEL_H_

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace sluice::cpu {

// Work items below which a loop stays on the calling thread.
inline constexpr int64_t kParallelThreshold = int64_t{1} << 15;

// Calls fn(begin, end) over disjoint ranges covering [0, n). `cost` scales n
// into work items (e.g. elements per row).
template <typename Fn>
void ParallelFor(int64_t n, int64_t cost, Fn&& fn) {
  if (n <= 0) return;
  if (n * cost < kParallelThreshold || n == 1 || omp_get_max_threads() == 1) {
    fn(int64_t{0}, n);
    return;
  }
#pragma omp parallel
  {
    const int64_t threads = omp_get_num_threads();
    const int64_t t = omp_get_thread_num();
    const int64_t chunk = (n + threads - 1) / threads;
    const int64_t begin = std::min(n, t * chunk);
    const int64_t end = std::min(n, begin + chunk);
    if (begin < end) fn(begin, end);
  }
}

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_PARALLEL_H_
