#include "passes/rewrite_util.h"

#include <algorithm>
#include <vector>

#include "graph/status_macros.h"

namespace sluice {

bool IsTarget(const PassContext& context, const Node* node) {
  return std::find(context.targets.begin(), context.targets.end(), node) !=
         context.targets.end();
}

bool MayAliasVariable(Output out) {
  // The ops whose CPU kernels may yield a view of input 0.
  static const auto* views = new std::vector<std::string>{
      "Identity", "StopGradient", "PlaceholderWithDefault", "Reshape", "Squeeze",
      "ExpandDims", "Cast",     "Slice",                  "StridedSlice"};
  while (true) {
    const Node& node = *out.node;
    if (node.op_def().is_stateful()) return true;
    if (std::find(views->begin(), views->end(), node.op()) == views->end() ||
        node.num_inputs() == 0) {
      return false;
    }
    out = node.input(0);
  }
}

const Tensor* KnownValue(Output out) {
  if (out.node->op() != "Const") return nullptr;
  return out.node->output_value(out.index);
}

void ForwardControlOutputs(Graph& graph, Node* node) {
  if (node->control_outputs().empty()) return;
  std::vector<Node*> waits_for;
  for (const Output& in : node->inputs()) waits_for.push_back(in.node);
  for (Node* c : node->control_inputs()) waits_for.push_back(c);
  const std::vector<Node*> dependents = node->control_outputs();
  for (Node* dependent : dependents) {
    graph.RemoveControlInput(dependent, node);
    for (Node* w : waits_for) {
      if (w != dependent) graph.AddControlInput(dependent, w);
    }
  }
}

absl::StatusOr<bool> RemoveIfUnused(Graph& graph, const PassContext& context, Node* node) {
  if (!node->out_edges().empty() || !node->control_outputs().empty() ||
      node->op() == "Placeholder" || context.IsPinned(node)) {
    return false;
  }
  RETURN_IF_ERROR(graph.RemoveNode(node));
  return true;
}

absl::StatusOr<Node*> AddConst(Graph& graph, absl::string_view base, const Tensor& value,
                               const std::string& device) {
  NodeSpec spec;
  spec.name = graph.UniqueName(base);
  spec.op = "Const";
  spec.attrs = {{"value", value}, {"dtype", value.dtype()}};
  spec.device = device;
  return graph.AddNode(std::move(spec));
}

}  // namespace sluice
