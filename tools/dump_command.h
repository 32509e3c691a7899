// `sluice dump FILE [--format text|dot]`: loads a graph file and prints it.
#ifndef SLUICE_TOOLS_DUMP_COMMAND_H_
#define SLUICE_TOOLS_DUMP_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice {

inline constexpr absl::string_view kDumpUsage = "sluice dump FILE [--format text|dot]";
inline constexpr absl::string_view kDumpSummary = "print a graph file (.pb or .pbtxt)";

// The command-line flags `sluice dump` reads, by name without dashes; they are
// defined with ABSL_FLAG in dump_command.cc.
const std::vector<absl::string_view>& DumpFlagNames();

enum class DumpFormat { kText, kDot };

struct DumpOptions {
  std::string path;
  DumpFormat format = DumpFormat::kText;
};

// Builds the options from `args`, the positional arguments left once the flags
// are parsed, and the current flag values. Every error is a usage error (no
// FILE, more than one, an unknown --format) with a one-line message.
absl::StatusOr<DumpOptions> DumpOptionsFromCommandLine(const std::vector<std::string>& args);

// Loads the graph at `options.path` and returns its rendering. Errors are
// loading errors and name the path (and the node, when one is at fault).
absl::StatusOr<std::string> RunDump(const DumpOptions& options);

}  // namespace sluice

#endif  // SLUICE_TOOLS_DUMP_COMMAND_H_
