#include "runtime/openmp_env.h"

#include <unistd.h>

#include <cstdlib>

namespace sluice {

void ApplyOpenMpSpinLimit(char** argv) {
  if (std::getenv("GOMP_SPINCOUNT") != nullptr || std::getenv("OMP_WAIT_POLICY") != nullptr) {
    return;
  }
  if (setenv("GOMP_SPINCOUNT", kDefaultOpenMpSpinCount, 1) != 0) return;
  execv("/proc/self/exe", argv);
  // Only reached when exec failed: keep running with the runtime's default.
}

}  // namespace sluice
