#include "tests/every_op_graph.h"

#include <type_traits>
#include <vector>

#include "graph/ops/array.h"
#include "graph/ops/fused.h"
#include "graph/ops/layout.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/random.h"
#include "graph/ops/state.h"
#include "graph/ops/training.h"

namespace sluice::testing {
namespace {

// -2, -1.75, -1.5, ... for the floating dtypes, 0, 1, 2, ... for the integer
// ones, true every third element for bool.
Tensor Ramp(DType dtype, int64_t n) {
  Tensor t(dtype, Shape{n});
  VisitDType(dtype, [&]<typename T>() {
    T* data = t.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      const float v = 0.25f * static_cast<float>(i) - 2.0f;
      if constexpr (std::is_same_v<T, Half>) {
        data[i] = FloatToHalf(v);
      } else if constexpr (std::is_same_v<T, BFloat16>) {
        data[i] = FloatToBFloat16(v);
      } else if constexpr (std::is_same_v<T, bool>) {
        data[i] = i % 3 == 0;
      } else if constexpr (std::is_floating_point_v<T>) {
        data[i] = static_cast<T>(v);
      } else {
        data[i] = static_cast<T>(i % 100);
      }
    }
  });
  return t;
}

// A small and a large constant of every dtype, so that graph files carry
// typed value lists and raw tensor_content of each kind.
void AddConstantsOfEveryDType(const Scope& scope) {
  for (DType dtype : kAllDTypes) {
    for (int64_t n : {3, 40}) Const(scope, Ramp(dtype, n));
  }
}

}  // namespace

Scope BuildEveryOpGraph() {
  Scope root = Scope::NewRootScope();
  Scope s = root.WithDevice("/cpu:0");

  // State and plumbing. Inputs have an unknown batch dim, or an unknown rank.
  Output x = Placeholder(s.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 4});
  Output img = Placeholder(s.WithOpName("img"), DType::kF32, Shape{kUnknownDim, 8, 8, 3});
  Output labels = Placeholder(s.WithOpName("labels"), DType::kI64, Shape{kUnknownDim});
  Output anything = Placeholder(s.WithOpName("anything"), DType::kF32);
  Output training = PlaceholderWithDefault(s.WithOpName("training"), Const(s, true), Shape{});
  Output w = Variable(s.WithOpName("w"), Shape{4, 4}, DType::kF32,
                      Const(s, {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}}));
  Output count = Variable(s.WithOpName("count"), Shape{}, DType::kI64, Const(s, int64_t{0}),
                          {.trainable = false});
  Output one = Const(s.WithOpName("one"), int64_t{1});
  AssignAdd(s.WithOpName("increment"), count, one);
  AssignSub(s.WithOpName("decrement"), count, one);
  Assign(s.WithOpName("reset"), count, Const(s, int64_t{0}));
  InitAllVariables(s);
  Identity(s, x);
  StopGradient(s, x);
  AddConstantsOfEveryDType(root.NewSubScope("constants"));

  // Math; nodes without a device too.
  Scope math = root.NewSubScope("math");
  Output half = Const(math.WithOpName("half"), 0.5f);
  Add(math, x, half);
  Sub(math, x, half);
  Mul(math, x, half);
  Div(math, x, half);
  Pow(math, x, half);
  Maximum(math, x, half);
  Minimum(math, x, half);
  AddN(math, {x, x, x});
  Neg(math, x);
  Square(math, x);
  Abs(math, x);
  Sign(math, x);
  Sqrt(math, x);
  Rsqrt(math, x);
  Exp(math, x);
  Log(math, anything);
  Output product = MatMul(math, x, w, {.transpose_b = true});
  Output cube = Placeholder(math.WithOpName("cube"), DType::kF32, Shape{2, 4, 4});
  BatchMatMul(math, cube, cube, {.adj_y = true});
  Sum(math, x, {1}, {.keep_dims = true});
  Mean(math, x, {0});
  Max(math, x, {-1});
  Min(math, x, {0, 1});
  Prod(math, x, {1}, {.keep_dims = true});
  ArgMax(math, x, 1);
  Equal(math, x, half);
  NotEqual(math, x, half);
  Less(math, x, half);
  LessEqual(math, x, half);
  GreaterEqual(math, x, half);
  Output positive = Greater(math, x, half);
  LogicalAnd(math, positive, positive);
  LogicalOr(math, positive, positive);
  LogicalNot(math, positive);
  Select(math, positive, x, x);
  Cast(math, x, DType::kF16);

  // Neural-network ops.
  Scope nn = s.NewSubScope("nn");
  Relu(nn, x);
  Relu6(nn, x);
  Elu(nn, x);
  Softplus(nn, x);
  Sigmoid(nn, x);
  Tanh(nn, x);
  LeakyRelu(nn, x, {.alpha = 0.1f});
  Gelu(nn, x, {.approximate = true});
  Output probabilities = Softmax(nn, x);
  LogSoftmax(nn, x);
  BiasAdd(nn, product, Const(nn, {0.1f, 0.2f, 0.3f, 0.4f}));
  Output filter = Const(nn.WithOpName("filter"), Tensor::Zeros(DType::kF32, Shape{3, 3, 3, 5}));
  Output conv = Conv2D(nn, img, filter,
                       {.padding = "EXPLICIT", .explicit_paddings = {0, 0, 1, 1, 1, 1, 0, 0}});
  MaxPool(nn, conv);
  AvgPool(nn, conv, {.ksize = {1, 3, 3, 1}, .strides = {1, 1, 1, 1}, .padding = "SAME"});
  Output scale = Const(nn.WithOpName("scale"), std::vector<float>(5, 1.0f), Shape{5});
  FusedBatchNorm(nn, conv, scale, scale, scale, scale, {.epsilon = 0.001f, .is_training = false});
  SparseSoftmaxCrossEntropyWithLogits(nn, product, labels);
  SoftmaxCrossEntropyWithLogits(nn, product, probabilities);
  // Fused ops (what the fusion pass produces).
  FusedMatMulOptions fused_matmul;
  fused_matmul.fused_ops = {"BiasAdd", "Add", "LeakyRelu"};
  fused_matmul.transpose_b = true;
  FusedMatMul(nn, x, w, {Const(nn, {0.1f, 0.2f, 0.3f, 0.4f}), product}, fused_matmul);
  FusedConv2DOptions fused_conv;
  fused_conv.fused_ops = {"BiasAdd", "Relu"};
  fused_conv.conv.padding = "VALID";
  FusedConv2D(nn, img, filter, {scale}, fused_conv);
  FusedElementwise(nn, x, {half}, {{.op = "Mul", .operand = 0}, {.op = "Tanh"}});
  // Layout ops (what the layout pass produces).
  BlockedConv2DOptions blocked_conv;
  blocked_conv.block = 8;
  blocked_conv.blocked_input = false;
  blocked_conv.fused_ops = {"BiasAdd", "Relu"};
  Output filter8 = Const(nn.WithOpName("filter8"), Tensor::Zeros(DType::kF32, Shape{3, 3, 3, 8}));
  Output bias8 = Const(nn.WithOpName("bias8"), std::vector<float>(8, 0.5f), Shape{8});
  Output blocked = BlockedConv2D(nn, img, filter8, {bias8}, blocked_conv);
  FromBlocked(nn, BlockedAvgPool(nn, BlockedMaxPool(nn, blocked), {.padding = "SAME"}));
  ToBlocked(nn, Conv2D(nn, img, filter8), 8);
  // Device copies (what the placement pass inserts).
  AddOp(nn, "_DeviceToHost", {AddOp(nn, "_HostToDevice", {img})});

  // Backward ops.
  Scope grad = s.NewSubScope("grad");
  for (auto fn : {ReluGrad, Relu6Grad, SoftplusGrad}) fn(grad, x, x);
  EluGrad(grad, x, x);
  LeakyReluGrad(grad, x, x, {.alpha = 0.1f});
  GeluGrad(grad, x, x);
  SigmoidGrad(grad, x, x);
  TanhGrad(grad, x, x);
  BiasAddGrad(grad, product);
  Conv2DBackpropInput(grad, ShapeOf(grad, img), filter, conv,
                      {.padding = "EXPLICIT", .explicit_paddings = {0, 0, 1, 1, 1, 1, 0, 0}});
  Conv2DBackpropFilter(grad, img, ShapeOf(grad, filter), conv,
                       {.padding = "EXPLICIT", .explicit_paddings = {0, 0, 1, 1, 1, 1, 0, 0}});
  Output pooled = MaxPool(grad, conv);
  MaxPoolGrad(grad, conv, pooled, pooled);
  AvgPoolGrad(grad, ShapeOf(grad, conv), pooled);
  FusedBatchNormOutputs bn = FusedBatchNorm(grad, conv, scale, scale, scale, scale);
  FusedBatchNormGrad(grad, conv, conv, scale, bn.reserve_space_1, bn.reserve_space_2);

  // Optimizer apply ops.
  Scope train = s.NewSubScope("train");
  Output lr = Const(train.WithOpName("lr"), 0.1f);
  Output g = OnesLike(train, w);
  Output slot_a = Variable(train.WithOpName("slot_a"), Shape{4, 4}, DType::kF32, g,
                           {.trainable = false});
  Output slot_b = Variable(train.WithOpName("slot_b"), Shape{4, 4}, DType::kF32, g,
                           {.trainable = false});
  ApplyGradientDescent(train, w, lr, g);
  ApplyMomentum(train, w, slot_a, lr, g, lr, {.use_nesterov = true});
  ApplyAdam(train, w, slot_a, slot_b, lr, lr, lr, lr, lr, lr, g);
  ApplyRMSProp(train, w, slot_a, slot_b, lr, lr, lr, lr, g, {.use_locking = true});
  ApplyAdagrad(train, w, slot_a, lr, g, {.update_slots = false});

  // Array ops.
  Scope array = s.NewSubScope("array");
  Reshape(array, x, {-1, 2, 2});
  Transpose(array, x, {1, 0});
  Concat(array, {x, x}, 1);
  Split(array, 1, x, 2);
  Slice(array, x, {0, 1}, {-1, 2});
  StridedSlice(array, x, {0, 3}, {0, 0}, {1, -1}, {.begin_mask = 1, .end_mask = 3});
  Output column = ExpandDims(array, x, -1);
  Squeeze(array, column, {.squeeze_dims = {2}});
  Pad(array, x, {{0, 0}, {1, 1}});
  Tile(array, x, {1, 2});
  BroadcastTo(array, half, {3, 4});
  Gather(array, w, labels, 0);
  OneHot(array, labels, 10, Const(array, 1.0f), Const(array, 0.0f));
  Fill(array, {2, 3}, Const(array, 7.0f));
  ZerosLike(array, x);
  OnesLike(array, x);
  ShapeOf(array, x);
  Size(array, x, {.out_type = DType::kI64});
  BroadcastGradientArgs(array, ShapeOf(array, x), IndexConst(array, {1, 4}));
  Range(array, Const(array, int64_t{0}), Const(array, int64_t{5}), Const(array, int64_t{2}));
  InvertPermutation(array, IndexConst(array, {2, 0, 1}));
  UnsortedSegmentSum(array, x, IndexConst(array, {1, 0, 1}), IndexScalar(array, 2));

  // Random ops.
  Scope random = s.NewSubScope("random");
  RandomUniform(random, {2, 2}, DType::kF32, {.seed = 3});
  RandomNormal(random, {2}, DType::kF64);
  TruncatedNormal(random, {3}, DType::kF32, {.seed2 = 5});

  // Control inputs: alone on a NoOp, and after data inputs.
  NoOp(root.WithOpName("group").WithControlDependencies(std::vector<Output>{x, training}));
  Identity(s.WithOpName("after_init").WithControlDependencies(std::vector<Output>{count}), x);
  return root;
}

}  // namespace sluice::testing
