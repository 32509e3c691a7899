#include "cuda/cuda_context.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "cuda/cuda_status.h"
#include "graph/status_macros.h"

namespace sluice::cuda {
namespace {

// Copies larger than this go through the staging buffer in pieces.
constexpr int64_t kMaxStagingBytes = int64_t{64} << 20;

}  // namespace

absl::StatusOr<std::unique_ptr<CudaContext>> CudaContext::Create(int ordinal) {
  int count = 0;
  if (const cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess || count == 0) {
    return absl::UnavailableError(absl::StrCat(
        "no usable CUDA device: ",
        e != cudaSuccess ? absl::StrCat("cudaGetDeviceCount failed: ", cudaGetErrorString(e))
                         : std::string("none found")));
  }
  if (ordinal < 0 || ordinal >= count) {
    return absl::UnavailableError(absl::StrCat("no CUDA device ", ordinal, ": there are ", count));
  }
  auto context = std::unique_ptr<CudaContext>(new CudaContext);
  context->ordinal_ = ordinal;
  SLUICE_CUDA_RETURN_IF_ERROR(cudaSetDevice(ordinal));
  SLUICE_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&context->properties_, ordinal));
  SLUICE_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&context->stream_, cudaStreamNonBlocking));
  SLUICE_CUDA_RETURN_IF_ERROR(
      cudaEventCreateWithFlags(&context->staging_ready_, cudaEventDisableTiming));
  SLUICE_CUBLAS_RETURN_IF_ERROR(cublasCreate(&context->cublas_));
  SLUICE_CUBLAS_RETURN_IF_ERROR(cublasSetStream(context->cublas_, context->stream_));
  SLUICE_CUBLAS_RETURN_IF_ERROR(cublasLtCreate(&context->cublas_lt_));
  SLUICE_CUDNN_RETURN_IF_ERROR(cudnnCreate(&context->cudnn_));
  SLUICE_CUDNN_RETURN_IF_ERROR(cudnnSetStream(context->cudnn_, context->stream_));
  return context;
}

CudaContext::~CudaContext() {
  // Errors here have nowhere to go; the process keeps running.
  cudaSetDevice(ordinal_);
  if (stream_ != nullptr) cudaStreamSynchronize(stream_);
  workspace_.reset();
  if (cudnn_ != nullptr) cudnnDestroy(cudnn_);
  if (cublas_lt_ != nullptr) cublasLtDestroy(cublas_lt_);
  if (cublas_ != nullptr) cublasDestroy(cublas_);
  if (staging_ != nullptr) cudaFreeHost(staging_);
  if (staging_ready_ != nullptr) cudaEventDestroy(staging_ready_);
  if (stream_ != nullptr) cudaStreamDestroy(stream_);
}

std::string CudaContext::name() const { return absl::StrCat("cuda:", ordinal_); }

absl::Status CudaContext::MakeCurrent() const {
  SLUICE_CUDA_RETURN_IF_ERROR(cudaSetDevice(ordinal_));
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<void>> CudaContext::Allocate(int64_t bytes) {
  RETURN_IF_ERROR(MakeCurrent());
  void* memory = nullptr;
  const cudaError_t error = cudaMalloc(&memory, static_cast<size_t>(std::max<int64_t>(bytes, 256)));
  if (error != cudaSuccess) {
    cudaGetLastError();  // clear the sticky-free error so later calls work
    size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    const std::string message =
        absl::StrCat("cannot allocate ", bytes, " bytes on ", name(), " (", free_bytes,
                     " of ", total_bytes, " bytes free): ", cudaGetErrorString(error));
    if (error == cudaErrorMemoryAllocation) return absl::ResourceExhaustedError(message);
    return absl::InternalError(message);
  }
  const int ordinal = ordinal_;
  return std::shared_ptr<void>(memory, [ordinal](void* p) {
    cudaSetDevice(ordinal);
    cudaFree(p);
  });
}

absl::Status CudaContext::GrowStaging(int64_t bytes) {
  if (bytes <= staging_bytes_) return absl::OkStatus();
  // The old buffer may still feed a queued upload.
  SLUICE_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(staging_ready_));
  if (staging_ != nullptr) SLUICE_CUDA_RETURN_IF_ERROR(cudaFreeHost(staging_));
  staging_ = nullptr;
  staging_bytes_ = 0;
  SLUICE_CUDA_RETURN_IF_ERROR(cudaMallocHost(&staging_, static_cast<size_t>(bytes)));
  staging_bytes_ = bytes;
  return absl::OkStatus();
}

absl::Status CudaContext::CopyFromHost(const void* host, void* device, int64_t bytes) {
  std::lock_guard<std::mutex> lock(staging_mu_);
  RETURN_IF_ERROR(GrowStaging(std::min(bytes, kMaxStagingBytes)));
  for (int64_t done = 0; done < bytes;) {
    const int64_t n = std::min(bytes - done, staging_bytes_);
    // The previous upload through the buffer must have left it.
    SLUICE_CUDA_RETURN_IF_ERROR(cudaEventSynchronize(staging_ready_));
    std::memcpy(staging_, static_cast<const char*>(host) + done, static_cast<size_t>(n));
    SLUICE_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(static_cast<char*>(device) + done, staging_,
                                                static_cast<size_t>(n), cudaMemcpyHostToDevice,
                                                stream_));
    SLUICE_CUDA_RETURN_IF_ERROR(cudaEventRecord(staging_ready_, stream_));
    done += n;
  }
  return absl::OkStatus();
}

absl::Status CudaContext::CopyToHost(const void* device, void* host, int64_t bytes) {
  std::lock_guard<std::mutex> lock(staging_mu_);
  RETURN_IF_ERROR(GrowStaging(std::min(bytes, kMaxStagingBytes)));
  for (int64_t done = 0; done < bytes;) {
    const int64_t n = std::min(bytes - done, staging_bytes_);
    SLUICE_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(staging_, static_cast<const char*>(device) + done,
                                                static_cast<size_t>(n), cudaMemcpyDeviceToHost,
                                                stream_));
    SLUICE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
    std::memcpy(static_cast<char*>(host) + done, staging_, static_cast<size_t>(n));
    done += n;
  }
  return absl::OkStatus();
}

absl::Status CudaContext::CopyOnDevice(const void* from, void* to, int64_t bytes) {
  SLUICE_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(to, from, static_cast<size_t>(bytes), cudaMemcpyDeviceToDevice, stream_));
  return absl::OkStatus();
}

absl::Status CudaContext::Synchronize() {
  SLUICE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream_));
  return absl::OkStatus();
}

absl::Status CudaContext::ReserveWorkspace(int64_t bytes) {
  std::lock_guard<std::mutex> lock(workspace_mu_);
  if (bytes <= workspace_bytes_) return absl::OkStatus();
  // Queued kernels may still use the old workspace.
  RETURN_IF_ERROR(Synchronize());
  workspace_.reset();
  workspace_bytes_ = 0;
  ASSIGN_OR_RETURN(workspace_, Allocate(bytes));
  workspace_bytes_ = bytes;
  return absl::OkStatus();
}

}  // namespace sluice::cuda
