#include "runtime/devices.h"

#include "absl/strings/str_cat.h"
#ifdef SLUICE_HAVE_CUDA
#include "cuda/cuda_context.h"
#endif

namespace sluice {

absl::string_view DevicePolicyName(DevicePolicy policy) {
  switch (policy) {
    case DevicePolicy::kAuto: return "auto";
    case DevicePolicy::kCpu: return "cpu";
    case DevicePolicy::kCuda: return "cuda";
  }
  return "?";
}

absl::StatusOr<DevicePolicy> ParseDevicePolicy(absl::string_view name) {
  for (DevicePolicy p : {DevicePolicy::kAuto, DevicePolicy::kCpu, DevicePolicy::kCuda}) {
    if (name == DevicePolicyName(p)) return p;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown device '", name, "': expected auto, cpu or cuda"));
}

absl::StatusOr<std::unique_ptr<DeviceContext>> OpenAccelerator(DevicePolicy policy) {
  if (policy == DevicePolicy::kCpu) return nullptr;
#ifdef SLUICE_HAVE_CUDA
  absl::StatusOr<std::unique_ptr<cuda::CudaContext>> context = cuda::CudaContext::Create(0);
  if (context.ok()) return std::unique_ptr<DeviceContext>(std::move(*context));
  if (policy == DevicePolicy::kAuto) return nullptr;
  return absl::FailedPreconditionError(
      absl::StrCat("device 'cuda' was requested, but ", context.status().message()));
#else
  if (policy == DevicePolicy::kAuto) return nullptr;
  return absl::FailedPreconditionError(
      "device 'cuda' was requested, but this build of Sluice has no CUDA layer (configure "
      "with -DSLUICE_CUDA=ON on a machine with the CUDA toolkit and cuDNN)");
#endif
}

absl::StatusOr<std::unique_ptr<Session>> CreateSessionWithDevice(
    const Graph& graph, const SessionOptions& options, const KernelRegistry* kernels,
    std::unique_ptr<DeviceContext> accelerator) {
  return Session::CreateWith(graph, options, kernels, std::move(accelerator));
}

}  // namespace sluice
