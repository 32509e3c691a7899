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
void RegisterReductionKernels(KernelRegistry& registry);    // cpu/reduction.cc
void RegisterArrayKernels(KernelRegistry& registry);        // cpu/array.cc
void RegisterRandomKernels(KernelRegistry& registry);       // cpu/random.cc

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_CPU_KERNELS_H_
