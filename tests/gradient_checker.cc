#include "tests/gradient_checker.h"

#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "graph/ops/state.h"
#include "graph/status_macros.h"
#include "passes/autodiff/gradients.h"
#include "runtime/session.h"

namespace sluice::testing {
namespace {

void SetElement(Tensor& t, int64_t i, double v) {
  if (t.dtype() == DType::kF32) {
    t.data<float>()[i] = static_cast<float>(v);
  } else {
    t.data<double>()[i] = v;
  }
}

// sum_k <w_k, y_k> in double.
double WeightedSum(const std::vector<Tensor>& ys, const std::vector<Tensor>& ws) {
  double total = 0;
  for (size_t k = 0; k < ys.size(); ++k) {
    for (int64_t i = 0; i < ys[k].num_elements(); ++i) {
      total += ys[k].ElementAsDouble(i) * ws[k].ElementAsDouble(i);
    }
  }
  return total;
}

}  // namespace

absl::StatusOr<GradientCheckResult> CheckGradients(const std::vector<Tensor>& inputs,
                                                   const GradientCheckBuilder& build,
                                                   const GradientCheckOptions& options) {
  Scope root = Scope::NewRootScope();
  std::vector<Output> xs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    Shape shape = inputs[i].shape();
    if (options.unknown_leading_dim && shape.rank() > 0) shape.set_dim(0, kUnknownDim);
    xs.push_back(Placeholder(root.WithOpName(absl::StrCat("x", i)), inputs[i].dtype(), shape));
  }
  const std::vector<Output> ys = build(root, xs);
  RETURN_IF_ERROR(root.status());
  std::vector<Output> ws;
  for (size_t k = 0; k < ys.size(); ++k) {
    ws.push_back(Placeholder(root.WithOpName(absl::StrCat("w", k)), ys[k].dtype(), ys[k].shape()));
  }
  std::vector<int> checked = options.checked_inputs;
  if (checked.empty()) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].dtype() == DType::kF32 || inputs[i].dtype() == DType::kF64) checked.push_back(static_cast<int>(i));
    }
  }
  std::vector<Output> checked_xs;
  for (int i : checked) checked_xs.push_back(xs[i]);
  ASSIGN_OR_RETURN(std::vector<Output> grads, AddGradients(root, ys, checked_xs, ws));
  RETURN_IF_ERROR(root.status());
  ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(*root.graph()));

  auto feeds_for = [&](const std::vector<Tensor>& values) {
    std::vector<std::pair<Output, Tensor>> feeds;
    for (size_t i = 0; i < values.size(); ++i) feeds.push_back({xs[i], values[i]});
    return feeds;
  };
  ASSIGN_OR_RETURN(std::vector<Tensor> y_values, session->Run(feeds_for(inputs), ys));
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<Tensor> w_values;
  for (const Tensor& y : y_values) {
    Tensor w(y.dtype(), y.shape());
    for (int64_t i = 0; i < w.num_elements(); ++i) SetElement(w, i, dist(rng));
    w_values.push_back(w);
  }

  // Symbolic gradients (a null gradient means zero).
  std::vector<std::pair<Output, Tensor>> feeds = feeds_for(inputs);
  for (size_t k = 0; k < ws.size(); ++k) feeds.push_back({ws[k], w_values[k]});
  std::vector<Output> fetches;
  for (const Output& g : grads) {
    if (g.valid()) fetches.push_back(g);
  }
  ASSIGN_OR_RETURN(std::vector<Tensor> fetched, session->Run(feeds, fetches));

  GradientCheckResult result;
  size_t next = 0;
  for (size_t c = 0; c < checked.size(); ++c) {
    const int input = checked[c];
    Tensor symbolic;
    if (grads[c].valid()) {
      symbolic = fetched[next++];
      if (symbolic.shape() != inputs[input].shape()) {
        return absl::InternalError(absl::StrCat("gradient of input ", input, " has shape ",
                                                symbolic.shape().ToString(), ", expected ",
                                                inputs[input].shape().ToString()));
      }
    }
    for (int64_t j = 0; j < inputs[input].num_elements(); ++j) {
      std::vector<Tensor> plus = inputs, minus = inputs;
      plus[input] = inputs[input].Clone();
      minus[input] = inputs[input].Clone();
      const double x = inputs[input].ElementAsDouble(j);
      SetElement(plus[input], j, x + options.delta);
      SetElement(minus[input], j, x - options.delta);
      ASSIGN_OR_RETURN(std::vector<Tensor> y_plus, session->Run(feeds_for(plus), ys));
      ASSIGN_OR_RETURN(std::vector<Tensor> y_minus, session->Run(feeds_for(minus), ys));
      // The actual step, as rounded in the input dtype.
      const double step = plus[input].ElementAsDouble(j) - minus[input].ElementAsDouble(j);
      const double numeric =
          (WeightedSum(y_plus, w_values) - WeightedSum(y_minus, w_values)) / step;
      const double sym = symbolic.valid() ? symbolic.ElementAsDouble(j) : 0.0;
      const double error = std::fabs(numeric - sym) / std::max(1.0, std::fabs(numeric));
      if (!(error <= result.max_error)) {  // also catches NaN
        result.max_error = std::isnan(error) ? INFINITY : error;
        result.worst = absl::StrCat("input ", input, " element ", j, ": numeric ", numeric,
                                    " symbolic ", sym);
      }
    }
  }
  return result;
}

}  // namespace sluice::testing
