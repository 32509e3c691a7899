#include "kernels/training_checks.h"

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"

namespace sluice {

absl::StatusOr<std::vector<VariableSlot*>> ApplyVariableSlots(const KernelInit& init, int num_refs,
                                                              DeviceContext* device) {
  if (init.variables == nullptr) {
    return absl::FailedPreconditionError("apply ops need a session's variable store");
  }
  std::vector<VariableSlot*> slots;
  for (int i = 0; i < num_refs; ++i) {
    const Node& variable = *init.node.input(i).node;
    const std::string input_name = init.node.op_def().inputs()[i].name;
    if (variable.op() != "Variable") {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", i, " (", input_name, ") must be a Variable, got ", variable.DebugName()));
    }
    for (int k = 0; k < i; ++k) {
      if (init.node.input(k).node == &variable) {
        return absl::InvalidArgumentError(
            absl::StrCat("inputs ", k, " (", init.node.op_def().inputs()[k].name, ") and ", i, " (",
                         input_name, ") are the same variable '", variable.name(), "'"));
      }
    }
    ASSIGN_OR_RETURN(VariableSlot * slot,
                     init.variables->GetOrCreate(variable.name(), variable.attr("dtype").dtype(),
                                                 variable.attr("shape").shape()));
    if (device != nullptr) RETURN_IF_ERROR(slot->BindDevice(device));
    slots.push_back(slot);
  }
  return slots;
}

absl::StatusOr<void*> UpdateBuffer(VariableSlot& slot, const Shape& grad_shape) {
  RETURN_IF_ERROR(slot.CheckInitialized());
  Tensor& value = slot.mutable_value_unlocked();
  if (value.shape() != grad_shape) {
    return absl::InvalidArgumentError(
        absl::StrCat("variable '", slot.name(), "' holds shape ", value.shape().ToString(),
                     " but the gradient has shape ", grad_shape.ToString()));
  }
  return value.raw_data();
}

UpdateLocks::UpdateLocks(const std::vector<std::mutex*>& mutexes, bool enabled)
    : mutexes_(enabled ? &mutexes : nullptr) {
  if (mutexes_ == nullptr) return;
  for (std::mutex* mu : *mutexes_) mu->lock();
}

UpdateLocks::~UpdateLocks() {
  if (mutexes_ == nullptr) return;
  for (auto it = mutexes_->rbegin(); it != mutexes_->rend(); ++it) (*it)->unlock();
}

std::vector<std::mutex*> SortedUpdateMutexes(const std::vector<VariableSlot*>& slots) {
  std::vector<std::mutex*> mutexes;
  for (VariableSlot* slot : slots) mutexes.push_back(&slot->update_mutex());
  std::sort(mutexes.begin(), mutexes.end());
  return mutexes;
}

}  // namespace sluice
