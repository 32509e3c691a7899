// Kernels every device other than the host shares, written against
// DeviceContext alone: host<->device copies, constants uploaded once,
// views, and variables held in device memory with their plain assignment.
// A device registers them for itself (the CUDA layer does; so does the
// simulated device of the placement tests).
#ifndef SLUICE_KERNELS_DEVICE_KERNELS_H_
#define SLUICE_KERNELS_DEVICE_KERNELS_H_

#include "absl/status/statusor.h"
#include "kernels/kernel.h"

namespace sluice {

class KernelRegistry;
class VariableSlot;

// _HostToDevice, _DeviceToHost, Const, Identity, StopGradient,
// PlaceholderWithDefault, NoOp, Variable and Assign on `device`.
void RegisterDeviceKernels(KernelRegistry& registry, DeviceType device);

// The slot of `variable` for a kernel of init.device, bound to that device's
// memory; errors name the variable (or the node when `variable` is not one).
absl::StatusOr<VariableSlot*> DeviceVariableSlot(const KernelInit& init, const Node& variable);

}  // namespace sluice

#endif  // SLUICE_KERNELS_DEVICE_KERNELS_H_
