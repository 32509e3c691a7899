// Opening the accelerator a Session runs on.
#ifndef SLUICE_RUNTIME_DEVICES_H_
#define SLUICE_RUNTIME_DEVICES_H_

#include <memory>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "kernels/device_context.h"
#include "kernels/kernel_registry.h"
#include "runtime/session.h"

namespace sluice {

// The accelerator for `policy`: the first CUDA device for kAuto and kCuda
// when one is usable, else null (the CPU alone). kCuda without a usable GPU,
// or in a build without the CUDA layer, is FailedPrecondition saying why.
absl::StatusOr<std::unique_ptr<DeviceContext>> OpenAccelerator(DevicePolicy policy);

// A Session whose kernels come from `kernels` and whose accelerator is
// `accelerator` (null: the CPU alone) instead of the global registry and a
// real GPU. Tests use it to run placement, copies and device memory through
// a device simulated in host memory.
absl::StatusOr<std::unique_ptr<Session>> CreateSessionWithDevice(
    const Graph& graph, const SessionOptions& options, const KernelRegistry* kernels,
    std::unique_ptr<DeviceContext> accelerator);

}  // namespace sluice

#endif  // SLUICE_RUNTIME_DEVICES_H_
