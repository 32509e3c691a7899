// CUDA kernels of the state family: constants (uploaded once, when the plan
// is compiled), variables held in device memory, assignments, plumbing.
#include "absl/strings/str_cat.h"
#include "cuda/cuda_kernel_util.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_status.h"
#include "cuda/state_launch.h"
#include "graph/status_macros.h"
#include "kernels/device_context.h"
#include "kernels/kernel_registry.h"
#include "kernels/variable_store.h"

namespace sluice::cuda {
namespace {

const std::vector<DType> kAll(std::begin(kAllDTypes), std::end(kAllDTypes));

class ConstKernel final : public OpKernel {
 public:
  explicit ConstKernel(Tensor on_device) : value_(std::move(on_device)) {}
  absl::Status Compute(const KernelContext& ctx) override {
    ctx.output(0) = value_;
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }

 private:
  const Tensor value_;
};

class ForwardKernel final : public OpKernel {
 public:
  absl::Status Compute(const KernelContext& ctx) override {
    ctx.output(0) = ctx.input(0);
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }
};

class NoOpKernel final : public OpKernel {
 public:
  absl::Status Compute(const KernelContext&) override { return absl::OkStatus(); }
};

bool IsAssignOp(const std::string& op) {
  return op == "Assign" || op == "AssignAdd" || op == "AssignSub";
}

// As on the CPU: a plan that only assigns to the variable (its initializer)
// may run before the variable holds a value.
class VariableKernel final : public OpKernel {
 public:
  VariableKernel(VariableSlot* slot, bool value_read) : slot_(slot), value_read_(value_read) {}
  absl::Status Compute(const KernelContext& ctx) override {
    if (!slot_->initialized()) {
      if (value_read_) return slot_->CheckInitialized();
      ctx.output(0) = Tensor();
      return absl::OkStatus();
    }
    ctx.output(0) = slot_->value();
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }

 private:
  VariableSlot* const slot_;
  const bool value_read_;
};

enum class AssignMode { kSet, kAdd, kSub };

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

class AssignKernel final : public OpKernel {
 public:
  AssignKernel(CudaContext* context, VariableSlot* slot, AssignMode mode)
      : context_(context), slot_(slot), mode_(mode) {}

  absl::Status Compute(const KernelContext& ctx) override {
    const Tensor& value = ctx.input(1);
    if (mode_ == AssignMode::kSet) {
      if (!slot_->initialized() || slot_->value().shape() != value.shape()) {
        ASSIGN_OR_RETURN(Tensor fresh, AllocateOnDevice(*context_, value.dtype(), value.shape()));
        RETURN_IF_ERROR(context_->CopyOnDevice(value.raw_data(), fresh.raw_data(),
                                               static_cast<int64_t>(value.num_bytes())));
        slot_->Set(std::move(fresh));
      } else {
        RETURN_IF_ERROR(context_->CopyOnDevice(value.raw_data(),
                                               slot_->mutable_value_unlocked().raw_data(),
                                               static_cast<int64_t>(value.num_bytes())));
      }
    } else {
      RETURN_IF_ERROR(slot_->CheckInitialized());
      Tensor& dst = slot_->mutable_value_unlocked();
      ASSIGN_OR_RETURN(const AccumulateType type, AccumulateTypeOf(dst.dtype()));
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchAccumulate(type, dst.raw_data(), value.raw_data(),
                                                   dst.num_elements(),
                                                   mode_ == AssignMode::kAdd ? 1 : -1,
                                                   context_->stream()));
    }
    ctx.output(0) = slot_->value();
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }

 private:
  CudaContext* const context_;
  VariableSlot* const slot_;
  const AssignMode mode_;
};

absl::StatusOr<VariableSlot*> SlotFor(const KernelInit& init, const Node& variable,
                                      CudaContext* context) {
  if (init.variables == nullptr) {
    return absl::FailedPreconditionError("variables need a session's variable store");
  }
  ASSIGN_OR_RETURN(VariableSlot * slot,
                   init.variables->GetOrCreate(variable.name(), variable.attr("dtype").dtype(),
                                               variable.attr("shape").shape()));
  RETURN_IF_ERROR(slot->BindDevice(context));
  return slot;
}

absl::StatusOr<std::unique_ptr<OpKernel>> MakeAssign(const KernelInit& init, AssignMode mode) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  const Node& variable = *init.node.input(0).node;
  if (variable.op() != "Variable") {
    return absl::InvalidArgumentError(
        absl::StrCat("input 0 must be a Variable, got ", variable.DebugName()));
  }
  if (mode != AssignMode::kSet) RETURN_IF_ERROR(AccumulateTypeOf(init.input_dtype(1)).status());
  ASSIGN_OR_RETURN(VariableSlot * slot, SlotFor(init, variable, context));
  return std::make_unique<AssignKernel>(context, slot, mode);
}

}  // namespace

void RegisterStateKernels(KernelRegistry& r) {
  r.Register("Const", DeviceType::kCuda, kAll,
             [](const KernelInit& init) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
               ASSIGN_OR_RETURN(Tensor on_device,
                                CopyTensorToDevice(*context, init.attr("value").tensor()));
               return std::make_unique<ConstKernel>(std::move(on_device));
             });
  for (const char* op : {"Identity", "StopGradient", "PlaceholderWithDefault"}) {
    r.Register(op, DeviceType::kCuda, kAll,
               [](const KernelInit&) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
                 return std::make_unique<ForwardKernel>();
               });
  }
  r.Register("NoOp", DeviceType::kCuda, {DType::kInvalid},
             [](const KernelInit&) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               return std::make_unique<NoOpKernel>();
             });
  r.Register("Variable", DeviceType::kCuda, kAll,
             [](const KernelInit& init) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
               ASSIGN_OR_RETURN(VariableSlot * slot, SlotFor(init, init.node, context));
               bool value_read = init.node.out_edges().empty();
               for (const InputRef& use : init.node.out_edges()) {
                 if (!(use.index == 0 && IsAssignOp(use.node->op()))) value_read = true;
               }
               return std::make_unique<VariableKernel>(slot, value_read);
             });
  r.Register("Assign", DeviceType::kCuda, kAll,
             [](const KernelInit& init) { return MakeAssign(init, AssignMode::kSet); });
  const std::vector<DType> accumulable = {DType::kF32, DType::kF64, DType::kI32,
                                          DType::kI64, DType::kF16, DType::kBF16};
  r.Register("AssignAdd", DeviceType::kCuda, accumulable,
             [](const KernelInit& init) { return MakeAssign(init, AssignMode::kAdd); });
  r.Register("AssignSub", DeviceType::kCuda, accumulable,
             [](const KernelInit& init) { return MakeAssign(init, AssignMode::kSub); });
}

}  // namespace sluice::cuda
