// `sluice train GRAPH --train-op NAME --loss NAME [--accuracy NAME] --data SPEC
// --epochs N --batch B ...`: trains a graph file on a data set.
#ifndef SLUICE_TOOLS_TRAIN_COMMAND_H_
#define SLUICE_TOOLS_TRAIN_COMMAND_H_

#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "runtime/trainer.h"

namespace sluice {

inline constexpr absl::string_view kTrainUsage =
    "sluice train GRAPH --train-op NAME --loss NAME [--accuracy NAME] --data SPEC --epochs N "
    "--batch B [--inputs NAME] [--labels NAME] [--checkpoint PATH] [--restore PATH] "
    "[--logdir DIR] [--seed S] [--optimize 0|1] [--disable-pass NAME ...]";
inline constexpr absl::string_view kTrainSummary =
    "train a graph file on a data set (a folder of IDX files such as Fashion-MNIST's, or .npy "
    "files), printing each epoch's loss and accuracy; the last line is test_accuracy=";

// The flags `sluice train` reads, as spelled on the command line.
const std::vector<absl::string_view>& TrainFlagNames();

struct TrainCommandOptions {
  std::string graph_path;
  std::string data_spec;
  TrainerOptions trainer;
};

// Builds the options from the positional arguments and the flag values; a
// missing GRAPH, --train-op, --loss or --data and out-of-range numbers are
// usage errors naming the flag.
absl::StatusOr<TrainCommandOptions> TrainOptionsFromCommandLine(
    const std::vector<std::string>& args);

// Loads the graph and the data, trains, and prints one line per epoch to
// `out` and a progress bar to `progress` (redrawn in place on a terminal,
// a few lines per epoch otherwise). The last line is `test_accuracy=X` (or
// the last loss when the data or graph has no test accuracy).
absl::Status RunTrain(const TrainCommandOptions& options, std::FILE* out, std::FILE* progress);

}  // namespace sluice

#endif  // SLUICE_TOOLS_TRAIN_COMMAND_H_
