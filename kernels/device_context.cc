#include "kernels/device_context.h"

#include "graph/status_macros.h"

namespace sluice {

absl::StatusOr<Tensor> AllocateOnDevice(DeviceContext& device, DType dtype, const Shape& shape) {
  ASSIGN_OR_RETURN(const int64_t elements, shape.CheckedNumElements());
  const int64_t bytes = elements * static_cast<int64_t>(DTypeSize(dtype));
  ASSIGN_OR_RETURN(std::shared_ptr<void> memory, device.Allocate(bytes));
  void* data = memory.get();
  return Tensor::WrapBuffer(dtype, shape, std::move(memory), data);
}

absl::StatusOr<Tensor> CopyTensorToHost(DeviceContext& device, const Tensor& on_device) {
  Tensor host(on_device.dtype(), on_device.shape());
  if (host.num_bytes() > 0) {
    RETURN_IF_ERROR(device.CopyToHost(on_device.raw_data(), host.raw_data(),
                                      static_cast<int64_t>(host.num_bytes())));
  }
  return host;
}

absl::StatusOr<Tensor> CopyTensorToDevice(DeviceContext& device, const Tensor& on_host) {
  ASSIGN_OR_RETURN(Tensor on_device, AllocateOnDevice(device, on_host.dtype(), on_host.shape()));
  if (on_host.num_bytes() > 0) {
    RETURN_IF_ERROR(device.CopyFromHost(on_host.raw_data(), on_device.raw_data(),
                                        static_cast<int64_t>(on_host.num_bytes())));
  }
  return on_device;
}

}  // namespace sluice
