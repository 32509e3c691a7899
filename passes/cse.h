// Common-subexpression elimination: of two nodes that compute the same thing
// (same op, attributes, device, data inputs in order and control inputs) the
// later one's readers read the earlier one, and the later one goes. Consts
// merge when their values are bitwise equal. Stateful ops (variables,
// assignments, random ops) and placeholders never merge: two of them are
// two different things even when they look alike. Nodes are bucketed by a
// hash of what they compute, so the pass stays linear in the graph.
#ifndef SLUICE_PASSES_CSE_H_
#define SLUICE_PASSES_CSE_H_

#include "passes/pass.h"

namespace sluice {

class CsePass final : public Pass {
 public:
  absl::string_view name() const override { return "cse"; }

 protected:
  absl::StatusOr<bool> RunImpl(Graph& graph, PassContext& context) override;
};

}  // namespace sluice

#endif  // SLUICE_PASSES_CSE_H_
