// Gradient functions, one per op type, looked up by AddGradients.
//
// A gradient function adds the nodes that compute the gradients of one
// node's inputs from the gradients of its outputs. Each op family keeps its
// functions in its own file (math_grad.cc, array_grad.cc, nn_grad.cc,
// state_grad.cc), each function opening with the derivative it implements.
// An op whose inputs get no gradient (comparisons, shape queries, random
// ops) is registered as such, so that "no gradient" differs from "forgotten".
#ifndef SLUICE_PASSES_AUTODIFF_GRADIENT_REGISTRY_H_
#define SLUICE_PASSES_AUTODIFF_GRADIENT_REGISTRY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "graph/graph.h"
#include "graph/scope.h"

namespace sluice {

// What a gradient function sees. `grad_outputs[i]` is the summed gradient
// flowing into output i of `node`, or a null Output when none does (at least
// one is valid). The function sets `grad_inputs` (already sized to the
// node's inputs, all null) to the gradient of each input; it leaves null the
// inputs that have no gradient (indices, shapes, integer inputs). New nodes
// go in `scope`, a sub-scope named after the node.
struct GradContext {
  const Scope& scope;
  const Node& node;
  const std::vector<Output>& grad_outputs;
  std::vector<Output>& grad_inputs;

  Output input(int i) const { return node.input(i); }
  Output output(int i) const { return Output(const_cast<Node*>(&node), i); }
  const AttrValue& attr(absl::string_view name) const { return node.attr(name); }
};

using GradFn = std::function<absl::Status(GradContext& ctx)>;

class GradientRegistry {
 public:
  // The registry holding every op family's gradients.
  static const GradientRegistry& Global();

  void Register(const std::string& op, GradFn fn);
  // Declares that no input of `op` has a gradient.
  void RegisterNoGradient(const std::string& op);

  // The function for `op`, or null when there is none (see HasNoGradient).
  const GradFn* Find(absl::string_view op) const;
  bool HasNoGradient(absl::string_view op) const;
  // Every op with a gradient function, sorted.
  std::vector<std::string> OpsWithGradients() const;

 private:
  absl::flat_hash_map<std::string, GradFn> functions_;
  absl::flat_hash_map<std::string, bool> no_gradient_;
};

// The op families' registration functions (one per *_grad.cc file).
void RegisterMathGradients(GradientRegistry& registry);
void RegisterArrayGradients(GradientRegistry& registry);
void RegisterNnGradients(GradientRegistry& registry);
void RegisterStateGradients(GradientRegistry& registry);

}  // namespace sluice

#endif  // SLUICE_PASSES_AUTODIFF_GRADIENT_REGISTRY_H_
