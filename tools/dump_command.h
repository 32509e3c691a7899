// `sluice dump FILE [--format text|dot]`: loads a graph file and prints it.
// With --passes it prints the graph after each pass of the optimisation
// pipeline as a plan compiles it, with each pass's statistics; with --memory,
// the compiled plan's memory plan.
#ifndef SLUICE_TOOLS_DUMP_COMMAND_H_
#define SLUICE_TOOLS_DUMP_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "passes/pipeline.h"
#include "runtime/session.h"

namespace sluice {

inline constexpr absl::string_view kDumpUsage = "sluice dump FILE [--format text|dot]";
inline constexpr absl::string_view kDumpSummary =
    "print a graph file (.pb or .pbtxt); with --passes, --memory or --placement\n"
    "      [--device auto|cpu|cuda] [--batch N] [--feed-shape NAME=D,D,...] [--fetch NAME]...\n"
    "      [--target NAME]..., the graph after each optimisation pass, the memory plan, or the\n"
    "      device of each node and the copies between devices, of the plan it compiles to";

// The command-line flags `sluice dump` reads, by name without dashes; they are
// defined with ABSL_FLAG in dump_command.cc.
const std::vector<absl::string_view>& DumpFlagNames();

enum class DumpFormat { kText, kDot };

// What `--passes` and `--memory` compile: every Placeholder the fetches and targets need is
// fed, with the shape `feed_shapes` gives it or else its own with an unknown
// leading dim set to `batch`.
struct DumpCompileOptions {
  int64_t batch = 32;
  std::vector<std::pair<std::string, std::vector<int64_t>>> feed_shapes;
  // Without fetches and targets, every sink node (one no node reads, as data
  // or control) is a target.
  std::vector<std::string> fetches;
  std::vector<std::string> targets;
};

struct DumpOptions {
  std::string path;
  DumpFormat format = DumpFormat::kText;
  // Set by --passes or --memory: what to compile.
  std::optional<DumpCompileOptions> compile;
  bool passes = false;  // print the graph after each pass, with statistics
  bool memory = false;  // print the memory plan
  bool placement = false;  // print each node's device and the copies
  // --device: the accelerator --placement places for.
  DevicePolicy device = DevicePolicy::kAuto;
  // --optimize and --disable-pass.
  OptimizationOptions optimization;
};

// Builds the options from `args`, the positional arguments left once the flags
// are parsed, and the current flag values. Every error is a usage error (no
// FILE, more than one, an unknown --format, a malformed --feed-shape or
// --batch, a compile flag without --passes or --memory) with a one-line
// message.
absl::StatusOr<DumpOptions> DumpOptionsFromCommandLine(const std::vector<std::string>& args);

// Loads the graph at `options.path` and returns its rendering. Errors are
// loading errors and name the path (and the node, when one is at fault); with
// --memory also compile errors, naming the flag or node at fault.
absl::StatusOr<std::string> RunDump(const DumpOptions& options);

}  // namespace sluice

#endif  // SLUICE_TOOLS_DUMP_COMMAND_H_
