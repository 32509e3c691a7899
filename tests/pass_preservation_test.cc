// The optimisation pipeline changes no result: randomly generated graphs and
// a training step give the same values unoptimised, optimised, and with each
// pass of the standard pipeline turned off in turn, with the graph verified
// after every pass.
#include <catch2/catch.hpp>

#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "graph/layers.h"
#include "graph/losses.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "graph/optimizers.h"
#include "passes/pipeline.h"
#include "tests/pass_test_util.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;
using testing::CheckClose;
using testing::RunWith;

// Builds a random f32 graph over a closed set of shapes, so every op finds
// operands: element-wise ops, MatMul (also of transposes), reductions,
// reshapes, transposes, concats, constants and constant-only subexpressions,
// neutral elements (x*1, x+0), identities, squeeze/expand pairs, a Select on
// a defaulted flag, and exact duplicates of earlier ops.
class RandomGraph {
 public:
  explicit RandomGraph(uint32_t seed) : rng_(seed), root_(Scope::NewRootScope()) {}

  void Build(int ops) {
    for (const auto& [name, shape] : std::vector<std::pair<std::string, Shape>>{
             {"x0", Shape{4, 8}}, {"x1", Shape{8, 4}}, {"x2", Shape{4, 4}}}) {
      Output p = Placeholder(root_.WithOpName(name), DType::kF32, shape);
      inputs_.push_back(p);
      Add(p);
    }
    for (const Shape& s : Shapes()) Add(RandomConst(s));
    flag_ = PlaceholderWithDefault(root_.WithOpName("flag"), Const(root_, true), Shape{});
    for (int i = 0; i < ops; ++i) Step();
    REQUIRE(root_.ok());
  }

  Graph& graph() { return *root_.graph(); }
  const std::vector<Output>& inputs() const { return inputs_; }

  // The last outputs made plus a few earlier ones.
  std::vector<std::string> Fetches(int count) {
    std::vector<std::string> names;
    for (int i = 0; i < count && i < static_cast<int>(made_.size()); ++i) {
      const Output& o = i % 2 == 0 ? made_[made_.size() - 1 - i] : made_[Uniform(made_.size())];
      const std::string name = o.name();
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    return names;
  }

  FeedList Feeds() {
    FeedList feeds;
    for (const Output& in : inputs_) feeds.push_back({in.name(), RandomTensor(in.shape())});
    return feeds;
  }

 private:
  static const std::vector<Shape>& Shapes() {
    static const auto* shapes = new std::vector<Shape>{Shape{4, 8}, Shape{8, 4}, Shape{4, 4},
                                                       Shape{8, 8}, Shape{32}, Shape{8},
                                                       Shape{4}};
    return *shapes;
  }

  size_t Uniform(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  Tensor RandomTensor(const Shape& shape) {
    Tensor t(DType::kF32, shape);
    std::uniform_real_distribution<float> u(-1, 1);
    for (float& v : t.flat<float>()) v = u(rng_);
    return t;
  }
  Output RandomConst(const Shape& shape) { return Const(root_, RandomTensor(shape)); }

  void Add(Output o) {
    REQUIRE(o.valid());
    by_shape_[o.shape().ToString()].push_back(o);
    made_.push_back(o);
  }
  Output Pick(const Shape& shape) {
    const std::vector<Output>& pool = by_shape_[shape.ToString()];
    // Prefer recent outputs so the graph grows deep rather than wide.
    const size_t window = std::min<size_t>(pool.size(), 12);
    return pool[pool.size() - 1 - Uniform(window)];
  }
  // Keeps values in range however deep the graph grows.
  Output Bounded(Output o) { return Chance(0.5) ? Tanh(root_, o) : o; }

  void Step() {
    const Scope& s = root_;
    const Shape shape = Shapes()[Uniform(Shapes().size())];
    const bool matrix = shape.rank() == 2;
    switch (Uniform(14)) {
      case 0: {  // unary
        Output x = Pick(shape);
        switch (Uniform(4)) {
          case 0: return Add(Neg(s, x));
          case 1: return Add(Sigmoid(s, x));
          case 2: return Add(Abs(s, x));
          default: return Add(Tanh(s, Square(s, x)));
        }
      }
      case 1:
      case 2: {  // binary, possibly broadcasting a row or a scalar constant
        Output x = Pick(shape);
        Output y = Chance(0.7) ? Pick(shape)
                   : Chance(0.5) ? Const(s, 0.5f)
                                 : RandomConst(Shape{shape.dim(shape.rank() - 1)});
        switch (Uniform(4)) {
          case 0: return Add(Bounded(sluice::Add(s, x, y)));
          case 1: return Add(Bounded(Sub(s, x, y)));
          case 2: return Add(Mul(s, x, y));
          default: return Add(Maximum(s, x, y));
        }
      }
      case 3: {  // neutral elements and identities
        Output x = Pick(shape);
        switch (Uniform(5)) {
          case 0: return Add(Mul(s, x, Const(s, 1.0f)));
          case 1: return Add(sluice::Add(s, Const(s, 0.0f), x));
          case 2: return Add(Div(s, Sub(s, x, Const(s, 0.0f)), Const(s, 1.0f)));
          case 3: return Add(Neg(s, Neg(s, x)));
          default: return Add(Identity(s, Identity(s, x)));
        }
      }
      case 4: {  // MatMul, sometimes of transposes
        const int64_t m = Chance(0.5) ? 4 : 8, k = Chance(0.5) ? 4 : 8, n = Chance(0.5) ? 4 : 8;
        const bool ta = Chance(0.4), tb = Chance(0.4);
        Output a = ta ? Transpose(s, Pick(Shape{k, m}), {1, 0}) : Pick(Shape{m, k});
        Output b = tb ? Transpose(s, Pick(Shape{n, k}), {1, 0}) : Pick(Shape{k, n});
        return Add(Tanh(s, MatMul(s, a, b)));
      }
      case 5: {  // reductions back into the shape set
        if (!matrix) {
          Output x = Pick(shape);
          return Add(Mul(s, x, Sum(s, x, {0}, {.keep_dims = true})));
        }
        Output x = Pick(shape);
        switch (Uniform(3)) {
          case 0: return Add(Mean(s, x, {0}));
          case 1: return Add(Max(s, x, {1}));
          default: return Add(Mul(s, x, Sum(s, x, {0, 1})));
        }
      }
      case 6: {  // reshape chains
        if (shape.num_elements() != 32) return Add(Reshape(s, Pick(shape), {-1}));
        Output x = Pick(shape);
        Output r = Reshape(s, x, {2, 16});
        const Shape target = Chance(0.5) ? Shape{4, 8} : Shape{8, 4};
        return Add(Reshape(s, r, {target.dim(0), target.dim(1)}));
      }
      case 7: {  // transposes, sometimes of transposes
        if (!matrix) return Add(Transpose(s, Pick(shape), {0}));
        Output x = Pick(Shape{shape.dim(1), shape.dim(0)});
        Output t = Transpose(s, x, {1, 0});
        return Add(Chance(0.3) ? Transpose(s, Transpose(s, t, {1, 0}), {1, 0}) : t);
      }
      case 8: {  // concats into the shape set
        if (Chance(0.5)) return Add(Concat(s, {Pick(Shape{4, 4}), Pick(Shape{4, 4})}, 1));
        return Add(Concat(s, {Pick(Shape{4, 8}), Pick(Shape{4, 8})}, 0));
      }
      case 9: {  // squeeze/expand pairs
        Output x = Pick(shape);
        const int64_t axis = Uniform(shape.rank() + 1);
        return Add(Squeeze(s, ExpandDims(s, x, axis), {.squeeze_dims = {axis}}));
      }
      case 10: {  // a constant-only subexpression
        Output c = Exp(s, Mul(s, RandomConst(shape), Const(s, 0.25f)));
        return Add(sluice::Add(s, Pick(shape), Transpose(s, Transpose(s, c, Reverse(shape.rank())),
                                                         Reverse(shape.rank()))));
      }
      case 11: {  // a Select on the defaulted flag
        return Add(Select(s, flag_, Pick(shape), Neg(s, Pick(shape))));
      }
      default: {  // an exact duplicate of an earlier computation
        const Output& o = made_[Uniform(made_.size())];
        const Node& n = *o.node;
        if (n.op() == "Placeholder" || n.op() == "Const" || n.num_inputs() == 0) return;
        NodeSpec spec;
        spec.name = graph().UniqueName(n.name() + "_dup");
        spec.op = n.op();
        spec.inputs = n.inputs();
        spec.attrs = n.attrs();
        auto dup = graph().AddNode(std::move(spec));
        REQUIRE(dup.ok());
        return Add(Output(*dup, o.index));
      }
    }
  }

  static std::vector<int64_t> Reverse(int rank) {
    std::vector<int64_t> perm;
    for (int i = rank - 1; i >= 0; --i) perm.push_back(i);
    return perm;
  }

  std::mt19937 rng_;
  Scope root_;
  std::vector<Output> inputs_;
  Output flag_;
  std::vector<Output> made_;
  std::map<std::string, std::vector<Output>> by_shape_;
};

// Level 1, then level 1 with each pass turned off in turn.
std::vector<std::pair<std::string, OptimizationOptions>> Variants() {
  std::vector<std::pair<std::string, OptimizationOptions>> variants = {
      {"level 1", OptimizationOptions{}}};
  for (const std::string& name : StandardPassNames()) {
    OptimizationOptions o;
    o.disabled = {name};
    variants.push_back({"without " + name, o});
  }
  return variants;
}

TEST_CASE("Random graphs give the same results with and without each pass") {
  for (uint32_t seed : {1u, 2u, 3u, 4u}) {
    INFO("seed " << seed);
    RandomGraph random(seed);
    random.Build(300);
    const std::vector<std::string> fetches = random.Fetches(8);
    const FeedList feeds = random.Feeds();
    OptimizationOptions off;
    off.level = 0;
    const std::vector<Tensor> reference = RunWith(random.graph(), off, feeds, fetches);
    for (const auto& [what, options] : Variants()) {
      INFO(what);
      CheckClose(reference, RunWith(random.graph(), options, feeds, fetches), 1e-4);
    }
  }
}

Tensor Uniform(const Shape& shape, std::mt19937& rng, float low = -1, float high = 1) {
  std::uniform_real_distribution<float> u(low, high);
  Tensor t(DType::kF32, shape);
  for (float& v : t.flat<float>()) v = u(rng);
  return t;
}

// The examples' CNN for inference, with constant weights: two blocks of 3x3
// convolution, batch normalisation, ReLU and 2x2 max pooling, then two dense
// layers. Fusion folds the batch norms and fuses the epilogues; layout then
// blocks both convolution blocks.
void BuildCnn(const Scope& root, int64_t batch) {
  std::mt19937 rng(17);
  Output x = Placeholder(root.WithOpName("images"), DType::kF32, Shape{batch, 28, 28, 1});
  int64_t channels = 1;
  for (int64_t filters : {32, 64}) {
    Output w = Const(root, Uniform(Shape{3, 3, channels, filters}, rng, -0.3f, 0.3f));
    Output conv = Conv2D(root, x, w);
    auto per_channel = [&](float low, float high) {
      return Const(root, Uniform(Shape{filters}, rng, low, high));
    };
    Output norm = FusedBatchNorm(root, conv, per_channel(0.5f, 1.5f), per_channel(-0.5f, 0.5f),
                                 per_channel(-0.5f, 0.5f), per_channel(0.5f, 2.0f),
                                 {.is_training = false})
                      .y;
    x = MaxPool(root, Relu(root, norm));
    channels = filters;
  }
  Output flat = Reshape(root, x, {batch, 7 * 7 * 64});
  Output hidden = Relu(root, BiasAdd(root, MatMul(root, flat, Const(root, Uniform(Shape{3136, 128}, rng, -0.05f, 0.05f))),
                                     Const(root, Uniform(Shape{128}, rng))));
  BiasAdd(root.WithOpName("logits"),
          MatMul(root, hidden, Const(root, Uniform(Shape{128, 10}, rng, -0.1f, 0.1f))),
          Const(root, Uniform(Shape{10}, rng)));
}

TEST_CASE("A CNN's inference gives the same results with and without each pass") {
  for (int64_t batch : {1, 8}) {
    INFO("batch " << batch);
    Scope root = Scope::NewRootScope();
    BuildCnn(root, batch);
    REQUIRE(root.ok());
    std::mt19937 rng(3);
    const FeedList feeds = {{"images", Uniform(Shape{batch, 28, 28, 1}, rng, 0, 1)}};
    OptimizationOptions off;
    off.level = 0;
    const std::vector<Tensor> reference = RunWith(*root.graph(), off, feeds, {"logits"});
    for (const auto& [what, options] : Variants()) {
      INFO(what);
      CheckClose(reference, RunWith(*root.graph(), options, feeds, {"logits"}), 1e-4);
    }
  }
}

// A random chain of convolutions (strides, SAME/VALID, dilations, biases,
// activations, residual adds), pools and element-wise ops on NHWC images,
// with a few values fetched along the way.
class RandomConvChain {
 public:
  explicit RandomConvChain(uint32_t seed) : rng_(seed), root_(Scope::NewRootScope()) {}

  void Build(int steps) {
    const int64_t in_channels = std::vector<int64_t>{1, 3, 16}[Pick(3)];
    const int64_t batch = 1 + Pick(3);
    x_ = Placeholder(root_.WithOpName("x"), DType::kF32, Shape{batch, 17, 15, in_channels});
    Output cur = x_;
    std::vector<Output> made = {cur};
    for (int i = 0; i < steps; ++i) {
      const Shape& s = cur.shape();
      const int choice = static_cast<int>(Pick(6));
      if (choice <= 2 || s.dim(3) % 16 != 0) {
        const int64_t k = Pick(2) == 0 ? 1 : 3;
        const int64_t stride = s.dim(1) > 6 && Pick(3) == 0 ? 2 : 1;
        const int64_t dilation = stride == 1 && k == 3 && s.dim(1) > 8 && Pick(3) == 0 ? 2 : 1;
        const int64_t out = Pick(2) == 0 ? 16 : 32;
        // VALID only where the window fits.
        const std::string padding =
            Pick(2) == 0 || s.dim(1) < 6 || s.dim(2) < 6 ? "SAME" : "VALID";
        Output w = Const(root_, Uniform(Shape{k, k, s.dim(3), out}, rng_, -0.3f, 0.3f));
        cur = Conv2D(root_, cur, w,
                     {.strides = {1, stride, stride, 1},
                      .padding = padding,
                      .dilations = {1, dilation, dilation, 1}});
        if (Pick(2) == 0) cur = BiasAdd(root_, cur, Const(root_, Uniform(Shape{out}, rng_)));
      } else if (choice == 3 && s.dim(1) >= 4 && s.dim(2) >= 4) {
        const PoolOptions pool = {.padding = Pick(2) == 0 ? "SAME" : "VALID"};
        cur = Pick(2) == 0 ? MaxPool(root_, cur, pool) : AvgPool(root_, cur, pool);
      } else if (choice == 4) {
        // A residual: the latest earlier value of this shape, if any.
        for (auto it = made.rbegin(); it != made.rend(); ++it) {
          if (it->shape() == s && *it != cur) {
            cur = Add(root_, cur, *it);
            break;
          }
        }
      } else {
        cur = Pick(2) == 0 ? Relu(root_, cur) : Tanh(root_, cur);
      }
      made.push_back(cur);
      if (Pick(6) == 0) fetches_.push_back(cur.name());
    }
    fetches_.push_back(cur.name());
    REQUIRE(root_.ok());
  }

  Graph& graph() { return *root_.graph(); }
  const std::vector<std::string>& fetches() const { return fetches_; }
  FeedList Feeds() { return {{"x", Uniform(x_.shape(), rng_)}}; }

 private:
  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }

  std::mt19937 rng_;
  Scope root_;
  Output x_;
  std::vector<std::string> fetches_;
};

TEST_CASE("Random convolution chains give the same results with and without each pass") {
  for (uint32_t seed : {1u, 2u, 3u, 4u, 5u, 6u}) {
    INFO("seed " << seed);
    RandomConvChain chain(seed);
    chain.Build(14);
    const FeedList feeds = chain.Feeds();
    OptimizationOptions off;
    off.level = 0;
    const std::vector<Tensor> reference = RunWith(chain.graph(), off, feeds, chain.fetches());
    for (const auto& [what, options] : Variants()) {
      INFO(what);
      CheckClose(reference, RunWith(chain.graph(), options, feeds, chain.fetches()), 1e-4);
    }
  }
}

TEST_CASE("The standard pipeline shrinks a random graph and keeps it valid after every pass") {
  RandomGraph random(5);
  random.Build(300);
  std::vector<std::string> fetches = random.Fetches(8);
  Graph& g = random.graph();
  PassContext context;
  for (const std::string& name : fetches) context.fetches.push_back(Output(g.FindNode(name), 0));
  context.kernels = &GlobalKernelRegistry();
  OptimizationOptions options;
  options.verify = true;
  auto pipeline = StandardPipeline(options);
  REQUIRE(pipeline.ok());
  std::vector<std::string> ran;
  pipeline->set_observer([&](const PassStats& stats, const Graph& graph) {
    ran.push_back(stats.pass);
    absl::Status ok = VerifyGraph(graph);
    INFO(stats.pass << ": " << ok.ToString());
    CHECK(ok.ok());
  });
  const int before = g.num_nodes();
  auto stats = pipeline->Run(g, context);
  INFO(stats.status().ToString());
  REQUIRE(stats.ok());
  for (const std::string& name : StandardPassNames()) {
    CHECK(std::find(ran.begin(), ran.end(), name) != ran.end());
  }
  std::map<std::string, int> removed;
  for (const PassStats& s : *stats) removed[s.pass] += s.nodes_removed;
  CHECK(removed["constant-folding"] > 0);
  CHECK(removed["cse"] > 0);
  CHECK(removed["simplify"] > 0);
  CHECK(g.num_nodes() < before);
  // No Select on the defaulted flag, no neutral Identity is left.
  CHECK(testing::CountOp(g, "Select") == 0);
  CHECK(testing::CountOp(g, "Identity") == 0);
  CHECK(testing::CountOp(g, "PlaceholderWithDefault") == 0);
}

TEST_CASE("An unknown pass name in disabled is an error listing the passes") {
  OptimizationOptions options;
  options.disabled = {"constant-fold"};
  auto pipeline = StandardPipeline(options);
  REQUIRE_FALSE(pipeline.ok());
  CHECK(pipeline.status().code() == absl::StatusCode::kInvalidArgument);
  const std::string message(pipeline.status().message());
  CHECK_THAT(message, Contains("unknown pass 'constant-fold'"));
  for (const char* name : {"prune", "constant-folding", "cse", "simplify"}) {
    CHECK_THAT(message, Contains(name));
  }
}

// Trains an MLP (dense, batch normalisation, dropout, dense) for three steps
// and returns the loss of each step followed by every variable.
std::vector<Tensor> TrainMlp(const OptimizationOptions& optimization) {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 6});
  Output labels = Placeholder(root.WithOpName("labels"), DType::kI32, Shape{kUnknownDim});
  Output training = layers::TrainingFlag(root);
  layers::Dense hidden({.units = 8, .activation = Relu});
  layers::BatchNormalization norm;
  layers::Dropout dropout({.rate = 0.25, .seed = 5});
  layers::Dense out({.units = 3});
  Output logits = out(root, dropout(root, norm(root, hidden(root, x), training), training));
  Output loss = losses::SparseSoftmaxCrossEntropy(root.WithOpName("loss"), labels, logits);
  AdamOptimizer adam({.learning_rate = 0.05});
  absl::StatusOr<Node*> train = adam.Minimize(root, loss);
  REQUIRE(train.ok());
  Node* init = InitAllVariables(root);
  REQUIRE(root.ok());

  SessionOptions options;
  options.optimization = optimization;
  options.optimization.verify = true;
  auto session = Session::Create(*root.graph(), options);
  REQUIRE(session.ok());
  REQUIRE((*session)->Run({}, {}, {init->name()}).ok());
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> u(-1, 1);
  std::vector<Tensor> results;
  for (int step = 0; step < 3; ++step) {
    Tensor batch(DType::kF32, Shape{10, 6});
    for (float& v : batch.flat<float>()) v = u(rng);
    Tensor y(DType::kI32, Shape{10});
    for (int i = 0; i < 10; ++i) y.data<int32_t>()[i] = (i * 7 + step) % 3;
    auto ran = (*session)->Run({{"x", batch}, {"labels", y}, {training.name(), Tensor::Scalar(true)}},
                               {loss.name()}, {(*train)->name()});
    INFO(ran.status().ToString());
    REQUIRE(ran.ok());
    results.push_back((*ran)[0]);
  }
  // An inference run uses the defaulted flag, which the pipeline folds.
  Tensor batch(DType::kF32, Shape{4, 6});
  for (float& v : batch.flat<float>()) v = u(rng);
  auto inferred = (*session)->Run({{"x", batch}}, {logits.name()});
  INFO(inferred.status().ToString());
  REQUIRE(inferred.ok());
  results.push_back((*inferred)[0]);
  std::vector<std::string> variables;
  for (const Node* n : root.graph()->nodes()) {
    if (n->op() == "Variable") variables.push_back(n->name());
  }
  auto values = (*session)->Run({}, variables);
  REQUIRE(values.ok());
  results.insert(results.end(), values->begin(), values->end());
  return results;
}

TEST_CASE("Training an MLP updates the variables alike with and without each pass") {
  OptimizationOptions off;
  off.level = 0;
  const std::vector<Tensor> reference = TrainMlp(off);
  for (const auto& [what, options] : Variants()) {
    INFO(what);
    CheckClose(reference, TrainMlp(options), 1e-4);
  }
}

}  // namespace
}  // namespace sluice
