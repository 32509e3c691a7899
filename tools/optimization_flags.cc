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

namespace sluice {

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
