// CUDA device discovery.
#ifndef SLUICE_CUDA_DEVICE_QUERY_H_
#define SLUICE_CUDA_DEVICE_QUERY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sluice::cuda {

struct CudaDeviceInfo {
  int ordinal = 0;
  std::string name;
  int compute_capability_major = 0;
  int compute_capability_minor = 0;
  int64_t total_memory_bytes = 0;
  int multiprocessor_count = 0;
};

// Every CUDA device the driver reports. With no driver or no device this is
// an Unavailable error that says which, never a crash.
absl::StatusOr<std::vector<CudaDeviceInfo>> QueryCudaDevices();

// The CUDA runtime version this layer was built against, e.g. "13.0".
std::string CudaRuntimeVersion();

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_DEVICE_QUERY_H_
