// The optimizer apply ops: in-place updates of a variable and its slots.
#include "graph/ops/training.h"

#include <string>
#include <vector>

#include "graph/op_def.h"
#include "graph/ops/op_families.h"
#include "graph/shape_inference.h"

namespace sluice {
namespace {

// What an apply op's input is: the variable or a slot it updates (both must
// be Variable outputs), a scalar hyper-parameter, or the gradient.
enum class ApplyArg { kRef, kScalar, kGrad };

struct ApplyInput {
  const char* name;
  ApplyArg kind;
};

// One signature check for every apply op. Input 0 is always `var`; refs and
// the gradient must have its shape, so that the kernel can update all of them
// in one pass over the elements.
ShapeFn ApplyShape(std::vector<ApplyInput> inputs) {
  return [inputs = std::move(inputs)](InferenceContext& c) -> absl::Status {
    const Shape& var = c.input_shape(0);
    for (int i = 0; i < c.num_inputs(); ++i) {
      const ApplyInput& in = inputs[i];
      switch (in.kind) {
        case ApplyArg::kRef:
          // The kernel writes through the variable store, which only
          // Variable nodes have slots in.
          if (c.input_op(i).name() != "Variable") {
            return c.Error("input ", i, " (", in.name, ") must be a Variable, got an output of ",
                           c.input_op(i).name());
          }
          if (!c.input_shape(i).IsCompatibleWith(var)) {
            return c.Error(in.name, " has shape ", c.input_shape(i).ToString(),
                           " but var has shape ", var.ToString());
          }
          break;
        case ApplyArg::kScalar:
          if (!c.input_shape(i).unknown_rank() && c.input_shape(i).rank() != 0) {
            return c.Error(in.name, " must be a scalar, got shape ", c.input_shape(i).ToString());
          }
          break;
        case ApplyArg::kGrad:
          if (!c.input_shape(i).IsCompatibleWith(var)) {
            return c.Error(in.name, " of shape ", c.input_shape(i).ToString(),
                           " does not fit var's shape ", var.ToString());
          }
          break;
      }
    }
    c.set_output(0, var);
    return absl::OkStatus();
  };
}

void RegisterApply(OpRegistry& r, const char* name, std::vector<ApplyInput> inputs,
                   std::vector<const char*> extra_attrs, const char* doc) {
  OpDefBuilder b(name);
  for (const ApplyInput& in : inputs) b.Input(std::string(in.name) + ": T");
  b.Output("out: T").Attr("T: {f32, f64}").Attr("use_locking: bool = false");
  for (const char* attr : extra_attrs) b.Attr(attr);
  r.Register(b.SetShapeFn(ApplyShape(std::move(inputs))).Stateful().Doc(doc));
}

constexpr ApplyArg kRef = ApplyArg::kRef;
constexpr ApplyArg kScalar = ApplyArg::kScalar;
constexpr ApplyArg kGrad = ApplyArg::kGrad;

}  // namespace

void RegisterTrainingOps(OpRegistry& r) {
  RegisterApply(r, "ApplyGradientDescent", {{"var", kRef}, {"alpha", kScalar}, {"delta", kGrad}},
                {}, "var -= alpha * delta; yields the new var.");
  RegisterApply(
      r, "ApplyMomentum",
      {{"var", kRef}, {"accum", kRef}, {"lr", kScalar}, {"grad", kGrad}, {"momentum", kScalar}},
      {"use_nesterov: bool = false"},
      "accum = accum * momentum + grad; var -= lr * accum (or, with Nesterov, "
      "lr * grad + lr * momentum * accum); yields the new var.");
  RegisterApply(r, "ApplyAdam",
                {{"var", kRef},
                 {"m", kRef},
                 {"v", kRef},
                 {"beta1_power", kScalar},
                 {"beta2_power", kScalar},
                 {"lr", kScalar},
                 {"beta1", kScalar},
                 {"beta2", kScalar},
                 {"epsilon", kScalar},
                 {"grad", kGrad}},
                {"use_nesterov: bool = false"},
                "Adam: updates m, v and var with lr * sqrt(1 - beta2_power) / (1 - beta1_power); "
                "yields the new var.");
  RegisterApply(r, "ApplyRMSProp",
                {{"var", kRef},
                 {"ms", kRef},
                 {"mom", kRef},
                 {"lr", kScalar},
                 {"rho", kScalar},
                 {"momentum", kScalar},
                 {"epsilon", kScalar},
                 {"grad", kGrad}},
                {},
                "ms = rho * ms + (1 - rho) * grad^2; mom = momentum * mom + lr * grad / "
                "sqrt(ms + epsilon); var -= mom; yields the new var.");
  RegisterApply(r, "ApplyAdagrad",
                {{"var", kRef}, {"accum", kRef}, {"lr", kScalar}, {"grad", kGrad}},
                {"update_slots: bool = true"},
                "accum += grad^2 (when update_slots); var -= lr * grad / sqrt(accum); yields "
                "the new var.");
}

Output ApplyGradientDescent(const Scope& scope, Output var, Output alpha, Output delta,
                            const ApplyOptions& options) {
  return AddOp(scope, "ApplyGradientDescent", {var, alpha, delta},
               {{"use_locking", options.use_locking}});
}

Output ApplyMomentum(const Scope& scope, Output var, Output accum, Output lr, Output grad,
                     Output momentum, const ApplyOptions& options) {
  return AddOp(scope, "ApplyMomentum", {var, accum, lr, grad, momentum},
               {{"use_locking", options.use_locking}, {"use_nesterov", options.use_nesterov}});
}

Output ApplyAdam(const Scope& scope, Output var, Output m, Output v, Output beta1_power,
                 Output beta2_power, Output lr, Output beta1, Output beta2, Output epsilon,
                 Output grad, const ApplyOptions& options) {
  return AddOp(scope, "ApplyAdam",
               {var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad},
               {{"use_locking", options.use_locking}, {"use_nesterov", options.use_nesterov}});
}

Output ApplyRMSProp(const Scope& scope, Output var, Output ms, Output mom, Output lr, Output rho,
                    Output momentum, Output epsilon, Output grad, const ApplyOptions& options) {
  return AddOp(scope, "ApplyRMSProp", {var, ms, mom, lr, rho, momentum, epsilon, grad},
               {{"use_locking", options.use_locking}});
}

Output ApplyAdagrad(const Scope& scope, Output var, Output accum, Output lr, Output grad,
                    const ApplyOptions& options) {
  return AddOp(scope, "ApplyAdagrad", {var, accum, lr, grad},
               {{"use_locking", options.use_locking}, {"update_slots", options.update_slots}});
}

}  // namespace sluice
