#include "cuda/cuda_status.h"

#include "absl/strings/str_cat.h"

namespace sluice::cuda {

absl::Status CudaError(absl::string_view call, cudaError_t error) {
  const std::string message =
      absl::StrCat(call, " failed: ", cudaGetErrorName(error), " (", cudaGetErrorString(error), ")");
  if (error == cudaErrorMemoryAllocation) return absl::ResourceExhaustedError(message);
  return absl::InternalError(message);
}

absl::Status CublasError(absl::string_view call, cublasStatus_t status) {
  const std::string message = absl::StrCat(call, " failed: ", cublasGetStatusName(status), " (",
                                           cublasGetStatusString(status), ")");
  if (status == CUBLAS_STATUS_ALLOC_FAILED) return absl::ResourceExhaustedError(message);
  if (status == CUBLAS_STATUS_NOT_SUPPORTED) return absl::UnimplementedError(message);
  return absl::InternalError(message);
}

absl::Status CudnnError(absl::string_view call, cudnnStatus_t status) {
  const std::string message = absl::StrCat(call, " failed: ", cudnnGetErrorString(status));
  if (status == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
      status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED) {
    return absl::ResourceExhaustedError(message);
  }
  if (status == CUDNN_STATUS_NOT_SUPPORTED) return absl::UnimplementedError(message);
  return absl::InternalError(message);
}

}  // namespace sluice::cuda
