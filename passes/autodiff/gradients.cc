#include "passes/autodiff/gradients.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/status_macros.h"
#include "passes/autodiff/gradient_registry.h"

namespace sluice {
namespace {

// Gradients flow only through real-valued tensors; indices, shapes and masks
// have none.
bool Differentiable(DType dtype) { return IsFloating(dtype); }

absl::Status CheckOutputs(const Graph* graph, const std::vector<Output>& outputs,
                          absl::string_view role) {
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Output& o = outputs[i];
    if (!o.valid()) return absl::InvalidArgumentError(absl::StrCat(role, "[", i, "] is null"));
    if (o.node->graph() != graph) {
      return absl::InvalidArgumentError(absl::StrCat(
          role, "[", i, "] ", o.name(), " belongs to another graph than the scope's"));
    }
    if (o.index < 0 || o.index >= o.node->num_outputs()) {
      return absl::InvalidArgumentError(absl::StrCat(role, "[", i, "] names output ", o.index,
                                                     " of ", o.node->DebugName()));
    }
  }
  return absl::OkStatus();
}

// The sum of `grads` (null when empty).
Output SumGradients(const Scope& scope, const std::vector<Output>& grads) {
  if (grads.empty()) return Output();
  if (grads.size() == 1) return grads[0];
  return AddN(scope, grads);
}

}  // namespace

absl::StatusOr<std::vector<Output>> AddGradients(const Scope& scope,
                                                 const std::vector<Output>& ys,
                                                 const std::vector<Output>& xs,
                                                 const std::vector<Output>& grad_ys) {
  RETURN_IF_ERROR(scope.status());
  Graph* graph = scope.graph();
  if (ys.empty()) return absl::InvalidArgumentError("AddGradients needs at least one y");
  RETURN_IF_ERROR(CheckOutputs(graph, ys, "ys"));
  RETURN_IF_ERROR(CheckOutputs(graph, xs, "xs"));
  if (!grad_ys.empty()) {
    if (grad_ys.size() != ys.size()) {
      return absl::InvalidArgumentError(absl::StrCat("grad_ys has ", grad_ys.size(),
                                                     " entries but ys has ", ys.size()));
    }
    RETURN_IF_ERROR(CheckOutputs(graph, grad_ys, "grad_ys"));
    for (size_t i = 0; i < ys.size(); ++i) {
      if (grad_ys[i].dtype() != ys[i].dtype() ||
          !grad_ys[i].shape().IsCompatibleWith(ys[i].shape())) {
        return absl::InvalidArgumentError(absl::StrCat(
            "grad_ys[", i, "] ", grad_ys[i].name(), " is ", DTypeName(grad_ys[i].dtype()),
            grad_ys[i].shape().ToString(), " but ys[", i, "] ", ys[i].name(), " is ",
            DTypeName(ys[i].dtype()), ys[i].shape().ToString()));
      }
    }
  }
  for (size_t i = 0; i < ys.size(); ++i) {
    if (!Differentiable(ys[i].dtype())) {
      return absl::InvalidArgumentError(absl::StrCat("ys[", i, "] ", ys[i].name(), " is ",
                                                     DTypeName(ys[i].dtype()),
                                                     "; only floating-point tensors have gradients"));
    }
  }
  ASSIGN_OR_RETURN(std::vector<Node*> order, graph->TopologicalOrder());

  // Outputs that depend on some x through real-valued edges.
  absl::flat_hash_set<Output> reached(xs.begin(), xs.end());
  for (Node* n : order) {
    bool depends = false;
    for (const Output& in : n->inputs()) {
      if (Differentiable(in.dtype()) && reached.contains(in)) depends = true;
    }
    if (!depends) continue;
    for (int i = 0; i < n->num_outputs(); ++i) reached.insert(Output(n, i));
  }
  // Nodes some y depends on.
  std::vector<bool> needed(graph->id_bound(), false);
  std::vector<Node*> stack;
  for (const Output& y : ys) stack.push_back(y.node);
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (needed[n->id()]) continue;
    needed[n->id()] = true;
    for (const Output& in : n->inputs()) stack.push_back(in.node);
  }

  // Gradient contributions per output, summed when a node is reached in
  // reverse topological order (after every consumer has contributed).
  Scope grad_scope = scope.NewSubScope("gradients");
  absl::flat_hash_map<Output, std::vector<Output>> pending;
  for (size_t i = 0; i < ys.size(); ++i) {
    if (!reached.contains(ys[i])) continue;
    Output seed = grad_ys.empty() ? OnesLike(grad_scope.NewSubScope("seed"), ys[i]) : grad_ys[i];
    pending[ys[i]].push_back(seed);
  }
  const absl::flat_hash_set<Output> x_set(xs.begin(), xs.end());
  absl::flat_hash_map<Output, Output> x_grads;
  const GradientRegistry& registry = GradientRegistry::Global();

  for (auto it = order.rbegin(); it != order.rend(); ++it) {
    Node* n = *it;
    if (!needed[n->id()]) continue;
    std::vector<Output> grad_outputs(n->num_outputs());
    bool any = false;
    for (int i = 0; i < n->num_outputs(); ++i) {
      const Output out(n, i);
      auto p = pending.find(out);
      if (p == pending.end()) continue;
      grad_outputs[i] = SumGradients(grad_scope.NewSubScope(absl::StrCat(n->name(), "_sum")),
                                     p->second);
      pending.erase(p);
      if (x_set.contains(out)) x_grads[out] = grad_outputs[i];
      any = true;
    }
    if (!any) continue;
    // Inputs through which the gradient continues towards some x.
    bool any_input = false;
    for (const Output& in : n->inputs()) {
      if (Differentiable(in.dtype()) && reached.contains(in)) any_input = true;
    }
    if (!any_input) continue;
    if (registry.HasNoGradient(n->op())) continue;
    const GradFn* fn = registry.Find(n->op());
    if (fn == nullptr) {
      return absl::UnimplementedError(absl::StrCat(
          "no gradient is defined for op type ", n->op(), " (node '", n->name(),
          "'), which lies between the xs and the ys"));
    }
    Scope node_scope = grad_scope.NewSubScope(absl::StrCat(n->name(), "_grad"));
    std::vector<Output> grad_inputs(n->num_inputs());
    GradContext ctx{node_scope, *n, grad_outputs, grad_inputs};
    absl::Status status = (*fn)(ctx);
    if (status.ok()) status = scope.status();
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("gradient of ", n->DebugName(), ": ",
                                                      status.message()));
    }
    for (int i = 0; i < n->num_inputs(); ++i) {
      const Output in = n->input(i);
      if (!grad_inputs[i].valid() || !Differentiable(in.dtype()) || !reached.contains(in)) {
        continue;
      }
      if (grad_inputs[i].dtype() != in.dtype()) {
        return absl::InternalError(absl::StrCat(
            "gradient of ", n->DebugName(), " for input ", i, " is ",
            DTypeName(grad_inputs[i].dtype()), " but the input is ", DTypeName(in.dtype())));
      }
      pending[in].push_back(grad_inputs[i]);
    }
  }

  std::vector<Output> result;
  result.reserve(xs.size());
  for (const Output& x : xs) {
    auto it = x_grads.find(x);
    result.push_back(it == x_grads.end() ? Output() : it->second);
  }
  return result;
}

}  // namespace sluice
