#include "passes/constant_folding.h"

#include <type_traits>

#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/evaluate.h"
#include "kernels/kernel_registry.h"
#include "passes/rewrite_util.h"

namespace sluice {
namespace {

// An unfed PlaceholderWithDefault is its default: its readers read that
// instead.
absl::StatusOr<bool> FoldDefault(Graph& graph, PassContext& context, Node* node) {
  const Output value = node->input(0);
  // Readers of the placeholder waited for its control inputs too; a node
  // with none keeps the rewrite a plain forwarding.
  if (!node->control_inputs().empty() || IsTarget(context, node) ||
      value.shape() != node->output_shape(0)) {
    return false;
  }
  RETURN_IF_ERROR(ReplaceOutput(graph, context, Output(node, 0), value));
  ForwardControlOutputs(graph, node);
  RETURN_IF_ERROR(RemoveIfUnused(graph, context, node).status());
  return true;
}

// Select(c, t, e) with a known condition that picks the same side everywhere.
absl::StatusOr<bool> FoldSelect(Graph& graph, PassContext& context, Node* node) {
  const Tensor* condition = KnownValue(node->input(0));
  if (condition == nullptr || !node->input(0).node->control_inputs().empty() ||
      !node->control_inputs().empty() || IsTarget(context, node)) {
    return false;
  }
  const Shape& out_shape = node->output_shape(0);
  if (condition->shape().rank() != 0 && condition->shape() != out_shape) return false;
  const bool* c = condition->data<bool>();
  const int64_t n = condition->num_elements();
  if (n == 0) return false;
  for (int64_t i = 1; i < n; ++i) {
    if (c[i] != c[0]) return false;
  }
  const Output chosen = node->input(c[0] ? 1 : 2);
  // The chosen input must not need the broadcast Select did, and a Select
  // output is a copy that a variable's later in-place update does not change.
  if (chosen.shape() != out_shape || MayAliasVariable(chosen)) return false;
  RETURN_IF_ERROR(ReplaceOutput(graph, context, Output(node, 0), chosen));
  ForwardControlOutputs(graph, node);
  RETURN_IF_ERROR(RemoveIfUnused(graph, context, node).status());
  return true;
}

bool IsFoldable(const Node& node, const PassContext& context) {
  if (node.op_def().is_stateful() || node.num_outputs() == 0 || node.num_inputs() == 0) {
    return false;
  }
  const std::string& op = node.op();
  if (op == "Const" || op == "Placeholder" || op == "PlaceholderWithDefault") return false;
  // A folded node no longer runs: its control inputs would no longer be
  // waited for, and a target must run.
  if (!node.control_inputs().empty() || IsTarget(context, &node)) return false;
  for (const Output& in : node.inputs()) {
    // A Const with control inputs orders its readers after those; folding
    // them away would drop that order.
    if (KnownValue(in) == nullptr || !in.node->control_inputs().empty()) return false;
  }
  int64_t bytes = 0;
  for (int i = 0; i < node.num_outputs(); ++i) {
    const int64_t n = node.output_shape(i).num_elements();
    if (n < 0) return false;
    bytes += n * static_cast<int64_t>(DTypeSize(node.output_dtype(i)));
  }
  return bytes <= context.max_folded_bytes;
}

// Replaces `node` by Consts of its computed outputs. False (and no change)
// when no CPU kernel computes it or the kernel fails: the node then runs, and
// fails, at run time, where the user sees the error as without folding.
absl::StatusOr<bool> FoldNode(Graph& graph, PassContext& context, Node* node) {
  if (!context.kernels->Supports(*node, DeviceType::kCpu)) return false;
  std::vector<const Tensor*> inputs;
  for (const Output& in : node->inputs()) inputs.push_back(KnownValue(in));
  absl::StatusOr<std::vector<Tensor>> values = EvaluateNode(*context.kernels, *node, inputs);
  if (!values.ok()) return false;
  for (int i = 0; i < node->num_outputs(); ++i) {
    const Tensor& value = (*values)[i];
    if (!value.valid() || value.dtype() != node->output_dtype(i) ||
        value.shape() != node->output_shape(i)) {
      return false;
    }
  }
  for (int i = 0; i < node->num_outputs(); ++i) {
    const Output out(node, i);
    bool used = !node->consumers(i).empty();
    for (const Output& f : context.fetches) used |= f == out;
    if (!used) continue;
    ASSIGN_OR_RETURN(Node * c, AddConst(graph,
                                        i == 0 ? absl::StrCat(node->name(), "/folded")
                                               : absl::StrCat(node->name(), "/folded_", i),
                                        (*values)[i], node->device()));
    RETURN_IF_ERROR(ReplaceOutput(graph, context, out, Output(c, 0)));
  }
  // Its inputs are Consts without control inputs, so nothing that waited for
  // the node waited for an effect.
  const std::vector<Node*> dependents = node->control_outputs();
  for (Node* d : dependents) graph.RemoveControlInput(d, node);
  RETURN_IF_ERROR(graph.RemoveNode(node));
  return true;
}

// ZerosLike and OnesLike depend only on their input's static shape, not its
// value: with the shape known they are constants.
absl::StatusOr<bool> FoldFilledLike(Graph& graph, PassContext& context, Node* node) {
  const Shape& shape = node->output_shape(0);
  const DType dtype = node->output_dtype(0);
  if (!shape.IsFullyDefined() || !node->control_inputs().empty() || IsTarget(context, node)) {
    return false;
  }
  if (shape.num_elements() * static_cast<int64_t>(DTypeSize(dtype)) > context.max_folded_bytes) {
    return false;
  }
  Tensor value = Tensor::Zeros(dtype, shape);
  if (node->op() == "OnesLike") {
    bool supported = true;
    VisitDType(dtype, [&]<typename T>() {
      if constexpr (std::is_arithmetic_v<T>) {
        for (T& v : value.flat<T>()) v = static_cast<T>(1);
      } else {
        supported = false;
      }
    });
    if (!supported) return false;
  }
  ASSIGN_OR_RETURN(Node * c, AddConst(graph, absl::StrCat(node->name(), "/folded"), value,
                                      node->device()));
  RETURN_IF_ERROR(ReplaceOutput(graph, context, Output(node, 0), Output(c, 0)));
  const std::vector<Node*> dependents = node->control_outputs();
  for (Node* d : dependents) graph.RemoveControlInput(d, node);
  RETURN_IF_ERROR(graph.RemoveNode(node));
  return true;
}

}  // namespace

absl::StatusOr<bool> ConstantFoldingPass::RunImpl(Graph& graph, PassContext& context) {
  // In topological order each node sees its inputs already folded, so whole
  // constant subgraphs fold in one run.
  ASSIGN_OR_RETURN(std::vector<Node*> order, graph.TopologicalOrder());
  bool changed = false;
  for (Node* node : order) {
    const int id = node->id();
    bool folded = false;
    if (node->op() == "PlaceholderWithDefault") {
      ASSIGN_OR_RETURN(folded, FoldDefault(graph, context, node));
    } else if (node->op() == "Select") {
      ASSIGN_OR_RETURN(folded, FoldSelect(graph, context, node));
    }
    if (!folded && (node->op() == "ZerosLike" || node->op() == "OnesLike")) {
      ASSIGN_OR_RETURN(folded, FoldFilledLike(graph, context, node));
    }
    // A rewritten node may be gone already (ids are never reused).
    if (!folded && context.kernels != nullptr && graph.node(id) == node &&
        IsFoldable(*node, context)) {
      ASSIGN_OR_RETURN(folded, FoldNode(graph, context, node));
    }
    changed |= folded;
  }
  return changed;
}

}  // namespace sluice
