// What a device other than the host CPU gives the runtime and its kernels:
// memory, copies to and from the host, and a way to wait for queued work.
// One context per device per Session; a CUDA context (cuda/cuda_context.h)
// also holds the session's stream and library handles.
//
// A tensor on a device is an ordinary Tensor over device memory. Only that
// device's kernels and its context touch its bytes; the plan never reads a
// device tensor on the host except through a `_DeviceToHost` copy step.
#ifndef SLUICE_KERNELS_DEVICE_CONTEXT_H_
#define SLUICE_KERNELS_DEVICE_CONTEXT_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/tensor.h"
#include "kernels/kernel.h"

namespace sluice {

class DeviceContext {
 public:
  virtual ~DeviceContext() = default;

  virtual DeviceType type() const = 0;
  // "cuda:0"; used in errors and dumps.
  virtual std::string name() const = 0;

  // `bytes` of device memory, 256-byte aligned, freed when the last owner
  // goes. Used for plan arenas (one per frame) and variables, never per step.
  // ResourceExhausted naming the size and the device when it does not fit.
  virtual absl::StatusOr<std::shared_ptr<void>> Allocate(int64_t bytes) = 0;

  // Copies ordered after all work queued earlier on this context. CopyToHost
  // returns once the bytes are on the host; the other two may return while
  // the copy is still queued (the source must stay valid until the next
  // Synchronize or CopyToHost).
  virtual absl::Status CopyFromHost(const void* host, void* device, int64_t bytes) = 0;
  virtual absl::Status CopyToHost(const void* device, void* host, int64_t bytes) = 0;
  virtual absl::Status CopyOnDevice(const void* from, void* to, int64_t bytes) = 0;

  // Waits until every queued operation has finished; reports the first
  // asynchronous error.
  virtual absl::Status Synchronize() = 0;

  // Prepares the calling thread to launch work here (CUDA's current device
  // is per thread). The plan calls it before a run's first device step.
  virtual absl::Status MakeCurrent() const { return absl::OkStatus(); }

  // Held by a plan for the whole of a run that has steps on this device:
  // runs on one device queue one after the other anyway, and library
  // handles must not be used from two threads at once.
  std::mutex& run_mutex() { return run_mu_; }

 private:
  std::mutex run_mu_;
};

// A device tensor of `dtype` and `shape` in its own allocation.
absl::StatusOr<Tensor> AllocateOnDevice(DeviceContext& device, DType dtype, const Shape& shape);
// The host copy of a device tensor, and the device copy of a host tensor.
absl::StatusOr<Tensor> CopyTensorToHost(DeviceContext& device, const Tensor& on_device);
absl::StatusOr<Tensor> CopyTensorToDevice(DeviceContext& device, const Tensor& on_host);

}  // namespace sluice

#endif  // SLUICE_KERNELS_DEVICE_CONTEXT_H_
