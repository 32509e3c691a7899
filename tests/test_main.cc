// The Catch2 main of every test binary. CTest runs several test binaries at
// once, so OpenMP's spinning is limited as in the tools (runtime/openmp_env.h).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "runtime/openmp_env.h"

int main(int argc, char** argv) {
  sluice::ApplyOpenMpSpinLimit(argv);
  return Catch::Session().run(argc, argv);
}
