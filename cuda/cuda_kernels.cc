#include "cuda/cuda_kernels.h"

#include "kernels/kernel_registry.h"

namespace sluice::cuda {

void RegisterCudaKernels(KernelRegistry& registry) {
  RegisterCopyKernels(registry);
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
