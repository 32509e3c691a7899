// How long OpenMP threads spin waiting for work, for programs that run on
// shared machines.
//
// The CPU kernels (ours and oneDNN's) run in OpenMP parallel regions. GNU
// OpenMP's threads spin for a long time (about 300,000 iterations) at each
// barrier before they sleep. When the machine has more runnable threads than
// cores, a spinning thread burns the time slice its partner needs to reach
// the barrier, and every parallel region can cost a scheduler tick: a
// training epoch of the Fashion-MNIST MLP measured 0.5 s on a quiet 2-core
// machine and 11-13 s with two busy processes beside it. Spinning 10,000
// iterations instead keeps the quiet-machine time (0.5 s) and cuts the busy
// one to 0.3-1.3 s. The runtime reads the setting only when it loads, so it
// has to be in the environment before the program starts.
#ifndef SLUICE_RUNTIME_OPENMP_ENV_H_
#define SLUICE_RUNTIME_OPENMP_ENV_H_

namespace sluice {

// The spin count used when the user has set neither GOMP_SPINCOUNT nor
// OMP_WAIT_POLICY.
inline constexpr const char* kDefaultOpenMpSpinCount = "10000";

// Call first thing in main(). When neither GOMP_SPINCOUNT nor
// OMP_WAIT_POLICY is set, sets GOMP_SPINCOUNT and starts the program again
// (same arguments) so the OpenMP runtime sees it; otherwise, or if that
// fails, returns and the program goes on as it is.
void ApplyOpenMpSpinLimit(char** argv);

}  // namespace sluice

#endif  // SLUICE_RUNTIME_OPENMP_ENV_H_
