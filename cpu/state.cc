// Kernels of the state family: constants, variables, assignments, plumbing.
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "cpu/cpu_kernels.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"
#include "kernels/state_kernels.h"
#include "kernels/variable_store.h"

namespace sluice::cpu {
namespace {

const std::vector<DType> kAll(std::begin(kAllDTypes), std::end(kAllDTypes));

enum class AssignMode { kSet, kAdd, kSub };

template <typename T>
void Accumulate(T* dst, const T* src, int64_t n, AssignMode mode) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16> ||
                std::is_same_v<T, bool>) {
    // Only reached for kSet (the op's type constraint excludes bool; 16-bit
    // floats accumulate through f32).
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<T, Half>) {
        const float a = HalfToFloat(dst[i]), b = HalfToFloat(src[i]);
        dst[i] = FloatToHalf(mode == AssignMode::kAdd ? a + b : a - b);
      } else if constexpr (std::is_same_v<T, BFloat16>) {
        const float a = BFloat16ToFloat(dst[i]), b = BFloat16ToFloat(src[i]);
        dst[i] = FloatToBFloat16(mode == AssignMode::kAdd ? a + b : a - b);
      }
    }
  } else if (mode == AssignMode::kAdd) {
    for (int64_t i = 0; i < n; ++i) dst[i] += src[i];
  } else {
    for (int64_t i = 0; i < n; ++i) dst[i] -= src[i];
  }
}

// Assign, AssignAdd, AssignSub: update the variable in place and yield it.
class AssignKernel final : public OpKernel {
 public:
  AssignKernel(VariableSlot* slot, AssignMode mode, bool use_locking)
      : slot_(slot), mode_(mode), use_locking_(use_locking) {}

  absl::Status Compute(const KernelContext& ctx) override {
    const Tensor& value = ctx.input(1);
    if (use_locking_) {
      std::lock_guard<std::mutex> lock(slot_->update_mutex());
      return Update(ctx, value);
    }
    return Update(ctx, value);
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }

 private:
  absl::Status Update(const KernelContext& ctx, const Tensor& value) {
    if (mode_ == AssignMode::kSet) {
      if (!slot_->initialized() || slot_->value().shape() != value.shape()) {
        slot_->Set(value.Clone());
      } else {
        Tensor& dst = slot_->mutable_value_unlocked();
        std::memcpy(dst.raw_data(), value.raw_data(), value.num_bytes());
      }
    } else {
      RETURN_IF_ERROR(slot_->CheckInitialized());
      Tensor& dst = slot_->mutable_value_unlocked();
      VisitDType(dst.dtype(), [&]<typename T>() {
        Accumulate(dst.data<T>(), value.data<T>(), dst.num_elements(), mode_);
      });
    }
    ctx.output(0) = slot_->value();
    return absl::OkStatus();
  }

  VariableSlot* const slot_;
  const AssignMode mode_;
  const bool use_locking_;
};

absl::StatusOr<VariableSlot*> SlotFor(const KernelInit& init, const Node& variable) {
  if (init.variables == nullptr) {
    return absl::FailedPreconditionError("variables need a session's variable store");
  }
  ASSIGN_OR_RETURN(VariableSlot * slot,
                   init.variables->GetOrCreate(variable.name(), variable.attr("dtype").dtype(),
                                               variable.attr("shape").shape()));
  RETURN_IF_ERROR(slot->BindDevice(nullptr));  // host memory
  return slot;
}

absl::StatusOr<std::unique_ptr<OpKernel>> MakeAssign(const KernelInit& init, AssignMode mode) {
  const Node& variable = *init.node.input(0).node;
  if (variable.op() != "Variable") {
    return absl::InvalidArgumentError(
        absl::StrCat("input 0 must be a Variable, got ", variable.DebugName()));
  }
  ASSIGN_OR_RETURN(VariableSlot * slot, SlotFor(init, variable));
  return std::make_unique<AssignKernel>(slot, mode, init.attr("use_locking").b());
}

}  // namespace

void RegisterStateKernels(KernelRegistry& r) {
  r.Register("Const", DeviceType::kCpu, kAll,
             [](const KernelInit& init) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               return std::make_unique<ConstKernel>(init.attr("value").tensor());
             });
  for (const char* op : {"Identity", "StopGradient", "PlaceholderWithDefault"}) {
    r.Register(op, DeviceType::kCpu, kAll,
               [](const KernelInit&) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
                 return std::make_unique<ForwardKernel>();
               });
  }
  r.Register("NoOp", DeviceType::kCpu, {DType::kInvalid},
             [](const KernelInit&) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               return std::make_unique<NoOpKernel>();
             });
  r.Register("Variable", DeviceType::kCpu, kAll,
             [](const KernelInit& init) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               ASSIGN_OR_RETURN(VariableSlot * slot, SlotFor(init, init.node));
               return std::make_unique<VariableKernel>(slot, VariableValueRead(init.node));
             });
  r.Register("Assign", DeviceType::kCpu, kAll,
             [](const KernelInit& init) { return MakeAssign(init, AssignMode::kSet); });
  const std::vector<DType> numeric = DTypeGroup("numeric");
  r.Register("AssignAdd", DeviceType::kCpu, numeric,
             [](const KernelInit& init) { return MakeAssign(init, AssignMode::kAdd); });
  r.Register("AssignSub", DeviceType::kCpu, numeric,
             [](const KernelInit& init) { return MakeAssign(init, AssignMode::kSub); });
}

}  // namespace sluice::cpu
