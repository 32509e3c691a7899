// CUDA kernels of the matmul family (not yet written: these ops run on the CPU).
#include "cuda/cuda_kernels.h"
#include "kernels/kernel_registry.h"

namespace sluice::cuda {

void RegisterMatMulKernels(KernelRegistry& registry) {}

}  // namespace sluice::cuda
