// The graph IR: validated node creation, naming, edges, ordering and edits.
#include <catch2/catch.hpp>

#include "graph/graph.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

Node* AddPlaceholder(Graph& g, const std::string& name, DType dtype, Shape shape) {
  NodeSpec spec;
  spec.name = name;
  spec.op = "Placeholder";
  spec.attrs = {{"dtype", dtype}, {"shape", shape}};
  auto n = g.AddNode(spec);
  REQUIRE(n.ok());
  return *n;
}

absl::StatusOr<Node*> AddSimple(Graph& g, const std::string& name, const std::string& op,
                                std::vector<Output> inputs, AttrMap attrs = {}) {
  NodeSpec spec;
  spec.name = name;
  spec.op = op;
  spec.inputs = std::move(inputs);
  spec.attrs = std::move(attrs);
  return g.AddNode(spec);
}

std::string Error(const absl::StatusOr<Node*>& n) {
  REQUIRE_FALSE(n.ok());
  return std::string(n.status().message());
}

TEST_CASE("AddNode infers type attrs, fills defaults and runs the shape function") {
  Graph g;
  Node* x = AddPlaceholder(g, "x", DType::kF32, Shape{kUnknownDim, 3});
  Node* w = AddPlaceholder(g, "w", DType::kF32, Shape{3, 5});
  auto mm = AddSimple(g, "mm", "MatMul", {Output(x), Output(w)});
  REQUIRE(mm.ok());
  CHECK((*mm)->attr("T").dtype() == DType::kF32);
  CHECK_FALSE((*mm)->attr("transpose_a").b());
  CHECK((*mm)->output_shape(0).ToString() == "[?,5]");
  CHECK((*mm)->output_dtype(0) == DType::kF32);
  CHECK((*mm)->DebugName() == "mm (MatMul)");
  CHECK(g.FindNode("mm") == *mm);
  CHECK(g.FindNode("nope") == nullptr);
  // An int literal for a float attr is accepted.
  auto leaky = AddSimple(g, "leaky", "LeakyRelu", {Output(x)}, {{"alpha", 1}});
  REQUIRE(leaky.ok());
  CHECK((*leaky)->attr("alpha").f() == 1.0f);
}

TEST_CASE("AddNode rejects invalid nodes, naming node and op") {
  Graph g;
  Node* x = AddPlaceholder(g, "x", DType::kF32, Shape{2});
  Node* i = AddPlaceholder(g, "i", DType::kI32, Shape{2});
  CHECK_THAT(Error(AddSimple(g, "f", "Frobnicate", {})), Contains("f: unknown op 'Frobnicate'"));
  CHECK_THAT(Error(AddSimple(g, "n", "Neg", {Output(x), Output(x)})),
             Contains("n (Neg): expects 1 inputs, got 2"));
  CHECK_THAT(Error(AddSimple(g, "n", "Neg", {Output(x)}, {{"colour", "red"}})),
             Contains("n (Neg): unknown attr 'colour'"));
  CHECK_THAT(Error(AddSimple(g, "p", "Placeholder", {})),
             Contains("p (Placeholder): missing required attr 'dtype'"));
  CHECK_THAT(Error(AddSimple(g, "m", "MatMul", {Output(x), Output(x)}, {{"transpose_a", "yes"}})),
             Contains("m (MatMul): attr 'transpose_a' must be bool, got string"));
  CHECK_THAT(Error(AddSimple(g, "e", "Exp", {Output(i)})),
             Contains("e (Exp): attr 'T' = i32 is not allowed; allowed: f32, f64, f16, bf16"));
  CHECK_THAT(Error(AddSimple(g, "a", "Add", {Output(x), Output(i)})),
             Contains("a (Add): input 1 (y) is i32 but should be f32 (attr T)"));
  CHECK_THAT(Error(AddSimple(g, "a", "Add", {Output(x), Output(x)}, {{"T", DType::kF64}})),
             Contains("a (Add): input 0 (x) is f32 but should be f64 (attr T)"));
  CHECK_THAT(Error(AddSimple(g, "x", "Neg", {Output(x)})),
             Contains("duplicate node name 'x' (op Neg)"));
  CHECK_THAT(Error(AddSimple(g, "", "Neg", {Output(x)})), Contains("a node of op Neg has an empty name"));
  CHECK_THAT(Error(AddSimple(g, "n", "Neg", {Output(x, 1)})),
             Contains("n (Neg): input 0 reads output 1 of x (Placeholder), which has 1 outputs"));
  CHECK_THAT(Error(AddSimple(g, "n", "Neg", {Output()})), Contains("n (Neg): input 0 is null"));
  Graph other;
  Node* foreign = AddPlaceholder(other, "y", DType::kF32, Shape{2});
  CHECK_THAT(Error(AddSimple(g, "n", "Neg", {Output(foreign)})),
             Contains("n (Neg): input 0 (y) is not a node of this graph"));
  // Nothing was added by the failed calls.
  CHECK(g.num_nodes() == 2);
}

TEST_CASE("UniqueName appends _1, _2 like TensorFlow and skips taken names") {
  Graph g;
  CHECK(g.UniqueName("a") == "a");
  CHECK(g.UniqueName("a") == "a_1");
  AddPlaceholder(g, "b_1", DType::kF32, Shape{});
  CHECK(g.UniqueName("b_1") == "b_1_1");
  CHECK(g.UniqueName("b") == "b");
  CHECK(g.UniqueName("b") == "b_2");  // b_1 is taken by a node
  CHECK(g.UniqueName("a") == "a_2");
}

TEST_CASE("Edges are tracked on both ends") {
  Graph g;
  Node* x = AddPlaceholder(g, "x", DType::kF32, Shape{2});
  Node* y = *AddSimple(g, "y", "Add", {Output(x), Output(x)});
  Node* z = *AddSimple(g, "z", "Neg", {Output(y)});
  g.AddControlInput(z, x);
  g.AddControlInput(z, x);  // idempotent
  CHECK(x->out_edges().size() == 2);
  CHECK(x->consumers(0).size() == 2);
  CHECK(x->control_outputs() == std::vector<Node*>{z});
  CHECK(z->control_inputs() == std::vector<Node*>{x});
  g.RemoveControlInput(z, x);
  CHECK(z->control_inputs().empty());
  CHECK(x->control_outputs().empty());
  CHECK(y->consumers(0).size() == 1);
  CHECK(y->consumers(0)[0].node == z);
}

TEST_CASE("Topological order is deterministic and cycles are named") {
  Graph g;
  Node* a = AddPlaceholder(g, "a", DType::kF32, Shape{});
  Node* b = AddPlaceholder(g, "b", DType::kF32, Shape{});
  Node* c = *AddSimple(g, "c", "Neg", {Output(b)});
  Node* d = *AddSimple(g, "d", "Add", {Output(c), Output(a)});
  g.AddControlInput(a, c);  // a must now follow c
  auto order = g.TopologicalOrder();
  REQUIRE(order.ok());
  std::vector<std::string> names;
  for (Node* n : *order) names.push_back(n->name());
  CHECK(names == std::vector<std::string>{"b", "c", "a", "d"});
  g.AddControlInput(c, d);  // c -> a -> d -> c
  auto cycle = g.TopologicalOrder();
  REQUIRE_FALSE(cycle.ok());
  CHECK_THAT(std::string(cycle.status().message()), Contains("the graph has a cycle through node"));
}

TEST_CASE("RemoveNode refuses while the node is used") {
  Graph g;
  Node* x = AddPlaceholder(g, "x", DType::kF32, Shape{});
  Node* y = *AddSimple(g, "y", "Neg", {Output(x)});
  auto busy = g.RemoveNode(x);
  REQUIRE_FALSE(busy.ok());
  CHECK_THAT(std::string(busy.message()), Contains("cannot remove x (Placeholder): y reads it"));
  const int y_id = y->id();
  REQUIRE(g.RemoveNode(y).ok());
  CHECK(g.node(y_id) == nullptr);
  CHECK(g.FindNode("y") == nullptr);
  CHECK(x->out_edges().empty());
  REQUIRE(g.RemoveNode(x).ok());
  CHECK(g.num_nodes() == 0);
  CHECK(g.id_bound() == 2);  // ids are not reused
}

TEST_CASE("UpdateInput and ReplaceAllUsesWith rewire and re-infer shapes") {
  Graph g;
  Node* a = AddPlaceholder(g, "a", DType::kF32, Shape{2, 3});
  Node* b = AddPlaceholder(g, "b", DType::kF32, Shape{4, 3});
  Node* i = AddPlaceholder(g, "i", DType::kI32, Shape{2, 3});
  Node* n = *AddSimple(g, "n", "Neg", {Output(a)});
  Node* m = *AddSimple(g, "m", "Relu", {Output(a)});
  REQUIRE(g.UpdateInput(n, 0, Output(b)).ok());
  CHECK(n->output_shape(0).ToString() == "[4,3]");
  CHECK(a->consumers(0).size() == 1);
  CHECK(b->consumers(0).size() == 1);
  auto wrong = g.UpdateInput(n, 0, Output(i));
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(std::string(wrong.message()), Contains("n (Neg): input 0 is f32, cannot read i of dtype i32"));
  // An identity inserted after `a` takes over a's users but keeps reading a.
  Node* id = *AddSimple(g, "id", "Identity", {Output(a)});
  REQUIRE(g.ReplaceAllUsesWith(Output(a), Output(id)).ok());
  CHECK(m->input(0).node == id);
  CHECK(id->input(0).node == a);
  CHECK(a->consumers(0).size() == 1);
  CHECK_FALSE(g.ReplaceAllUsesWith(Output(a), Output(i)).ok());
}

TEST_CASE("Clone is deep") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 2});
  Output y = Relu(root.WithOpName("y"), x);
  NoOp(root.WithOpName("after").WithControlDependencies(std::vector<Output>{y}));
  REQUIRE(root.ok());
  std::unique_ptr<Graph> copy = root.graph()->Clone();
  REQUIRE(copy->num_nodes() == 3);
  Node* cy = copy->FindNode("y");
  REQUIRE(cy != nullptr);
  CHECK(cy != y.node);
  CHECK(cy->input(0).node == copy->FindNode("x"));
  CHECK(cy->output_shape(0).ToString() == "[?,2]");
  CHECK(copy->FindNode("after")->control_inputs()[0] == cy);
  CHECK(cy->attrs() == y.node->attrs());
  REQUIRE(copy->RemoveNode(copy->FindNode("after")).ok());
  CHECK(root.graph()->FindNode("after") != nullptr);
  CHECK(root.graph()->num_nodes() == 3);
}

}  // namespace
}  // namespace sluice
