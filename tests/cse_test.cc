// Common-subexpression elimination: what merges, what must not.
#include <catch2/catch.hpp>

#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/random.h"
#include "graph/ops/state.h"
#include "passes/cse.h"
#include "tests/pass_test_util.h"

namespace sluice {
namespace {

using testing::CheckClose;
using testing::CountOp;
using testing::Names;
using testing::RunPass;
using testing::RunUnoptimised;

TEST_CASE("Equal chains merge into the first") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2, 2});
  Output a1 = Exp(root.WithOpName("a1"), Add(root.WithOpName("s1"), x, Const(root, 1.0f)));
  Output a2 = Exp(root.WithOpName("a2"), Add(root.WithOpName("s2"), x, Const(root, 1.0f)));
  // Same op and inputs, other attrs: different computations.
  Output m1 = MatMul(root.WithOpName("m1"), a1, a2);
  Output m2 = MatMul(root.WithOpName("m2"), a1, a2, {.transpose_a = true});
  Add(root.WithOpName("y"), m1, m2);
  // Operand order matters (no commutativity assumed).
  Sub(root.WithOpName("z"), Sub(root.WithOpName("d1"), a1, x), Sub(root.WithOpName("d2"), x, a1));
  Graph& g = *root.graph();
  const FeedList feeds = {{"x", *Tensor::FromVector<float>({0.1f, 0.2f, -0.3f, 0.4f}, Shape{2, 2})}};
  const std::vector<Tensor> before = RunUnoptimised(g, feeds, {"y", "z"});
  const int nodes = g.num_nodes();

  CsePass pass;
  bool changed = false;
  PassContext context = RunPass(pass, g, {"y", "z"}, {}, &changed);
  CHECK(changed);
  // The second Const 1, s2 and a2 merged away.
  CHECK(g.num_nodes() == nodes - 3);
  CHECK(g.FindNode("a2") == nullptr);
  CHECK(g.FindNode("s2") == nullptr);
  CHECK(g.FindNode("m1")->input(1).node->name() == "a1");
  CHECK(g.FindNode("m2") != nullptr);
  CHECK(g.FindNode("d2") != nullptr);
  CheckClose(before, RunUnoptimised(g, feeds, Names(context.fetches)));

  RunPass(pass, g, {"y", "z"}, {}, &changed);
  CHECK_FALSE(changed);
}

TEST_CASE("Consts merge only when bitwise equal") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2});
  Output c1 = Const(root.WithOpName("c1"), {1.0f, 2.0f});
  Output c2 = Const(root.WithOpName("c2"), {1.0f, 2.0f});
  Output c3 = Const(root.WithOpName("c3"), {1.0f, 3.0f});
  Output z1 = Const(root.WithOpName("z1"), {0.0f, 0.0f});
  Output z2 = Const(root.WithOpName("z2"), {-0.0f, 0.0f});
  Output d = Cast(root.WithOpName("d"), Const(root.WithOpName("c4"), std::vector<double>{1, 2}, Shape{2}), DType::kF32);
  AddN(root.WithOpName("y"), {Mul(root, x, c1), Mul(root, x, c2), Mul(root, x, c3),
                              Div(root, z1, Add(root, x, c1)), Div(root, z2, Add(root, x, c2)), d});
  Graph& g = *root.graph();
  const FeedList feeds = {{"x", Tensor::FromVector<float>({-1, 4})}};
  const std::vector<Tensor> before = RunUnoptimised(g, feeds, {"y"});
  CsePass pass;
  PassContext context = RunPass(pass, g, {"y"});
  CHECK(g.FindNode("c1") != nullptr);
  CHECK(g.FindNode("c2") == nullptr);
  CHECK(g.FindNode("c3") != nullptr);
  CHECK(g.FindNode("z1") != nullptr);
  CHECK(g.FindNode("z2") != nullptr);  // -0 and 0 differ in bits
  CHECK(g.FindNode("c4") != nullptr);  // f64, not f32
  CHECK(CountOp(g, "Mul") == 2);
  CHECK(CountOp(g, "Add") == 1);
  CheckClose(before, RunUnoptimised(g, feeds, Names(context.fetches)));
}

TEST_CASE("Stateful ops, placeholders and targets never merge away") {
  Scope root = Scope::NewRootScope();
  Output p1 = Placeholder(root.WithOpName("p1"), DType::kF32, Shape{2});
  Output p2 = Placeholder(root.WithOpName("p2"), DType::kF32, Shape{2});
  Output shape = Const(root.WithOpName("shape"), std::vector<int32_t>{2});
  Output r1 = RandomUniform(root.WithOpName("r"), shape, DType::kF32, {.seed = 3, .seed2 = 4});
  Output r2 = RandomUniform(root.WithOpName("r"), shape, DType::kF32, {.seed = 3, .seed2 = 4});
  Output v1 = Variable(root.WithOpName("v1"), Shape{2}, DType::kF32, Const(root, {1.0f, 1.0f}));
  Output v2 = Variable(root.WithOpName("v2"), Shape{2}, DType::kF32, Const(root, {1.0f, 1.0f}));
  Output t1 = Neg(root.WithOpName("t1"), p1);
  Output t2 = Neg(root.WithOpName("t2"), p1);
  AddN(root.WithOpName("y"), {p1, p2, r1, r2, v1, v2, t1, t2});
  Graph& g = *root.graph();
  CsePass pass;
  PassContext context = RunPass(pass, g, {"y"}, {"t2"});
  for (const char* name : {"p1", "p2", "v1", "v2", "t1", "t2"}) {
    INFO(name);
    CHECK(g.FindNode(name) != nullptr);
  }
  CHECK(CountOp(g, "RandomUniform") == 2);
  // The Consts of the variables' initializers did merge.
  CHECK(CountOp(g, "Const") == 2);
}

TEST_CASE("Control inputs are part of the computation and move with a merge") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2});
  Node* gate = NoOp(root.WithOpName("gate"));
  Output a = Square(root.WithOpName("a"), x);
  Output b = Square(root.WithOpName("b").WithControlDependencies({gate}), x);
  Output c = Square(root.WithOpName("c"), x);
  // A node waiting for c must then wait for a.
  Output after_c = Neg(root.WithOpName("after_c").WithControlDependencies({c.node}), x);
  AddN(root.WithOpName("y"), {a, b, c, after_c});
  Graph& g = *root.graph();
  const FeedList feeds = {{"x", Tensor::FromVector<float>({3, -2})}};
  const std::vector<Tensor> before = RunUnoptimised(g, feeds, {"y"});
  CsePass pass;
  PassContext context = RunPass(pass, g, {"y"});
  CHECK(g.FindNode("b") != nullptr);
  CHECK(g.FindNode("c") == nullptr);
  const Node* waiting = g.FindNode("after_c");
  REQUIRE(waiting->control_inputs().size() == 1);
  CHECK(waiting->control_inputs()[0]->name() == "a");
  CheckClose(before, RunUnoptimised(g, feeds, Names(context.fetches)));
}

TEST_CASE("A fetched duplicate moves the fetch") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2});
  Exp(root.WithOpName("e1"), x);
  Exp(root.WithOpName("e2"), x);
  Graph& g = *root.graph();
  CsePass pass;
  PassContext context = RunPass(pass, g, {"e1", "e2"});
  CHECK(context.fetches[0] == context.fetches[1]);
  CHECK(context.fetches[1].node->name() == "e1");
  const FeedList feeds = {{"x", Tensor::FromVector<float>({0, 1})}};
  auto out = RunUnoptimised(g, feeds, Names(context.fetches));
  CHECK(out[1].ElementAsDouble(1) == Approx(std::exp(1.0)));
}

}  // namespace
}  // namespace sluice
