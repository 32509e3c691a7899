#include "cpu/cpu_kernels.h"

#include "kernels/kernel_registry.h"

namespace sluice::cpu {

void RegisterCpuKernels(KernelRegistry& registry) {
  RegisterStateKernels(registry);
  RegisterElementwiseKernels(registry);
  RegisterMatMulKernels(registry);
  RegisterNnKernels(registry);
  RegisterNnGradKernels(registry);
  RegisterReductionKernels(registry);
  RegisterArrayKernels(registry);
  RegisterArrayGradKernels(registry);
  RegisterRandomKernels(registry);
  RegisterTrainingKernels(registry);
  RegisterFusedKernels(registry);
  RegisterLayoutKernels(registry);
}

}  // namespace sluice::cpu
