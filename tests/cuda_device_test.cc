// CUDA device discovery: a clean answer with or without a GPU.
#include <catch2/catch.hpp>

#include "cuda/device_query.h"

namespace sluice {
namespace {

using Catch::Matchers::StartsWith;

TEST_CASE("Device query lists GPUs or says plainly that there are none") {
  auto devices = cuda::QueryCudaDevices();
  if (devices.ok()) {
    REQUIRE_FALSE(devices->empty());
    for (const cuda::CudaDeviceInfo& d : *devices) {
      CHECK_FALSE(d.name.empty());
      CHECK(d.compute_capability_major >= 3);
      CHECK(d.total_memory_bytes > 0);
      CHECK(d.multiprocessor_count > 0);
    }
  } else {
    WARN("no GPU here: " << devices.status().message());
    CHECK(devices.status().code() == absl::StatusCode::kUnavailable);
    CHECK_THAT(std::string(devices.status().message()), StartsWith("no usable CUDA device"));
  }
  CHECK(cuda::CudaRuntimeVersion().find('.') != std::string::npos);
}

}  // namespace
}  // namespace sluice
