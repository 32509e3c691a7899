// Algebraic simplification: each rewrite, its limits, and unchanged results.
#include <catch2/catch.hpp>

#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/state.h"
#include "passes/algebraic_simplifier.h"
#include "tests/pass_test_util.h"

namespace sluice {
namespace {

using testing::CheckClose;
using testing::CountOp;
using testing::Names;
using testing::RunPass;
using testing::RunUnoptimised;

Tensor Iota(const Shape& shape, float scale = 0.5f) {
  Tensor t(DType::kF32, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = scale * (i - 3);
  return t;
}

// Runs the pass, checks the graph, and compares the fetches with the
// unoptimised run of the graph as built.
PassContext SimplifyAndCompare(Graph& g, const FeedList& feeds,
                               const std::vector<std::string>& fetches,
                               const std::vector<std::string>& targets = {}) {
  const std::vector<Tensor> before = RunUnoptimised(g, feeds, fetches, targets);
  AlgebraicSimplifierPass pass;
  PassContext context = RunPass(pass, g, fetches, targets);
  CheckClose(before, RunUnoptimised(g, feeds, Names(context.fetches), targets));
  return context;
}

TEST_CASE("Multiplying by one and adding zero go") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 3});
  Output a = Mul(root.WithOpName("a"), x, Const(root, 1.0f));
  Output b = Mul(root.WithOpName("b"), Const(root, {1.0f, 1.0f, 1.0f}), a);
  Output c = Add(root.WithOpName("c"), b, Const(root, 0.0f));
  Output d = Add(root.WithOpName("d"), Const(root, 0.0f), c);
  Output e = Sub(root.WithOpName("e"), d, Const(root, 0.0f));
  Output f = Div(root.WithOpName("f"), e, Const(root, 1.0f));
  Exp(root.WithOpName("y"), f);
  Graph& g = *root.graph();
  PassContext context = SimplifyAndCompare(g, {{"x", Iota(Shape{2, 3})}}, {"y"});
  for (const char* name : {"a", "b", "c", "d", "e", "f"}) {
    INFO(name);
    CHECK(g.FindNode(name) == nullptr);
  }
  CHECK(g.FindNode("y")->input(0) == x);
}

TEST_CASE("Identities whose constant broadcasts x, or is not neutral, stay") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{3});
  Output ones = Const(root.WithOpName("ones"), std::vector<float>(6, 1.0f), Shape{2, 3});
  Output widened = Mul(root.WithOpName("widened"), x, ones);
  Output twice = Mul(root.WithOpName("twice"), x, Const(root, 2.0f));
  Output minus = Sub(root.WithOpName("minus"), Const(root, 0.0f), x);  // 0 - x is -x
  Output half = Div(root.WithOpName("half"), Const(root, 1.0f), x);
  Graph& g = *root.graph();
  (void)widened;
  (void)twice;
  (void)minus;
  (void)half;
  SimplifyAndCompare(g, {{"x", Iota(Shape{3})}}, {"widened", "twice", "minus", "half"});
  for (const char* name : {"widened", "twice", "minus", "half"}) {
    INFO(name);
    CHECK(g.FindNode(name) != nullptr);
  }
}

TEST_CASE("Integer identities use constants of the same dtype") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kI32, Shape{4});
  Output y = Div(root.WithOpName("y"), Mul(root.WithOpName("m"), x, Const(root, int32_t{1})),
                 Const(root, int32_t{1}));
  (void)y;
  Graph& g = *root.graph();
  PassContext context =
      SimplifyAndCompare(g, {{"x", Tensor::FromVector<int32_t>({-3, 0, 7, 9})}}, {"y"});
  CHECK(context.fetches[0] == x);
}

TEST_CASE("Double negation and identity casts go") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{4});
  Output n = Neg(root.WithOpName("n2"), Neg(root.WithOpName("n1"), x));
  Output c = Cast(root.WithOpName("c"), n, DType::kF32);
  Output single = AddN(root.WithOpName("single"), {c});
  Square(root.WithOpName("y"), single);
  Graph& g = *root.graph();
  SimplifyAndCompare(g, {{"x", Iota(Shape{4})}}, {"y"});
  CHECK(g.FindNode("y")->input(0) == x);
  CHECK(CountOp(g, "Cast") == 0);
  CHECK(CountOp(g, "AddN") == 0);
}

TEST_CASE("Transposes compose, and cancel") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 3, 4});
  Output t1 = Transpose(root.WithOpName("t1"), x, {1, 2, 0});
  Output back = Transpose(root.WithOpName("back"), t1, {2, 0, 1});
  Output t2 = Transpose(root.WithOpName("t2"), x, {2, 1, 0});
  Output twice = Transpose(root.WithOpName("twice"), t2, {0, 2, 1});
  Output same = Transpose(root.WithOpName("same"), x, {0, 1, 2});
  Output y = AddN(root.WithOpName("y"), {back, same});
  (void)y;
  (void)twice;
  Graph& g = *root.graph();
  PassContext context =
      SimplifyAndCompare(g, {{"x", Iota(Shape{2, 3, 4})}}, {"y", "twice"});
  CHECK(g.FindNode("back") == nullptr);
  CHECK(g.FindNode("same") == nullptr);
  CHECK(g.FindNode("y")->input(0) == x);
  CHECK(g.FindNode("y")->input(1) == x);
  // twice = x transposed by [2,0,1] in one node.
  const Node* merged = context.fetches[1].node;
  CHECK(merged->op() == "Transpose");
  CHECK(merged->input(0) == x);
  CHECK(merged->input(1).node->output_value(0)->ToVector<int32_t>() ==
        std::vector<int32_t>{2, 0, 1});
}

TEST_CASE("Reshapes, squeezes and expansions collapse") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 6});
  Output r1 = Reshape(root.WithOpName("r1"), x, {3, 4});
  Output r2 = Reshape(root.WithOpName("r2"), r1, {4, 3});
  Output own = Reshape(root.WithOpName("own"), x, {2, 6});
  Output round = Reshape(root.WithOpName("round"), Reshape(root.WithOpName("r3"), x, {12}), {2, 6});
  Output e = ExpandDims(root.WithOpName("e"), x, 1);
  Output s = Squeeze(root.WithOpName("s"), e, {.squeeze_dims = {1}});
  Output y = AddN(root.WithOpName("y"), {own, round, s});
  (void)y;
  (void)r2;
  Graph& g = *root.graph();
  SimplifyAndCompare(g, {{"x", Iota(Shape{2, 6})}}, {"y", "r2"});
  const Node* sum = g.FindNode("y");
  for (int i = 0; i < 3; ++i) CHECK(sum->input(i) == x);
  // r2 now reshapes x directly.
  CHECK(g.FindNode("r2")->input(0) == x);
  CHECK(g.FindNode("r2")->output_shape(0) == Shape{4, 3});
}

TEST_CASE("Transposes feeding MatMul become its transpose flags") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root.WithOpName("a"), DType::kF32, Shape{4, 2});
  Output b = Placeholder(root.WithOpName("b"), DType::kF32, Shape{3, 4});
  Output at = Transpose(root.WithOpName("at"), a, {1, 0});
  Output bt = Transpose(root.WithOpName("bt"), b, {1, 0});
  Output p = MatMul(root.WithOpName("p"), at, bt);
  // Already transposed: the flag flips back.
  Output q = MatMul(root.WithOpName("q"), bt, at, {.transpose_a = true, .transpose_b = true});
  Graph& g = *root.graph();
  (void)p;
  (void)q;
  PassContext context = SimplifyAndCompare(
      g, {{"a", Iota(Shape{4, 2})}, {"b", Iota(Shape{3, 4}, 0.25f)}}, {"p", "q"});
  const Node* np = context.fetches[0].node;
  CHECK(np->op() == "MatMul");
  CHECK(np->input(0) == a);
  CHECK(np->input(1) == b);
  CHECK(np->attr("transpose_a").b());
  CHECK(np->attr("transpose_b").b());
  const Node* nq = context.fetches[1].node;
  CHECK(nq->input(0) == b);
  CHECK(nq->input(1) == a);
  CHECK_FALSE(nq->attr("transpose_a").b());
  CHECK_FALSE(nq->attr("transpose_b").b());
  // Nothing reads the transposes any more; prune drops them.
  CHECK(g.FindNode("at")->out_edges().empty());
  CHECK(g.FindNode("bt")->out_edges().empty());
}

TEST_CASE("Identity goes unless it orders something or is a target") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2});
  Node* gate = NoOp(root.WithOpName("gate"));
  Output plain = Identity(root.WithOpName("plain"), x);
  Output ordered = Identity(root.WithOpName("ordered").WithControlDependencies({gate}), x);
  Output target = Identity(root.WithOpName("target"), x);
  AddN(root.WithOpName("y"), {plain, ordered, target});
  Graph& g = *root.graph();
  // gate is a target too: a NoOp nobody runs for itself would go, and with
  // it the order it imposed on `ordered`.
  SimplifyAndCompare(g, {{"x", Iota(Shape{2})}}, {"y", "plain"}, {"target", "gate"});
  CHECK(g.FindNode("plain") == nullptr);
  CHECK(g.FindNode("ordered") != nullptr);
  CHECK(g.FindNode("target") != nullptr);
}

TEST_CASE("A NoOp goes and its dependents wait for what it waited for") {
  Scope root = Scope::NewRootScope();
  Output v = Variable(root.WithOpName("v"), Shape{2}, DType::kF32, Const(root, {1.0f, 2.0f}));
  Output bump = AssignAdd(root.WithOpName("bump"), v, Const(root, {10.0f, 10.0f}));
  Node* step = NoOp(root.WithOpName("step").WithControlDependencies({bump}));
  Output read = Identity(root.WithOpName("read").WithControlDependencies({step}), v);
  Node* train = NoOp(root.WithOpName("train").WithControlDependencies({read}));
  (void)train;
  Graph& g = *root.graph();
  AlgebraicSimplifierPass pass;
  PassContext context = RunPass(pass, g, {}, {"train"});
  CHECK(g.FindNode("step") == nullptr);
  CHECK(g.FindNode("train") != nullptr);  // a target
  const Node* r = g.FindNode("read");
  REQUIRE(r != nullptr);  // it has a control input now
  REQUIRE(r->control_inputs().size() == 1);
  CHECK(r->control_inputs()[0]->name() == "bump");

  // Running the target still updates the variable.
  auto session = Session::Create(g);
  REQUIRE(session.ok());
  REQUIRE((*session)->Run({}, {}, {"v/Assign"}).ok());
  REQUIRE((*session)->Run({}, {}, {"train"}).ok());
  auto value = (*session)->Run({}, {"v"});
  REQUIRE(value.ok());
  CHECK((*value)[0].ToVector<float>() == std::vector<float>{11, 12});
}

TEST_CASE("A copy of a variable is not replaced by the variable itself") {
  Scope root = Scope::NewRootScope();
  Output v = Variable(root.WithOpName("v"), Shape{2}, DType::kF32, Const(root, {1.0f, 2.0f}));
  Mul(root.WithOpName("snapshot"), v, Const(root, 1.0f));
  Graph& g = *root.graph();
  AlgebraicSimplifierPass pass;
  bool changed = true;
  RunPass(pass, g, {"snapshot"}, {}, &changed);
  CHECK_FALSE(changed);
  CHECK(g.FindNode("snapshot") != nullptr);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST_CASE("Adding or subtracting zero from a variable is no update") {
  Scope root = Scope::NewRootScope();
  Output v = Variable(root.WithOpName("v"), Shape{2}, DType::kF32, Const(root, {1.0f, 2.0f}));
  Output zero = Const(root.WithOpName("zero"), {0.0f, 0.0f});
  Output sub = AssignSub(root.WithOpName("sub"), v, zero);
  Output add = AssignAdd(root.WithOpName("add"), v, Const(root, {0.5f, 0.0f}));
  Output read = Identity(root.WithOpName("read").WithControlDependencies({sub}), v);
  Output doubled = Mul(root.WithOpName("doubled"), sub, Const(root, 2.0f));
  REQUIRE(root.ok());
  Graph& g = *root.graph();
  AlgebraicSimplifierPass simplify;
  PassContext context = RunPass(simplify, g, {doubled.name(), read.name()}, {add.node->name()});
  CHECK(g.FindNode("sub") == nullptr);
  // A real update stays; so does what read it.
  CHECK(g.FindNode("add") != nullptr);
  CHECK(g.FindNode("doubled")->input(0).node->name() == "v");
}

}  // namespace
}  // namespace sluice
