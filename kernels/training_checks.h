// What every device's optimizer apply kernels share on the host: binding
// the ref inputs to the session's variables, the checks before an update and
// the update locks.
#ifndef SLUICE_KERNELS_TRAINING_CHECKS_H_
#define SLUICE_KERNELS_TRAINING_CHECKS_H_

#include <mutex>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/shape.h"
#include "kernels/kernel.h"
#include "kernels/variable_store.h"

namespace sluice {

// The variable store slots of ref inputs 0 .. num_refs-1 of init's node.
// Each ref must be a distinct Variable: the kernels update them in one pass
// and assume they do not overlap. When `device` is not null each slot is
// bound to it as soon as it is found (its value then lives in that device's
// memory); the CPU passes null.
absl::StatusOr<std::vector<VariableSlot*>> ApplyVariableSlots(const KernelInit& init, int num_refs,
                                                              DeviceContext* device);

// The buffer of `slot`'s value, to be updated in place by a gradient of
// `grad_shape`. The caller holds the slot's update lock (when the op locks).
// Errors when the variable is not initialized, or when an Assign with
// validate_shape=false has reshaped it since the plan was compiled.
absl::StatusOr<void*> UpdateBuffer(VariableSlot& slot, const Shape& grad_shape);

// The update locks of a kernel's variables, taken in address order so that
// two apply ops sharing a variable can never deadlock. `mutexes` must be
// sorted by address and outlive the locks; nothing is locked unless
// `enabled` (use_locking).
class UpdateLocks {
 public:
  UpdateLocks(const std::vector<std::mutex*>& mutexes, bool enabled);
  ~UpdateLocks();
  UpdateLocks(const UpdateLocks&) = delete;
  UpdateLocks& operator=(const UpdateLocks&) = delete;

 private:
  const std::vector<std::mutex*>* const mutexes_;
};

// The update mutexes of `slots`, sorted by address as UpdateLocks needs.
std::vector<std::mutex*> SortedUpdateMutexes(const std::vector<VariableSlot*>& slots);

}  // namespace sluice

#endif  // SLUICE_KERNELS_TRAINING_CHECKS_H_
