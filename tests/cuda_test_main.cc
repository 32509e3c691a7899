// The main of the CUDA test binaries: without a usable GPU they run nothing
// and exit with 77, which CTest reports as skipped (SKIP_RETURN_CODE).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <string>

#include "cuda/device_query.h"
#include "runtime/openmp_env.h"

int main(int argc, char** argv) {
  sluice::ApplyOpenMpSpinLimit(argv);
  bool listing = false;
  for (int i = 1; i < argc; ++i) listing |= std::string(argv[i]).rfind("--list", 0) == 0;
  if (!listing) {
    auto devices = sluice::cuda::QueryCudaDevices();
    if (!devices.ok()) {
      std::printf("skipped: %s\n", std::string(devices.status().message()).c_str());
      return 77;
    }
  }
  return Catch::Session().run(argc, argv);
}
