#include "passes/prune.h"

#include "graph/status_macros.h"

namespace sluice {

absl::StatusOr<bool> PrunePass::RunImpl(Graph& graph, PassContext& context) {
  std::vector<bool> needed(graph.id_bound(), false);
  std::vector<Node*> stack(context.targets.begin(), context.targets.end());
  for (const Output& f : context.fetches) stack.push_back(f.node);
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (needed[n->id()]) continue;
    needed[n->id()] = true;
    for (const Output& in : n->inputs()) stack.push_back(in.node);
    for (Node* c : n->control_inputs()) stack.push_back(c);
  }
  // Remove consumers before producers: reverse topological order.
  ASSIGN_OR_RETURN(std::vector<Node*> order, graph.TopologicalOrder());
  bool changed = false;
  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = *it;
    // Placeholders stay: a plan binds its feeds to them by position.
    if (needed[n->id()] || n->op() == "Placeholder") continue;
    RETURN_IF_ERROR(graph.RemoveNode(n));
    changed = true;
  }
  return changed;
}

}  // namespace sluice
