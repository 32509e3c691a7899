// A Session's CUDA device: its stream, library handles, workspace and the
// pinned staging buffers that feeds and fetches pass through.
//
// Every kernel of a session launches on the one stream, in plan order, so
// kernels never synchronise with each other. The host waits only where a
// value comes back (`_DeviceToHost`, which the plan places before any CPU
// step that reads it) and at the end of a run.
#ifndef SLUICE_CUDA_CUDA_CONTEXT_H_
#define SLUICE_CUDA_CUDA_CONTEXT_H_

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "kernels/device_context.h"

namespace sluice::cuda {

class CudaContext final : public DeviceContext {
 public:
  // Opens device `ordinal`: a non-blocking stream, cuBLAS, cuBLASLt and cuDNN
  // handles bound to it. Unavailable when there is no such device.
  static absl::StatusOr<std::unique_ptr<CudaContext>> Create(int ordinal = 0);
  ~CudaContext() override;
  CudaContext(const CudaContext&) = delete;
  CudaContext& operator=(const CudaContext&) = delete;

  DeviceType type() const override { return DeviceType::kCuda; }
  std::string name() const override;
  absl::StatusOr<std::shared_ptr<void>> Allocate(int64_t bytes) override;
  absl::Status CopyFromHost(const void* host, void* device, int64_t bytes) override;
  absl::Status CopyToHost(const void* device, void* host, int64_t bytes) override;
  absl::Status CopyOnDevice(const void* from, void* to, int64_t bytes) override;
  absl::Status Synchronize() override;

  int ordinal() const { return ordinal_; }
  const cudaDeviceProp& properties() const { return properties_; }
  cudaStream_t stream() const { return stream_; }
  cublasHandle_t cublas() const { return cublas_; }
  cublasLtHandle_t cublas_lt() const { return cublas_lt_; }
  cudnnHandle_t cudnn() const { return cudnn_; }

  // Scratch memory for library calls (cuDNN algorithms, cuBLASLt). Kernels
  // reserve what they need when they are created and read workspace() when
  // they run; work on the one stream is ordered, so all kernels share it.
  absl::Status ReserveWorkspace(int64_t bytes);
  void* workspace() const { return workspace_.get(); }
  int64_t workspace_bytes() const { return workspace_bytes_; }

  // Makes this context's device current on the calling thread (the CUDA
  // runtime's current device is per thread).
  absl::Status MakeCurrent() const override;

 private:
  CudaContext() = default;

  int ordinal_ = 0;
  cudaDeviceProp properties_{};
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cublasLtHandle_t cublas_lt_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;

  std::mutex workspace_mu_;
  std::shared_ptr<void> workspace_;
  int64_t workspace_bytes_ = 0;

  // Pinned host memory that host<->device copies go through: pageable
  // copies are synchronous and slower. Guarded by staging_mu_; an upload
  // that used the buffer is complete once staging_ready_ has fired.
  std::mutex staging_mu_;
  void* staging_ = nullptr;
  int64_t staging_bytes_ = 0;
  cudaEvent_t staging_ready_ = nullptr;
  absl::Status GrowStaging(int64_t bytes);
};

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_CUDA_CONTEXT_H_
