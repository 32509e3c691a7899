// Scope: names, devices, control dependencies and first-error semantics.
#include <catch2/catch.hpp>

#include "graph/ops/math.h"
#include "graph/ops/state.h"
#include "graph/scope.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

TEST_CASE("Names follow the scope, made unique like TensorFlow") {
  Scope root = Scope::NewRootScope();
  Scope dense = root.NewSubScope("dense");
  Scope dense2 = root.NewSubScope("dense");
  CHECK(dense.name_scope() == "dense");
  CHECK(dense2.name_scope() == "dense_1");
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 3});
  Output w = Const(dense, std::vector<float>{1, 2, 3}, Shape{3, 1});
  Output y = MatMul(dense, x, w);
  Output y2 = MatMul(dense, x, w);
  CHECK(w.node->name() == "dense/Const");
  CHECK(y.node->name() == "dense/MatMul");
  CHECK(y2.node->name() == "dense/MatMul_1");
  Scope inner = dense.NewSubScope("inner");
  CHECK(Neg(inner.WithOpName("flip"), y).node->name() == "dense/inner/flip");
  REQUIRE(root.ok());
}

TEST_CASE("Device and control dependencies apply to nodes built with the scope") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root, DType::kF32, Shape{});
  Node* first = NoOp(root.WithOpName("first"));
  Scope s = root.WithDevice("/cpu:0").WithControlDependencies(std::vector<Node*>{first});
  Output b = Neg(s, a);
  CHECK(b.node->device() == "/cpu:0");
  CHECK(b.node->control_inputs() == std::vector<Node*>{first});
  Output c = Neg(root, a);
  CHECK(c.node->device().empty());
  CHECK(c.node->control_inputs().empty());
}

TEST_CASE("The first error is kept and later builders do nothing") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{2, 3});
  Output bad = MatMul(root.WithOpName("mm"), x, x);
  CHECK_FALSE(bad.valid());
  REQUIRE_FALSE(root.ok());
  const int count = root.graph()->num_nodes();
  Output later = Neg(root, x);
  CHECK_FALSE(later.valid());
  Output with_null = Neg(root, bad);
  CHECK_FALSE(with_null.valid());
  CHECK(root.graph()->num_nodes() == count);
  CHECK_THAT(std::string(root.status().message()),
             Contains("mm (MatMul): inner dimensions differ: [2,3] vs [2,3]"));
  // Sub-scopes share the graph and so the error.
  CHECK_FALSE(root.NewSubScope("later").ok());
}

TEST_CASE("ScopeOf builds next to an output") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.NewSubScope("block").WithOpName("x"), DType::kF32, Shape{});
  Scope s = ScopeOf(x);
  CHECK(s.name_scope() == "block");
  CHECK(Neg(s, x).node->name() == "block/Neg");
  CHECK(s.graph() == root.graph());
}

TEST_CASE("ForGraph builds into a graph owned elsewhere") {
  Graph g;
  Scope s = Scope::ForGraph(&g);
  Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{});
  CHECK(g.FindNode("x") == x.node);
}

TEST_CASE("InitAllVariables groups every initializer") {
  Scope root = Scope::NewRootScope();
  Variable(root.WithOpName("a"), Shape{}, DType::kF32, Const(root, 1.0f));
  Variable(root.WithOpName("b"), Shape{2}, DType::kF32, Const(root, {1.0f, 2.0f}));
  Node* init = InitAllVariables(root);
  REQUIRE(root.ok());
  CHECK(init->name() == "init");
  CHECK(init->op() == "NoOp");
  std::vector<std::string> deps;
  for (Node* d : init->control_inputs()) deps.push_back(d->name());
  CHECK(deps == std::vector<std::string>{"a/Assign", "b/Assign"});
}

}  // namespace
}  // namespace sluice
