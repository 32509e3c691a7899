// Optimizers in the style of TensorFlow 1.x's tf.train: Minimize(loss) adds
// the gradient subgraph and one apply op per trainable variable and returns
// a single train op to run.
//
//   Output loss = ...;
//   AdamOptimizer adam({.learning_rate = 0.001});
//   absl::StatusOr<Node*> train = adam.Minimize(scope, loss);
//   Node* init = InitAllVariables(scope);  // after Minimize: slots are variables too
//   session->Run({}, {}, {"init"});
//   session->Run({{"x", batch}, {"y", labels}}, {"loss"}, {(*train)->name()});
//
// Slot variables (accumulators, moments) are ordinary Variables named
// "<variable>/<Optimizer>[_k]", so checkpoints and dumps include them.
#ifndef SLUICE_GRAPH_OPTIMIZERS_H_
#define SLUICE_GRAPH_OPTIMIZERS_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/scope.h"

namespace sluice {

// A learning rate: a constant, any scalar tensor of the graph (e.g. a
// placeholder fed per run), or a schedule computed from the global step.
class LearningRate {
 public:
  LearningRate(double value);  // NOLINT: a constant reads naturally as a number
  LearningRate(Output tensor);  // NOLINT
  // initial * rate^(step / decay_steps), with an integer exponent when
  // `staircase` (tf.train.exponential_decay).
  static LearningRate ExponentialDecay(double initial, int64_t decay_steps, double decay_rate,
                                       bool staircase = false);
  // values[i] while step <= boundaries[i] (and after the previous boundary);
  // values.back() after the last boundary. Needs values.size() ==
  // boundaries.size() + 1 and increasing boundaries (tf.train.piecewise_constant).
  static LearningRate PiecewiseConstant(std::vector<int64_t> boundaries,
                                        std::vector<double> values);

  // The rate as a scalar of `dtype` in `scope`'s graph; schedules read
  // `global_step` (an i64 scalar). Errors go to the scope.
  Output Build(const Scope& scope, DType dtype, Output global_step) const;
  bool needs_global_step() const { return kind_ == Kind::kExponential || kind_ == Kind::kPiecewise; }

 private:
  enum class Kind { kConstant, kTensor, kExponential, kPiecewise };
  Kind kind_ = Kind::kConstant;
  double value_ = 0;
  Output tensor_;
  int64_t decay_steps_ = 1;
  double decay_rate_ = 1;
  bool staircase_ = false;
  std::vector<int64_t> boundaries_;
  std::vector<double> values_;
};

// The graph's global step: an i64 scalar Variable named "global_step"
// (not trainable, initialised to 0), created on first use.
Output GetOrCreateGlobalStep(const Scope& scope);

// Every trainable Variable of the graph (its output), in creation order.
std::vector<Output> TrainableVariables(const Graph& graph);

// Scales `grads` by clip_norm / max(global_norm, clip_norm), where
// global_norm = sqrt(sum of squares of every gradient) (tf.clip_by_global_norm).
// Null gradients stay null. Returns the clipped gradients and global_norm.
std::pair<std::vector<Output>, Output> ClipByGlobalNorm(const Scope& scope,
                                                        const std::vector<Output>& grads,
                                                        double clip_norm);

struct MinimizeOptions {
  // The variables to train (Variable outputs); empty: every trainable one.
  std::vector<Output> var_list;
  // When > 0, gradients are clipped to this global norm before applying.
  double clip_global_norm = 0;
  // Increments the global step with each run of the train op (created if
  // the graph has none). Schedules need it whatever this says.
  bool increment_global_step = true;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // The gradient of `loss` (a floating scalar) for every variable of the
  // list, paired with the variable; variables the loss does not depend on
  // are left out. An error when none remain.
  absl::StatusOr<std::vector<std::pair<Output, Output>>> ComputeGradients(
      const Scope& scope, Output loss, const std::vector<Output>& var_list = {});
  // One apply op per (gradient, variable), each running after every
  // gradient is computed (so no update is seen by another variable's
  // gradient), plus the optimizer's own bookkeeping and the global step
  // increment; returns the NoOp that groups them, named `train_op_name`.
  absl::StatusOr<Node*> ApplyGradients(const Scope& scope,
                                       const std::vector<std::pair<Output, Output>>& grads_and_vars,
                                       bool increment_global_step = true,
                                       const std::string& train_op_name = "train");
  // ComputeGradients, optional clipping, then ApplyGradients.
  absl::StatusOr<Node*> Minimize(const Scope& scope, Output loss,
                                 const MinimizeOptions& options = {});

  // "GradientDescent", "Momentum", "Adam", ...: the slot variables' suffix.
  virtual std::string name() const = 0;

 protected:
  explicit Optimizer(LearningRate learning_rate) : learning_rate_(std::move(learning_rate)) {}

  // Called once per ApplyGradients before the apply ops, with the variables'
  // dtype; creates shared nodes (hyper-parameter constants, Adam's beta
  // powers).
  virtual absl::Status Prepare(const Scope& scope, DType dtype) { return absl::OkStatus(); }
  // The apply op updating `var` with `grad`.
  virtual Output ApplyDense(const Scope& scope, Output grad, Output var) = 0;
  // Nodes to run after every apply op (Adam's beta power updates), built
  // with `scope`, whose control dependencies are the apply ops.
  virtual std::vector<Node*> Finish(const Scope& scope) { return {}; }

  // A zero-initialised (or `initial`) slot variable shaped like `var`, named
  // "<var>/<name()>" plus `suffix`.
  Output MakeSlot(const Scope& scope, Output var, const std::string& suffix,
                  double initial = 0.0);
  // A scalar constant of the variables' dtype.
  Output Scalar(const Scope& scope, double value) const;

  Output lr() const { return lr_; }
  DType dtype() const { return dtype_; }

 private:
  LearningRate learning_rate_;
  Output lr_;
  DType dtype_ = DType::kF32;
};

struct GradientDescentOptions {
  LearningRate learning_rate = 0.01;
};
class GradientDescentOptimizer final : public Optimizer {
 public:
  explicit GradientDescentOptimizer(const GradientDescentOptions& options = {})
      : Optimizer(options.learning_rate) {}
  std::string name() const override { return "GradientDescent"; }

 protected:
  Output ApplyDense(const Scope& scope, Output grad, Output var) override;
};

struct MomentumOptions {
  LearningRate learning_rate = 0.01;
  double momentum = 0.9;
  bool use_nesterov = false;
};
class MomentumOptimizer final : public Optimizer {
 public:
  explicit MomentumOptimizer(const MomentumOptions& options = {})
      : Optimizer(options.learning_rate), options_(options) {}
  std::string name() const override { return "Momentum"; }

 protected:
  absl::Status Prepare(const Scope& scope, DType dtype) override;
  Output ApplyDense(const Scope& scope, Output grad, Output var) override;

 private:
  MomentumOptions options_;
  Output momentum_;
};

struct AdamOptions {
  LearningRate learning_rate = 0.001;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  bool use_nesterov = false;
};
class AdamOptimizer final : public Optimizer {
 public:
  explicit AdamOptimizer(const AdamOptions& options = {})
      : Optimizer(options.learning_rate), options_(options) {}
  std::string name() const override { return "Adam"; }

 protected:
  absl::Status Prepare(const Scope& scope, DType dtype) override;
  Output ApplyDense(const Scope& scope, Output grad, Output var) override;
  std::vector<Node*> Finish(const Scope& scope) override;

 private:
  AdamOptions options_;
  Output beta1_, beta2_, epsilon_, beta1_power_, beta2_power_;
};

struct RMSPropOptions {
  LearningRate learning_rate = 0.001;
  double decay = 0.9;  // rho
  double momentum = 0.0;
  double epsilon = 1e-10;
};
class RMSPropOptimizer final : public Optimizer {
 public:
  explicit RMSPropOptimizer(const RMSPropOptions& options = {})
      : Optimizer(options.learning_rate), options_(options) {}
  std::string name() const override { return "RMSProp"; }

 protected:
  absl::Status Prepare(const Scope& scope, DType dtype) override;
  Output ApplyDense(const Scope& scope, Output grad, Output var) override;

 private:
  RMSPropOptions options_;
  Output rho_, momentum_, epsilon_;
};

struct AdagradOptions {
  LearningRate learning_rate = 0.01;
  double initial_accumulator_value = 0.1;
};
class AdagradOptimizer final : public Optimizer {
 public:
  explicit AdagradOptimizer(const AdagradOptions& options = {})
      : Optimizer(options.learning_rate), options_(options) {}
  std::string name() const override { return "Adagrad"; }

 protected:
  Output ApplyDense(const Scope& scope, Output grad, Output var) override;

 private:
  AdagradOptions options_;
};

}  // namespace sluice

#endif  // SLUICE_GRAPH_OPTIMIZERS_H_
