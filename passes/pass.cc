#include "passes/pass.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "graph/shape_inference.h"
#include "graph/status_macros.h"

namespace sluice {

bool PassContext::IsPinned(const Node* node) const {
  if (std::find(targets.begin(), targets.end(), node) != targets.end()) return true;
  for (const Output& f : fetches) {
    if (f.node == node) return true;
  }
  return false;
}

absl::Status ReplaceOutput(Graph& graph, PassContext& context, Output from, Output to) {
  if (from == to) return absl::OkStatus();
  RETURN_IF_ERROR(graph.ReplaceAllUsesWith(from, to));
  for (Output& f : context.fetches) {
    if (f == from) f = to;
  }
  return absl::OkStatus();
}

absl::Status VerifyGraph(const Graph& graph) {
  for (const Node* node : graph.nodes()) {
    for (int i = 0; i < node->num_inputs(); ++i) {
      const Output in = node->input(i);
      if (in.node == nullptr || in.node->id() >= graph.id_bound() ||
          graph.node(in.node->id()) != in.node) {
        return absl::InternalError(
            absl::StrCat(node->DebugName(), ": input ", i, " refers to a removed node"));
      }
      if (in.index < 0 || in.index >= in.node->num_outputs()) {
        return absl::InternalError(absl::StrCat(node->DebugName(), ": input ", i, " names output ",
                                                in.index, " of ", in.node->DebugName()));
      }
    }
    for (const Node* c : node->control_inputs()) {
      if (c->id() >= graph.id_bound() || graph.node(c->id()) != c) {
        return absl::InternalError(
            absl::StrCat(node->DebugName(), ": a control input refers to a removed node"));
      }
    }
    std::vector<DType> dtypes;
    std::vector<Shape> shapes;
    std::vector<const Tensor*> values;
    std::vector<const OpDef*> ops;
    for (const Output& in : node->inputs()) {
      dtypes.push_back(in.dtype());
      shapes.push_back(in.shape());
      values.push_back(in.node->output_value(in.index));
      ops.push_back(&in.node->op_def());
    }
    std::vector<DType> out_dtypes;
    for (int i = 0; i < node->num_outputs(); ++i) out_dtypes.push_back(node->output_dtype(i));
    InferenceContext c(node->op_def(), node->attrs(), dtypes, shapes, values, ops, out_dtypes);
    absl::Status status = node->op_def().shape_fn()(c);
    if (!status.ok()) {
      return absl::InternalError(absl::StrCat(node->DebugName(), ": ", status.message()));
    }
    for (int i = 0; i < node->num_outputs(); ++i) {
      if (c.output_shape(i) != node->output_shape(i)) {
        return absl::InternalError(absl::StrCat(
            node->DebugName(), ": output ", i, " is recorded as ",
            node->output_shape(i).ToString(), " but its inputs give ",
            c.output_shape(i).ToString()));
      }
    }
  }
  return graph.TopologicalOrder().status();
}

}  // namespace sluice
