#include "graph/losses.h"

#include <initializer_list>
#include <string>

#include "absl/strings/str_cat.h"
#include "graph/initializers.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"

namespace sluice::losses {
namespace {

using initializers::ScalarConst;

// "name (f32[?,10])", how messages refer to an input.
std::string Describe(absl::string_view role, Output x) {
  return absl::StrCat(role, " ", x.name(), " (", DTypeName(x.dtype()), x.shape().ToString(), ")");
}

// Records an InvalidArgument error prefixed with the loss's name scope.
Output Fail(const Scope& scope, absl::string_view message) {
  scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(scope.name_scope(), ": ", message)));
  return Output();
}

// True when the builder may go on: no earlier error and every input built.
bool Ready(const Scope& scope, std::initializer_list<Output> inputs) {
  if (!scope.ok()) return false;
  for (const Output& x : inputs) {
    if (!x.valid()) return false;
  }
  return true;
}

bool CheckFloating(const Scope& scope, absl::string_view role, Output x) {
  if (IsFloating(x.dtype())) return true;
  Fail(scope, absl::StrCat(Describe(role, x), " must have a floating dtype"));
  return false;
}

// Labels and predictions (or logits) must agree in dtype and shape.
bool CheckPair(const Scope& scope, absl::string_view a_role, Output a, absl::string_view b_role,
               Output b) {
  if (!CheckFloating(scope, b_role, b)) return false;
  if (a.dtype() != b.dtype()) {
    Fail(scope,
         absl::StrCat(Describe(a_role, a), " and ", Describe(b_role, b), " have different dtypes"));
    return false;
  }
  if (!a.shape().IsCompatibleWith(b.shape())) {
    Fail(scope, absl::StrCat(Describe(a_role, a), " and ", Describe(b_role, b),
                             " have incompatible shapes"));
    return false;
  }
  return true;
}

// Whether `weights` can weigh `losses` as TF allows: a scalar, or the same
// rank with every dim 1 or equal (unknown dims are given the benefit of the
// doubt).
bool CheckWeights(const Scope& scope, Output losses, Output weights) {
  if (weights.dtype() != losses.dtype()) {
    Fail(scope, absl::StrCat(Describe("weights", weights), " must have the dtype of the losses (",
                             DTypeName(losses.dtype()), ")"));
    return false;
  }
  const Shape& w = weights.shape();
  const Shape& l = losses.shape();
  if (w.unknown_rank() || l.unknown_rank() || w.rank() == 0) return true;
  bool fits = w.rank() == l.rank();
  for (int i = 0; fits && i < w.rank(); ++i) {
    const int64_t wd = w.dim(i), ld = l.dim(i);
    fits = wd == 1 || wd == kUnknownDim || ld == kUnknownDim || wd == ld;
  }
  if (!fits) {
    Fail(scope, absl::StrCat(Describe("weights", weights), " cannot weigh losses of shape ",
                             l.ToString(), ": it must be a scalar or of rank ", l.rank(),
                             " with each dim 1 or equal to the losses'"));
    return false;
  }
  return true;
}

// The sum of every element of `x`, whatever its rank.
Output SumAll(const Scope& scope, Output x) {
  return Sum(scope, Reshape(scope.WithOpName("flat"), x, {-1}), {0});
}

// TF1's SUM_BY_NONZERO_WEIGHTS reduction of per-element `losses`.
Output ReduceLosses(const Scope& scope, Output losses, Output weights) {
  if (!weights.valid()) {
    return Mean(scope.WithOpName("value"), Reshape(scope.WithOpName("flat"), losses, {-1}), {0});
  }
  if (!CheckWeights(scope, losses, weights)) return Output();
  const DType dtype = losses.dtype();
  Output weighted = Mul(scope.WithOpName("weighted_losses"), losses, weights);
  Output total = SumAll(scope.NewSubScope("total"), weighted);
  // Count the non-zero weights after broadcasting them over the losses.
  Scope count = scope.NewSubScope("num_present");
  Output present = Cast(count, NotEqual(count, weights, ScalarConst(count, 0, dtype)), dtype);
  Output num = SumAll(count, Mul(count, present, OnesLike(count, losses)));
  // With no non-zero weight the total is 0 too, so dividing by max(num, 1)
  // gives TF's 0 instead of 0/0.
  Output safe = Maximum(count.WithOpName("safe"), num, ScalarConst(count, 1, dtype));
  return Div(scope.WithOpName("value"), total, safe);
}

}  // namespace

Output MeanSquaredError(const Scope& scope, Output labels, Output predictions, Output weights) {
  if (!Ready(scope, {labels, predictions})) return Output();
  Scope s = scope.NewSubScope("mean_squared_error");
  if (!CheckPair(s, "labels", labels, "predictions", predictions)) return Output();
  Output diff = Sub(s, predictions, labels);
  return ReduceLosses(s, Square(s, diff), weights);
}

Output MeanAbsoluteError(const Scope& scope, Output labels, Output predictions, Output weights) {
  if (!Ready(scope, {labels, predictions})) return Output();
  Scope s = scope.NewSubScope("mean_absolute_error");
  if (!CheckPair(s, "labels", labels, "predictions", predictions)) return Output();
  Output diff = Sub(s, predictions, labels);
  return ReduceLosses(s, Abs(s, diff), weights);
}

Output SparseSoftmaxCrossEntropy(const Scope& scope, Output labels, Output logits, Output weights) {
  if (!Ready(scope, {labels, logits})) return Output();
  Scope s = scope.NewSubScope("sparse_softmax_cross_entropy_loss");
  if (!CheckFloating(s, "logits", logits)) return Output();
  if (labels.dtype() != DType::kI32 && labels.dtype() != DType::kI64) {
    return Fail(s,
                absl::StrCat(Describe("labels", labels), " must hold class indices (i32 or i64)"));
  }
  const Shape& ls = labels.shape();
  const Shape& xs = logits.shape();
  const bool ranks_ok =
      (ls.unknown_rank() || ls.rank() == 1) && (xs.unknown_rank() || xs.rank() == 2);
  const bool batch_ok = ls.unknown_rank() || xs.unknown_rank() || ls.dim(0) == kUnknownDim ||
                        xs.dim(0) == kUnknownDim || ls.dim(0) == xs.dim(0);
  if (!ranks_ok || !batch_ok) {
    return Fail(s,
                absl::StrCat(Describe("labels", labels), " and ", Describe("logits", logits),
                             " do not match: labels must be [batch] and logits [batch, classes]"));
  }
  Output per_example = SparseSoftmaxCrossEntropyWithLogits(s, logits, labels).loss;
  return ReduceLosses(s, per_example, weights);
}

Output SoftmaxCrossEntropy(const Scope& scope, Output onehot_labels, Output logits,
                           double label_smoothing, Output weights) {
  if (!Ready(scope, {onehot_labels, logits})) return Output();
  Scope s = scope.NewSubScope("softmax_cross_entropy_loss");
  if (!CheckPair(s, "onehot_labels", onehot_labels, "logits", logits)) return Output();
  if (!logits.shape().unknown_rank() && logits.shape().rank() != 2) {
    return Fail(s, absl::StrCat(Describe("logits", logits), " must be [batch, classes]"));
  }
  if (!(label_smoothing >= 0 && label_smoothing <= 1)) {
    return Fail(s, absl::StrCat("label_smoothing ", label_smoothing, " must be in [0, 1]"));
  }
  const DType dtype = logits.dtype();
  Output labels = onehot_labels;
  if (label_smoothing > 0) {
    Scope smooth = s.NewSubScope("smoothing");
    // The class count comes from the graph so that an unknown dim works too;
    // ShapeOf is constant-folded when it is known.
    Output classes =
        Cast(smooth, Gather(smooth, ShapeOf(smooth, logits), IndexScalar(smooth, 1)), dtype);
    Output kept = Mul(smooth, onehot_labels, ScalarConst(smooth, 1 - label_smoothing, dtype));
    Output spread = Div(smooth, ScalarConst(smooth, label_smoothing, dtype), classes);
    labels = Add(smooth.WithOpName("labels"), kept, spread);
  }
  Output per_example = SoftmaxCrossEntropyWithLogits(s, logits, labels).loss;
  return ReduceLosses(s, per_example, weights);
}

Output SigmoidCrossEntropy(const Scope& scope, Output multi_class_labels, Output logits,
                           Output weights) {
  if (!Ready(scope, {multi_class_labels, logits})) return Output();
  Scope s = scope.NewSubScope("sigmoid_cross_entropy_loss");
  if (!CheckPair(s, "multi_class_labels", multi_class_labels, "logits", logits)) return Output();
  // With x the logits and z the labels, the loss z * -log(sigmoid(x)) +
  // (1 - z) * -log(1 - sigmoid(x)) equals x - x * z + log(1 + exp(-x)); for
  // x < 0 exp(-x) overflows, so use the equal form
  // max(x, 0) - x * z + log(1 + exp(-|x|)), whose exp argument is <= 0.
  Output positive_part = Relu(s, logits);
  Output product = Mul(s, logits, multi_class_labels);
  Output log_term = Softplus(s, Neg(s, Abs(s, logits)));
  Output per_element = Add(s.WithOpName("losses"), Sub(s, positive_part, product), log_term);
  return ReduceLosses(s, per_element, weights);
}

Output L2Loss(const Scope& scope, Output t) {
  if (!Ready(scope, {t})) return Output();
  Scope s = scope.NewSubScope("l2_loss");
  if (!CheckFloating(s, "t", t)) return Output();
  Output sum = SumAll(s, Square(s, t));
  return Mul(s.WithOpName("value"), sum, ScalarConst(s, 0.5, t.dtype()));
}

Output L2Penalty(const Scope& scope, const std::vector<Output>& weights, double scale) {
  if (!scope.ok()) return Output();
  for (const Output& w : weights) {
    if (!w.valid()) return Output();
  }
  Scope s = scope.NewSubScope("l2_penalty");
  if (weights.empty()) return Fail(s, "no weights to penalise");
  const DType dtype = weights[0].dtype();
  std::vector<Output> terms;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (weights[i].dtype() != dtype) {
      return Fail(s, absl::StrCat(Describe("weights[0]", weights[0]), " and ",
                                  Describe(absl::StrCat("weights[", i, "]"), weights[i]),
                                  " have different dtypes"));
    }
    terms.push_back(L2Loss(s, weights[i]));
  }
  Output sum = terms.size() == 1 ? terms[0] : AddN(s, terms);
  return Mul(s.WithOpName("value"), sum, ScalarConst(s, scale, dtype));
}

}  // namespace sluice::losses
