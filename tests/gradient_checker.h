// Numeric gradient checking: compares the gradients AddGradients builds with
// central differences of the forward computation.
#ifndef SLUICE_TESTS_GRADIENT_CHECKER_H_
#define SLUICE_TESTS_GRADIENT_CHECKER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/scope.h"
#include "graph/tensor.h"

namespace sluice::testing {

// Builds the outputs to differentiate from placeholders holding the inputs.
using GradientCheckBuilder =
    std::function<std::vector<Output>(const Scope& scope, const std::vector<Output>& xs)>;

struct GradientCheckOptions {
  // Step of the central differences (in the inputs' units).
  double delta = 1e-6;
  // Placeholders get an unknown leading dim, so the gradient graph must
  // work out shapes at run time.
  bool unknown_leading_dim = false;
  // Inputs whose gradient is checked (empty: every floating input).
  std::vector<int> checked_inputs;
};

struct GradientCheckResult {
  // max |numeric - symbolic| / max(1, |numeric|) over every checked element.
  double max_error = 0;
  // Where the maximum was, e.g. "input 1 element 3: numeric 0.5 symbolic 0.49".
  std::string worst;
};

// Feeds `inputs` to placeholders, builds ys = build(xs), and checks the
// gradient of sum_k <w_k, y_k> (w_k random weights, the grad_ys) with
// respect to each checked input against central differences, all in the
// inputs' dtype. Errors come from building, AddGradients or running.
absl::StatusOr<GradientCheckResult> CheckGradients(const std::vector<Tensor>& inputs,
                                                   const GradientCheckBuilder& build,
                                                   const GradientCheckOptions& options = {});

}  // namespace sluice::testing

#endif  // SLUICE_TESTS_GRADIENT_CHECKER_H_
