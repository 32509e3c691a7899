// Thread settings for CPU kernels (oneDNN runs on OpenMP).
#ifndef SLUICE_CPU_CPU_THREADS_H_
#define SLUICE_CPU_CPU_THREADS_H_

namespace sluice::cpu {

// Cores this process may use.
int AvailableCores();

// Makes kernels started from the calling thread use `threads` threads (0:
// every core). Cheap after the first call with the same value.
void UseThreadsInThisThread(int threads);

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_CPU_THREADS_H_
