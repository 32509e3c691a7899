#include "runtime/kernel_setup.h"

#include "cpu/cpu_kernels.h"

namespace sluice {

const KernelRegistry& GlobalKernelRegistry() {
  static const KernelRegistry* registry = [] {
    auto* r = new KernelRegistry;
    cpu::RegisterCpuKernels(*r);
    return r;
  }();
  return *registry;
}

}  // namespace sluice
