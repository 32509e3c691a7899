// CUDA kernels of the training family (not yet written: these ops run on the CPU).
#include "cuda/cuda_kernels.h"
#include "kernels/kernel_registry.h"

namespace sluice::cuda {

void RegisterTrainingKernels(KernelRegistry& registry) {}

}  // namespace sluice::cuda
