// `sluice run GRAPH --feed NAME=FILE.npy ... --fetch NAME ... [--target NAME
// ...] [--out DIR]`: runs a graph file on .npy inputs.
#ifndef SLUICE_TOOLS_RUN_COMMAND_H_
#define SLUICE_TOOLS_RUN_COMMAND_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "passes/pipeline.h"
#include "runtime/session.h"

namespace sluice {

inline constexpr absl::string_view kRunUsage =
    "sluice run GRAPH --feed NAME=FILE.npy ... --fetch NAME ... [--target NAME ...] [--out DIR] "
    "[--restore CKPT] [--optimize 0|1] [--disable-pass NAME ...]";
inline constexpr absl::string_view kRunSummary =
    "run a graph file on .npy inputs; print the fetched tensors or save them as .npy";

// Values printed per dimension of a fetched tensor; longer dimensions show
// their first and last values around "...".
inline constexpr int kRunPreviewPerDim = 8;

// The flags `sluice run` reads (defined in run_command.cc). feed, fetch and
// target may repeat, and take comma-separated lists; their values accumulate.
const std::vector<absl::string_view>& RunFlagNames();

struct RunCommandOptions {
  std::string graph_path;
  std::vector<std::pair<std::string, std::string>> feeds;  // node output, .npy path
  std::vector<std::string> fetches;
  std::vector<std::string> targets;
  std::string out_dir;  // empty: print only
  // A checkpoint to start the variables from (empty: their initializers).
  std::string restore_path;
  // --optimize and --disable-pass.
  OptimizationOptions optimization;
  DevicePolicy device = DevicePolicy::kAuto;
};

// Builds the options from the positional arguments and the flag values; every
// error is a usage error with a one-line message (no GRAPH, a --feed without
// '=', an empty name, nothing to fetch or run, two fetches that would be saved
// to the same file).
absl::StatusOr<RunCommandOptions> RunOptionsFromCommandLine(const std::vector<std::string>& args);

// Loads the graph and the feeds, runs once, writes the fetches to out_dir when
// set, and returns the text to print. The variables start from the checkpoint
// when one is given, else (a graph file holds no trained values) the ones the
// run reads start from their initializers. Errors name the
// file, node or flag at fault; on an error no output file is left behind.
absl::StatusOr<std::string> RunGraphFile(const RunCommandOptions& options);

// The file a fetch is saved to: its name with '/' and ':' made '_', plus .npy.
std::string FetchFileName(absl::string_view fetch);

}  // namespace sluice

#endif  // SLUICE_TOOLS_RUN_COMMAND_H_
