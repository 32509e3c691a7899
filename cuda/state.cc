// CUDA kernels of the state family beyond those every device shares
// (kernels/device_kernels.h): the accumulating assignments, which need a
// device kernel of their own.
#include "absl/strings/str_cat.h"
#include "cuda/cuda_kernel_util.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_status.h"
#include "cuda/state_launch.h"
#include "graph/status_macros.h"
#include "kernels/device_kernels.h"
#include "kernels/kernel_registry.h"
#include "kernels/variable_store.h"

namespace sluice::cuda {
namespace {

absl::StatusOr<AccumulateType> AccumulateTypeOf(DType dtype) {
  switch (dtype) {
    case DType::kF32: return AccumulateType::kF32;
    case DType::kF64: return AccumulateType::kF64;
    case DType::kI32: return AccumulateType::kI32;
    case DType::kI64: return AccumulateType::kI64;
    case DType::kF16: return AccumulateType::kF16;
    case DType::kBF16: return AccumulateType::kBF16;
    default:
      return absl::UnimplementedError(
          absl::StrCat("AssignAdd/AssignSub on CUDA do not support ", DTypeName(dtype)));
  }
}

// AssignAdd (sign 1) and AssignSub (sign -1): one launch over the variable.
class AccumulateKernel final : public OpKernel {
 public:
  AccumulateKernel(CudaContext* context, VariableSlot* slot, AccumulateType type, int sign)
      : context_(context), slot_(slot), type_(type), sign_(sign) {}

  absl::Status Compute(const KernelContext& ctx) override {
    RETURN_IF_ERROR(slot_->CheckInitialized());
    Tensor& dst = slot_->mutable_value_unlocked();
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchAccumulate(type_, dst.raw_data(), ctx.input(1).raw_data(),
                                                 dst.num_elements(), sign_, context_->stream()));
    ctx.output(0) = slot_->value();
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }

 private:
  CudaContext* const context_;
  VariableSlot* const slot_;
  const AccumulateType type_;
  const int sign_;
};

absl::StatusOr<std::unique_ptr<OpKernel>> MakeAccumulate(const KernelInit& init, int sign) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  ASSIGN_OR_RETURN(const AccumulateType type, AccumulateTypeOf(init.input_dtype(1)));
  ASSIGN_OR_RETURN(VariableSlot * slot, DeviceVariableSlot(init, *init.node.input(0).node));
  return std::make_unique<AccumulateKernel>(context, slot, type, sign);
}

}  // namespace

void RegisterStateKernels(KernelRegistry& r) {
  const std::vector<DType> accumulable = {DType::kF32, DType::kF64, DType::kI32,
                                          DType::kI64, DType::kF16, DType::kBF16};
  r.Register("AssignAdd", DeviceType::kCuda, accumulable,
             [](const KernelInit& init) { return MakeAccumulate(init, 1); });
  r.Register("AssignSub", DeviceType::kCuda, accumulable,
             [](const KernelInit& init) { return MakeAccumulate(init, -1); });
}

}  // namespace sluice::cuda
