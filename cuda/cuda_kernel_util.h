// What every CUDA kernel class needs: its session's context.
#ifndef SLUICE_CUDA_CUDA_KERNEL_UTIL_H_
#define SLUICE_CUDA_CUDA_KERNEL_UTIL_H_

#include "absl/status/statusor.h"
#include "cuda/cuda_context.h"
#include "kernels/kernel.h"

namespace sluice::cuda {

// The CUDA context a kernel is created for; FailedPrecondition naming the
// node when the plan gave none (a bug in the caller, never user input).
absl::StatusOr<CudaContext*> CudaContextOf(const KernelInit& init);

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_CUDA_KERNEL_UTIL_H_
