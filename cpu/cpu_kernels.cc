#include "cpu/cpu_kernels.h"

#include "kernels/kernel_registry.h"

namespace sluice::cpu {

void RegisterCpuKernels(KernelRegistry& registry) {
  RegisterStateKernels(registry);
  RegisterElementwiseKernels(registry);
  RegisterMatMulKernels(registry);
  RegisterNnKernels(registry);
  RegisterReductionKernels(registry);
  RegisterArrayKernels(registry);
  RegisterRandomKernels(registry);
}

}  // namespace sluice::cpu
