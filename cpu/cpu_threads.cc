#include "cpu/cpu_threads.h"

#include <omp.h>
#include <sched.h>

#include <thread>

namespace sluice::cpu {

int AvailableCores() {
  // Asked on every run; the affinity mask is read once.
  static const int cores = [] {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
      const int n = CPU_COUNT(&set);
      if (n > 0) return n;
    }
    const unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? static_cast<int>(n) : 1;
  }();
  return cores;
}

void UseThreadsInThisThread(int threads) {
  // OpenMP's thread count is a per-thread setting; remember what this thread
  // was given so repeated runs skip the call.
  thread_local int configured = -1;
  const int wanted = threads > 0 ? threads : AvailableCores();
  if (configured == wanted) return;
  omp_set_num_threads(wanted);
  configured = wanted;
}

}  // namespace sluice::cpu
