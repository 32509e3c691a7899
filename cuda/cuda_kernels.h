// The CUDA kernel families. RegisterCudaKernels calls each of them; it is the
// one list of what the CUDA device can run. An op without a CUDA kernel runs
// on the CPU, with copies around it (passes/placement.h).
//
// Conventions of the layer:
// - Kernel classes live in .cc files (host compiler, Abseil allowed); the
//   device code they launch lives in .cu files behind plain launch
//   functions (raw pointers, sizes, a cudaStream_t; returning cudaError_t)
//   declared in the family's *_launch.h. nvcc never sees Abseil.
// - Every kernel launches on the session's stream (CudaContext::stream())
//   and never synchronises; library handles come from the context.
// - Primitive descriptors, algorithm choices and workspaces are made when
//   the kernel is created, never in Compute.
#ifndef SLUICE_CUDA_CUDA_KERNELS_H_
#define SLUICE_CUDA_CUDA_KERNELS_H_

namespace sluice {
class KernelRegistry;
}

namespace sluice::cuda {

// Also registers the kernels every device shares (kernels/device_kernels.h):
// copies, constants, views, variables and Assign.
void RegisterCudaKernels(KernelRegistry& registry);

void RegisterStateKernels(KernelRegistry& registry);        // cuda/state.cc (AssignAdd/Sub)
void RegisterMatMulKernels(KernelRegistry& registry);       // cuda/matmul.cc
void RegisterReductionKernels(KernelRegistry& registry);    // cuda/reduction.cc
void RegisterNnKernels(KernelRegistry& registry);           // cuda/nn.cc
void RegisterNnGradKernels(KernelRegistry& registry);       // cuda/nn_grad.cc
void RegisterElementwiseKernels(KernelRegistry& registry);  // cuda/elementwise.cc
void RegisterTrainingKernels(KernelRegistry& registry);     // cuda/training.cc
void RegisterRandomKernels(KernelRegistry& registry);       // cuda/random.cc
void RegisterArrayKernels(KernelRegistry& registry);        // cuda/array.cc

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_CUDA_KERNELS_H_
