// Gradients of the state family and of the stateful and random ops, which
// mostly have none.
#include "passes/autodiff/gradient_registry.h"

namespace sluice {
namespace {

// z = x: dx = g.
absl::Status IdentityGrad(GradContext& c) {
  c.grad_inputs[0] = c.grad_outputs[0];
  return absl::OkStatus();
}

}  // namespace

void RegisterStateGradients(GradientRegistry& r) {
  r.Register("Identity", IdentityGrad);
  // An unfed PlaceholderWithDefault passes its default through.
  r.Register("PlaceholderWithDefault", IdentityGrad);
  // StopGradient exists to cut the gradient; variables and assignments are
  // state, and random numbers do not depend on their shape inputs.
  for (const char* op : {"StopGradient", "Assign", "AssignAdd", "AssignSub", "NoOp",
                         "RandomUniform", "RandomNormal", "TruncatedNormal"}) {
    r.RegisterNoGradient(op);
  }
}

}  // namespace sluice
