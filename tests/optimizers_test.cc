// Optimizers: each one's update against steps computed by hand, the global
// step, learning-rate schedules, clipping, errors, and a training run.
#include <catch2/catch.hpp>
#include <cmath>

#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/state.h"
#include "graph/optimizers.h"
#include "runtime/session.h"

namespace sluice {
namespace {

std::vector<double> Values(const Tensor& t) {
  std::vector<double> v(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) v[i] = t.ElementAsDouble(i);
  return v;
}

// w (f64 [2], starting at [1, -2]) and loss = sum(w^2) / 2, whose gradient
// is w itself.
struct Quadratic {
  Scope root = Scope::NewRootScope();
  Output w;
  Output loss;
  Quadratic() {
    w = Variable(root.WithOpName("w"), Shape{2}, DType::kF64,
                 Const(root, std::vector<double>{1.0, -2.0}, Shape{2}));
    loss = Mul(root.WithOpName("loss"), Const(root, 0.5), Sum(root, Square(root, w), {0}));
  }

  // Runs init, then the train op `steps` times; returns w after each step.
  std::vector<std::vector<double>> Train(Optimizer& optimizer, int steps,
                                         const MinimizeOptions& options = {}) {
    auto train = optimizer.Minimize(root, loss, options);
    INFO(train.status().ToString());
    REQUIRE(train.ok());
    REQUIRE(InitAllVariables(root) != nullptr);
    REQUIRE(root.ok());
    auto session = Session::Create(*root.graph());
    REQUIRE(session.ok());
    session_ = std::move(*session);
    REQUIRE(session_->Run(FeedList{}, {}, {"init"}).ok());
    std::vector<std::vector<double>> history;
    for (int i = 0; i < steps; ++i) {
      auto run = session_->Run(FeedList{}, {}, {(*train)->name()});
      INFO(run.status().ToString());
      REQUIRE(run.ok());
      history.push_back(Fetch("w"));
    }
    return history;
  }

  std::vector<double> Fetch(const std::string& name) {
    auto out = session_->Run(FeedList{}, {name});
    INFO(out.status().ToString());
    REQUIRE(out.ok());
    return Values((*out)[0]);
  }

  std::unique_ptr<Session> session_;
};

void CheckClose(const std::vector<double>& actual, const std::vector<double>& expected,
                double tolerance = 1e-9) {
  REQUIRE(actual.size() == expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    INFO("element " << i);
    CHECK(actual[i] == Approx(expected[i]).margin(tolerance));
  }
}

TEST_CASE("Gradient descent steps w -= lr * w") {
  Quadratic q;
  GradientDescentOptimizer sgd({.learning_rate = 0.1});
  auto history = q.Train(sgd, 2);
  CheckClose(history[0], {0.9, -1.8});
  CheckClose(history[1], {0.81, -1.62});
  // The global step counts the runs.
  CHECK(q.Fetch("global_step") == std::vector<double>{2});
}

TEST_CASE("Momentum and Nesterov momentum") {
  SECTION("momentum") {
    Quadratic q;
    MomentumOptimizer momentum({.learning_rate = 0.1, .momentum = 0.9});
    auto history = q.Train(momentum, 2);
    // accum = g = [1, -2]; w = w - 0.1 accum.
    CheckClose(history[0], {0.9, -1.8});
    // accum = 0.9 [1, -2] + [0.9, -1.8] = [1.8, -3.6].
    CheckClose(history[1], {0.72, -1.44});
    CheckClose(q.Fetch("w/Momentum"), {1.8, -3.6});
  }
  SECTION("nesterov") {
    Quadratic q;
    MomentumOptimizer nesterov({.learning_rate = 0.1, .momentum = 0.9, .use_nesterov = true});
    auto history = q.Train(nesterov, 1);
    // w -= lr g + lr m accum with accum = g: w (1 - 0.1 - 0.09).
    CheckClose(history[0], {0.81, -1.62});
  }
}

TEST_CASE("Adam corrects its moments for bias and advances the beta powers") {
  Quadratic q;
  AdamOptimizer adam({.learning_rate = 0.1});
  auto history = q.Train(adam, 2);
  // Step 1: m = 0.1 g, v = 0.001 g^2, lr_t = 0.1 sqrt(0.001) / 0.1, so
  // w -= lr_t m / (sqrt(v) + eps) = 0.1 sign(g) (eps shifts it by ~1e-8).
  CheckClose(history[0], {0.9, -1.9}, 1e-6);
  // beta^(t+1) after t = 2 steps.
  CheckClose(q.Fetch("beta1_power"), {0.729});
  CheckClose(q.Fetch("beta2_power"), {0.997002999});
  // Step 2 by the formulas, with g = w after step 1.
  double w[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
  double b1p = 0.9, b2p = 0.999;
  for (int step = 0; step < 2; ++step) {
    const double lr_t = 0.1 * std::sqrt(1 - b2p) / (1 - b1p);
    for (int i = 0; i < 2; ++i) {
      const double g = w[i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      w[i] -= lr_t * m[i] / (std::sqrt(v[i]) + 1e-8);
    }
    b1p *= 0.9;
    b2p *= 0.999;
  }
  CheckClose(history[1], {w[0], w[1]}, 1e-12);
  CheckClose(q.Fetch("w/Adam"), {m[0], m[1]}, 1e-12);
  CheckClose(q.Fetch("w/Adam_1"), {v[0], v[1]}, 1e-12);
}

TEST_CASE("RMSProp starts its mean square at one") {
  Quadratic q;
  RMSPropOptimizer rms({.learning_rate = 0.1});
  auto history = q.Train(rms, 1);
  // ms = 0.9 + 0.1 g^2 = [1, 1.3]; w -= 0.1 g / sqrt(ms).
  CheckClose(history[0], {1 - 0.1, -2 + 0.2 / std::sqrt(1.3)}, 1e-9);
}

TEST_CASE("Adagrad accumulates squared gradients from its initial value") {
  Quadratic q;
  AdagradOptimizer adagrad({.learning_rate = 0.1, .initial_accumulator_value = 0.1});
  auto history = q.Train(adagrad, 1);
  // accum = 0.1 + g^2 = [1.1, 4.1]; w -= 0.1 g / sqrt(accum).
  CheckClose(history[0], {1 - 0.1 / std::sqrt(1.1), -2 + 0.2 / std::sqrt(4.1)});
  CheckClose(q.Fetch("w/Adagrad"), {1.1, 4.1});
}

TEST_CASE("A learning rate fed per run") {
  Quadratic q;
  Output lr = PlaceholderWithDefault(q.root.WithOpName("lr"), Const(q.root, 0.5), Shape{});
  GradientDescentOptimizer sgd({.learning_rate = lr});
  auto history = q.Train(sgd, 1);  // default 0.5
  CheckClose(history[0], {0.5, -1.0});
  auto run = q.session_->Run({{"lr", Tensor::Scalar(0.25)}}, {}, {"train"});
  REQUIRE(run.ok());
  CheckClose(q.Fetch("w"), {0.375, -0.75});
}

TEST_CASE("Learning-rate schedules follow the global step") {
  Scope root = Scope::NewRootScope();
  Output step = GetOrCreateGlobalStep(root);
  Output exp_rate = LearningRate::ExponentialDecay(0.1, 10, 0.5).Build(
      root.WithOpName("exp"), DType::kF64, step);
  Output stair_rate = LearningRate::ExponentialDecay(0.1, 10, 0.5, /*staircase=*/true)
                          .Build(root.WithOpName("stair"), DType::kF64, step);
  Output piecewise = LearningRate::PiecewiseConstant({2, 4}, {1.0, 0.5, 0.1})
                         .Build(root.WithOpName("piece"), DType::kF64, step);
  REQUIRE(root.ok());
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  struct Expect {
    int64_t step;
    double exp, stair, piece;
  };
  for (const Expect& e : {Expect{0, 0.1, 0.1, 1.0}, Expect{2, 0.1 * std::pow(0.5, 0.2), 0.1, 1.0},
                          Expect{3, 0.1 * std::pow(0.5, 0.3), 0.1, 0.5},
                          Expect{15, 0.1 * std::pow(0.5, 1.5), 0.05, 0.1}}) {
    INFO("step " << e.step);
    auto out = (*session)->Run({{"global_step", Tensor::Scalar(e.step)}},
                               {exp_rate.name(), stair_rate.name(), piecewise.name()});
    REQUIRE(out.ok());
    CHECK((*out)[0].ElementAsDouble(0) == Approx(e.exp));
    CHECK((*out)[1].ElementAsDouble(0) == Approx(e.stair));
    CHECK((*out)[2].ElementAsDouble(0) == Approx(e.piece));
  }
  // A bad schedule is one clear error.
  Scope bad = Scope::NewRootScope();
  LearningRate::PiecewiseConstant({1, 1}, {1, 2, 3}).Build(bad, DType::kF32,
                                                           GetOrCreateGlobalStep(bad));
  CHECK(std::string(bad.status().message()) ==
        "piecewise constant boundaries must increase, got 1 then 1");
}

TEST_CASE("Clipping by global norm") {
  Scope root = Scope::NewRootScope();
  Output a = Const(root, std::vector<double>{3.0}, Shape{1});
  Output b = Const(root, std::vector<double>{0.0, 4.0}, Shape{2});
  auto [clipped, norm] = ClipByGlobalNorm(root, {a, Output(), b}, 1.0);
  auto [unchanged, norm2] = ClipByGlobalNorm(root, {a, b}, 10.0);
  REQUIRE(root.ok());
  CHECK_FALSE(clipped[1].valid());
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  auto out = (*session)->Run(std::vector<std::pair<Output, Tensor>>{},
                             std::vector<Output>{clipped[0], clipped[2], norm, unchanged[1]});
  REQUIRE(out.ok());
  CheckClose(Values((*out)[0]), {0.6});
  CheckClose(Values((*out)[1]), {0.0, 0.8});
  CheckClose(Values((*out)[2]), {5.0});
  CheckClose(Values((*out)[3]), {0.0, 4.0});
}

TEST_CASE("Minimize with clipping changes the step") {
  Quadratic q;
  GradientDescentOptimizer sgd({.learning_rate = 1.0});
  // |g| = sqrt(5); clipped to 1: w -= w / sqrt(5).
  auto history = q.Train(sgd, 1, {.var_list = {}, .clip_global_norm = 1.0});
  const double s = 1 / std::sqrt(5.0);
  CheckClose(history[0], {1 - s, -2 + 2 * s});
}

TEST_CASE("Slots are ordinary, untrainable variables") {
  Quadratic q;
  AdamOptimizer adam;
  REQUIRE(adam.Minimize(q.root, q.loss).ok());
  for (const char* name : {"w/Adam", "w/Adam_1", "beta1_power", "beta2_power", "global_step"}) {
    INFO(name);
    Node* n = q.root.graph()->FindNode(name);
    REQUIRE(n != nullptr);
    CHECK(n->op() == "Variable");
    CHECK_FALSE(n->attr("trainable").b());
  }
  // Only w is trainable.
  std::vector<Output> trainable = TrainableVariables(*q.root.graph());
  REQUIRE(trainable.size() == 1);
  CHECK(trainable[0].node->name() == "w");
}

TEST_CASE("Minimize rejects what it cannot train") {
  Scope root = Scope::NewRootScope();
  Output w = Variable(root.WithOpName("w"), Shape{}, DType::kF32, Const(root, 1.0f));
  Output unrelated = Variable(root.WithOpName("u"), Shape{}, DType::kF32, Const(root, 1.0f));
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{});
  GradientDescentOptimizer sgd;
  auto message = [](const absl::StatusOr<Node*>& r) {
    REQUIRE_FALSE(r.ok());
    return std::string(r.status().message());
  };
  CHECK(message(sgd.Minimize(root, Square(root.WithOpName("xx"), x))) ==
        "the loss xx depends on none of the 2 variables to train");
  CHECK(message(sgd.Minimize(root, Square(root, w), {.var_list = {x}})) ==
        "var_list holds x (Placeholder), which is not a Variable");
  CHECK(message(sgd.Minimize(root, Size(root.WithOpName("n"), w))) ==
        "the loss n is i32; it must be floating point");
  CHECK(message(sgd.Minimize(root, Square(root, w), {.var_list = {}, .clip_global_norm = -1})) ==
        "clip_global_norm must be >= 0, got -1");
  Scope empty = Scope::NewRootScope();
  CHECK(message(sgd.Minimize(empty, Const(empty, 1.0f))) ==
        "there are no trainable variables to minimize over");
  (void)unrelated;
}

TEST_CASE("A short training run drives the loss down") {
  // Linear regression y = 4 + 3x on fixed inputs, full batch.
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 1});
  Output y = Placeholder(root.WithOpName("y"), DType::kF32, Shape{kUnknownDim, 1});
  Output w = Variable(root.WithOpName("w"), Shape{1, 1}, DType::kF32,
                      Const(root, std::vector<float>{0.0f}, Shape{1, 1}));
  Output b = Variable(root.WithOpName("b"), Shape{1}, DType::kF32,
                      Const(root, std::vector<float>{0.0f}, Shape{1}));
  Output pred = Add(root, MatMul(root, x, w), b);
  Output loss = Mean(root.WithOpName("loss"), Square(root, Sub(root, pred, y)), {0, 1});
  MomentumOptimizer momentum({.learning_rate = 0.05, .momentum = 0.9});
  auto train = momentum.Minimize(root, loss);
  REQUIRE(train.ok());
  InitAllVariables(root);
  REQUIRE(root.ok());
  std::vector<float> xs, ys;
  for (int i = 0; i < 32; ++i) {
    xs.push_back(static_cast<float>(i) / 16 - 1);
    ys.push_back(4 + 3 * xs.back());
  }
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  REQUIRE((*session)->Run(FeedList{}, {}, {"init"}).ok());
  FeedList feeds = {{"x", *Tensor::FromVector(xs, Shape{32, 1})},
                    {"y", *Tensor::FromVector(ys, Shape{32, 1})}};
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    auto out = (*session)->Run(feeds, {"loss"}, {"train"});
    REQUIRE(out.ok());
    if (step == 0) first = (*out)[0].ElementAsDouble(0);
    last = (*out)[0].ElementAsDouble(0);
  }
  CHECK(first > 10);
  CHECK(last < 1e-4);
  auto wb = (*session)->Run(FeedList{}, {"w", "b"});
  REQUIRE(wb.ok());
  CHECK((*wb)[0].ElementAsDouble(0) == Approx(3.0).margin(0.01));
  CHECK((*wb)[1].ElementAsDouble(0) == Approx(4.0).margin(0.01));
}

}  // namespace
}  // namespace sluice
