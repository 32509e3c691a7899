#include "runtime/kernel_setup.h"

#include "cpu/cpu_kernels.h"
#ifdef SLUICE_HAVE_CUDA
#include "cuda/cuda_kernels.h"
#endif

namespace sluice {

const KernelRegistry& GlobalKernelRegistry() {
  static const KernelRegistry* registry = [] {
    auto* r = new KernelRegistry;
    cpu::RegisterCpuKernels(*r);
#ifdef SLUICE_HAVE_CUDA
    // Registering needs no GPU; the kernels are only created on one.
    cuda::RegisterCudaKernels(*r);
#endif
    return r;
  }();
  return *registry;
}

}  // namespace sluice
