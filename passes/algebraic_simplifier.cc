#include "passes/algebraic_simplifier.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/kernel.h"
#include "passes/rewrite_util.h"

namespace sluice {
namespace {

bool IsReshapeLike(const Node& node) {
  const std::string& op = node.op();
  return op == "Reshape" || op == "Squeeze" || op == "ExpandDims";
}

// Whether `out` is a Const whose every element equals `value`.
bool IsConstantEqualTo(Output out, double value) {
  const Tensor* t = KnownValue(out);
  if (t == nullptr || t->dtype() == DType::kBool) return false;
  for (int64_t i = 0; i < t->num_elements(); ++i) {
    if (t->ElementAsDouble(i) != value) return false;
  }
  return true;
}

// The permutation held by `out` when it is a known Const.
std::optional<std::vector<int64_t>> KnownPermutation(Output out) {
  const Tensor* t = KnownValue(out);
  if (t == nullptr) return std::nullopt;
  std::vector<int64_t> perm(t->num_elements());
  for (int64_t i = 0; i < t->num_elements(); ++i) perm[i] = IndexValueAt(*t, i);
  return perm;
}

bool IsIdentityPermutation(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i) {
    if (perm[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

class Simplifier {
 public:
  Simplifier(Graph& graph, PassContext& context) : graph_(graph), context_(context) {}

  // Applies the first rule that matches `node`; true when one did.
  absl::StatusOr<bool> Visit(Node* node) {
    if (IsTarget(context_, node)) return false;
    if (node->op() == "NoOp") return RemoveNoOp(node);
    if (!node->control_inputs().empty() || node->num_outputs() != 1) return false;
    const std::string& op = node->op();
    if ((op == "AssignAdd" || op == "AssignSub") && IsConstantEqualTo(node->input(1), 0)) {
      return RemoveZeroUpdate(node);
    }
    if (op == "Identity" || op == "StopGradient") return Forward(node, node->input(0), true);
    if (op == "Mul") {
      if (IsConstantEqualTo(node->input(1), 1)) return Forward(node, node->input(0));
      if (IsConstantEqualTo(node->input(0), 1)) return Forward(node, node->input(1));
      return false;
    }
    if (op == "Add") {
      if (IsConstantEqualTo(node->input(1), 0)) return Forward(node, node->input(0));
      if (IsConstantEqualTo(node->input(0), 0)) return Forward(node, node->input(1));
      return false;
    }
    const bool forwards_input0 =
        (op == "Sub" && IsConstantEqualTo(node->input(1), 0)) ||
        (op == "Div" && IsConstantEqualTo(node->input(1), 1)) ||
        (op == "AddN" && node->num_inputs() == 1) ||
        (op == "Cast" && node->input(0).dtype() == node->output_dtype(0));
    if (forwards_input0) return Forward(node, node->input(0));
    if (op == "Neg") {
      const Node* inner = node->input(0).node;
      if (inner->op() != "Neg" || !inner->control_inputs().empty()) return false;
      return Forward(node, inner->input(0));
    }
    if (op == "Transpose") return SimplifyTranspose(node);
    if (IsReshapeLike(*node)) return SimplifyReshape(node);
    if (op == "MatMul") return FoldTransposesIntoMatMul(node);
    return false;
  }

 private:
  // Makes `node`'s readers read `by` and removes `node` when unused. `by`
  // must have the node's dtype and shape; when `is_view` is false the node
  // computed a copy, and `by` must not alias a variable.
  absl::StatusOr<bool> Forward(Node* node, Output by, bool is_view = false) {
    if (by.dtype() != node->output_dtype(0) || by.shape() != node->output_shape(0)) return false;
    if (!is_view && MayAliasVariable(by)) return false;
    RETURN_IF_ERROR(ReplaceOutput(graph_, context_, Output(node, 0), by));
    ForwardControlOutputs(graph_, node);
    RETURN_IF_ERROR(RemoveIfUnused(graph_, context_, node).status());
    return true;
  }

  // var += 0 and var -= 0 change nothing: readers of the result read the
  // variable, and nodes that waited for the update need not.
  absl::StatusOr<bool> RemoveZeroUpdate(Node* node) {
    RETURN_IF_ERROR(ReplaceOutput(graph_, context_, Output(node, 0), node->input(0)));
    const std::vector<Node*> dependents = node->control_outputs();
    for (Node* d : dependents) graph_.RemoveControlInput(d, node);
    RETURN_IF_ERROR(RemoveIfUnused(graph_, context_, node).status());
    return true;
  }

  // A NoOp only orders: its dependents may wait for its control inputs
  // directly. Done when that does not multiply edges (k inputs times m
  // dependents would replace k + m).
  absl::StatusOr<bool> RemoveNoOp(Node* node) {
    const size_t k = node->control_inputs().size();
    const size_t m = node->control_outputs().size();
    if (k > 1 && m > 1) return false;
    ForwardControlOutputs(graph_, node);
    return RemoveIfUnused(graph_, context_, node);
  }

  absl::StatusOr<bool> SimplifyTranspose(Node* node) {
    std::optional<std::vector<int64_t>> q = KnownPermutation(node->input(1));
    if (!q.has_value()) return false;
    if (IsIdentityPermutation(*q)) return Forward(node, node->input(0));
    Node* inner = node->input(0).node;
    if (inner->op() != "Transpose" || !inner->control_inputs().empty()) return false;
    std::optional<std::vector<int64_t>> p = KnownPermutation(inner->input(1));
    if (!p.has_value() || p->size() != q->size()) return false;
    // out[i] = inner[q[i]] = x[p[q[i]]].
    std::vector<int64_t> composed(q->size());
    for (size_t i = 0; i < q->size(); ++i) composed[i] = (*p)[(*q)[i]];
    const Output x = inner->input(0);
    if (IsIdentityPermutation(composed)) return Forward(node, x);
    Tensor perm(node->input(1).dtype(), Shape{static_cast<int64_t>(composed.size())});
    for (size_t i = 0; i < composed.size(); ++i) {
      if (perm.dtype() == DType::kI32) {
        perm.data<int32_t>()[i] = static_cast<int32_t>(composed[i]);
      } else {
        perm.data<int64_t>()[i] = composed[i];
      }
    }
    ASSIGN_OR_RETURN(Node * perm_node,
                     AddConst(graph_, absl::StrCat(node->name(), "/perm"), perm, node->device()));
    NodeSpec spec;
    spec.name = graph_.UniqueName(node->name());
    spec.op = "Transpose";
    spec.inputs = {x, Output(perm_node, 0)};
    spec.attrs = node->attrs();
    spec.device = node->device();
    ASSIGN_OR_RETURN(Node * merged, graph_.AddNode(std::move(spec)));
    return Forward(node, Output(merged, 0));
  }

  absl::StatusOr<bool> SimplifyReshape(Node* node) {
    const Output x = node->input(0);
    if (x.shape() == node->output_shape(0)) return Forward(node, x, true);
    Node* inner = x.node;
    if (!IsReshapeLike(*inner) || !inner->control_inputs().empty()) return false;
    const Output y = inner->input(0);
    // Reshapes compose to one reshape: only the last shape matters.
    if (y.shape() == node->output_shape(0)) return Forward(node, y, true);
    if (node->op() != "Reshape" || KnownValue(node->input(1)) == nullptr) return false;
    const Shape shape = node->output_shape(0);
    RETURN_IF_ERROR(graph_.UpdateInput(node, 0, y));
    // The target shape is a known Const, so reading y instead gives the same
    // shape; readers' shapes stay valid only if it does.
    if (node->output_shape(0) != shape) {
      RETURN_IF_ERROR(graph_.UpdateInput(node, 0, x));
      return false;
    }
    return true;
  }

  absl::StatusOr<bool> FoldTransposesIntoMatMul(Node* node) {
    NodeSpec spec;
    spec.attrs = node->attrs();
    spec.inputs = node->inputs();
    bool folded = false;
    for (int i = 0; i < 2; ++i) {
      const Node* t = node->input(i).node;
      if (t->op() != "Transpose" || !t->control_inputs().empty()) continue;
      std::optional<std::vector<int64_t>> perm = KnownPermutation(t->input(1));
      if (perm != std::vector<int64_t>{1, 0}) continue;
      const char* attr = i == 0 ? "transpose_a" : "transpose_b";
      spec.attrs[attr] = !node->attr(attr).b();
      spec.inputs[i] = t->input(0);
      folded = true;
    }
    if (!folded) return false;
    spec.name = graph_.UniqueName(node->name());
    spec.op = "MatMul";
    spec.device = node->device();
    ASSIGN_OR_RETURN(Node * product, graph_.AddNode(std::move(spec)));
    return Forward(node, Output(product, 0), true);
  }

  Graph& graph_;
  PassContext& context_;
};

}  // namespace

absl::StatusOr<bool> AlgebraicSimplifierPass::RunImpl(Graph& graph, PassContext& context) {
  ASSIGN_OR_RETURN(std::vector<Node*> order, graph.TopologicalOrder());
  Simplifier simplifier(graph, context);
  bool changed = false;
  for (Node* node : order) {
    ASSIGN_OR_RETURN(bool rewritten, simplifier.Visit(node));
    changed |= rewritten;
  }
  return changed;
}

}  // namespace sluice
