#include "graph/optimizers.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/state.h"
#include "graph/ops/training.h"
#include "graph/status_macros.h"
#include "passes/autodiff/grad_util.h"
#include "passes/autodiff/gradients.h"

namespace sluice {
namespace {

bool IsVariable(Output o) { return o.valid() && o.node->op() == "Variable" && o.index == 0; }

}  // namespace

// ---------------------------------------------------------------------------
// Learning rates.

LearningRate::LearningRate(double value) : kind_(Kind::kConstant), value_(value) {}
LearningRate::LearningRate(Output tensor) : kind_(Kind::kTensor), tensor_(tensor) {}

LearningRate LearningRate::ExponentialDecay(double initial, int64_t decay_steps,
                                            double decay_rate, bool staircase) {
  LearningRate r(initial);
  r.kind_ = Kind::kExponential;
  r.decay_steps_ = decay_steps;
  r.decay_rate_ = decay_rate;
  r.staircase_ = staircase;
  return r;
}

LearningRate LearningRate::PiecewiseConstant(std::vector<int64_t> boundaries,
                                             std::vector<double> values) {
  LearningRate r(values.empty() ? 0.0 : values[0]);
  r.kind_ = Kind::kPiecewise;
  r.boundaries_ = std::move(boundaries);
  r.values_ = std::move(values);
  return r;
}

Output LearningRate::Build(const Scope& scope, DType dtype, Output global_step) const {
  Scope s = scope.NewSubScope("learning_rate");
  switch (kind_) {
    case Kind::kConstant:
      return ScalarConst(s, dtype, value_);
    case Kind::kTensor:
      if (!tensor_.valid()) {
        scope.UpdateStatus(absl::InvalidArgumentError("the learning rate tensor is null"));
        return Output();
      }
      if (!tensor_.shape().IsCompatibleWith(Shape{})) {
        scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(
            "the learning rate ", tensor_.name(), " must be a scalar, got ",
            tensor_.shape().ToString())));
        return Output();
      }
      return tensor_.dtype() == dtype ? tensor_ : Cast(s, tensor_, dtype);
    case Kind::kExponential: {
      if (decay_steps_ <= 0) {
        scope.UpdateStatus(absl::InvalidArgumentError(
            absl::StrCat("exponential decay needs decay_steps > 0, got ", decay_steps_)));
        return Output();
      }
      Output exponent =
          staircase_ ? Cast(s, Div(s, global_step, Const(s, decay_steps_)), dtype)
                     : Div(s, Cast(s, global_step, dtype),
                           ScalarConst(s, dtype, static_cast<double>(decay_steps_)));
      return Mul(s, ScalarConst(s, dtype, value_),
                 Pow(s, ScalarConst(s, dtype, decay_rate_), exponent));
    }
    case Kind::kPiecewise: {
      if (values_.size() != boundaries_.size() + 1) {
        scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(
            "a piecewise constant learning rate needs one value more than boundaries, got ",
            values_.size(), " values and ", boundaries_.size(), " boundaries")));
        return Output();
      }
      for (size_t i = 1; i < boundaries_.size(); ++i) {
        if (boundaries_[i] <= boundaries_[i - 1]) {
          scope.UpdateStatus(absl::InvalidArgumentError(
              absl::StrCat("piecewise constant boundaries must increase, got ",
                           boundaries_[i - 1], " then ", boundaries_[i])));
          return Output();
        }
      }
      // values[0] + sum_i (values[i+1] - values[i]) [step > boundaries[i]].
      Output rate = ScalarConst(s, dtype, values_[0]);
      for (size_t i = 0; i < boundaries_.size(); ++i) {
        Output past = Cast(s, Greater(s, global_step, Const(s, boundaries_[i])), dtype);
        rate = Add(s, rate, Mul(s, ScalarConst(s, dtype, values_[i + 1] - values_[i]), past));
      }
      return rate;
    }
  }
  return Output();
}

// ---------------------------------------------------------------------------
// Global step, trainable variables, clipping.

Output GetOrCreateGlobalStep(const Scope& scope) {
  if (!scope.ok()) return Output();
  if (Node* existing = scope.graph()->FindNode("global_step")) {
    if (existing->op() != "Variable" || existing->output_dtype(0) != DType::kI64) {
      scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(
          "the graph's node 'global_step' is ", existing->DebugName(),
          ", not the i64 Variable a global step must be")));
      return Output();
    }
    return Output(existing, 0);
  }
  Scope root = Scope::ForGraph(scope.graph());
  return Variable(root.WithOpName("global_step"), Shape{}, DType::kI64,
                  Const(root.WithOpName("global_step/initial_value"), int64_t{0}),
                  {.trainable = false});
}

std::vector<Output> TrainableVariables(const Graph& graph) {
  std::vector<Output> vars;
  for (Node* n : graph.nodes()) {
    if (n->op() == "Variable" && n->attr("trainable").b()) vars.push_back(Output(n, 0));
  }
  return vars;
}

std::pair<std::vector<Output>, Output> ClipByGlobalNorm(const Scope& scope,
                                                        const std::vector<Output>& grads,
                                                        double clip_norm) {
  Scope s = scope.NewSubScope("clip_by_global_norm");
  std::vector<Output> squares;
  for (const Output& g : grads) {
    if (!g.valid()) continue;
    std::vector<int64_t> all(g.shape().unknown_rank() ? 0 : g.shape().rank());
    for (size_t d = 0; d < all.size(); ++d) all[d] = static_cast<int64_t>(d);
    squares.push_back(Sum(s, Square(s, g), all));
  }
  if (squares.empty()) return {grads, Output()};
  const DType dtype = squares[0].dtype();
  Output norm = Sqrt(s.WithOpName("global_norm"),
                     squares.size() == 1 ? squares[0] : AddN(s, squares));
  const Output clip = ScalarConst(s, dtype, clip_norm);
  const Output scale = Div(s, clip, Maximum(s, norm, clip));
  std::vector<Output> clipped;
  for (const Output& g : grads) clipped.push_back(g.valid() ? Mul(s, g, scale) : Output());
  return {clipped, norm};
}

// ---------------------------------------------------------------------------
// Optimizer.

absl::StatusOr<std::vector<std::pair<Output, Output>>> Optimizer::ComputeGradients(
    const Scope& scope, Output loss, const std::vector<Output>& var_list) {
  RETURN_IF_ERROR(scope.status());
  if (!loss.valid()) return absl::InvalidArgumentError("the loss is null");
  if (!IsFloating(loss.dtype())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the loss ", loss.name(), " is ", DTypeName(loss.dtype()), "; it must be floating point"));
  }
  std::vector<Output> vars = var_list.empty() ? TrainableVariables(*scope.graph()) : var_list;
  if (vars.empty()) {
    return absl::InvalidArgumentError("there are no trainable variables to minimize over");
  }
  for (const Output& v : vars) {
    if (!IsVariable(v)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "var_list holds ", v.valid() ? v.node->DebugName() : "a null Output",
          ", which is not a Variable"));
    }
  }
  ASSIGN_OR_RETURN(std::vector<Output> grads, AddGradients(scope, {loss}, vars));
  std::vector<std::pair<Output, Output>> pairs;
  for (size_t i = 0; i < vars.size(); ++i) {
    if (grads[i].valid()) pairs.push_back({grads[i], vars[i]});
  }
  if (pairs.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the loss ", loss.name(), " depends on none of the ", vars.size(),
        " variables to train"));
  }
  return pairs;
}

absl::StatusOr<Node*> Optimizer::ApplyGradients(
    const Scope& scope, const std::vector<std::pair<Output, Output>>& grads_and_vars,
    bool increment_global_step, const std::string& train_op_name) {
  RETURN_IF_ERROR(scope.status());
  if (grads_and_vars.empty()) return absl::InvalidArgumentError("no gradients to apply");
  dtype_ = grads_and_vars[0].second.dtype();
  std::vector<Node*> grad_nodes;
  for (const auto& [grad, var] : grads_and_vars) {
    if (!IsVariable(var)) {
      return absl::InvalidArgumentError(absl::StrCat(
          var.valid() ? var.node->DebugName() : "a null Output", " is not a Variable"));
    }
    if (var.dtype() != dtype_) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the variables of one optimizer must share a dtype: ", var.node->name(), " is ",
          DTypeName(var.dtype()), " but ", grads_and_vars[0].second.node->name(), " is ",
          DTypeName(dtype_)));
    }
    if (!grad.valid() || grad.dtype() != dtype_) {
      return absl::InvalidArgumentError(absl::StrCat("the gradient for ", var.node->name(),
                                                     " is null or of another dtype"));
    }
    grad_nodes.push_back(grad.node);
  }
  Scope s = scope.NewSubScope(name());
  Output step;
  if (increment_global_step || learning_rate_.needs_global_step()) {
    step = GetOrCreateGlobalStep(scope);
  }
  lr_ = learning_rate_.Build(s, dtype_, step);
  RETURN_IF_ERROR(Prepare(s, dtype_));
  RETURN_IF_ERROR(scope.status());

  // Every apply waits for every gradient: a variable updated in place must
  // not change while another variable's gradient still reads it.
  Scope after_grads = s.WithControlDependencies(grad_nodes);
  std::vector<Node*> applies;
  for (const auto& [grad, var] : grads_and_vars) {
    Output applied = ApplyDense(after_grads.NewSubScope(var.node->name()), grad, var);
    RETURN_IF_ERROR(scope.status());
    applies.push_back(applied.node);
  }
  std::vector<Node*> finish = Finish(s.WithControlDependencies(applies));
  RETURN_IF_ERROR(scope.status());
  std::vector<Node*> group = applies;
  group.insert(group.end(), finish.begin(), finish.end());
  if (increment_global_step) {
    Output incremented = AssignAdd(s.WithControlDependencies(applies).WithOpName("increment_step"),
                                   step, Const(s, int64_t{1}));
    group.push_back(incremented.node);
  }
  Node* train =
      AddOpNode(scope.WithOpName(train_op_name).WithControlDependencies(group), "NoOp", {});
  RETURN_IF_ERROR(scope.status());
  return train;
}

absl::StatusOr<Node*> Optimizer::Minimize(const Scope& scope, Output loss,
                                          const MinimizeOptions& options) {
  ASSIGN_OR_RETURN(auto grads_and_vars, ComputeGradients(scope, loss, options.var_list));
  if (options.clip_global_norm > 0) {
    std::vector<Output> grads;
    for (const auto& gv : grads_and_vars) grads.push_back(gv.first);
    std::vector<Output> clipped = ClipByGlobalNorm(scope, grads, options.clip_global_norm).first;
    for (size_t i = 0; i < clipped.size(); ++i) grads_and_vars[i].first = clipped[i];
    RETURN_IF_ERROR(scope.status());
  } else if (options.clip_global_norm < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("clip_global_norm must be >= 0, got ", options.clip_global_norm));
  }
  return ApplyGradients(scope, grads_and_vars, options.increment_global_step);
}

Output Optimizer::MakeSlot(const Scope& scope, Output var, const std::string& suffix,
                           double initial) {
  const Shape& shape = var.node->attr("shape").shape();
  Scope root = Scope::ForGraph(scope.graph());
  const std::string slot_name = absl::StrCat(var.node->name(), "/", name(), suffix);
  std::vector<int64_t> dims(shape.dims().begin(), shape.dims().end());
  // Under "<slot>/Initializer", a scope that does not claim the slot's name.
  Scope init_scope = root.NewSubScope(slot_name + "/Initializer");
  Output init = Fill(init_scope, dims, ScalarConst(init_scope, var.dtype(), initial));
  return Variable(root.WithOpName(slot_name), shape, var.dtype(), init, {.trainable = false});
}

Output Optimizer::Scalar(const Scope& scope, double value) const {
  return ScalarConst(scope, dtype_, value);
}

// ---------------------------------------------------------------------------
// The optimizers.

Output GradientDescentOptimizer::ApplyDense(const Scope& scope, Output grad, Output var) {
  return ApplyGradientDescent(scope, var, lr(), grad);
}

absl::Status MomentumOptimizer::Prepare(const Scope& scope, DType) {
  momentum_ = Scalar(scope.WithOpName("momentum"), options_.momentum);
  return absl::OkStatus();
}

Output MomentumOptimizer::ApplyDense(const Scope& scope, Output grad, Output var) {
  Output accum = MakeSlot(scope, var, "");
  return ApplyMomentum(scope, var, accum, lr(), grad, momentum_,
                       {.use_nesterov = options_.use_nesterov});
}

absl::Status AdamOptimizer::Prepare(const Scope& scope, DType) {
  beta1_ = Scalar(scope.WithOpName("beta1"), options_.beta1);
  beta2_ = Scalar(scope.WithOpName("beta2"), options_.beta2);
  epsilon_ = Scalar(scope.WithOpName("epsilon"), options_.epsilon);
  // beta^t, kept as variables (so checkpoints resume the bias correction)
  // and advanced after every step.
  Scope root = Scope::ForGraph(scope.graph());
  beta1_power_ = Variable(root.WithOpName("beta1_power"), Shape{}, dtype(),
                          Scalar(root.WithOpName("beta1_power/initial_value"), options_.beta1),
                          {.trainable = false});
  beta2_power_ = Variable(root.WithOpName("beta2_power"), Shape{}, dtype(),
                          Scalar(root.WithOpName("beta2_power/initial_value"), options_.beta2),
                          {.trainable = false});
  return scope.status();
}

Output AdamOptimizer::ApplyDense(const Scope& scope, Output grad, Output var) {
  Output m = MakeSlot(scope, var, "");
  Output v = MakeSlot(scope, var, "_1");
  return ApplyAdam(scope, var, m, v, beta1_power_, beta2_power_, lr(), beta1_, beta2_, epsilon_,
                   grad, {.use_nesterov = options_.use_nesterov});
}

std::vector<Node*> AdamOptimizer::Finish(const Scope& scope) {
  Output b1 = Assign(scope.WithOpName("update_beta1_power"), beta1_power_,
                     Mul(scope, beta1_power_, beta1_));
  Output b2 = Assign(scope.WithOpName("update_beta2_power"), beta2_power_,
                     Mul(scope, beta2_power_, beta2_));
  return {b1.node, b2.node};
}

absl::Status RMSPropOptimizer::Prepare(const Scope& scope, DType) {
  rho_ = Scalar(scope.WithOpName("decay"), options_.decay);
  momentum_ = Scalar(scope.WithOpName("momentum"), options_.momentum);
  epsilon_ = Scalar(scope.WithOpName("epsilon"), options_.epsilon);
  return absl::OkStatus();
}

Output RMSPropOptimizer::ApplyDense(const Scope& scope, Output grad, Output var) {
  // TF initialises the mean square to ones, so early steps are not huge.
  Output ms = MakeSlot(scope, var, "", 1.0);
  Output mom = MakeSlot(scope, var, "_1");
  return ApplyRMSProp(scope, var, ms, mom, lr(), rho_, momentum_, epsilon_, grad);
}

Output AdagradOptimizer::ApplyDense(const Scope& scope, Output grad, Output var) {
  Output accum = MakeSlot(scope, var, "", options_.initial_accumulator_value);
  return ApplyAdagrad(scope, var, accum, lr(), grad);
}

}  // namespace sluice
