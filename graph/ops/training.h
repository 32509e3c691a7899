// Builders for the optimizer apply ops (TensorFlow 1.x's Apply* ops). Each
// updates a variable, and the optimizer's slot variables, in place and yields
// the variable's new value:
//
//   Output w = Variable(scope, Shape{3}, DType::kF32, Const(scope, {0.f, 0.f, 0.f}));
//   Output step = ApplyGradientDescent(scope, w, Const(scope, 0.1f), grad);
//
// `var` and every slot (accum, m, v, ms, mom) must be outputs of Variable
// nodes of the gradient's shape; hyper-parameters (learning rate, decay
// rates, epsilon, beta powers) are scalars. All inputs share one floating
// dtype (f32 or f64).
#ifndef SLUICE_GRAPH_OPS_TRAINING_H_
#define SLUICE_GRAPH_OPS_TRAINING_H_

#include "graph/scope.h"

namespace sluice {

struct ApplyOptions {
  // Hold the variables' update locks while updating, so concurrent runs that
  // update the same variables do not interleave (TF's use_locking).
  bool use_locking = false;
  // Nesterov momentum; only ApplyMomentum and ApplyAdam read it.
  bool use_nesterov = false;
  // Whether ApplyAdagrad adds grad^2 to its accumulator; only it reads it.
  bool update_slots = true;
};

// var -= alpha * delta.
//   var: a Variable's output; alpha: scalar learning rate; delta: the
//   gradient, of var's shape.
Output ApplyGradientDescent(const Scope& scope, Output var, Output alpha, Output delta,
                            const ApplyOptions& options = {});

// accum = accum * momentum + grad; then var -= lr * accum, or with Nesterov
// var -= lr * grad + lr * momentum * accum.
//   var, accum: Variables' outputs; lr, momentum: scalars; grad: var's shape.
Output ApplyMomentum(const Scope& scope, Output var, Output accum, Output lr, Output grad,
                     Output momentum, const ApplyOptions& options = {});

// Adam (Kingma and Ba):
//   lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
//   m = beta1 * m + (1 - beta1) * grad
//   v = beta2 * v + (1 - beta2) * grad^2
//   var -= lr_t * m / (sqrt(v) + epsilon)
// With Nesterov the numerator is m * beta1 + (1 - beta1) * grad (new m).
//   var, m, v: Variables' outputs; beta1_power, beta2_power (beta1^t and
//   beta2^t at step t), lr, beta1, beta2, epsilon: scalars; grad: var's shape.
Output ApplyAdam(const Scope& scope, Output var, Output m, Output v, Output beta1_power,
                 Output beta2_power, Output lr, Output beta1, Output beta2, Output epsilon,
                 Output grad, const ApplyOptions& options = {});

// RMSProp with momentum:
//   ms = rho * ms + (1 - rho) * grad^2
//   mom = momentum * mom + lr * grad / sqrt(ms + epsilon)
//   var -= mom
//   var, ms, mom: Variables' outputs; lr, rho, momentum, epsilon: scalars;
//   grad: var's shape.
Output ApplyRMSProp(const Scope& scope, Output var, Output ms, Output mom, Output lr, Output rho,
                    Output momentum, Output epsilon, Output grad, const ApplyOptions& options = {});

// accum += grad^2 (unless options.update_slots is false); then
// var -= lr * grad / sqrt(accum).
//   var, accum: Variables' outputs; lr: scalar; grad: var's shape.
Output ApplyAdagrad(const Scope& scope, Output var, Output accum, Output lr, Output grad,
                    const ApplyOptions& options = {});

}  // namespace sluice

#endif  // SLUICE_GRAPH_OPS_TRAINING_H_
