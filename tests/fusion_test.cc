// The fusion pass: the structure each rule leaves, and results unchanged
// against optimisation level 0 and against the pipeline without fusion.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "graph/initializers.h"
#include "graph/layers.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "passes/fusion.h"
#include "runtime/session.h"
#include "tests/kernel_test_util.h"

namespace sluice {
namespace {

using testing::CompareTensors;
using testing::RandomTensor;

// Builds a graph into the scope; returns the fetches.
using Builder = std::function<std::vector<Output>(const Scope&)>;

Output RandomConst(const Scope& s, const Shape& shape, uint64_t seed, DType dtype = DType::kF32) {
  return Const(s, RandomTensor(dtype, shape, seed, -0.5, 0.5));
}

// Op counts of the graph after the fusion pass alone, with `fetches` (indices
// into the builder's outputs) as the run's fetches.
std::map<std::string, int> OpsAfterFusion(const Builder& build, std::vector<int> fetched = {},
                                          int* nodes_fused = nullptr) {
  Scope root = Scope::NewRootScope();
  std::vector<Output> outputs = build(root);
  REQUIRE(root.graph()->build_status().ok());
  PassContext context;
  if (fetched.empty()) {
    context.fetches = outputs;
  } else {
    for (int i : fetched) context.fetches.push_back(outputs[i]);
  }
  FusionPass pass;
  absl::StatusOr<bool> changed = pass.Run(*root.graph(), context);
  REQUIRE(changed.ok());
  absl::Status verified = VerifyGraph(*root.graph());
  INFO(verified.ToString());
  REQUIRE(verified.ok());
  if (nodes_fused != nullptr) *nodes_fused = context.nodes_fused;
  std::map<std::string, int> ops;
  for (const Node* n : root.graph()->nodes()) ++ops[n->op()];
  return ops;
}

struct Runs {
  std::vector<Tensor> optimised, level0, unfused;
  std::vector<std::string> optimised_ops;  // the ops the optimised plan ran
};

// Runs the builder's graph (fetching every output) in three sessions: the
// standard pipeline, level 0, and the pipeline without fusion. `before`
// (may be empty) runs targets in every session first, `between` after the
// first run, for variables.
Runs RunThreeWays(const Builder& build, const FeedList& feeds,
                  const std::vector<std::string>& before = {},
                  const std::vector<std::string>& between = {}, bool run_twice = false) {
  Scope root = Scope::NewRootScope();
  std::vector<Output> outputs = build(root);
  REQUIRE(root.graph()->build_status().ok());
  std::vector<std::string> fetches;
  for (const Output& o : outputs) fetches.push_back(o.name());
  Runs runs;
  for (int mode = 0; mode < 3; ++mode) {
    SessionOptions options;
    options.optimization.verify = true;
    if (mode == 1) options.optimization.level = 0;
    if (mode == 2) options.optimization.disabled = {"fusion"};
    auto session = Session::Create(*root.graph(), options);
    REQUIRE(session.ok());
    if (!before.empty()) REQUIRE((*session)->Run({}, {}, before).ok());
    RunOptions trace;
    trace.trace = true;
    RunMetadata metadata;
    auto out = (*session)->Run(feeds, fetches, {}, &trace, &metadata);
    INFO(out.status().ToString());
    REQUIRE(out.ok());
    if (run_twice) {
      if (!between.empty()) REQUIRE((*session)->Run({}, {}, between).ok());
      out = (*session)->Run(feeds, fetches, {}, &trace, &metadata);
      REQUIRE(out.ok());
    }
    if (mode == 0) {
      runs.optimised = *out;
      for (const StepStats& s : metadata.steps) runs.optimised_ops.push_back(s.op);
    } else {
      (mode == 1 ? runs.level0 : runs.unfused) = *out;
    }
  }
  return runs;
}

void CheckSame(const Runs& runs) {
  REQUIRE(runs.optimised.size() == runs.level0.size());
  for (size_t i = 0; i < runs.optimised.size(); ++i) {
    INFO("fetch " << i);
    CHECK(CompareTensors(runs.optimised[i], runs.level0[i], 1e-5, 1e-5) == "");
    CHECK(CompareTensors(runs.optimised[i], runs.unfused[i], 1e-5, 1e-5) == "");
  }
}

int Count(const std::vector<std::string>& ops, const std::string& op) {
  return static_cast<int>(std::count(ops.begin(), ops.end(), op));
}

// ---------------------------------------------------------------------------

Builder Mlp(int64_t batch, const std::string& activation = "Relu") {
  return [=](const Scope& s) -> std::vector<Output> {
    Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{batch, 784});
    Output h = BiasAdd(s, MatMul(s, x, RandomConst(s, Shape{784, 256}, 1)),
                       RandomConst(s, Shape{256}, 2));
    h = activation == "Relu"       ? Relu(s, h)
        : activation == "Softplus" ? Softplus(s, h)
                                   : Tanh(s, h);
    Output logits = BiasAdd(s.WithOpName("logits"), MatMul(s, h, RandomConst(s, Shape{256, 10}, 3)),
                            RandomConst(s, Shape{10}, 4));
    return {logits};
  };
}

TEST_CASE("MatMul, BiasAdd and an activation become _FusedMatMul") {
  for (int64_t batch : {1, 128}) {
    INFO("batch " << batch);
    auto ops = OpsAfterFusion(Mlp(batch));
    CHECK(ops["_FusedMatMul"] == 2);
    CHECK(ops["MatMul"] == 0);
    CHECK(ops["BiasAdd"] == 0);
    CHECK(ops["Relu"] == 0);
    Runs runs = RunThreeWays(Mlp(batch), {{"x", RandomTensor(DType::kF32, Shape{batch, 784}, 9)}});
    CheckSame(runs);
    CHECK(Count(runs.optimised_ops, "_FusedMatMul") == 2);
  }
}

TEST_CASE("A residual Add of the same shape joins the epilogue") {
  for (bool residual_first : {false, true}) {
    Builder build = [=](const Scope& s) -> std::vector<Output> {
      Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{4, 32});
      Output r = Placeholder(s.WithOpName("r"), DType::kF32, Shape{4, 16});
      Output h = BiasAdd(s, MatMul(s, x, RandomConst(s, Shape{32, 16}, 5)),
                         RandomConst(s, Shape{16}, 6));
      Output sum = residual_first ? Add(s, r, h) : Add(s, h, r);
      return {Elu(s.WithOpName("out"), sum)};
    };
    int fused = 0;
    auto ops = OpsAfterFusion(build, {}, &fused);
    CHECK(ops["_FusedMatMul"] == 1);
    CHECK(ops["Add"] == 0);
    CHECK(ops["Elu"] == 0);
    CHECK(fused == 4);
    CheckSame(RunThreeWays(build, {{"x", RandomTensor(DType::kF32, Shape{4, 32}, 7)},
                                   {"r", RandomTensor(DType::kF32, Shape{4, 16}, 8)}}));
  }
}

Builder ConvNet(const std::string& format, bool residual, const std::string& activation) {
  return [=](const Scope& s) -> std::vector<Output> {
    const bool nhwc = format == "NHWC";
    const Shape in = nhwc ? Shape{2, 12, 12, 8} : Shape{2, 8, 12, 12};
    Output x = Placeholder(s.WithOpName("x"), DType::kF32, in);
    Conv2DOptions options;
    options.data_format = format;
    Output h = BiasAdd(s, Conv2D(s, x, RandomConst(s, Shape{3, 3, 8, 8}, 11), options),
                       RandomConst(s, Shape{8}, 12), {.data_format = format});
    if (residual) h = Add(s, h, x);
    if (activation == "Relu6") h = Relu6(s, h);
    if (activation == "LeakyRelu") h = LeakyRelu(s, h, {.alpha = 0.3f});
    if (activation == "Sigmoid") h = Sigmoid(s, h);
    return {Identity(s.WithOpName("out"), h)};
  };
}

TEST_CASE("Conv2D, BiasAdd, a residual Add and an activation become _FusedConv2D") {
  for (const std::string format : {"NHWC", "NCHW"}) {
    for (bool residual : {false, true}) {
      for (const std::string activation : {"Relu6", "LeakyRelu", "Sigmoid", ""}) {
        INFO(format << " residual=" << residual << " " << activation);
        Builder build = ConvNet(format, residual, activation);
        auto ops = OpsAfterFusion(build);
        CHECK(ops["_FusedConv2D"] == 1);
        CHECK(ops["Conv2D"] == 0);
        CHECK(ops["BiasAdd"] == 0);
        CHECK(ops["Add"] == 0);
        const Shape in = format == "NHWC" ? Shape{2, 12, 12, 8} : Shape{2, 8, 12, 12};
        CheckSame(RunThreeWays(build, {{"x", RandomTensor(DType::kF32, in, 13)}}));
      }
    }
  }
}

TEST_CASE("Inference batch norm after Conv2D folds into the convolution") {
  for (const std::string format : {"NHWC", "NCHW"}) {
    for (bool with_bias : {false, true}) {
      INFO(format << " bias=" << with_bias);
      Builder build = [=](const Scope& s) -> std::vector<Output> {
        const Shape in = format == "NHWC" ? Shape{1, 10, 10, 4} : Shape{1, 4, 10, 10};
        Output x = Placeholder(s.WithOpName("x"), DType::kF32, in);
        Conv2DOptions options;
        options.data_format = format;
        Output h = Conv2D(s, x, RandomConst(s, Shape{3, 3, 4, 6}, 21), options);
        if (with_bias) h = BiasAdd(s, h, RandomConst(s, Shape{6}, 22), {.data_format = format});
        Output variance = Const(s, RandomTensor(DType::kF32, Shape{6}, 23, 0.5, 2.0));
        Output bn = FusedBatchNorm(s, h, RandomConst(s, Shape{6}, 24), RandomConst(s, Shape{6}, 25),
                                   RandomConst(s, Shape{6}, 26), variance,
                                   {.epsilon = 0.001f, .data_format = format, .is_training = false})
                        .y;
        return {Relu(s.WithOpName("out"), bn)};
      };
      auto ops = OpsAfterFusion(build);
      CHECK(ops["FusedBatchNorm"] == 0);
      CHECK(ops["_FusedConv2D"] == 1);
      CHECK(ops["Relu"] == 0);
      CHECK(ops["Rsqrt"] == 0);  // constants are folded by the rule itself
      const Shape in = format == "NHWC" ? Shape{1, 10, 10, 4} : Shape{1, 4, 10, 10};
      CheckSame(RunThreeWays(build, {{"x", RandomTensor(DType::kF32, in, 27)}}));
    }
  }
}

TEST_CASE("Batch norm folded from variables follows the variables' updates") {
  Builder build = [](const Scope& s) -> std::vector<Output> {
    Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{2, 8, 8, 3});
    Output filter = Variable(s.WithOpName("filter"), Shape{3, 3, 3, 4}, DType::kF32,
                             RandomConst(s, Shape{3, 3, 3, 4}, 31));
    Output scale = Variable(s.WithOpName("scale"), Shape{4}, DType::kF32,
                            RandomConst(s, Shape{4}, 32));
    Output variance = Variable(s.WithOpName("variance"), Shape{4}, DType::kF32,
                               Const(s, RandomTensor(DType::kF32, Shape{4}, 33, 0.5, 2.0)));
    Output bn = FusedBatchNorm(s, Conv2D(s, x, filter), scale, RandomConst(s, Shape{4}, 34),
                               RandomConst(s, Shape{4}, 35), variance, {.is_training = false})
                    .y;
    InitAllVariables(s);
    AssignAdd(s.WithOpName("bump"), variance, Const(s, {0.5f, 1.0f, 1.5f, 2.0f}));
    AssignAdd(s.WithOpName("bump_scale"), scale, Const(s, {0.5f, -1.0f, 1.5f, 2.0f}));
    return {Tanh(s.WithOpName("out"), bn)};
  };
  auto ops = OpsAfterFusion(build, {0});
  CHECK(ops["FusedBatchNorm"] == 0);
  CHECK(ops["_FusedConv2D"] == 1);
  // The folded filter and bias are computed at run time (in fused chains).
  CHECK(ops["_FusedElementwise"] >= 1);
  Runs runs = RunThreeWays(build, {{"x", RandomTensor(DType::kF32, Shape{2, 8, 8, 3}, 36)}},
                           {"init"}, {"bump", "bump_scale"}, /*run_twice=*/true);
  CheckSame(runs);
  CHECK(Count(runs.optimised_ops, "FusedBatchNorm") == 0);
}

TEST_CASE("Element-wise chains become one _FusedElementwise") {
  Builder build = [](const Scope& s) -> std::vector<Output> {
    Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{3, 50});
    Output y = Placeholder(s.WithOpName("y"), DType::kF32, Shape{3, 50});
    Output col = Placeholder(s.WithOpName("col"), DType::kF32, Shape{3, 1});
    Output h = Mul(s, x, Const(s, 2.5f));
    h = Sub(s, Const(s, 1.0f), h);
    h = Tanh(s, h);
    h = Add(s, h, y);
    h = Maximum(s, h, Const(s, -0.25f));
    // A broadcast [3,1] operand ends the chain; what follows is a second one.
    h = Mul(s, h, col);
    h = Sigmoid(s, h);
    h = Square(s, h);
    return {Identity(s.WithOpName("out"), h)};
  };
  int fused = 0;
  auto ops = OpsAfterFusion(build, {}, &fused);
  CHECK(ops["_FusedElementwise"] == 2);
  CHECK(ops["Tanh"] == 0);
  CHECK(ops["Sigmoid"] == 0);
  CHECK(ops["Mul"] == 1);  // a [3,1] operand is neither a scalar nor the chain's shape
  CHECK(fused == 7);
  Runs runs = RunThreeWays(build, {{"x", RandomTensor(DType::kF32, Shape{3, 50}, 41)},
                                   {"y", RandomTensor(DType::kF32, Shape{3, 50}, 42)},
                                   {"col", RandomTensor(DType::kF32, Shape{3, 1}, 43)}});
  CheckSame(runs);
  CHECK(Count(runs.optimised_ops, "_FusedElementwise") == 2);
}

TEST_CASE("Fusion does not fire where an intermediate is needed elsewhere") {
  Builder build = [](const Scope& s) -> std::vector<Output> {
    Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{2, 8});
    Output product = MatMul(s.WithOpName("product"), x, RandomConst(s, Shape{8, 4}, 51));
    Output biased = BiasAdd(s.WithOpName("biased"), product, RandomConst(s, Shape{4}, 52));
    Output out = Relu(s.WithOpName("out"), biased);
    return {out, biased, product};
  };
  SECTION("the matmul's result fetched: nothing fuses") {
    auto ops = OpsAfterFusion(build, {0, 2});
    CHECK(ops["_FusedMatMul"] == 0);
    CHECK(ops["MatMul"] == 1);
  }
  SECTION("the bias sum fetched: the activation stays apart") {
    auto ops = OpsAfterFusion(build, {0, 1});
    CHECK(ops["_FusedMatMul"] == 1);
    CHECK(ops["Relu"] == 1);
  }
  SECTION("results are right in every case") {
    CheckSame(RunThreeWays(build, {{"x", RandomTensor(DType::kF32, Shape{2, 8}, 53)}}));
  }
  SECTION("consumed twice: nothing fuses") {
    Builder twice = [](const Scope& s) -> std::vector<Output> {
      Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{2, 8});
      Output product = MatMul(s, x, RandomConst(s, Shape{8, 4}, 54));
      Output biased = BiasAdd(s, product, RandomConst(s, Shape{4}, 55));
      return {Add(s.WithOpName("out"), Relu(s, biased), product)};
    };
    auto ops = OpsAfterFusion(twice);
    CHECK(ops["_FusedMatMul"] == 0);
    CheckSame(RunThreeWays(twice, {{"x", RandomTensor(DType::kF32, Shape{2, 8}, 56)}}));
  }
  SECTION("f64: nothing fuses") {
    Builder f64 = [](const Scope& s) -> std::vector<Output> {
      Output x = Placeholder(s.WithOpName("x"), DType::kF64, Shape{2, 8});
      Output h = BiasAdd(s, MatMul(s, x, RandomConst(s, Shape{8, 4}, 57, DType::kF64)),
                         RandomConst(s, Shape{4}, 58, DType::kF64));
      return {Relu(s.WithOpName("out"), Tanh(s, Relu(s, h)))};
    };
    auto ops = OpsAfterFusion(f64);
    CHECK(ops["_FusedMatMul"] == 0);
    CHECK(ops["_FusedElementwise"] == 0);
    CheckSame(RunThreeWays(f64, {{"x", RandomTensor(DType::kF64, Shape{2, 8}, 59)}}));
  }
  SECTION("an unsupported activation stays apart") {
    auto ops = OpsAfterFusion(Mlp(2, "Softplus"));
    CHECK(ops["_FusedMatMul"] == 2);
    CHECK(ops["Softplus"] == 1);
    CheckSame(RunThreeWays(Mlp(2, "Softplus"),
                           {{"x", RandomTensor(DType::kF32, Shape{2, 784}, 60)}}));
  }
  SECTION("training batch norm is not folded") {
    Builder training = [](const Scope& s) -> std::vector<Output> {
      Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{2, 6, 6, 3});
      Output h = Conv2D(s, x, RandomConst(s, Shape{3, 3, 3, 4}, 61));
      Output scale = RandomConst(s, Shape{4}, 62);
      return {FusedBatchNorm(s.WithOpName("bn"), h, scale, scale, scale, scale).y};
    };
    auto ops = OpsAfterFusion(training);
    CHECK(ops["FusedBatchNorm"] == 1);
    CHECK(ops["Conv2D"] == 1);
  }
}

// ---------------------------------------------------------------------------
// Timing (hidden: run with `fusion_test "[.timing]"`, OMP_WAIT_POLICY=passive).

Builder Cnn(int64_t batch) {
  return [=](const Scope& s) -> std::vector<Output> {
    Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{batch, 28, 28, 1});
    PoolOptions pool;
    Output h = Relu(s, BiasAdd(s, Conv2D(s, x, RandomConst(s, Shape{5, 5, 1, 32}, 71)),
                               RandomConst(s, Shape{32}, 72)));
    h = MaxPool(s, h, pool);
    h = Relu(s, BiasAdd(s, Conv2D(s, h, RandomConst(s, Shape{5, 5, 32, 64}, 73)),
                        RandomConst(s, Shape{64}, 74)));
    h = MaxPool(s, h, pool);
    h = Reshape(s, h, {-1, 7 * 7 * 64});
    h = Relu(s, BiasAdd(s, MatMul(s, h, RandomConst(s, Shape{7 * 7 * 64, 1024}, 75)),
                        RandomConst(s, Shape{1024}, 76)));
    return {BiasAdd(s.WithOpName("logits"), MatMul(s, h, RandomConst(s, Shape{1024, 10}, 77)),
                    RandomConst(s, Shape{10}, 78))};
  };
}

// Median microseconds per run of each configuration, interleaved so that
// load from elsewhere hits all of them alike.
std::vector<double> TimeConfigs(const Builder& build, const Shape& input, int reps) {
  Scope root = Scope::NewRootScope();
  std::vector<Output> outputs = build(root);
  REQUIRE(root.graph()->build_status().ok());
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<Session::CallableHandle> handles;
  for (int mode = 0; mode < 3; ++mode) {
    SessionOptions options;
    if (mode == 0) options.optimization.level = 0;
    if (mode == 1) options.optimization.disabled = {"fusion"};
    auto session = Session::Create(*root.graph(), options);
    REQUIRE(session.ok());
    auto handle = (*session)->MakeCallable({"x"}, {outputs[0].name()});
    REQUIRE(handle.ok());
    sessions.push_back(*std::move(session));
    handles.push_back(*handle);
  }
  const Tensor x = RandomTensor(DType::kF32, input, 80);
  std::vector<std::vector<double>> times(3);
  for (int r = -5; r < reps; ++r) {
    for (int mode = 0; mode < 3; ++mode) {
      const auto start = std::chrono::steady_clock::now();
      REQUIRE(sessions[mode]->RunCallable(handles[mode], {x}).ok());
      const double us = std::chrono::duration<double, std::micro>(
                            std::chrono::steady_clock::now() - start)
                            .count();
      if (r >= 0) times[mode].push_back(us);
    }
  }
  std::vector<double> medians;
  for (auto& t : times) {
    std::sort(t.begin(), t.end());
    medians.push_back(t[t.size() / 2]);
  }
  return medians;
}

TEST_CASE("Fusion timing: MLP and CNN inference", "[.timing]") {
  struct Net {
    const char* name;
    Builder (*build)(int64_t);
    Shape (*input)(int64_t);
  };
  const Net nets[] = {
      {"MLP 784-256-10", [](int64_t b) { return Mlp(b); }, [](int64_t b) { return Shape{b, 784}; }},
      {"CNN", Cnn, [](int64_t b) { return Shape{b, 28, 28, 1}; }}};
  for (const Net& net : nets) {
    for (int64_t batch : {1, 128}) {
      const int reps = batch == 1 ? 2000 : (std::string(net.name) == "CNN" ? 40 : 400);
      std::vector<double> m = TimeConfigs(net.build(batch), net.input(batch), reps);
      std::printf("%-15s batch %3lld: off %9.1f us | no fusion %9.1f us | all %9.1f us | "
                  "all/off %.2fx, fusion %.2fx\n",
                  net.name, static_cast<long long>(batch), m[0], m[1], m[2], m[0] / m[2],
                  m[1] / m[2]);
    }
  }
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// Dense -> BatchNormalization -> Relu, the flag "training" at its default
// (false), so inference plans keep only the batch norm's inference branch.
// Every variable starts at seeded random values; "bump" changes the kernel,
// gamma and the moving variance.
Builder DenseBatchNorm(int64_t batch, bool use_bias) {
  return [=](const Scope& s) -> std::vector<Output> {
    Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{batch, 12});
    Output training = layers::TrainingFlag(s.WithOpName("training"));
    layers::Dense dense({.units = 16,
                         .use_bias = use_bias,
                         .kernel_initializer = initializers::GlorotUniform(41),
                         .bias_initializer = initializers::RandomUniform(-0.5, 0.5, 42)});
    layers::BatchNormalization norm(
        {.beta_initializer = initializers::RandomUniform(-0.5, 0.5, 43),
         .gamma_initializer = initializers::RandomUniform(0.5, 1.5, 44),
         .moving_mean_initializer = initializers::RandomUniform(-0.5, 0.5, 45),
         .moving_variance_initializer = initializers::RandomUniform(0.5, 2.0, 46)});
    Output h = norm(s, dense(s, x), training);
    Output out = Relu(s.WithOpName("out"), h);
    InitAllVariables(s);
    const std::vector<Output>& bn = norm.variables();  // gamma, beta, mean, variance
    AssignAdd(s.WithOpName("bump_kernel"), dense.variables()[0],
              RandomConst(s, Shape{12, 16}, 47));
    AssignAdd(s.WithOpName("bump_gamma"), bn[0], RandomConst(s, Shape{16}, 48));
    AssignAdd(s.WithOpName("bump_variance"), bn[3],
              Const(s, RandomTensor(DType::kF32, Shape{16}, 49, 0.5, 1.0)));
    return {out};
  };
}

TEST_CASE("Dense batch norm of constants folds into constant weights") {
  Builder build = [](const Scope& s) -> std::vector<Output> {
    Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{4, 12});
    Output h = Reshape(s, MatMul(s, x, RandomConst(s, Shape{12, 16}, 61)), {-1, 1, 1, 16});
    Output variance = Const(s, RandomTensor(DType::kF32, Shape{16}, 62, 0.5, 2.0));
    h = FusedBatchNorm(s, h, RandomConst(s, Shape{16}, 63), RandomConst(s, Shape{16}, 64),
                       RandomConst(s, Shape{16}, 65), variance,
                       {.epsilon = 0.001f, .is_training = false})
            .y;
    return {Relu(s.WithOpName("out"), Reshape(s, h, {-1, 16}))};
  };
  auto ops = OpsAfterFusion(build);
  CHECK(ops["FusedBatchNorm"] == 0);
  CHECK(ops["Reshape"] == 0);
  CHECK(ops["_FusedMatMul"] == 1);
  CHECK(ops["Relu"] == 0);
  CHECK(ops["Rsqrt"] == 0);  // computed by the rule
  CheckSame(RunThreeWays(build, {{"x", RandomTensor(DType::kF32, Shape{4, 12}, 66)}}));
}

TEST_CASE("Inference batch norm after a dense layer folds into the MatMul") {
  // Variable weights are rescaled on every run, a pass over the 12 weight
  // rows: with fewer activation rows than that, normalising the rows is
  // cheaper, and the batch norm stays.
  for (int64_t batch : {1, 8, 12, 16}) {
    for (bool use_bias : {false, true}) {
      INFO("batch " << batch << " bias=" << use_bias);
      Builder build = DenseBatchNorm(batch, use_bias);
      if (batch < 12) {
        Runs runs = RunThreeWays(build, {{"x", RandomTensor(DType::kF32, Shape{batch, 12}, 51)}},
                                 {"init"});
        CheckSame(runs);
        CHECK(Count(runs.optimised_ops, "FusedBatchNorm") == 1);
        continue;
      }
      Runs runs = RunThreeWays(build, {{"x", RandomTensor(DType::kF32, Shape{batch, 12}, 50)}},
                               {"init"}, {"bump_kernel", "bump_gamma", "bump_variance"},
                               /*run_twice=*/true);
      CheckSame(runs);
      // _FusedMatMul with the folded bias and the Relu (one per run traced):
      // no batch norm, reshape or separate activation is left.
      INFO(absl::StrJoin(runs.optimised_ops, ","));
      CHECK(Count(runs.optimised_ops, "FusedBatchNorm") == 0);
      CHECK(Count(runs.optimised_ops, "Reshape") == 0);
      CHECK(Count(runs.optimised_ops, "Relu") == 0);
      CHECK(Count(runs.optimised_ops, "MatMul") == 0);
      CHECK(Count(runs.optimised_ops, "_FusedMatMul") >= 1);
    }
  }
}

}  // namespace
}  // namespace sluice
