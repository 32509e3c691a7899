// The layout pass (passes/layout.h): where it blocks convolution regions,
// where it must not, and that results do not change.
#include "passes/layout.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "graph/layers.h"
#include "graph/losses.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "graph/optimizers.h"
#include "kernels/kernel_registry.h"
#include "passes/autodiff/gradients.h"
#include "passes/pipeline.h"
#include "tests/pass_test_util.h"

namespace sluice {
namespace {

using testing::CheckClose;
using testing::CountOp;
using testing::RunPass;

Tensor RandomTensor(const Shape& shape, uint32_t seed, DType dtype = DType::kF32) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if (dtype == DType::kF32) {
      t.data<float>()[i] = u(rng);
    } else {
      t.data<double>()[i] = u(rng);
    }
  }
  return t;
}

Output RandomConst(const Scope& s, const Shape& shape, uint32_t seed, DType dtype = DType::kF32) {
  return Const(s, RandomTensor(shape, seed, dtype));
}

// A 3x3 convolution to `out` channels with `options`.
Output Conv(const Scope& s, Output x, int64_t out, uint32_t seed,
            const Conv2DOptions& options = {}) {
  const int64_t in = x.shape().dim(3);
  return Conv2D(s, x, RandomConst(s, Shape{3, 3, in, out}, seed), options);
}

// The pass alone (blocks of `block`) on a copy of `graph`, then the rewritten
// graph run unoptimised; also returns the rewritten graph's op counts.
struct Blocked {
  std::unique_ptr<Graph> graph;
  bool changed = false;
  std::vector<Tensor> results;
};
Blocked RunBlocked(const Graph& graph, const FeedList& feeds,
                   const std::vector<std::string>& fetches, int64_t block,
                   const std::vector<std::string>& targets = {}) {
  Blocked b;
  b.graph = graph.Clone();
  LayoutPass pass(block, /*min_batch=*/1);
  PassContext context = RunPass(pass, *b.graph, fetches, targets, &b.changed);
  std::vector<std::string> moved;
  for (const Output& f : context.fetches) moved.push_back(f.name());
  b.results = testing::RunUnoptimised(*b.graph, feeds, moved, targets);
  return b;
}

// Two convolution blocks with pools and ReLUs: [n,12,12,16] -> 16 -> 32.
struct TwoBlocks {
  Scope root = Scope::NewRootScope();
  Output x, y;
  explicit TwoBlocks(int64_t batch) {
    x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{batch, 12, 12, 16});
    Output h = MaxPool(root, Relu(root, Conv(root, x, 16, 1)));
    h = AvgPool(root, Relu(root, Conv(root, h, 32, 2, {.padding = "VALID"})));
    y = Identity(root.WithOpName("y"), h);
    REQUIRE(root.ok());
  }
};

TEST_CASE("A two-conv block is blocked with one conversion at entry and one at exit") {
  for (int64_t batch : {1, 4}) {
    INFO("batch " << batch);
    TwoBlocks net(batch);
    const FeedList feeds = {{"x", RandomTensor(net.x.shape(), 3)}};
    const std::vector<std::string> fetches = {net.y.node->inputs()[0].name()};
    const std::vector<Tensor> reference =
        testing::RunUnoptimised(*net.root.graph(), feeds, fetches);
    for (int64_t block : {8, 16}) {
      INFO("block " << block);
      Blocked b = RunBlocked(*net.root.graph(), feeds, fetches, block);
      CHECK(b.changed);
      CHECK(CountOp(*b.graph, "_ToBlocked") == 1);
      CHECK(CountOp(*b.graph, "_FromBlocked") == 1);
      CHECK(CountOp(*b.graph, "_BlockedConv2D") == 2);
      CHECK(CountOp(*b.graph, "_BlockedMaxPool") == 1);
      CHECK(CountOp(*b.graph, "_BlockedAvgPool") == 1);
      CHECK(CountOp(*b.graph, "Relu") == 2);
      CHECK(CountOp(*b.graph, "Conv2D") == 0);
      CheckClose(reference, b.results, 1e-4);
    }
  }
}

TEST_CASE("Convolution windows give the same results blocked") {
  struct Case {
    int64_t batch, stride, dilation;
    std::string padding;
  };
  const std::vector<Case> cases = {{1, 1, 1, "SAME"},  {3, 1, 1, "VALID"}, {2, 2, 1, "SAME"},
                                   {2, 2, 1, "VALID"}, {1, 1, 2, "SAME"},  {2, 1, 2, "VALID"}};
  for (const Case& c : cases) {
    INFO("batch " << c.batch << " stride " << c.stride << " dilation " << c.dilation << " "
                  << c.padding);
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{c.batch, 15, 17, 16});
    const Conv2DOptions window = {.strides = {1, c.stride, c.stride, 1},
                                  .padding = c.padding,
                                  .dilations = {1, c.dilation, c.dilation, 1}};
    Output h = Relu6(root, Conv(root, x, 32, 1, window));
    h = MaxPool(root, h, {.ksize = {1, 3, 3, 1}, .strides = {1, 2, 2, 1}, .padding = "SAME"});
    Output y = Conv(root, h, 16, 2, window);
    REQUIRE(root.ok());
    const FeedList feeds = {{"x", RandomTensor(x.shape(), 4)}};
    const std::vector<std::string> fetches = {y.name()};
    const std::vector<Tensor> reference = testing::RunUnoptimised(*root.graph(), feeds, fetches);
    Blocked b = RunBlocked(*root.graph(), feeds, fetches, 16);
    CHECK(b.changed);
    CHECK(CountOp(*b.graph, "_BlockedConv2D") == 2);
    CheckClose(reference, b.results, 1e-4);
  }
}

// Conv -> BiasAdd -> Add(residual) -> Relu twice, the second residual being
// the first block's output: what fusion turns into _FusedConv2D epilogues.
struct ResidualNet {
  Scope root = Scope::NewRootScope();
  Output x, y;
  ResidualNet(int64_t batch, int64_t in_channels) {
    x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{batch, 10, 10, in_channels});
    Output a = Relu(root, BiasAdd(root, Conv(root, x, 32, 1), RandomConst(root, Shape{32}, 2)));
    Output b = BiasAdd(root, Conv(root, a, 32, 3), RandomConst(root, Shape{32}, 4));
    b = Relu(root, Add(root, b, a));
    Output c = BiasAdd(root, Conv(root, b, 32, 5), RandomConst(root, Shape{32}, 6));
    c = Elu(root, Add(root, c, b));
    y = Sum(root.WithOpName("y"), Mul(root, c, Const(root, 0.5f)), {1, 2});
    REQUIRE(root.ok());
  }
};

TEST_CASE("Fused epilogues with residual adds run blocked through the whole pipeline") {
  for (int64_t in_channels : {1, 3, 16}) {
    for (int64_t batch : {1, 8}) {
      INFO("batch " << batch << ", " << in_channels << " input channels");
      ResidualNet net(batch, in_channels);
      const FeedList feeds = {{"x", RandomTensor(net.x.shape(), 7)}};
      const std::vector<std::string> fetches = {"y"};
      OptimizationOptions without;
      without.disabled = {"layout"};
      const std::vector<Tensor> reference =
          testing::RunWith(*net.root.graph(), without, feeds, fetches);
      CheckClose(reference, testing::RunWith(*net.root.graph(), {}, feeds, fetches), 1e-4);

      // The pipeline's graph: the first convolution reads its input in NHWC
      // unless the channels fill blocks.
      Graph& g = *net.root.graph();
      PassContext context;
      context.fetches = {Output(g.FindNode("y"), 0)};
      context.kernels = &GlobalKernelRegistry();
      auto pipeline = StandardPipeline({});
      REQUIRE(pipeline.ok());
      REQUIRE(pipeline->Run(g, context).ok());
      if (GlobalKernelRegistry().channel_block(DeviceType::kCpu) != 16) continue;
      if (batch < LayoutPass::kMinBatch) {  // small batches stay NHWC
        CHECK(CountOp(g, "_BlockedConv2D") == 0);
        CHECK(CountOp(g, "_FusedConv2D") == 3);
        continue;
      }
      CHECK(CountOp(g, "_BlockedConv2D") == 3);
      CHECK(CountOp(g, "_FusedConv2D") == 0);
      CHECK(CountOp(g, "_ToBlocked") == (in_channels == 16 ? 1 : 0));
      CHECK(CountOp(g, "_FromBlocked") == 1);
    }
  }
}

TEST_CASE("A region value read by several outside consumers gets one shared _FromBlocked") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 6, 6, 16});
  Output h = Relu(root.WithOpName("h"), Conv(root, Relu(root, Conv(root, x, 16, 1)), 16, 2));
  Sum(root.WithOpName("s"), h, {1, 2});
  Reshape(root.WithOpName("r"), h, {2, -1});
  REQUIRE(root.ok());
  const FeedList feeds = {{"x", RandomTensor(x.shape(), 3)}};
  const std::vector<std::string> fetches = {"h", "s", "r"};
  const std::vector<Tensor> reference = testing::RunUnoptimised(*root.graph(), feeds, fetches);
  Blocked b = RunBlocked(*root.graph(), feeds, fetches, 16);
  CHECK(b.changed);
  CHECK(CountOp(*b.graph, "_FromBlocked") == 1);
  CHECK(CountOp(*b.graph, "_ToBlocked") == 1);
  CheckClose(reference, b.results, 1e-4);
}

// Runs the pass with blocks of 16 and checks that it left the graph alone.
void CheckUnchanged(const Graph& graph, const std::vector<std::string>& fetches,
                    const std::vector<std::string>& targets = {}) {
  std::unique_ptr<Graph> g = graph.Clone();
  LayoutPass pass(16, /*min_batch=*/1);
  bool changed = true;
  RunPass(pass, *g, fetches, targets, &changed);
  CHECK_FALSE(changed);
  CHECK(CountOp(*g, "_ToBlocked") == 0);
  CHECK(CountOp(*g, "_FromBlocked") == 0);
}

TEST_CASE("The layout pass leaves alone what it cannot or should not block") {
  SECTION("channels that do not fill blocks") {
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 8, 8, 16});
    Relu(root.WithOpName("y"), Conv(root, Relu(root, Conv(root, x, 12, 1)), 24, 2));
    REQUIRE(root.ok());
    CheckUnchanged(*root.graph(), {"y"});
  }
  SECTION("NCHW") {
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 16, 8, 8});
    const Conv2DOptions nchw = {.data_format = "NCHW"};
    Output w = RandomConst(root, Shape{3, 3, 16, 16}, 1);
    Relu(root.WithOpName("y"), Conv2D(root, Relu(root, Conv2D(root, x, w, nchw)), w, nchw));
    REQUIRE(root.ok());
    CheckUnchanged(*root.graph(), {"y"});
  }
  SECTION("f64") {
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root.WithOpName("x"), DType::kF64, Shape{2, 8, 8, 16});
    Output w = RandomConst(root, Shape{3, 3, 16, 16}, 1, DType::kF64);
    Relu(root.WithOpName("y"), Conv2D(root, Relu(root, Conv2D(root, x, w)), w));
    REQUIRE(root.ok());
    CheckUnchanged(*root.graph(), {"y"});
  }
  SECTION("no convolution") {
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 8, 8, 16});
    MaxPool(root.WithOpName("y"), Relu(root, x));
    REQUIRE(root.ok());
    CheckUnchanged(*root.graph(), {"y"});
  }
  SECTION("an interior value fetched") {
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 8, 8, 16});
    Output mid = Relu(root.WithOpName("mid"), Conv(root, x, 16, 1));
    Relu(root.WithOpName("y"), Conv(root, mid, 16, 2));
    REQUIRE(root.ok());
    CheckUnchanged(*root.graph(), {"y", "mid"});
  }
  SECTION("a block of the CPU's preferred size when there is none") {
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 8, 8, 16});
    Relu(root.WithOpName("y"), Conv(root, x, 16, 1));
    REQUIRE(root.ok());
    std::unique_ptr<Graph> g = root.graph()->Clone();
    LayoutPass pass;
    PassContext context;
    context.fetches = {Output(g->FindNode("y"), 0)};
    auto changed = pass.Run(*g, context);  // no kernel registry: no block size
    REQUIRE(changed.ok());
    CHECK_FALSE(*changed);
  }
}

// A small CNN (conv, batch norm, ReLU, pool twice, dense) as the examples
// build it; `training` adds the gradients and an optimizer step.
struct SmallCnn {
  Scope root = Scope::NewRootScope();
  Output images, labels, logits, loss;
  Node* train = nullptr;
  Node* init = nullptr;
  explicit SmallCnn(bool training) {
    // Static shapes, as a run signature makes them.
    images = Placeholder(root.WithOpName("images"), DType::kF32, Shape{8, 12, 12, 1});
    labels = Placeholder(root.WithOpName("labels"), DType::kI32, Shape{8});
    Output flag = layers::TrainingFlag(root);
    Output x = images;
    for (int64_t filters : {16, 32}) {
      layers::Conv2D conv(
          {.filters = filters, .kernel_size = {3, 3}, .padding = "SAME", .use_bias = false});
      layers::BatchNormalization norm;
      layers::MaxPool2D pool;
      x = pool(root, Relu(root, norm(root, conv(root, x), flag)));
    }
    layers::Flatten flatten;
    layers::Dense out({.units = 10});
    logits = Identity(root.WithOpName("logits"), out(root, flatten(root, x)));
    loss = losses::SparseSoftmaxCrossEntropy(root.WithOpName("loss"), labels, logits);
    if (training) {
      AdamOptimizer adam({.learning_rate = 0.01});
      absl::StatusOr<Node*> t = adam.Minimize(root, loss);
      REQUIRE(t.ok());
      train = *t;
    }
    init = InitAllVariables(root);
    REQUIRE(root.ok());
  }
};

TEST_CASE("A training step keeps NHWC: the backward ops read the forward activations") {
  SmallCnn net(true);
  Graph& g = *net.root.graph();
  PassContext context;
  context.fetches = {net.loss};
  context.targets = {net.train};
  context.kernels = &GlobalKernelRegistry();
  OptimizationOptions options;
  options.verify = true;
  auto pipeline = StandardPipeline(options);
  REQUIRE(pipeline.ok());
  auto stats = pipeline->Run(g, context);
  INFO(stats.status().ToString());
  REQUIRE(stats.ok());
  CHECK(CountOp(g, "_ToBlocked") == 0);
  CHECK(CountOp(g, "_FromBlocked") == 0);
  CHECK(CountOp(g, "_BlockedConv2D") == 0);
}

TEST_CASE("A CNN's inference plan is blocked from the first convolution to the flatten") {
  SmallCnn net(false);
  Graph& g = *net.root.graph();
  PassContext context;
  context.fetches = {net.logits};
  context.kernels = &GlobalKernelRegistry();
  OptimizationOptions options;
  options.verify = true;
  auto pipeline = StandardPipeline(options);
  REQUIRE(pipeline.ok());
  REQUIRE(pipeline->Run(g, context).ok());
  if (GlobalKernelRegistry().channel_block(DeviceType::kCpu) != 16) return;
  CHECK(CountOp(g, "_BlockedConv2D") == 2);
  CHECK(CountOp(g, "_BlockedMaxPool") == 2);
  CHECK(CountOp(g, "_ToBlocked") == 0);  // one input channel: read in NHWC
  CHECK(CountOp(g, "_FromBlocked") == 1);
}

}  // namespace
}  // namespace sluice
