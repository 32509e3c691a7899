#include "tests/every_op_graph.h"

#include "graph/ops/state.h"

namespace sluice::testing {
namespace {

Output I32(const Scope& s, std::vector<int32_t> v) { return Const(s, v); }
Output I32Scalar(const Scope& s, int32_t v) { return Const(s, v); }

}  // namespace

Scope BuildEveryOpGraph() {
  Scope root = Scope::NewRootScope();
  Scope s = root.WithDevice("/cpu:0");
  // Inputs of several kinds, with an unknown batch dim.
  Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 4});
  Output img = Placeholder(s.WithOpName("img"), DType::kF32, Shape{kUnknownDim, 8, 8, 3});
  Output labels = Placeholder(s.WithOpName("labels"), DType::kI64, Shape{kUnknownDim});
  Output flag = PlaceholderWithDefault(s.WithOpName("training"), Const(s, true), Shape{});
  Output w = Variable(s.WithOpName("w"), Shape{4, 4}, DType::kF32,
                      Const(s, {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}));
  Output count = Variable(s.WithOpName("count"), Shape{}, DType::kI64, Const(s, int64_t{0}),
                          {.trainable = false});
  AssignAdd(s.WithOpName("increment"), count, Const(s, int64_t{1}));
  AssignSub(s.WithOpName("decrement"), count, Const(s, int64_t{1}));
  Identity(s, x);
  StopGradient(s, x);
  InitAllVariables(s);

  Output c = Const(s.WithOpName("half"), 0.5f);
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Maximum", "Minimum", "Equal",
                         "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual"}) {
    AddOp(s, op, {x, c});
  }
  AddOp(s, "AddN", {x, x, x});
  for (const char* op : {"Neg", "Square", "Abs", "Sqrt", "Rsqrt", "Exp", "Log", "Relu", "Relu6",
                         "Elu", "Sigmoid", "Tanh", "Softplus", "Softmax", "LogSoftmax",
                         "ZerosLike", "OnesLike", "Shape", "Size"}) {
    AddOp(s, op, {x});
  }
  AddOp(s, "LeakyRelu", {x}, {{"alpha", 0.1f}});
  AddOp(s, "Gelu", {x}, {{"approximate", true}});
  Output mm = AddOp(s, "MatMul", {x, w}, {{"transpose_b", true}});
  Output cube = Placeholder(s.WithOpName("cube"), DType::kF32, Shape{2, 4, 4});
  AddOp(s, "BatchMatMul", {cube, cube}, {{"adj_y", true}});
  AddOp(s, "BiasAdd", {mm, Const(s, {0.1f, 0.2f, 0.3f, 0.4f})});
  for (const char* op : {"Sum", "Mean", "Max", "Min", "Prod"}) {
    AddOp(s, op, {x, I32(s, {1})}, {{"keep_dims", true}});
  }
  AddOp(s, "ArgMax", {x, I32Scalar(s, 1)});
  Output p = AddOp(s, "Greater", {x, c});
  AddOp(s, "LogicalAnd", {p, p});
  AddOp(s, "LogicalOr", {p, p});
  AddOp(s, "LogicalNot", {p});
  AddOp(s, "Select", {p, x, x});
  AddOp(s, "Cast", {x}, {{"DstT", DType::kF16}});

  Output filter = Const(s, Tensor::Zeros(DType::kF32, Shape{3, 3, 3, 5}));
  Output conv = AddOp(s, "Conv2D", {img, filter},
                      {{"strides", std::vector<int64_t>{1, 1, 1, 1}},
                       {"padding", "EXPLICIT"},
                       {"explicit_paddings", std::vector<int64_t>{0, 0, 1, 1, 1, 1, 0, 0}},
                       {"dilations", std::vector<int64_t>{1, 1, 1, 1}}});
  const AttrMap pool = {{"ksize", std::vector<int64_t>{1, 2, 2, 1}},
                        {"strides", std::vector<int64_t>{1, 2, 2, 1}},
                        {"padding", "VALID"}};
  AddOp(s, "MaxPool", {conv}, pool);
  AddOp(s, "AvgPool", {conv}, pool);
  Output scale = Const(s, std::vector<float>(5, 1.0f), Shape{5});
  AddOpNode(s, "FusedBatchNorm", {conv, scale, scale, scale, scale},
            {{"is_training", false}, {"epsilon", 0.001f}});
  Output logits = AddOp(s, "MatMul", {x, w});
  AddOpNode(s, "SparseSoftmaxCrossEntropyWithLogits", {logits, labels});
  AddOpNode(s, "SoftmaxCrossEntropyWithLogits", {logits, AddOp(s, "Softmax", {x})});

  AddOp(s, "Reshape", {x, I32(s, {-1, 2, 2})});
  AddOp(s, "Transpose", {x, I32(s, {1, 0})});
  AddOp(s, "Concat", {I32Scalar(s, 1), x, x});
  AddOpNode(s, "Split", {I32Scalar(s, 1), x}, {{"num_split", 2}});
  AddOp(s, "Slice", {x, I32(s, {0, 1}), I32(s, {-1, 2})});
  AddOp(s, "StridedSlice", {x, I32(s, {0, 3}), I32(s, {0, 0}), I32(s, {1, -1})},
        {{"begin_mask", 1}, {"end_mask", 3}});
  Output col = AddOp(s, "ExpandDims", {x, I32Scalar(s, -1)});
  AddOp(s, "Squeeze", {col}, {{"squeeze_dims", std::vector<int64_t>{2}}});
  AddOp(s, "Pad", {x, Const(s, *Tensor::FromVector<int32_t>({0, 0, 1, 1}, Shape{2, 2}))});
  AddOp(s, "Tile", {x, I32(s, {1, 2})});
  AddOp(s, "BroadcastTo", {c, I32(s, {3, 4})});
  AddOp(s, "Gather", {w, labels, I32Scalar(s, 0)});
  AddOp(s, "OneHot", {labels, I32Scalar(s, 10), Const(s, 1.0f), Const(s, 0.0f)});
  AddOp(s, "Fill", {I32(s, {2, 3}), Const(s, 7.0f)});
  AddOp(s, "RandomUniform", {I32(s, {2, 2})}, {{"dtype", DType::kF32}, {"seed", 3}});
  AddOp(s, "RandomNormal", {I32(s, {2})}, {{"dtype", DType::kF64}});
  AddOp(s, "TruncatedNormal", {I32(s, {3})}, {{"dtype", DType::kF32}, {"seed2", 5}});
  NoOp(s.WithOpName("group").WithControlDependencies(std::vector<Output>{x, flag}));
  return root;
}

}  // namespace sluice::testing
