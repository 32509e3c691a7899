#include "cuda/cuda_kernel_util.h"

#include "absl/strings/str_cat.h"

namespace sluice::cuda {

absl::StatusOr<CudaContext*> CudaContextOf(const KernelInit& init) {
  auto* context = dynamic_cast<CudaContext*>(init.device_context);
  if (context == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(init.node.DebugName(), ": a CUDA kernel was created without a CUDA context"));
  }
  return context;
}

}  // namespace sluice::cuda
