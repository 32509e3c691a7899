#include "cuda/device_query.h"

#include <cuda_runtime_api.h>

#include "absl/strings/str_cat.h"

namespace sluice::cuda {

absl::StatusOr<std::vector<CudaDeviceInfo>> QueryCudaDevices() {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    return absl::UnavailableError(absl::StrCat("no usable CUDA device: cudaGetDeviceCount failed: ",
                                               cudaGetErrorString(err)));
  }
  if (count == 0) return absl::UnavailableError("no usable CUDA device: none found");
  std::vector<CudaDeviceInfo> devices;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    const cudaError_t e = cudaGetDeviceProperties(&prop, i);
    if (e != cudaSuccess) {
      return absl::UnavailableError(absl::StrCat("cudaGetDeviceProperties(", i,
                                                 ") failed: ", cudaGetErrorString(e)));
    }
    devices.push_back({i, prop.name, prop.major, prop.minor,
                       static_cast<int64_t>(prop.totalGlobalMem), prop.multiProcessorCount});
  }
  return devices;
}

std::string CudaRuntimeVersion() {
  return absl::StrCat(CUDART_VERSION / 1000, ".", (CUDART_VERSION % 1000) / 10);
}

}  // namespace sluice::cuda
