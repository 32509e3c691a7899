#include "kernels/device_kernels.h"

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/device_context.h"
#include "kernels/kernel_registry.h"
#include "kernels/state_kernels.h"
#include "kernels/variable_store.h"

namespace sluice {
namespace {

const std::vector<DType> kAll(std::begin(kAllDTypes), std::end(kAllDTypes));

absl::StatusOr<DeviceContext*> ContextOf(const KernelInit& init) {
  if (init.device_context == nullptr || init.device_context->type() != init.device) {
    return absl::FailedPreconditionError(absl::StrCat(
        init.node.DebugName(), ": a ", DeviceTypeName(init.device),
        " kernel was created without that device's context"));
  }
  return init.device_context;
}

// Both copies run on the device's queue. CopyToHost returns once the bytes
// are on the host, so the host steps after a `_DeviceToHost` read finished
// values.
class HostToDeviceKernel final : public OpKernel {
 public:
  explicit HostToDeviceKernel(DeviceContext* device) : device_(device) {}
  absl::Status Compute(const KernelContext& ctx) override {
    const Tensor& in = ctx.input(0);
    if (in.num_bytes() == 0) return absl::OkStatus();
    return device_->CopyFromHost(in.raw_data(), ctx.output(0).raw_data(),
                                 static_cast<int64_t>(in.num_bytes()));
  }

 private:
  DeviceContext* const device_;
};

class DeviceToHostKernel final : public OpKernel {
 public:
  explicit DeviceToHostKernel(DeviceContext* device) : device_(device) {}
  absl::Status Compute(const KernelContext& ctx) override {
    const Tensor& in = ctx.input(0);
    if (in.num_bytes() == 0) return absl::OkStatus();
    return device_->CopyToHost(in.raw_data(), ctx.output(0).raw_data(),
                               static_cast<int64_t>(in.num_bytes()));
  }

 private:
  DeviceContext* const device_;
};

// Assign: the value is copied into the variable's device buffer (a new
// buffer on first assignment or a shape change).
class AssignKernel final : public OpKernel {
 public:
  AssignKernel(DeviceContext* device, VariableSlot* slot) : device_(device), slot_(slot) {}

  absl::Status Compute(const KernelContext& ctx) override {
    const Tensor& value = ctx.input(1);
    if (!slot_->initialized() || slot_->value().shape() != value.shape()) {
      ASSIGN_OR_RETURN(Tensor fresh, AllocateOnDevice(*device_, value.dtype(), value.shape()));
      if (value.num_bytes() > 0) {
        RETURN_IF_ERROR(device_->CopyOnDevice(value.raw_data(), fresh.raw_data(),
                                              static_cast<int64_t>(value.num_bytes())));
      }
      slot_->Set(std::move(fresh));
    } else if (value.num_bytes() > 0) {
      RETURN_IF_ERROR(device_->CopyOnDevice(value.raw_data(),
                                            slot_->mutable_value_unlocked().raw_data(),
                                            static_cast<int64_t>(value.num_bytes())));
    }
    ctx.output(0) = slot_->value();
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }

 private:
  DeviceContext* const device_;
  VariableSlot* const slot_;
};

}  // namespace

absl::StatusOr<VariableSlot*> DeviceVariableSlot(const KernelInit& init, const Node& variable) {
  if (init.variables == nullptr) {
    return absl::FailedPreconditionError("variables need a session's variable store");
  }
  if (variable.op() != "Variable") {
    return absl::InvalidArgumentError(
        absl::StrCat("input 0 must be a Variable, got ", variable.DebugName()));
  }
  ASSIGN_OR_RETURN(VariableSlot * slot,
                   init.variables->GetOrCreate(variable.name(), variable.attr("dtype").dtype(),
                                               variable.attr("shape").shape()));
  RETURN_IF_ERROR(slot->BindDevice(init.device_context));
  return slot;
}

void RegisterDeviceKernels(KernelRegistry& r, DeviceType device) {
  r.Register("_HostToDevice", device, kAll,
             [](const KernelInit& init) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               ASSIGN_OR_RETURN(DeviceContext * context, ContextOf(init));
               return std::make_unique<HostToDeviceKernel>(context);
             });
  r.Register("_DeviceToHost", device, kAll,
             [](const KernelInit& init) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               ASSIGN_OR_RETURN(DeviceContext * context, ContextOf(init));
               return std::make_unique<DeviceToHostKernel>(context);
             });
  r.Register("Const", device, kAll,
             [](const KernelInit& init) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               ASSIGN_OR_RETURN(DeviceContext * context, ContextOf(init));
               // Uploaded once, when the plan is compiled.
               ASSIGN_OR_RETURN(Tensor on_device,
                                CopyTensorToDevice(*context, init.attr("value").tensor()));
               return std::make_unique<ConstKernel>(std::move(on_device));
             });
  for (const char* op : {"Identity", "StopGradient", "PlaceholderWithDefault"}) {
    r.Register(op, device, kAll, [](const KernelInit&) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
      return std::make_unique<ForwardKernel>();
    });
  }
  r.Register("NoOp", device, {DType::kInvalid},
             [](const KernelInit&) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               return std::make_unique<NoOpKernel>();
             });
  r.Register("Variable", device, kAll,
             [](const KernelInit& init) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               RETURN_IF_ERROR(ContextOf(init).status());
               ASSIGN_OR_RETURN(VariableSlot * slot, DeviceVariableSlot(init, init.node));
               return std::make_unique<VariableKernel>(slot, VariableValueRead(init.node));
             });
  r.Register("Assign", device, kAll,
             [](const KernelInit& init) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
               ASSIGN_OR_RETURN(DeviceContext * context, ContextOf(init));
               ASSIGN_OR_RETURN(VariableSlot * slot, DeviceVariableSlot(init, *init.node.input(0).node));
               return std::make_unique<AssignKernel>(context, slot);
             });
}

}  // namespace sluice
