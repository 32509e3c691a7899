#include "tools/optimization_flags.h"

#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

ABSL_FLAG(int32_t, optimize, 1,
          "LEVEL: 0 compiles plans without the optimisation pipeline, 1 runs every pass");
ABSL_FLAG(std::vector<std::string>, disable_pass, {},
          "NAME: a pass of the optimisation pipeline to skip; repeats");

ABSL_FLAG(std::string, device, "auto",
          "auto|cpu|cuda: where ops run. auto uses the GPU when one is present (ops without a "
          "CUDA kernel stay on the CPU); cuda fails without a usable GPU");

namespace sluice {

absl::StatusOr<DevicePolicy> DevicePolicyFromFlags() {
  absl::StatusOr<DevicePolicy> policy = ParseDevicePolicy(absl::GetFlag(FLAGS_device));
  if (!policy.ok()) return absl::InvalidArgumentError(absl::StrCat("--device: ", policy.status().message()));
  return policy;
}

absl::StatusOr<OptimizationOptions> OptimizationFromFlags() {
  OptimizationOptions options;
  options.level = absl::GetFlag(FLAGS_optimize);
  if (options.level != 0 && options.level != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--optimize must be 0 or 1, got ", options.level));
  }
  const std::vector<std::string> known = StandardPassNames();
  for (const std::string& name : absl::GetFlag(FLAGS_disable_pass)) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat("--disable-pass: unknown pass '", name,
                                                     "' (passes: ", absl::StrJoin(known, ", "),
                                                     ")"));
    }
    options.disabled.push_back(name);
  }
  return options;
}

}  // namespace sluice
