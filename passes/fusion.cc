#include "passes/fusion.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "graph/status_macros.h"
#include "passes/fusion_rules.h"
#include "passes/prune.h"

namespace sluice {

bool IsFusableIntermediate(const Node& node, const PassContext& context) {
  if (!node.control_inputs().empty() || !node.control_outputs().empty()) return false;
  if (context.IsPinned(&node)) return false;
  const std::vector<InputRef>& edges = node.out_edges();
  if (edges.size() != 1) return false;
  return edges[0].node->input(edges[0].index).index == 0;
}

const InputRef* SoleConsumer(const Node& node) {
  const std::vector<InputRef>& edges = node.out_edges();
  if (edges.size() != 1 || edges[0].node->input(edges[0].index).index != 0) return nullptr;
  return &edges[0];
}

absl::Status RemoveMatched(Graph& graph, const std::vector<Node*>& nodes) {
  for (auto it = nodes.rbegin(); it != nodes.rend(); ++it) RETURN_IF_ERROR(graph.RemoveNode(*it));
  return absl::OkStatus();
}

FusionPass::FusionPass() : phases_(StandardFusionRules()) {}

FusionPass::FusionPass(std::vector<std::vector<std::unique_ptr<FusionRule>>> phases)
    : phases_(std::move(phases)) {}

absl::StatusOr<bool> FusionPass::RunImpl(Graph& graph, PassContext& context) {
  // A consumer nothing needs still counts as one: the training branch of a
  // batch norm, left unread once constant folding picked the inference
  // branch, reads the same convolution or reshape the inference branch does,
  // and would keep it from fusing. So what no fetch or target needs goes
  // first, as in prune (which the pipeline runs again afterwards anyway).
  bool changed = false;
  if (!context.fetches.empty() || !context.targets.empty()) {
    PrunePass prune;
    ASSIGN_OR_RETURN(changed, prune.Run(graph, context));
  }
  for (const auto& phase : phases_) {
    absl::flat_hash_map<std::string, std::vector<const FusionRule*>> by_op;
    for (const auto& rule : phase) {
      for (const std::string& op : rule->start_ops()) by_op[op].push_back(rule.get());
    }
    // Ids, not pointers: applying a rule deletes nodes later in the order.
    ASSIGN_OR_RETURN(std::vector<Node*> order, graph.TopologicalOrder());
    std::vector<int> ids;
    ids.reserve(order.size());
    for (Node* n : order) ids.push_back(n->id());
    for (int id : ids) {
      Node* node = id < graph.id_bound() ? graph.node(id) : nullptr;
      if (node == nullptr) continue;
      auto it = by_op.find(node->op());
      if (it == by_op.end()) continue;
      for (const FusionRule* rule : it->second) {
        std::optional<FusionMatch> match = rule->Match(node, context);
        if (!match.has_value()) continue;
        const int matched = static_cast<int>(match->nodes.size());
        RETURN_IF_ERROR(rule->Apply(*match, graph, context));
        context.nodes_fused += matched;
        changed = true;
        break;
      }
    }
  }
  return changed;
}

}  // namespace sluice
