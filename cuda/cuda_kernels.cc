#include "cuda/cuda_kernels.h"

#include "kernels/device_kernels.h"
#include "kernels/kernel_registry.h"

namespace sluice::cuda {

void RegisterCudaKernels(KernelRegistry& registry) {
  RegisterDeviceKernels(registry, DeviceType::kCuda);
  RegisterStateKernels(registry);
  RegisterMatMulKernels(registry);
  RegisterReductionKernels(registry);
  RegisterNnKernels(registry);
  RegisterNnGradKernels(registry);
  RegisterElementwiseKernels(registry);
  RegisterTrainingKernels(registry);
  RegisterRandomKernels(registry);
  RegisterArrayKernels(registry);
}

}  // namespace sluice::cuda
