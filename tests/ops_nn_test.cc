// Shape and dtype inference of the nn ops, and their errors.
#include <catch2/catch.hpp>

#include "graph/ops/nn.h"
#include "graph/ops/state.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

std::string Message(const Scope& s) { return std::string(s.status().message()); }

TEST_CASE("Activations keep the shape and need a floating dtype") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 5});
  for (auto op : {Relu, Relu6, Elu, Softplus, Sigmoid, Tanh, Softmax, LogSoftmax}) {
    Output y = op(root, x);
    REQUIRE(root.ok());
    CHECK(y.shape().ToString() == "[?,5]");
    CHECK(y.node->op_def().is_differentiable());
  }
  CHECK(LeakyRelu(root, x, 0.1f).node->attr("alpha").f() == 0.1f);
  CHECK(LeakyRelu(root, x).node->attr("alpha").f() == 0.2f);
  CHECK(Gelu(root, x, true).node->attr("approximate").b());
  CHECK_FALSE(Gelu(root, x).node->attr("approximate").b());
  REQUIRE(root.ok());
  Relu(root.WithOpName("int_relu"), Placeholder(root, DType::kI32, Shape{3}));
  CHECK_THAT(Message(root), Contains("int_relu (Relu): attr 'T' = i32 is not allowed"));
  Scope scalar = Scope::NewRootScope();
  Softmax(scalar.WithOpName("sm"), Const(scalar, 1.0f));
  CHECK_THAT(Message(scalar), Contains("sm (Softmax): logits must have rank at least 1, got []"));
}

TEST_CASE("BiasAdd checks the channel count in either layout") {
  Scope root = Scope::NewRootScope();
  Output nhwc = Placeholder(root, DType::kF32, Shape{kUnknownDim, 8, 8, 16});
  Output nchw = Placeholder(root, DType::kF32, Shape{kUnknownDim, 16, 8, 8});
  Output bias = Placeholder(root, DType::kF32, Shape{16});
  CHECK(BiasAdd(root, nhwc, bias).shape().ToString() == "[?,8,8,16]");
  CHECK(BiasAdd(root, nchw, bias, "NCHW").shape().ToString() == "[?,16,8,8]");
  CHECK(BiasAdd(root, Placeholder(root, DType::kF32, Shape{kUnknownDim, 16}), bias)
            .shape()
            .ToString() == "[?,16]");
  REQUIRE(root.ok());
  BiasAdd(root.WithOpName("ba"), nchw, bias);
  CHECK_THAT(Message(root), Contains("ba (BiasAdd): bias has 16 elements but value [?,16,8,8] has "
                                     "8 channels (NHWC)"));
  Scope fmt = Scope::NewRootScope();
  BiasAdd(fmt.WithOpName("f"), Placeholder(fmt, DType::kF32, Shape{2, 3}),
          Placeholder(fmt, DType::kF32, Shape{3}), "NWHC");
  CHECK_THAT(Message(fmt), Contains("f (BiasAdd): attr 'data_format' = \"NWHC\" is not one of "
                                    "'NHWC', 'NCHW'"));
}

TEST_CASE("Conv2D output sizes follow TensorFlow's formulas") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 28, 28, 1});
  Output f5 = Placeholder(root, DType::kF32, Shape{5, 5, 1, 32});
  CHECK(Conv2D(root, x, f5, {.padding = "SAME"}).shape().ToString() == "[?,28,28,32]");
  CHECK(Conv2D(root, x, f5, {.padding = "VALID"}).shape().ToString() == "[?,24,24,32]");
  CHECK(Conv2D(root, x, f5, {.strides = {1, 2, 2, 1}, .padding = "SAME"}).shape().ToString() ==
        "[?,14,14,32]");
  CHECK(Conv2D(root, x, f5, {.strides = {1, 3, 2, 1}, .padding = "VALID"}).shape().ToString() ==
        "[?,8,12,32]");
  // Dilation 2 makes a 5x5 filter span 9.
  CHECK(Conv2D(root, x, f5, {.padding = "VALID", .dilations = {1, 2, 2, 1}}).shape().ToString() ==
        "[?,20,20,32]");
  CHECK(Conv2D(root, x, f5,
               {.padding = "EXPLICIT", .explicit_paddings = {0, 0, 1, 2, 3, 0, 0, 0}})
            .shape()
            .ToString() == "[?,27,27,32]");
  Output xc = Placeholder(root, DType::kF32, Shape{4, 3, 32, 30});
  Output f3 = Placeholder(root, DType::kF32, Shape{3, 3, 3, 8});
  CHECK(Conv2D(root, xc, f3,
               {.strides = {1, 1, 2, 2}, .padding = "VALID", .data_format = "NCHW"})
            .shape()
            .ToString() == "[4,8,15,14]");
  CHECK(Conv2D(root, Placeholder(root, DType::kF32), f3, {.padding = "SAME"}).shape().ToString() ==
        "[?,?,?,?]");
  CHECK(Conv2D(root, Placeholder(root, DType::kF32, Shape{1, kUnknownDim, 9, 3}), f3,
               {.padding = "VALID"})
            .shape()
            .ToString() == "[1,?,7,8]");
  REQUIRE(root.ok());
}

TEST_CASE("Conv2D rejects what cannot work, naming the node") {
  auto error = [](const Conv2DOptions& o, Shape input, Shape filter) {
    Scope s = Scope::NewRootScope();
    Conv2D(s.WithOpName("conv"), Placeholder(s, DType::kF32, input),
           Placeholder(s, DType::kF32, filter), o);
    return Message(s);
  };
  const Shape x{1, 8, 8, 3};
  const Shape f{3, 3, 3, 4};
  CHECK_THAT(error({.padding = "SAME"}, x, Shape{3, 3, 2, 4}),
             Contains("conv (Conv2D): input [1,8,8,3] has 3 channels (NHWC) but filter [3,3,2,4] "
                      "expects 2"));
  CHECK_THAT(error({.strides = {1, 1}, .padding = "SAME"}, x, f),
             Contains("conv (Conv2D): strides must have 4 entries, got [1,1]"));
  CHECK_THAT(error({.strides = {2, 1, 1, 1}, .padding = "SAME"}, x, f),
             Contains("strides must be 1 in the batch and channel dims, got [2,1,1,1]"));
  CHECK_THAT(error({.strides = {1, 0, 1, 1}, .padding = "SAME"}, x, f),
             Contains("strides must be positive, got [1,0,1,1]"));
  CHECK_THAT(error({.padding = "VALID"}, Shape{1, 2, 8, 3}, f),
             Contains("conv (Conv2D): the height window (3 with dilation) is larger than the "
                      "input (2)"));
  CHECK_THAT(error({.padding = "EXPLICIT"}, x, f),
             Contains("explicit_paddings must have 8 entries with padding EXPLICIT, got []"));
  CHECK_THAT(error({.padding = "SAME", .explicit_paddings = {0, 0, 1, 1, 1, 1, 0, 0}}, x, f),
             Contains("explicit_paddings is only allowed with padding EXPLICIT"));
  CHECK_THAT(error({.padding = "EXPLICIT", .explicit_paddings = {1, 0, 1, 1, 1, 1, 0, 0}}, x, f),
             Contains("explicit_paddings must be 0 in the batch and channel dims"));
  CHECK_THAT(error({.padding = "FULL"}, x, f),
             Contains("attr 'padding' = \"FULL\" is not one of 'SAME', 'VALID', 'EXPLICIT'"));
  CHECK_THAT(error({.padding = "SAME"}, Shape{8, 8, 3}, f),
             Contains("conv (Conv2D): input must have rank 4, got [8,8,3]"));
  Scope missing = Scope::NewRootScope();
  AddOp(missing.WithOpName("c"), "Conv2D",
        {Placeholder(missing, DType::kF32, x), Placeholder(missing, DType::kF32, f)},
        {{"padding", "SAME"}});
  CHECK_THAT(Message(missing), Contains("c (Conv2D): missing required attr 'strides'"));
}

TEST_CASE("Pooling windows shrink the spatial dims") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 24, 24, 32});
  CHECK(MaxPool(root, x).shape().ToString() == "[?,12,12,32]");
  CHECK(AvgPool(root, x, {.ksize = {1, 3, 3, 1}, .strides = {1, 2, 2, 1}, .padding = "SAME"})
            .shape()
            .ToString() == "[?,12,12,32]");
  CHECK(AvgPool(root, x, {.ksize = {1, 3, 3, 1}, .strides = {1, 2, 2, 1}, .padding = "VALID"})
            .shape()
            .ToString() == "[?,11,11,32]");
  Output xc = Placeholder(root, DType::kF32, Shape{2, 32, 7, 7});
  CHECK(MaxPool(root, xc,
                {.ksize = {1, 1, 2, 2}, .strides = {1, 1, 2, 2}, .padding = "SAME",
                 .data_format = "NCHW"})
            .shape()
            .ToString() == "[2,32,4,4]");
  CHECK(MaxPool(root, Placeholder(root, DType::kI32, Shape{1, 4, 4, 1})).dtype() == DType::kI32);
  REQUIRE(root.ok());
  MaxPool(root.WithOpName("pool"), x, {.ksize = {1, 2, 2, 2}});
  CHECK_THAT(Message(root), Contains("pool (MaxPool): ksize must be 1 in the batch and channel "
                                     "dims, got [1,2,2,2]"));
  Scope big = Scope::NewRootScope();
  AvgPool(big.WithOpName("avg"), Placeholder(big, DType::kF32, Shape{1, 2, 2, 1}),
          {.ksize = {1, 3, 3, 1}});
  CHECK_THAT(Message(big), Contains("avg (AvgPool): the height window (3 with dilation) is larger "
                                    "than the input (2)"));
}

TEST_CASE("FusedBatchNorm yields five outputs with per-channel statistics") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 7, 7, 16});
  Output c16 = Placeholder(root, DType::kF32, Shape{16});
  Output empty = Const(root, std::vector<float>{}, Shape{0});
  FusedBatchNormOutputs train = FusedBatchNorm(root, x, c16, c16, empty, empty);
  REQUIRE(root.ok());
  CHECK(train.y.shape().ToString() == "[?,7,7,16]");
  CHECK(train.batch_mean.shape().ToString() == "[16]");
  CHECK(train.batch_variance.shape().ToString() == "[16]");
  CHECK(train.reserve_space_1.shape().ToString() == "[16]");
  CHECK(train.reserve_space_2.shape().ToString() == "[16]");
  CHECK(train.y.node->attr("epsilon").f() == Approx(0.0001f));
  FusedBatchNormOutputs nchw = FusedBatchNorm(
      root, Placeholder(root, DType::kF32, Shape{2, 16, 3, 3}), c16, c16, c16, c16,
      {.data_format = "NCHW", .is_training = false});
  CHECK(nchw.y.shape().ToString() == "[2,16,3,3]");
  REQUIRE(root.ok());

  FusedBatchNorm(root.WithOpName("bn"), x, Placeholder(root, DType::kF32, Shape{8}), c16, c16,
                 c16);
  CHECK_THAT(Message(root),
             Contains("bn (FusedBatchNorm): scale has shape [8] but x [?,7,7,16] has 16 channels"));
  Scope infer = Scope::NewRootScope();
  Output x2 = Placeholder(infer, DType::kF32, Shape{1, 2, 2, 4});
  Output c4 = Placeholder(infer, DType::kF32, Shape{4});
  Output e = Const(infer, std::vector<float>{}, Shape{0});
  FusedBatchNorm(infer.WithOpName("bn"), x2, c4, c4, e, e, {.is_training = false});
  CHECK_THAT(Message(infer), Contains("bn (FusedBatchNorm): mean has shape [0] but x [1,2,2,4] has "
                                      "4 channels"));
}

TEST_CASE("Cross-entropy losses give a loss per example and a backprop per logit") {
  Scope root = Scope::NewRootScope();
  Output logits = Placeholder(root, DType::kF32, Shape{kUnknownDim, 10});
  Output onehot = Placeholder(root, DType::kF32, Shape{32, kUnknownDim});
  CrossEntropyOutputs dense = SoftmaxCrossEntropyWithLogits(root, logits, onehot);
  REQUIRE(root.ok());
  CHECK(dense.loss.shape().ToString() == "[32]");
  CHECK(dense.backprop.shape().ToString() == "[32,10]");
  Output labels = Placeholder(root, DType::kI32, Shape{kUnknownDim});
  CrossEntropyOutputs sparse = SparseSoftmaxCrossEntropyWithLogits(root, logits, labels);
  REQUIRE(root.ok());
  CHECK(sparse.loss.shape().ToString() == "[?]");
  CHECK(sparse.backprop.shape().ToString() == "[?,10]");
  CHECK(sparse.loss.node->attr("Tlabels").dtype() == DType::kI32);

  SparseSoftmaxCrossEntropyWithLogits(root.WithOpName("xent"), logits,
                                      Placeholder(root, DType::kI64, Shape{kUnknownDim, 10}));
  CHECK_THAT(Message(root),
             Contains("xent (SparseSoftmaxCrossEntropyWithLogits): labels must have rank 1, got "
                      "[?,10]"));
  Scope batch = Scope::NewRootScope();
  SoftmaxCrossEntropyWithLogits(batch.WithOpName("ce"),
                                Placeholder(batch, DType::kF32, Shape{4, 10}),
                                Placeholder(batch, DType::kF32, Shape{5, 10}));
  CHECK_THAT(Message(batch), Contains("ce (SoftmaxCrossEntropyWithLogits): labels [5,10] do not "
                                      "match logits [4,10]"));
  Scope types = Scope::NewRootScope();
  SparseSoftmaxCrossEntropyWithLogits(types.WithOpName("s"),
                                      Placeholder(types, DType::kF32, Shape{4, 10}),
                                      Placeholder(types, DType::kF32, Shape{4}));
  CHECK_THAT(Message(types), Contains("s (SparseSoftmaxCrossEntropyWithLogits): attr 'Tlabels' = "
                                      "f32 is not allowed; allowed: i32, i64"));
}

}  // namespace
}  // namespace sluice
