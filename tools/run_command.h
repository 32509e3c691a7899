// `sluice run GRAPH --feed NAME=FILE.npy ... --fetch NAME ... [--target NAME
// ...] [--out DIR]`: runs a graph file on .npy inputs.
#ifndef SLUICE_TOOLS_RUN_COMMAND_H_
#define SLUICE_TOOLS_RUN_COMMAND_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice {

inline constexpr absl::string_view kRunUsage =
    "sluice run GRAPH --feed NAME=FILE.npy ... --fetch NAME ... [--target NAME ...] [--out DIR]";
inline constexpr absl::string_view kRunSummary =
    "run a graph file on .npy inputs; print the fetched tensors or save them as .npy";

// The flags `sluice run` reads (defined in run_command.cc). feed, fetch and
// target may repeat; their values accumulate.
const std::vector<absl::string_view>& RunFlagNames();

struct RunCommandOptions {
  std::string graph_path;
  std::vector<std::pair<std::string, std::string>> feeds;  // node output, .npy path
  std::vector<std::string> fetches;
  std::vector<std::string> targets;
  std::string out_dir;  // empty: print only
};

// Builds the options from the positional arguments and the flag values; every
// error is a usage error with a one-line message.
absl::StatusOr<RunCommandOptions> RunOptionsFromCommandLine(const std::vector<std::string>& args);

// Loads the graph and the feeds, runs once, writes the fetches to out_dir when
// set, and returns the text to print. Errors name the file, node or flag at
// fault; on an error no output file is written.
absl::StatusOr<std::string> RunGraphFile(const RunCommandOptions& options);

// The file a fetch is saved to: its name with '/' and ':' made '_', plus .npy.
std::string FetchFileName(absl::string_view fetch);

}  // namespace sluice

#endif  // SLUICE_TOOLS_RUN_COMMAND_H_
