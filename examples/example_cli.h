// Command-line pieces the example programs share.
#ifndef SLUICE_EXAMPLES_EXAMPLE_CLI_H_
#define SLUICE_EXAMPLES_EXAMPLE_CLI_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace sluice::examples {

// Abseil flag names cannot hold '-', but users write --save-graph: turns the
// dashes of each flag name (not of its value) into underscores, in place.
void UnderscoreFlagNames(int argc, char** argv);

// Prints `program: message` as one line on stderr; returns the exit code 1.
int PrintFailure(absl::string_view program, absl::string_view message);

// The rest of a small example's main once its flags are parsed: checks
// --epochs, builds the graph, saves it to `save_path` when one is given, and
// trains for `epochs` passes unless that is 0. Returns the exit code; errors
// are one line on stderr, prefixed with `program`.
int BuildSaveAndTrain(absl::string_view program, int epochs, const std::string& save_path,
                      const std::function<absl::StatusOr<std::shared_ptr<Graph>>()>& build,
                      const std::function<absl::Status(const Graph&, int epochs)>& train);

}  // namespace sluice::examples

#endif  // SLUICE_EXAMPLES_EXAMPLE_CLI_H_
