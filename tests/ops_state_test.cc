// Placeholders, constants, variables and plumbing ops: signatures, shapes and
// the errors their builders and shape functions give.
#include <catch2/catch.hpp>

#include "graph/ops/state.h"
#include "graph/scope.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

TEST_CASE("Placeholder keeps its declared dtype and shape") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 784});
  REQUIRE(root.ok());
  CHECK(x.node->name() == "x");
  CHECK(x.node->op() == "Placeholder");
  CHECK(x.dtype() == DType::kF32);
  CHECK(x.shape().ToString() == "[?,784]");
  Output any = Placeholder(root, DType::kI64);
  CHECK(any.shape().unknown_rank());
  CHECK(any.node->name() == "Placeholder");
}

TEST_CASE("PlaceholderWithDefault checks the default against the shape") {
  Scope root = Scope::NewRootScope();
  Output d = Const(root, true);
  Output training = PlaceholderWithDefault(root.WithOpName("training"), d, Shape{});
  REQUIRE(root.ok());
  CHECK(training.dtype() == DType::kBool);
  CHECK(training.shape().ToString() == "[]");

  Output v = Const(root, {1.0f, 2.0f, 3.0f});
  PlaceholderWithDefault(root.WithOpName("bad"), v, Shape{2});
  REQUIRE_FALSE(root.ok());
  CHECK_THAT(std::string(root.status().message()),
             Contains("bad (PlaceholderWithDefault): default value has shape [3], which does "
                      "not fit the declared shape [2]"));
}

TEST_CASE("Const records its value, dtype and shape") {
  Scope root = Scope::NewRootScope();
  Output s = Const(root, 2.5f);
  Output v = Const(root, {1.0f, 2.0f});
  Output m = Const(root, {{1.0f, 2.0f, 3.0f}, {4.0f, 5.0f, 6.0f}});
  Output i = Const(root, std::vector<int32_t>{3, 4});
  Output l = Const(root, int64_t{7});
  Output d = Const(root, std::vector<double>{1, 2, 3, 4}, Shape{2, 2});
  REQUIRE(root.ok());
  CHECK(s.shape().ToString() == "[]");
  CHECK(v.shape().ToString() == "[2]");
  CHECK(m.shape().ToString() == "[2,3]");
  CHECK(m.node->output_value(0)->ToVector<float>() == std::vector<float>{1, 2, 3, 4, 5, 6});
  CHECK(i.dtype() == DType::kI32);
  CHECK(l.dtype() == DType::kI64);
  CHECK(d.dtype() == DType::kF64);
  CHECK(d.shape().ToString() == "[2,2]");
  CHECK(s.node->name() == "Const");
  CHECK(v.node->name() == "Const_1");
}

TEST_CASE("Const rejects ragged rows and miscounted values") {
  Scope root = Scope::NewRootScope();
  Const(root, {{1.0f, 2.0f}, {3.0f}});
  REQUIRE_FALSE(root.ok());
  CHECK_THAT(std::string(root.status().message()),
             Contains("Const: rows have different lengths (2 and 1)"));

  Scope other = Scope::NewRootScope();
  Const(other, std::vector<float>{1, 2, 3}, Shape{2, 2});
  CHECK_THAT(std::string(other.status().message()),
             Contains("tensor of shape [2,2] needs 4 values, got 3"));
}

TEST_CASE("Const whose dtype attr contradicts its value is rejected") {
  Graph g;
  NodeSpec spec;
  spec.name = "c";
  spec.op = "Const";
  spec.attrs = {{"value", Tensor::Scalar(1.0f)}, {"dtype", DType::kI32}};
  auto n = g.AddNode(spec);
  REQUIRE_FALSE(n.ok());
  CHECK_THAT(std::string(n.status().message()), Contains("c (Const): value is f32 but dtype is i32"));
}

TEST_CASE("Variable creates its initializer and names it") {
  Scope root = Scope::NewRootScope();
  Output init = Const(root, {{1.0f, 2.0f}, {3.0f, 4.0f}});
  Output w = Variable(root.WithOpName("w"), Shape{2, 2}, DType::kF32, init);
  REQUIRE(root.ok());
  CHECK(w.node->op() == "Variable");
  CHECK(w.shape().ToString() == "[2,2]");
  CHECK(w.node->attr("trainable").b());
  CHECK(w.node->attr("initializer").s() == "w/Assign");
  Node* assign = root.graph()->FindNode("w/Assign");
  REQUIRE(assign != nullptr);
  CHECK(assign->op() == "Assign");
  CHECK(assign->input(0) == w);
  CHECK(assign->input(1) == init);

  Output frozen = Variable(root.WithOpName("steps"), Shape{}, DType::kI64, Const(root, int64_t{0}),
                           {.trainable = false});
  REQUIRE(root.ok());
  CHECK_FALSE(frozen.node->attr("trainable").b());
}

TEST_CASE("Variable rejects an initializer of another dtype or shape") {
  Scope root = Scope::NewRootScope();
  Variable(root.WithOpName("w"), Shape{3}, DType::kF32, Const(root, {1.0f, 2.0f}));
  REQUIRE_FALSE(root.ok());
  CHECK_THAT(std::string(root.status().message()),
             Contains("w (Variable): initializer Const is f32[2] but the variable is f32[3]"));

  Scope other = Scope::NewRootScope();
  Variable(other.WithOpName("v"), Shape{}, DType::kF32, Const(other, int32_t{1}));
  CHECK_THAT(std::string(other.status().message()),
             Contains("v (Variable): initializer Const is i32[] but the variable is f32[]"));
}

TEST_CASE("Variable needs a fully defined shape") {
  Scope root = Scope::NewRootScope();
  Variable(root.WithOpName("w"), Shape{kUnknownDim, 2}, DType::kF32,
           Placeholder(root, DType::kF32));
  REQUIRE_FALSE(root.ok());
  CHECK_THAT(std::string(root.status().message()),
             Contains("w (Variable): a variable needs a fully defined shape, got [?,2]"));
}

TEST_CASE("Assign ops need a variable and a value that fits") {
  Scope root = Scope::NewRootScope();
  Output w = Variable(root.WithOpName("w"), Shape{2}, DType::kF32, Const(root, {0.0f, 0.0f}));
  Output inc = Const(root, {1.0f, 1.0f});
  Output a = AssignAdd(root.WithOpName("inc"), w, inc);
  Output s = AssignSub(root.WithOpName("dec"), w, inc);
  REQUIRE(root.ok());
  CHECK(a.shape().ToString() == "[2]");
  CHECK(s.node->op() == "AssignSub");

  Assign(root.WithOpName("wrong"), w, Const(root, {1.0f, 2.0f, 3.0f}));
  REQUIRE_FALSE(root.ok());
  CHECK_THAT(std::string(root.status().message()),
             Contains("wrong (Assign): value of shape [3] does not fit the variable's shape [2]"));

  Scope other = Scope::NewRootScope();
  Output c = Const(other, {1.0f});
  Assign(other.WithOpName("not_var"), c, c);
  CHECK_THAT(std::string(other.status().message()),
             Contains("not_var (Assign): input 0 (ref) must be a Variable, got an output of Const"));

  Scope third = Scope::NewRootScope();
  Output flag = Variable(third.WithOpName("flag"), Shape{}, DType::kBool, Const(third, false));
  AssignAdd(third.WithOpName("add_bool"), flag, Const(third, true));
  CHECK_THAT(std::string(third.status().message()),
             Contains("add_bool (AssignAdd): attr 'T' = bool is not allowed"));
}

TEST_CASE("Assign with validate_shape=false takes the value's shape") {
  Scope root = Scope::NewRootScope();
  Output w = Variable(root.WithOpName("w"), Shape{2}, DType::kF32, Const(root, {0.0f, 0.0f}));
  Output v = Const(root, {1.0f, 2.0f, 3.0f});
  Node* n = AddOpNode(root.WithOpName("grow"), "Assign", {w, v}, {{"validate_shape", false}});
  REQUIRE(root.ok());
  CHECK(n->output_shape(0).ToString() == "[3]");
}

TEST_CASE("Identity, StopGradient and NoOp") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF16, Shape{kUnknownDim, 3});
  Output i = Identity(root, x);
  Output sg = StopGradient(root, i);
  Node* group = NoOp(root.WithControlDependencies(std::vector<Output>{i, sg}));
  REQUIRE(root.ok());
  CHECK(i.dtype() == DType::kF16);
  CHECK(sg.shape().ToString() == "[?,3]");
  CHECK(group->num_outputs() == 0);
  CHECK(group->control_inputs().size() == 2);
  CHECK(i.node->op_def().is_differentiable());
  CHECK_FALSE(sg.node->op_def().is_differentiable());
}

TEST_CASE("State op flags") {
  const OpRegistry& r = OpRegistry::Global();
  CHECK(r.Find("Variable")->is_stateful());
  CHECK(r.Find("Assign")->is_stateful());
  CHECK_FALSE(r.Find("Const")->is_stateful());
  CHECK_FALSE(r.Find("Placeholder")->is_stateful());
}

}  // namespace
}  // namespace sluice
