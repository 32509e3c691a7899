// CUDA, cuBLAS and cuDNN error codes as absl::Status. Every call into those
// libraries goes through one of the RETURN_IF_* macros below, so a failure
// names the call; the executor prefixes the node.
#ifndef SLUICE_CUDA_CUDA_STATUS_H_
#define SLUICE_CUDA_CUDA_STATUS_H_

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sluice::cuda {

// `call` is the source text of the failing call. Out-of-memory codes become
// ResourceExhausted; everything else Internal.
absl::Status CudaError(absl::string_view call, cudaError_t error);
absl::Status CublasError(absl::string_view call, cublasStatus_t status);
absl::Status CudnnError(absl::string_view call, cudnnStatus_t status);

}  // namespace sluice::cuda

#define SLUICE_CUDA_RETURN_IF_ERROR(expr)                                          \
  do {                                                                             \
    const cudaError_t sluice_cuda_error_ = (expr);                                 \
    if (sluice_cuda_error_ != cudaSuccess) {                                       \
      return ::sluice::cuda::CudaError(#expr, sluice_cuda_error_);                 \
    }                                                                              \
  } while (false)

#define SLUICE_CUBLAS_RETURN_IF_ERROR(expr)                                        \
  do {                                                                             \
    const cublasStatus_t sluice_cublas_status_ = (expr);                           \
    if (sluice_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                          \
      return ::sluice::cuda::CublasError(#expr, sluice_cublas_status_);            \
    }                                                                              \
  } while (false)

#define SLUICE_CUDNN_RETURN_IF_ERROR(expr)                                         \
  do {                                                                             \
    const cudnnStatus_t sluice_cudnn_status_ = (expr);                             \
    if (sluice_cudnn_status_ != CUDNN_STATUS_SUCCESS) {                            \
      return ::sluice::cuda::CudnnError(#expr, sluice_cudnn_status_);              \
    }                                                                              \
  } while (false)

// After a launch of one of our own kernels (<<<...>>> reports only through
// cudaGetLastError).
#define SLUICE_CUDA_RETURN_IF_LAUNCH_FAILED(kernel_name)                           \
  SLUICE_CUDA_RETURN_IF_ERROR((static_cast<void>(kernel_name), cudaGetLastError()))

#endif  // SLUICE_CUDA_CUDA_STATUS_H_
