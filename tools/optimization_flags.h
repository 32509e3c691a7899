// --optimize and --disable-pass, shared by run, train and dump.
#ifndef SLUICE_TOOLS_OPTIMIZATION_FLAGS_H_
#define SLUICE_TOOLS_OPTIMIZATION_FLAGS_H_

#include "absl/status/statusor.h"
#include "passes/pipeline.h"
#include "runtime/session.h"

namespace sluice {

// The optimisation options the flags give: --optimize 0|1 (default 1) and
// --disable-pass NAME (repeats, or a comma list). An unknown pass or level
// is an error naming the flag and listing the passes.
absl::StatusOr<OptimizationOptions> OptimizationFromFlags();

// --device: auto, cpu or cuda (see DevicePolicy).
absl::StatusOr<DevicePolicy> DevicePolicyFromFlags();

}  // namespace sluice

#endif  // SLUICE_TOOLS_OPTIMIZATION_FLAGS_H_
