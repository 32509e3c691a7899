// Small graph edits the simplifying passes share.
#ifndef SLUICE_PASSES_REWRITE_UTIL_H_
#define SLUICE_PASSES_REWRITE_UTIL_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "passes/pass.h"

namespace sluice {

// Whether `node` is one of the run's targets (which must stay and run).
bool IsTarget(const PassContext& context, const Node* node);

// Whether reading `out` may read a variable's storage itself rather than a
// copy: `out` comes from a stateful op (Variable, Assign, Apply...) through
// ops whose kernels may forward their input as a view. Variables are updated
// in place, so replacing a copying node by such an output would let a later
// update in the same run show through; rewrites check this first.
bool MayAliasVariable(Output out);

// The value of `out` when the graph knows it while compiling (a Const), else
// null.
const Tensor* KnownValue(Output out);

// Makes every node that has `node` as a control input wait instead for what
// `node` waited for: the producers of its inputs and its control inputs. Used
// before removing a node that has no effect of its own.
void ForwardControlOutputs(Graph& graph, Node* node);

// Removes `node` when nothing reads it, nothing depends on it by control and
// it is neither fetched nor a target; true when it was removed. Placeholders
// stay (a plan binds its feeds to them).
absl::StatusOr<bool> RemoveIfUnused(Graph& graph, const PassContext& context, Node* node);

// Adds a Const holding `value` named `base` (made unique) on `device`.
absl::StatusOr<Node*> AddConst(Graph& graph, absl::string_view base, const Tensor& value,
                               const std::string& device);

}  // namespace sluice

#endif  // SLUICE_PASSES_REWRITE_UTIL_H_
