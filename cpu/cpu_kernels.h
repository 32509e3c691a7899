// The CPU kernel families. RegisterCpuKernels calls each of them; it is the
// one list of what the CPU device can run.
#ifndef SLUICE_CPU_CPU_KERNELS_H_
#define SLUICE_CPU_CPU_KERNELS_H_

namespace sluice {
class KernelRegistry;
}

namespace sluice::cpu {

void RegisterCpuKernels(KernelRegistry& registry);

void RegisterStateKernels(KernelRegistry& registry);        // cpu/state.cc
void RegisterElementwiseKernels(KernelRegistry& registry);  // cpu/elementwise.cc
void RegisterMatMulKernels(KernelRegistry& registry);       // cpu/matmul.cc
void RegisterNnKernels(KernelRegistry& registry);           // cpu/nn.cc
void RegisterNnGradKernels(KernelRegistry& registry);       // cpu/nn_grad.cc
void RegisterReductionKernels(KernelRegistry& registry);    // cpu/reduction.cc
void RegisterArrayKernels(KernelRegistry& registry);        // cpu/array.cc
void RegisterArrayGradKernels(KernelRegistry& registry);    // cpu/array_grad.cc
void RegisterRandomKernels(KernelRegistry& registry);       // cpu/random.cc
void RegisterTrainingKernels(KernelRegistry& registry);     // cpu/training.cc
void RegisterFusedKernels(KernelRegistry& registry);        // cpu/fused.cc
void RegisterLayoutKernels(KernelRegistry& registry);       // cpu/layout.cc

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_CPU_KERNELS_H_
