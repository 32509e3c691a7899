// Losses: each against values computed by hand, weights and the
// SUM_BY_NONZERO_WEIGHTS reduction, label smoothing, numerical stability and
// the errors for mismatched inputs.
#include <catch2/catch.hpp>

#include <cmath>

#include "graph/losses.h"
#include "graph/ops/state.h"
#include "runtime/session.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

// Runs `loss` (which must be a valid scalar) and returns its value.
double Evaluate(const Scope& root, Output loss) {
  REQUIRE(root.ok());
  REQUIRE(loss.valid());
  CHECK(loss.shape() == Shape{});
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  auto out = (*session)->Run({}, {loss.name()});
  REQUIRE(out.ok());
  if ((*out)[0].dtype() == DType::kF64) return (*out)[0].data<double>()[0];
  return (*out)[0].data<float>()[0];
}

std::string ErrorOf(const Scope& root) { return std::string(root.status().message()); }

TEST_CASE("MeanSquaredError and MeanAbsoluteError average over every element") {
  Scope root = Scope::NewRootScope();
  Output labels = Const(root, {{1.0f, 2.0f}, {3.0f, 4.0f}});
  Output predictions = Const(root, {{1.5f, 2.0f}, {2.0f, 6.0f}});
  // Differences 0.5, 0, -1, 2: squares sum to 5.25, absolute values to 3.5.
  Output mse = losses::MeanSquaredError(root, labels, predictions);
  Output mae = losses::MeanAbsoluteError(root, labels, predictions);
  CHECK(mse.node->name().rfind("mean_squared_error/", 0) == 0);
  CHECK(mae.node->name().rfind("mean_absolute_error/", 0) == 0);
  CHECK(Evaluate(root, mse) == Approx(5.25 / 4));
  CHECK(Evaluate(root, mae) == Approx(3.5 / 4));
}

TEST_CASE("Weights divide by the number of non-zero weights") {
  Scope root = Scope::NewRootScope();
  Output labels = Const(root, {{1.0f, 2.0f}, {3.0f, 4.0f}});
  Output predictions = Const(root, {{1.5f, 2.0f}, {2.0f, 6.0f}});
  SECTION("per-row weights broadcast over the columns") {
    // Row 0 (0.25 + 0) weighted 1, row 1 weighted 0: 0.25 over 2 non-zero weights.
    Output w = Const(root, std::vector<float>{1, 0}, Shape{2, 1});
    CHECK(Evaluate(root, losses::MeanSquaredError(root, labels, predictions, w)) == Approx(0.125));
  }
  SECTION("per-element weights") {
    // 2 * 0.25 + 0 * 0 + 1 * 1 + 0 * 4 = 1.5 over 2 non-zero weights.
    Output w = Const(root, {{2.0f, 0.0f}, {1.0f, 0.0f}});
    CHECK(Evaluate(root, losses::MeanSquaredError(root, labels, predictions, w)) == Approx(0.75));
  }
  SECTION("a scalar weight scales the mean") {
    Output w = Const(root, 2.0f);
    CHECK(Evaluate(root, losses::MeanAbsoluteError(root, labels, predictions, w)) ==
          Approx(2 * 3.5 / 4));
  }
  SECTION("all-zero weights give 0, not NaN") {
    Output w = Const(root, 0.0f);
    CHECK(Evaluate(root, losses::MeanSquaredError(root, labels, predictions, w)) == 0.0);
  }
}

TEST_CASE("SparseSoftmaxCrossEntropy averages -log softmax at the label") {
  Scope root = Scope::NewRootScope();
  Output logits = Const(root, {{1.0f, 2.0f, 3.0f}, {0.0f, 0.0f, 0.0f}});
  Output labels = Const(root, std::vector<int32_t>{2, 0});
  // Row 0: -log(e^3 / (e + e^2 + e^3)) = log(1 + e^-1 + e^-2); row 1: log 3.
  const double row0 = std::log(1 + std::exp(-1.0) + std::exp(-2.0));
  const double row1 = std::log(3.0);
  Output loss = losses::SparseSoftmaxCrossEntropy(root, labels, logits);
  CHECK(loss.node->name().rfind("sparse_softmax_cross_entropy_loss/", 0) == 0);
  CHECK(Evaluate(root, loss) == Approx((row0 + row1) / 2));
  Output weighted =
      losses::SparseSoftmaxCrossEntropy(root, labels, logits, Const(root, {3.0f, 0.0f}));
  CHECK(Evaluate(root, weighted) == Approx(3 * row0));
}

TEST_CASE("SoftmaxCrossEntropy with and without label smoothing") {
  Scope root = Scope::NewRootScope();
  Output logits = Const(root, {{1.0f, 2.0f, 3.0f}});
  Output labels = Const(root, {{0.0f, 0.0f, 1.0f}});
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  // -sum(l_i * (x_i - logsumexp)).
  Output plain = losses::SoftmaxCrossEntropy(root, labels, logits);
  CHECK(Evaluate(root, plain) == Approx(lse - 3));
  // Smoothing 0.3 over 3 classes: labels become 0.1, 0.1, 0.8.
  Output smooth = losses::SoftmaxCrossEntropy(root, labels, logits, 0.3);
  const double expected = -(0.1 * (1 - lse) + 0.1 * (2 - lse) + 0.8 * (3 - lse));
  CHECK(Evaluate(root, smooth) == Approx(expected));
}

TEST_CASE("SigmoidCrossEntropy is exact and finite at large logits") {
  Scope root = Scope::NewRootScope();
  Output logits = Const(root, {0.0f, 100.0f, -100.0f, 2.0f, 100.0f, -100.0f});
  Output labels = Const(root, {1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 1.0f});
  // Per element max(x, 0) - x z + log(1 + e^-|x|): log 2, ~0, ~0,
  // 2 + log(1 + e^-2), 100, 100 (log(1 + e^-100) underflows to 0 in f32).
  const double expected = (std::log(2.0) + 2 + std::log(1 + std::exp(-2.0)) + 200) / 6;
  const double value = Evaluate(root, losses::SigmoidCrossEntropy(root, labels, logits));
  CHECK(std::isfinite(value));
  CHECK(value == Approx(expected));

  // Weights on the two badly wrong elements only.
  Output w = Const(root, {0.0f, 0.0f, 0.0f, 0.0f, 1.0f, 3.0f});
  CHECK(Evaluate(root, losses::SigmoidCrossEntropy(root, labels, logits, w)) ==
        Approx((100.0 + 300.0) / 2));
}

TEST_CASE("L2Loss and L2Penalty") {
  Scope root = Scope::NewRootScope();
  Output a = Const(root, {1.0f, 2.0f, 3.0f});
  Output b = Const(root, std::vector<float>{1, -1}, Shape{2, 1});
  CHECK(Evaluate(root, losses::L2Loss(root, a)) == Approx(7.0));
  // 0.1 * (14 / 2 + 2 / 2).
  Output penalty = losses::L2Penalty(root, {a, b}, 0.1);
  CHECK(penalty.node->name().rfind("l2_penalty/", 0) == 0);
  CHECK(Evaluate(root, penalty) == Approx(0.8));
  CHECK(Evaluate(root, losses::L2Penalty(root, {b}, 2.0)) == Approx(2.0));
}

TEST_CASE("Losses work with an unknown batch dim and f64") {
  Scope root = Scope::NewRootScope();
  Output labels = Placeholder(root.WithOpName("labels"), DType::kF64, Shape{kUnknownDim, 2});
  Output predictions = Placeholder(root.WithOpName("pred"), DType::kF64, Shape{kUnknownDim, 2});
  Output loss = losses::MeanSquaredError(root, labels, predictions);
  REQUIRE(root.ok());
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  auto out =
      (*session)->Run({{"labels", *Tensor::FromVector<double>({0, 0, 0, 0, 0, 0}, Shape{3, 2})},
                       {"pred", *Tensor::FromVector<double>({1, 2, 3, 0, 0, 0}, Shape{3, 2})}},
                      {loss.name()});
  REQUIRE(out.ok());
  CHECK((*out)[0].data<double>()[0] == Approx(14.0 / 6));
}

TEST_CASE("Mismatched inputs are InvalidArgument naming both") {
  Scope root = Scope::NewRootScope();
  SECTION("shapes") {
    Output labels = Placeholder(root.WithOpName("y"), DType::kF32, Shape{2, 3});
    Output predictions = Placeholder(root.WithOpName("p"), DType::kF32, Shape{2, 4});
    CHECK_FALSE(losses::MeanSquaredError(root, labels, predictions).valid());
    CHECK(root.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(ErrorOf(root), Contains("mean_squared_error: labels y (f32[2,3]) and predictions "
                                       "p (f32[2,4]) have incompatible shapes"));
  }
  SECTION("dtypes") {
    Output labels = Placeholder(root.WithOpName("y"), DType::kF64, Shape{2});
    Output logits = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2});
    CHECK_FALSE(losses::SigmoidCrossEntropy(root, labels, logits).valid());
    CHECK_THAT(ErrorOf(root), Contains("sigmoid_cross_entropy_loss: multi_class_labels y "
                                       "(f64[2]) and logits x (f32[2]) have different dtypes"));
  }
  SECTION("integer predictions") {
    Output labels = Placeholder(root.WithOpName("y"), DType::kI32, Shape{2});
    Output predictions = Placeholder(root.WithOpName("p"), DType::kI32, Shape{2});
    CHECK_FALSE(losses::MeanAbsoluteError(root, labels, predictions).valid());
    CHECK_THAT(ErrorOf(root), Contains("predictions p (i32[2]) must have a floating dtype"));
  }
  SECTION("sparse labels that are not indices") {
    Output labels = Placeholder(root.WithOpName("y"), DType::kF32, Shape{4});
    Output logits = Placeholder(root.WithOpName("x"), DType::kF32, Shape{4, 10});
    CHECK_FALSE(losses::SparseSoftmaxCrossEntropy(root, labels, logits).valid());
    CHECK_THAT(ErrorOf(root), Contains("labels y (f32[4]) must hold class indices (i32 or i64)"));
  }
  SECTION("sparse labels with another batch size") {
    Output labels = Placeholder(root.WithOpName("y"), DType::kI64, Shape{3});
    Output logits = Placeholder(root.WithOpName("x"), DType::kF32, Shape{4, 10});
    CHECK_FALSE(losses::SparseSoftmaxCrossEntropy(root, labels, logits).valid());
    CHECK_THAT(ErrorOf(root), Contains("labels y (i64[3]) and logits x (f32[4,10]) do not match"));
  }
  SECTION("one-hot labels of another class count") {
    Output labels = Placeholder(root.WithOpName("y"), DType::kF32, Shape{kUnknownDim, 3});
    Output logits = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 4});
    CHECK_FALSE(losses::SoftmaxCrossEntropy(root, labels, logits).valid());
    CHECK_THAT(ErrorOf(root), Contains("onehot_labels y (f32[?,3]) and logits x (f32[?,4]) have "
                                       "incompatible shapes"));
  }
  SECTION("label smoothing out of range") {
    Output labels = Placeholder(root.WithOpName("y"), DType::kF32, Shape{2, 3});
    Output logits = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 3});
    CHECK_FALSE(losses::SoftmaxCrossEntropy(root, labels, logits, 1.5).valid());
    CHECK_THAT(ErrorOf(root), Contains("label_smoothing 1.5 must be in [0, 1]"));
  }
  SECTION("weights that do not fit the losses") {
    Output labels = Placeholder(root.WithOpName("y"), DType::kF32, Shape{2, 3});
    Output predictions = Placeholder(root.WithOpName("p"), DType::kF32, Shape{2, 3});
    Output w = Placeholder(root.WithOpName("w"), DType::kF32, Shape{3, 1});
    CHECK_FALSE(losses::MeanSquaredError(root, labels, predictions, w).valid());
    CHECK_THAT(ErrorOf(root), Contains("weights w (f32[3,1]) cannot weigh losses of shape [2,3]"));
  }
  SECTION("weights of another dtype") {
    Output labels = Placeholder(root.WithOpName("y"), DType::kF32, Shape{2});
    Output predictions = Placeholder(root.WithOpName("p"), DType::kF32, Shape{2});
    Output w = Placeholder(root.WithOpName("w"), DType::kF64, Shape{2});
    CHECK_FALSE(losses::MeanSquaredError(root, labels, predictions, w).valid());
    CHECK_THAT(ErrorOf(root),
               Contains("weights w (f64[2]) must have the dtype of the losses (f32)"));
  }
  SECTION("an empty penalty") {
    CHECK_FALSE(losses::L2Penalty(root, {}, 0.1).valid());
    CHECK_THAT(ErrorOf(root), Contains("l2_penalty: no weights to penalise"));
  }
  SECTION("a penalty over mixed dtypes") {
    Output a = Placeholder(root.WithOpName("a"), DType::kF32, Shape{2});
    Output b = Placeholder(root.WithOpName("b"), DType::kF64, Shape{2});
    CHECK_FALSE(losses::L2Penalty(root, {a, b}, 0.1).valid());
    CHECK_THAT(ErrorOf(root),
               Contains("weights[0] a (f32[2]) and weights[1] b (f64[2]) have different dtypes"));
  }
}

}  // namespace
}  // namespace sluice
