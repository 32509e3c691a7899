// The kernels every session uses: the CPU kernels, plus the CUDA kernels
// when that layer is built.
#ifndef SLUICE_RUNTIME_KERNEL_SETUP_H_
#define SLUICE_RUNTIME_KERNEL_SETUP_H_

#include "kernels/kernel_registry.h"

namespace sluice {

const KernelRegistry& GlobalKernelRegistry();

}  // namespace sluice

#endif  // SLUICE_RUNTIME_KERNEL_SETUP_H_
