// Constant folding: what folds, what must not, and that results stay.
#include <catch2/catch.hpp>

#include "graph/layers.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/random.h"
#include "graph/ops/state.h"
#include "passes/constant_folding.h"
#include "passes/prune.h"
#include "runtime/plan.h"
#include "tests/pass_test_util.h"

namespace sluice {
namespace {

using testing::CheckClose;
using testing::CountOp;
using testing::Names;
using testing::RunPass;
using testing::RunUnoptimised;

Tensor Matrix23(float base) {
  return *Tensor::FromVector<float>({base, base + 1, base + 2, base + 3, base + 4, base + 5},
                                    Shape{2, 3});
}

TEST_CASE("A subgraph of constants becomes one Const") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 3});
  Output a = Const(root.WithOpName("a"), Matrix23(1));
  Output b = Const(root.WithOpName("b"), 0.5f);
  Output c = Exp(root.WithOpName("c"), Mul(root.WithOpName("ab"), a, b));
  Add(root.WithOpName("y"), x, c);
  Graph& g = *root.graph();
  const FeedList feeds = {{"x", Matrix23(-2)}};
  const std::vector<Tensor> before = RunUnoptimised(g, feeds, {"y"});

  ConstantFoldingPass pass;
  bool changed = false;
  PassContext context = RunPass(pass, g, {"y"}, {}, &changed);
  CHECK(changed);
  CHECK(CountOp(g, "Exp") == 0);
  CHECK(CountOp(g, "Mul") == 0);
  const Node* y = g.FindNode("y");
  REQUIRE(y != nullptr);
  CHECK(y->input(1).node->op() == "Const");
  CHECK(y->input(1).node->name() == "c/folded");
  CheckClose(before, RunUnoptimised(g, feeds, Names(context.fetches)));

  // Nothing left to fold.
  RunPass(pass, g, {"y"}, {}, &changed);
  CHECK_FALSE(changed);
}

TEST_CASE("A fetched constant computation moves the fetch to its Const") {
  Scope root = Scope::NewRootScope();
  Output a = Const(root.WithOpName("a"), {1.0f, 2.0f, 3.0f});
  Square(root.WithOpName("y"), a);
  Graph& g = *root.graph();
  const std::vector<Tensor> before = RunUnoptimised(g, {}, {"y"});
  ConstantFoldingPass pass;
  PassContext context = RunPass(pass, g, {"y"});
  REQUIRE(context.fetches.size() == 1);
  CHECK(context.fetches[0].node->op() == "Const");
  CHECK(g.FindNode("y") == nullptr);
  CheckClose(before, RunUnoptimised(g, {}, Names(context.fetches)));
}

TEST_CASE("Every output of a multi-output node folds") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 3});
  std::vector<Output> parts = Split(root.WithOpName("split"), 0, Const(root, Matrix23(1)), 2);
  REQUIRE(parts.size() == 2);
  Output y = Add(root.WithOpName("y"), x, Sub(root.WithOpName("d"), parts[1], parts[0]));
  (void)y;
  Graph& g = *root.graph();
  const FeedList feeds = {{"x", Matrix23(0)}};
  const std::vector<Tensor> before = RunUnoptimised(g, feeds, {"y"});
  ConstantFoldingPass pass;
  PassContext context = RunPass(pass, g, {"y"});
  CHECK(CountOp(g, "Split") == 0);
  CHECK(CountOp(g, "Sub") == 0);
  CheckClose(before, RunUnoptimised(g, feeds, Names(context.fetches)));
}

TEST_CASE("Results above max_folded_bytes stay computed at run time") {
  Scope root = Scope::NewRootScope();
  Output a = Const(root.WithOpName("a"), Matrix23(1));
  Exp(root.WithOpName("y"), a);
  Graph& g = *root.graph();
  PassContext context;
  context.fetches = {Output(g.FindNode("y"), 0)};
  context.kernels = &GlobalKernelRegistry();
  context.max_folded_bytes = 6 * 4 - 1;
  ConstantFoldingPass pass;
  auto changed = pass.Run(g, context);
  REQUIRE(changed.ok());
  CHECK_FALSE(*changed);
  CHECK(CountOp(g, "Exp") == 1);
  context.max_folded_bytes = 6 * 4;
  changed = pass.Run(g, context);
  REQUIRE(changed.ok());
  CHECK(*changed);
  CHECK(CountOp(g, "Exp") == 0);
}

TEST_CASE("Stateful nodes, control inputs and targets are not folded") {
  Scope root = Scope::NewRootScope();
  Output shape = Const(root.WithOpName("shape"), std::vector<int32_t>{2, 3});
  Output r = RandomUniform(root.WithOpName("r"), shape, DType::kF32);
  Output a = Const(root.WithOpName("a"), Matrix23(1));
  Output ordered = Neg(root.WithOpName("ordered").WithControlDependencies({r}), a);
  // A Const ordered after r: folding its reader would drop that order.
  Output late = Const(root.WithOpName("late").WithControlDependencies({r}), 2.0f);
  Output scaled = Mul(root.WithOpName("scaled"), a, late);
  Output target = Abs(root.WithOpName("target"), a);
  Add(root.WithOpName("y"), Add(root, r, ordered), Add(root, scaled, target));
  Graph& g = *root.graph();
  const int nodes = g.num_nodes();
  ConstantFoldingPass pass;
  bool changed = true;
  RunPass(pass, g, {"y"}, {"target"}, &changed);
  CHECK_FALSE(changed);
  CHECK(g.num_nodes() == nodes);
}

TEST_CASE("An unfed PlaceholderWithDefault is its default, and Select picks a branch") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{4, 3});
  Output training = layers::TrainingFlag(root);
  layers::Dense dense({.units = 5, .activation = nullptr,
                       .kernel_initializer = initializers::Constant(0.25)});
  layers::Dropout dropout({.rate = 0.5, .seed = 7});
  Output h = dense(root, x);
  Output y = dropout(root, h, training);
  const std::string init = InitAllVariables(root)->name();
  REQUIRE(root.ok());
  Graph& g = *root.graph();
  const FeedList feeds = {
      {"x", *Tensor::FromVector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, Shape{4, 3})}};

  SessionOptions options;
  options.optimization.level = 0;
  auto reference = Session::Create(g, options);
  REQUIRE(reference.ok());
  REQUIRE((*reference)->Run({}, {}, {init}).ok());
  auto expected = (*reference)->Run(feeds, {y.name()});
  REQUIRE(expected.ok());

  const int random_before = CountOp(g, "RandomUniform");
  CHECK(random_before == 1);
  ConstantFoldingPass fold;
  // The initializers stay a target, so prune keeps them.
  PassContext context = RunPass(fold, g, {y.name()}, {init});
  CHECK(CountOp(g, "PlaceholderWithDefault") == 0);
  CHECK(CountOp(g, "Select") == 0);
  // The fetch now reads the dense layer's output directly.
  CHECK(context.fetches[0] == h);
  PrunePass prune;
  REQUIRE(prune.Run(g, context).ok());
  CHECK(CountOp(g, "RandomUniform") == 0);

  auto optimised = Session::Create(g, options);
  REQUIRE(optimised.ok());
  REQUIRE((*optimised)->Run({}, {}, {init}).ok());
  auto actual = (*optimised)->Run(feeds, Names(context.fetches));
  REQUIRE(actual.ok());
  CheckClose(*expected, *actual);
}

TEST_CASE("Dropout fed training=true gives the same values optimised") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{4, 3});
  Output training = layers::TrainingFlag(root);
  layers::Dropout dropout({.rate = 0.5, .seed = 7});
  Output y = dropout(root, x, training);
  REQUIRE(root.ok());
  const FeedList feeds = {
      {"x", *Tensor::FromVector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, Shape{4, 3})},
      {training.name(), Tensor::Scalar(true)}};
  const std::vector<Tensor> expected = RunUnoptimised(*root.graph(), feeds, {y.name()});
  SessionOptions options;
  options.optimization.verify = true;
  auto session = Session::Create(*root.graph(), options);
  REQUIRE(session.ok());
  auto actual = (*session)->Run(feeds, {y.name()});
  REQUIRE(actual.ok());
  CheckClose(expected, *actual);
}

TEST_CASE("Select with a constant condition of the output's shape") {
  Scope root = Scope::NewRootScope();
  Output t = Placeholder(root.WithOpName("t"), DType::kF32, Shape{3});
  Output e = Placeholder(root.WithOpName("e"), DType::kF32, Shape{3});
  Tensor all_false(DType::kBool, Shape{3});
  Tensor mixed(DType::kBool, Shape{3});
  for (int i = 0; i < 3; ++i) {
    all_false.data<bool>()[i] = false;
    mixed.data<bool>()[i] = i == 1;
  }
  Select(root.WithOpName("picked"), Const(root, all_false), t, e);
  Select(root.WithOpName("mixed"), Const(root, mixed), t, e);
  Graph& g = *root.graph();
  const FeedList feeds = {{"t", Tensor::FromVector<float>({1, 2, 3})},
                          {"e", Tensor::FromVector<float>({4, 5, 6})}};
  const std::vector<Tensor> before = RunUnoptimised(g, feeds, {"picked", "mixed"});
  ConstantFoldingPass pass;
  PassContext context = RunPass(pass, g, {"picked", "mixed"});
  CHECK(context.fetches[0] == e);
  CHECK(context.fetches[1].node->name() == "mixed");
  CheckClose(before, RunUnoptimised(g, feeds, Names(context.fetches)));
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST_CASE("ZerosLike and OnesLike of a known shape fold whatever their input") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 3});
  Output zeros = ZerosLike(root.WithOpName("zeros"), x);
  Output ones = OnesLike(root.WithOpName("ones"), Cast(root, x, DType::kI32));
  REQUIRE(root.ok());
  Graph& g = *root.graph();
  ConstantFoldingPass fold;
  PassContext context = RunPass(fold, g, {zeros.name(), ones.name()}, {});
  CHECK(CountOp(g, "ZerosLike") == 0);
  CHECK(CountOp(g, "OnesLike") == 0);
  const Tensor* z = context.fetches[0].node->output_value(0);
  const Tensor* o = context.fetches[1].node->output_value(0);
  REQUIRE(z != nullptr);
  REQUIRE(o != nullptr);
  CHECK(z->shape() == Shape{2, 3});
  CHECK(z->ToVector<float>() == std::vector<float>(6, 0.0f));
  CHECK(o->dtype() == DType::kI32);
  CHECK(o->ToVector<int32_t>() == std::vector<int32_t>(6, 1));
}

TEST_CASE("An inference plan of batch normalisation keeps no training branch") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 4});
  Output training = layers::TrainingFlag(root);
  layers::BatchNormalization norm;
  Output y = Identity(root.WithOpName("y"), norm(root, x, training));
  Node* init = InitAllVariables(root);
  REQUIRE(root.ok());
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  REQUIRE((*session)->Run({}, {}, {init->name()}).ok());
  const FeedList feeds = {
      {"x", *Tensor::FromVector<float>({1, 2, 3, 4, 5, 6, 7, 8}, Shape{2, 4})}};
  RunMetadata metadata;
  auto inference = (*session)->Run(feeds, {y.name()}, {}, nullptr, &metadata);
  REQUIRE(inference.ok());
  // Compiled the way a Session compiles it: one FusedBatchNorm, no update.
  PlanRequest request;
  request.feed_names = {"x"};
  request.feed_dtypes = {DType::kF32};
  request.feed_shapes = {Shape{2, 4}};
  request.fetch_names = {"y"};
  auto plan = CompilePlanForInspection(*root.graph(), request);
  REQUIRE(plan.ok());
  CHECK(CountOp((*plan)->graph(), "FusedBatchNorm") == 1);
  CHECK(CountOp((*plan)->graph(), "AssignSub") == 0);
  // And the moving statistics are unchanged by an inference run.
  auto moving = (*session)->Run(FeedList{}, {"batch_normalization/moving_mean"});
  REQUIRE(moving.ok());
  CHECK((*moving)[0].ToVector<float>() == std::vector<float>(4, 0.0f));
}

}  // namespace
}  // namespace sluice
