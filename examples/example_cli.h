// Command-line pieces the example programs share.
#ifndef SLUICE_EXAMPLES_EXAMPLE_CLI_H_
#define SLUICE_EXAMPLES_EXAMPLE_CLI_H_

#include "absl/strings/string_view.h"

namespace sluice::examples {

// Abseil flag names cannot hold '-', but users write --save-graph: turns the
// dashes of each flag name (not of its value) into underscores, in place.
void UnderscoreFlagNames(int argc, char** argv);

// Prints `program: message` as one line on stderr; returns the exit code 1.
int PrintFailure(absl::string_view program, absl::string_view message);

}  // namespace sluice::examples

#endif  // SLUICE_EXAMPLES_EXAMPLE_CLI_H_
