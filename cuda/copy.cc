// The copies the placement pass puts where a value crosses between host and
// device. Both run on the device's stream through the context's pinned
// staging buffer; `_DeviceToHost` returns once the bytes are on the host, so
// the CPU steps after it read finished values.
#include "cuda/cuda_kernel_util.h"
#include "cuda/cuda_kernels.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"

namespace sluice::cuda {
namespace {

const std::vector<DType> kAll(std::begin(kAllDTypes), std::end(kAllDTypes));

class HostToDeviceKernel final : public OpKernel {
 public:
  explicit HostToDeviceKernel(CudaContext* context) : context_(context) {}
  absl::Status Compute(const KernelContext& ctx) override {
    const Tensor& in = ctx.input(0);
    if (in.num_bytes() == 0) return absl::OkStatus();
    return context_->CopyFromHost(in.raw_data(), ctx.output(0).raw_data(),
                                  static_cast<int64_t>(in.num_bytes()));
  }

 private:
  CudaContext* const context_;
};

class DeviceToHostKernel final : public OpKernel {
 public:
  explicit DeviceToHostKernel(CudaContext* context) : context_(context) {}
  absl::Status Compute(const KernelContext& ctx) override {
    const Tensor& in = ctx.input(0);
    if (in.num_bytes() == 0) return absl::OkStatus();
    return context_->CopyToHost(in.raw_data(), ctx.output(0).raw_data(),
                                static_cast<int64_t>(in.num_bytes()));
  }

 private:
  CudaContext* const context_;
};

}  // namespace

void RegisterCopyKernels(KernelRegistry& r) {
  r.Register("_HostToDevice", DeviceType::kCuda, kAll,
             [](const KernelInit& init) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
               return std::make_unique<HostToDeviceKernel>(context);
             });
  r.Register("_DeviceToHost", DeviceType::kCuda, kAll,
             [](const KernelInit& init) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
               return std::make_unique<DeviceToHostKernel>(context);
             });
}

}  // namespace sluice::cuda
