// Constant folding: computes at compile time what depends on constants only.
//
// - A stateless node whose inputs are all Consts (without control inputs of
//   their own) and which has none itself becomes one Const per output,
//   computed by its CPU kernel, when the outputs take at most
//   PassContext::max_folded_bytes. A node whose kernel fails is left to fail
//   at run time, where the error reaches the user as it would unoptimised.
// - A PlaceholderWithDefault still in the specialised graph was not fed (fed
//   ones became _feed_N placeholders), so it is its default value.
// - Select with a constant condition, a scalar or of the output's shape with
//   every element equal, becomes the input it chooses (when that input has
//   the output's shape); the other branch is then left to prune.
#ifndef SLUICE_PASSES_CONSTANT_FOLDING_H_
#define SLUICE_PASSES_CONSTANT_FOLDING_H_

#include "passes/pass.h"

namespace sluice {

class ConstantFoldingPass final : public Pass {
 public:
  absl::string_view name() const override { return "constant-folding"; }

 protected:
  absl::StatusOr<bool> RunImpl(Graph& graph, PassContext& context) override;
};

}  // namespace sluice

#endif  // SLUICE_PASSES_CONSTANT_FOLDING_H_
