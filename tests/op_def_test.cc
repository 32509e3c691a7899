// The op-spec language, the registry, and the InferenceContext helpers.
#include <catch2/catch.hpp>

#include "graph/op_def.h"
#include "graph/ops/state.h"
#include "graph/scope.h"
#include "graph/shape_inference.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

absl::Status Noop(InferenceContext&) { return absl::OkStatus(); }

TEST_CASE("Attr specs parse kinds, defaults, allowed sets and minimums") {
  auto def = OpDefBuilder("Demo")
                 .Input("x: T")
                 .Input("ys: N * T")
                 .Input("idx: i64")
                 .Output("out: T")
                 .Attr("T: {floating, i32} = f32")
                 .Attr("N: int >= 1")
                 .Attr("alpha: float = 0.25")
                 .Attr("flag: bool = true")
                 .Attr("padding: {'SAME', 'VALID'} = 'SAME'")
                 .Attr("strides: list(int) = [1, 2, 2, 1]")
                 .Attr("names: list(string) = []")
                 .Attr("shape: shape = [?, 3]")
                 .Attr("any_shape: shape = <unknown>")
                 .Attr("value: tensor")
                 .SetShapeFn(Noop)
                 .Build();
  REQUIRE(def.ok());
  CHECK(def->inputs().size() == 3);
  CHECK(def->inputs()[0].type_attr == "T");
  CHECK(def->inputs()[1].number_attr == "N");
  CHECK(def->inputs()[2].fixed_type == DType::kI64);

  const AttrDef* t = def->FindAttr("T");
  REQUIRE(t != nullptr);
  CHECK(t->type == AttrType::kType);
  CHECK(t->allowed_types == std::vector<DType>{DType::kF32, DType::kF64, DType::kF16,
                                               DType::kBF16, DType::kI32});
  CHECK(t->default_value->dtype() == DType::kF32);
  CHECK(def->FindAttr("N")->minimum == 1);
  CHECK(def->FindAttr("alpha")->default_value->f() == 0.25f);
  CHECK(def->FindAttr("flag")->default_value->b());
  CHECK(def->FindAttr("padding")->type == AttrType::kString);
  CHECK(def->FindAttr("padding")->allowed_strings == std::vector<std::string>{"SAME", "VALID"});
  CHECK(def->FindAttr("padding")->default_value->s() == "SAME");
  CHECK(def->FindAttr("strides")->default_value->ints() == std::vector<int64_t>{1, 2, 2, 1});
  CHECK(def->FindAttr("names")->default_value->strings().empty());
  CHECK(def->FindAttr("shape")->default_value->shape().ToString() == "[?,3]");
  CHECK(def->FindAttr("any_shape")->default_value->shape().unknown_rank());
  CHECK_FALSE(def->FindAttr("value")->default_value.has_value());
  CHECK(def->FindAttr("missing") == nullptr);
}

TEST_CASE("Malformed op specs are reported with the op and the spec") {
  auto no_shape_fn = OpDefBuilder("A").Output("y: f32").Build();
  CHECK_THAT(std::string(no_shape_fn.status().message()), Contains("op A has no shape function"));

  auto undeclared = OpDefBuilder("B").Input("x: T").SetShapeFn(Noop).Build();
  CHECK_THAT(std::string(undeclared.status().message()),
             Contains("op B: 'T' is neither a dtype nor a type attr in 'x: T'"));

  auto bad_kind = OpDefBuilder("C").Attr("k: matrix").SetShapeFn(Noop).Build();
  CHECK_THAT(std::string(bad_kind.status().message()),
             Contains("op C: unknown attr type 'matrix' in 'k: matrix'"));

  auto bad_default = OpDefBuilder("D").Attr("k: int = two").SetShapeFn(Noop).Build();
  CHECK_THAT(std::string(bad_default.status().message()), Contains("bad int literal 'two'"));

  auto list_count = OpDefBuilder("E").Attr("N: float").Input("x: N * f32").SetShapeFn(Noop).Build();
  CHECK_THAT(std::string(list_count.status().message()), Contains("'N' is not an int attr"));

  auto duplicate = OpDefBuilder("F").Attr("a: int").Attr("a: int").SetShapeFn(Noop).Build();
  CHECK_THAT(std::string(duplicate.status().message()), Contains("duplicate attr"));

  auto no_colon = OpDefBuilder("G").Input("x").SetShapeFn(Noop).Build();
  CHECK_THAT(std::string(no_colon.status().message()), Contains("spec 'x' has no ':'"));
}

TEST_CASE("DTypeGroup expands the group names") {
  CHECK(DTypeGroup("index") == std::vector<DType>{DType::kI32, DType::kI64});
  CHECK(DTypeGroup("floating").size() == 4);
  CHECK(DTypeGroup("numeric").size() == 8);
  CHECK(DTypeGroup("any").size() == 9);
  CHECK(DTypeGroup("nonsense").empty());
}

TEST_CASE("The global registry lists ops sorted and finds them by name") {
  const OpRegistry& r = OpRegistry::Global();
  std::vector<const OpDef*> ops = r.ListOps();
  REQUIRE(ops.size() >= 81);
  for (size_t i = 1; i < ops.size(); ++i) CHECK(ops[i - 1]->name() < ops[i]->name());
  CHECK(r.Find("MatMul") != nullptr);
  CHECK(r.Find("matmul") == nullptr);
  for (const char* name :
       {"Placeholder", "PlaceholderWithDefault", "Const", "Variable", "Assign", "AssignAdd",
        "AssignSub", "Identity", "StopGradient", "NoOp", "Add", "Sub", "Mul", "Div", "Neg",
        "Square", "Sqrt", "Rsqrt", "Exp", "Log", "Abs", "Pow", "Maximum", "Minimum", "Relu",
        "Relu6", "LeakyRelu", "Elu", "Sigmoid", "Tanh", "Gelu", "Softplus", "Softmax",
        "LogSoftmax", "MatMul", "BatchMatMul", "BiasAdd", "Conv2D", "MaxPool", "AvgPool",
        "FusedBatchNorm", "Sum", "Mean", "Max", "Min", "Prod", "ArgMax", "Reshape", "Transpose",
        "Concat", "Split", "Slice", "StridedSlice", "Squeeze", "ExpandDims", "Pad", "Tile",
        "BroadcastTo", "Gather", "OneHot", "Cast", "Fill", "ZerosLike", "OnesLike", "Shape",
        "Size", "Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual",
        "LogicalAnd", "LogicalOr", "LogicalNot", "Select", "RandomUniform", "RandomNormal",
        "TruncatedNormal", "SoftmaxCrossEntropyWithLogits",
        "SparseSoftmaxCrossEntropyWithLogits"}) {
    INFO(name);
    CHECK(r.Find(name) != nullptr);
  }
}

TEST_CASE("Registering a malformed op or a duplicate aborts") {
  // Both are programming errors inside Sluice, so they abort at start-up; a
  // local registry shows the well-formed path instead.
  OpRegistry local;
  local.Register(OpDefBuilder("Local").Output("y: f32").SetShapeFn(shape_fns::Scalars));
  REQUIRE(local.Find("Local") != nullptr);
  CHECK(local.ListOps().size() == 1);
  CHECK(local.Find("MatMul") == nullptr);
}

TEST_CASE("InferenceContext reads shapes from constant and unknown inputs") {
  Scope root = Scope::NewRootScope();
  Output dims = Const(root, std::vector<int32_t>{2, -1, 5});
  Output fed = Placeholder(root, DType::kI64, Shape{3});
  Output unknown = Placeholder(root, DType::kI32);
  Output floats = Const(root, {1.0f, 2.0f});
  Output matrix = Const(root, std::vector<int64_t>{1, 2, 3, 4});
  REQUIRE(root.ok());
  const OpDef& op = *OpRegistry::Global().Find("Identity");
  AttrMap attrs;
  InferenceContext c(op, attrs, {DType::kI32, DType::kI64, DType::kI32, DType::kF32},
                     {dims.shape(), fed.shape(), unknown.shape(), floats.shape()},
                     {dims.node->output_value(0), nullptr, nullptr, nullptr},
                     {&dims.node->op_def(), &fed.node->op_def(), &unknown.node->op_def(),
                      &floats.node->op_def()},
                     {DType::kI32});
  CHECK(c.ShapeFromInput(0)->ToString() == "[2,?,5]");
  CHECK(c.IntValuesOfInput(0) == std::vector<int64_t>{2, -1, 5});
  CHECK(c.ShapeFromInput(1)->ToString() == "[?,?,?]");
  CHECK_FALSE(c.IntValuesOfInput(1).has_value());
  CHECK(c.ShapeFromInput(2)->unknown_rank());
  CHECK_THAT(std::string(c.ShapeFromInput(3).status().message()),
             Contains("input 3 must be an integer tensor, got f32"));
  CHECK(c.input_op(1).name() == "Placeholder");
  CHECK(c.CheckRank(0, 1).ok());
  CHECK_THAT(std::string(c.CheckRank(0, 2).message()), Contains("input must have rank 2, got [3]"));
  CHECK(c.CheckRank(2, 4).ok());  // unknown rank passes
  CHECK_THAT(std::string(c.CheckRankAtLeast(1, 2).message()),
             Contains("must have rank at least 2, got [3]"));
  (void)matrix;
}

}  // namespace
}  // namespace sluice
