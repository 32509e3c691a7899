// Symbolic differentiation: adds to a graph the nodes that compute gradients,
// as tf.gradients does.
#ifndef SLUICE_PASSES_AUTODIFF_GRADIENTS_H_
#define SLUICE_PASSES_AUTODIFF_GRADIENTS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/scope.h"

namespace sluice {

// Adds the gradient of sum(ys[k] * grad_ys[k]) with respect to each of `xs`
// to the scope's graph and returns one Output per x, in order:
// - `grad_ys` is empty (each y's gradient is ones of its shape) or holds one
//   Output per y, of the y's dtype and a compatible shape;
// - an x that no y depends on through floating-point tensors gets a null
//   Output (check valid()); so does one whose path is cut by StopGradient;
// - an output used several times gets the sum of its consumers' gradients,
//   and a broadcast input gets its gradient summed back to its own shape;
// - shapes need not be fully known (an unknown batch dim is fine): where
//   they are not, the gradient computes them at run time;
// - the added nodes are ordinary nodes (named under "gradients/"), so the
//   result can itself be differentiated where the ops allow.
// An op on a path from an x to a y that has no gradient function is an error
// naming the op type and the node; so are null or foreign Outputs and
// grad_ys of the wrong count, dtype or shape.
absl::StatusOr<std::vector<Output>> AddGradients(const Scope& scope,
                                                 const std::vector<Output>& ys,
                                                 const std::vector<Output>& xs,
                                                 const std::vector<Output>& grad_ys = {});

}  // namespace sluice

#endif  // SLUICE_PASSES_AUTODIFF_GRADIENTS_H_
