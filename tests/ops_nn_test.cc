// Shape and dtype inference of the nn ops, and their errors.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graph/op_def.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

std::string Message(const Scope& s) { return std::string(s.status().message()); }

// The shape of `y`, or the scope's first error when building failed.
std::string ShapeOrError(const Scope& s, Output y) {
  return s.ok() ? y.shape().ToString() : Message(s);
}

Output F32(const Scope& s, const Shape& shape) { return Placeholder(s, DType::kF32, shape); }

// Conv2D named "conv" on f32 placeholders of these shapes.
std::string Conv(const Shape& input, const Shape& filter, const Conv2DOptions& options) {
  Scope s = Scope::NewRootScope();
  Output y = Conv2D(s.WithOpName("conv"), F32(s, input), F32(s, filter), options);
  return ShapeOrError(s, y);
}

using PoolBuilder = Output (*)(const Scope&, Output, const PoolOptions&);

// A pool named "pool" on an f32 placeholder of this shape.
std::string Pool(PoolBuilder pool, const Shape& input, const PoolOptions& options) {
  Scope s = Scope::NewRootScope();
  Output y = pool(s.WithOpName("pool"), F32(s, input), options);
  return ShapeOrError(s, y);
}

TEST_CASE("Every nn op is registered as differentiable") {
  for (const char* name :
       {"Relu", "Relu6", "Elu", "Softplus", "Sigmoid", "Tanh", "LeakyRelu", "Gelu", "Softmax",
        "LogSoftmax", "BiasAdd", "Conv2D", "MaxPool", "AvgPool", "FusedBatchNorm",
        "SoftmaxCrossEntropyWithLogits", "SparseSoftmaxCrossEntropyWithLogits"}) {
    INFO(name);
    const OpDef* op = OpRegistry::Global().Find(name);
    REQUIRE(op != nullptr);
    CHECK(op->is_differentiable());
    CHECK_FALSE(op->is_stateful());
  }
}

TEST_CASE("Element-wise activations keep the shape and dtype") {
  struct Activation {
    const char* op;
    Output (*build)(const Scope&, Output);
    const char* input;
    const char* output;
  };
  const std::vector<Activation> activations = {
      {"Relu", Relu, "features", "activations"},
      {"Relu6", Relu6, "features", "activations"},
      {"Elu", Elu, "features", "activations"},
      {"Softplus", Softplus, "features", "activations"},
      {"Sigmoid", Sigmoid, "x", "y"},
      {"Tanh", Tanh, "x", "y"},
      {"LeakyRelu", [](const Scope& s, Output x) { return LeakyRelu(s, x); }, "features",
       "activations"},
      {"Gelu", [](const Scope& s, Output x) { return Gelu(s, x); }, "features", "activations"},
  };
  for (const Activation& a : activations) {
    INFO(a.op);
    Scope root = Scope::NewRootScope();
    Output known = a.build(root, F32(root, Shape{2, 3}));
    Output partial = a.build(root, F32(root, Shape{kUnknownDim, 5}));
    Output unknown = a.build(root, F32(root, Shape::UnknownRank()));
    Output scalar = a.build(root, Placeholder(root, DType::kF64, Shape{}));
    REQUIRE(root.ok());
    CHECK(known.node->op() == a.op);
    CHECK(known.shape().ToString() == "[2,3]");
    CHECK(partial.shape().ToString() == "[?,5]");
    CHECK(unknown.shape().ToString() == "<unknown>");
    CHECK(scalar.shape().ToString() == "[]");
    CHECK(known.dtype() == DType::kF32);
    CHECK(scalar.dtype() == DType::kF64);
    CHECK(scalar.node->attr("T").dtype() == DType::kF64);
    CHECK(known.node->op_def().inputs().at(0).name == a.input);
    CHECK(known.node->op_def().outputs().at(0).name == a.output);

    a.build(root.WithOpName("int_act"), Placeholder(root, DType::kI32, Shape{3}));
    CHECK_THAT(Message(root), Contains(std::string("int_act (") + a.op +
                                       "): attr 'T' = i32 is not allowed; allowed: f32, f64"));
  }
}

TEST_CASE("LeakyRelu and Gelu record their attributes") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{4});
  CHECK(LeakyRelu(root, x).node->attr("alpha").f() == 0.2f);
  CHECK(LeakyRelu(root, x, {.alpha = 0.01f}).node->attr("alpha").f() == 0.01f);
  CHECK_FALSE(Gelu(root, x).node->attr("approximate").b());
  CHECK(Gelu(root, x, {.approximate = true}).node->attr("approximate").b());
  REQUIRE(root.ok());
  Gelu(root.WithOpName("gelu"), Placeholder(root, DType::kI64, Shape{4}));
  CHECK_THAT(Message(root), Contains("gelu (Gelu): attr 'T' = i64 is not allowed"));
}

TEST_CASE("Softmax and LogSoftmax need rank >= 1") {
  for (auto softmax : {Softmax, LogSoftmax}) {
    Scope root = Scope::NewRootScope();
    Output known = softmax(root, F32(root, Shape{4, 10}));
    CHECK(ShapeOrError(root, known) == "[4,10]");
    CHECK(ShapeOrError(root, softmax(root, F32(root, Shape{kUnknownDim, 10}))) == "[?,10]");
    CHECK(ShapeOrError(root, softmax(root, F32(root, Shape{7}))) == "[7]");
    CHECK(ShapeOrError(root, softmax(root, F32(root, Shape::UnknownRank()))) == "<unknown>");
    Output f64 = softmax(root, Placeholder(root, DType::kF64, Shape{2, 3}));
    REQUIRE(root.ok());
    CHECK(f64.dtype() == DType::kF64);
    CHECK(known.node->op_def().inputs().at(0).name == "logits");
  }
  Scope scalar = Scope::NewRootScope();
  Softmax(scalar.WithOpName("sm"), Const(scalar, 1.0f));
  CHECK_THAT(Message(scalar), Contains("sm (Softmax): logits must have rank at least 1, got []"));
  Scope log = Scope::NewRootScope();
  LogSoftmax(log.WithOpName("lsm"), F32(log, Shape{}));
  CHECK_THAT(Message(log), Contains("lsm (LogSoftmax): logits must have rank at least 1, got []"));
  Scope ints = Scope::NewRootScope();
  Softmax(ints.WithOpName("sm"), Placeholder(ints, DType::kI32, Shape{2, 3}));
  CHECK_THAT(Message(ints), Contains("sm (Softmax): attr 'T' = i32 is not allowed"));
}

TEST_CASE("BiasAdd aligns the bias with the channel dim of either layout") {
  Scope root = Scope::NewRootScope();
  Output bias = F32(root, Shape{16});
  auto bias_add = [&](const Shape& value, Output b, const std::string& format) {
    return ShapeOrError(root, BiasAdd(root, F32(root, value), b, {.data_format = format}));
  };
  CHECK(bias_add(Shape{2, 8, 8, 16}, bias, "NHWC") == "[2,8,8,16]");
  CHECK(bias_add(Shape{kUnknownDim, 8, 8, 16}, bias, "NHWC") == "[?,8,8,16]");
  CHECK(bias_add(Shape{kUnknownDim, 16}, bias, "NHWC") == "[?,16]");
  CHECK(bias_add(Shape{16}, bias, "NHWC") == "[16]");
  CHECK(bias_add(Shape{kUnknownDim, 16, 8, 8}, bias, "NCHW") == "[?,16,8,8]");
  CHECK(bias_add(Shape{2, 16, 5}, bias, "NCHW") == "[2,16,5]");
  // An unknown channel dim takes the bias's size.
  CHECK(bias_add(Shape{4, kUnknownDim}, bias, "NHWC") == "[4,16]");
  CHECK(bias_add(Shape{2, kUnknownDim, 5, 5}, bias, "NCHW") == "[2,16,5,5]");
  CHECK(bias_add(Shape{2, kUnknownDim}, F32(root, Shape{kUnknownDim}), "NHWC") == "[2,?]");
  CHECK(bias_add(Shape{2, 3}, F32(root, Shape::UnknownRank()), "NHWC") == "[2,3]");
  CHECK(bias_add(Shape::UnknownRank(), bias, "NHWC") == "<unknown>");
  CHECK(bias_add(Shape::UnknownRank(), bias, "NCHW") == "<unknown>");
  Output f64 = BiasAdd(root, Placeholder(root, DType::kF64, Shape{3, 2}),
                       Placeholder(root, DType::kF64, Shape{2}));
  REQUIRE(root.ok());
  CHECK(f64.dtype() == DType::kF64);
  CHECK(f64.node->attr("T").dtype() == DType::kF64);
  CHECK(f64.node->attr("data_format").s() == "NHWC");

  auto error = [](const Shape& value, const Shape& bias_shape, const std::string& format) {
    Scope s = Scope::NewRootScope();
    BiasAdd(s.WithOpName("ba"), F32(s, value), F32(s, bias_shape), {.data_format = format});
    return Message(s);
  };
  CHECK_THAT(error(Shape{kUnknownDim, 16, 8, 8}, Shape{16}, "NHWC"),
             Contains("ba (BiasAdd): bias [16] does not match value [?,16,8,8]: it needs one "
                      "entry per channel, and value has 8 channels in dim 3 (NHWC)"));
  CHECK_THAT(error(Shape{2, 8, 8, 16}, Shape{16}, "NCHW"),
             Contains("ba (BiasAdd): bias [16] does not match value [2,8,8,16]: it needs one "
                      "entry per channel, and value has 8 channels in dim 1 (NCHW)"));
  CHECK_THAT(error(Shape{4, 16}, Shape{16}, "NCHW"),
             Contains("ba (BiasAdd): value must have rank at least 3, got [4,16]"));
  CHECK_THAT(error(Shape{}, Shape{16}, "NHWC"),
             Contains("ba (BiasAdd): value must have rank at least 1, got []"));
  CHECK_THAT(error(Shape{4, 16}, Shape{1, 16}, "NHWC"),
             Contains("ba (BiasAdd): bias must have rank 1, got [1,16]"));
  CHECK_THAT(error(Shape{2, 3}, Shape{3}, "NWHC"),
             Contains("ba (BiasAdd): attr 'data_format' = \"NWHC\" is not one of 'NHWC', 'NCHW'"));

  Scope types = Scope::NewRootScope();
  BiasAdd(types.WithOpName("ba"), F32(types, Shape{2, 3}),
          Placeholder(types, DType::kF64, Shape{3}));
  CHECK_THAT(Message(types),
             Contains("ba (BiasAdd): input 1 (bias) is f64 but should be f32 (attr T)"));
  Scope ints = Scope::NewRootScope();
  BiasAdd(ints.WithOpName("ba"), Placeholder(ints, DType::kI32, Shape{2, 3}),
          Placeholder(ints, DType::kI32, Shape{3}));
  CHECK_THAT(Message(ints), Contains("ba (BiasAdd): attr 'T' = i32 is not allowed"));
}

TEST_CASE("Conv2D NHWC output sizes follow TensorFlow's formulas") {
  const Shape x{kUnknownDim, 28, 28, 1};
  const Shape f5{5, 5, 1, 32};
  CHECK(Conv(x, f5, {.padding = "SAME"}) == "[?,28,28,32]");
  CHECK(Conv(x, f5, {.padding = "VALID"}) == "[?,24,24,32]");
  // SAME: ceil(28 / 2) = 14, ceil(28 / 3) = 10.
  CHECK(Conv(x, f5, {.strides = {1, 2, 2, 1}, .padding = "SAME"}) == "[?,14,14,32]");
  CHECK(Conv(x, f5, {.strides = {1, 3, 2, 1}, .padding = "SAME"}) == "[?,10,14,32]");
  // VALID: ceil((28 - 4) / 3) = 8, ceil((28 - 4) / 2) = 12.
  CHECK(Conv(x, f5, {.strides = {1, 3, 2, 1}, .padding = "VALID"}) == "[?,8,12,32]");
  // Dilation 2 makes the 5x5 filter span 9: 28 - 8 = 20.
  CHECK(Conv(x, f5, {.padding = "VALID", .dilations = {1, 2, 2, 1}}) == "[?,20,20,32]");
  // ceil((28 - 8) / 3) = 7 in both dims; SAME ignores the dilation: ceil(28 / 3) = 10.
  CHECK(Conv(x, f5, {.strides = {1, 3, 3, 1}, .padding = "VALID", .dilations = {1, 2, 2, 1}}) ==
        "[?,7,7,32]");
  CHECK(Conv(x, f5, {.strides = {1, 3, 3, 1}, .padding = "SAME", .dilations = {1, 2, 2, 1}}) ==
        "[?,10,10,32]");
  // EXPLICIT: (28 + 1 + 2 - 4 - 1) / 1 + 1 = 27 and (28 + 3 + 0 - 4 - 1) + 1 = 27.
  CHECK(Conv(x, f5, {.padding = "EXPLICIT", .explicit_paddings = {0, 0, 1, 2, 3, 0, 0, 0}}) ==
        "[?,27,27,32]");
  // (28 + 4 - 8 - 1) / 2 + 1 = 12 and (28 + 1 - 8 - 1) / 2 + 1 = 11.
  CHECK(Conv(x, f5,
             {.strides = {1, 2, 2, 1},
              .padding = "EXPLICIT",
              .explicit_paddings = {0, 0, 2, 2, 0, 1, 0, 0},
              .dilations = {1, 2, 2, 1}}) == "[?,12,11,32]");
  // SAME allows a window larger than the input.
  CHECK(Conv(Shape{1, 2, 2, 3}, Shape{5, 5, 3, 4}, {.padding = "SAME"}) == "[1,2,2,4]");
  // A rectangular filter with stride 1.
  CHECK(Conv(Shape{3, 10, 12, 2}, Shape{1, 4, 2, 6}, {.padding = "VALID"}) == "[3,10,9,6]");
}

TEST_CASE("Conv2D NCHW output sizes follow TensorFlow's formulas") {
  const Shape x{4, 3, 32, 30};
  const Shape f3{3, 3, 3, 8};
  // (32 - 3) / 2 + 1 = 15 and (30 - 3) / 2 + 1 = 14.
  CHECK(Conv(x, f3, {.strides = {1, 1, 2, 2}, .padding = "VALID", .data_format = "NCHW"}) ==
        "[4,8,15,14]");
  CHECK(Conv(x, f3, {.strides = {1, 1, 2, 2}, .padding = "SAME", .data_format = "NCHW"}) ==
        "[4,8,16,15]");
  CHECK(Conv(x, f3,
             {.strides = {1, 1, 3, 3},
              .padding = "SAME",
              .data_format = "NCHW",
              .dilations = {1, 1, 2, 2}}) == "[4,8,11,10]");
  // Spans 7 and 5: 32 - 6 = 26, 30 - 4 = 26.
  CHECK(Conv(x, f3, {.padding = "VALID", .data_format = "NCHW", .dilations = {1, 1, 3, 2}}) ==
        "[4,8,26,26]");
  CHECK(Conv(x, f3,
             {.padding = "EXPLICIT",
              .explicit_paddings = {0, 0, 0, 0, 1, 1, 2, 0},
              .data_format = "NCHW"}) == "[4,8,32,30]");
  // (32 + 2 - 3) / 2 + 1 = 16 and (30 + 2 - 3) / 3 + 1 = 10.
  CHECK(Conv(x, f3,
             {.strides = {1, 1, 2, 3},
              .padding = "EXPLICIT",
              .explicit_paddings = {0, 0, 0, 0, 1, 1, 2, 0},
              .data_format = "NCHW"}) == "[4,8,16,10]");
}

TEST_CASE("Conv2D keeps what is known of partially known shapes") {
  const Shape f3{3, 3, 3, 8};
  CHECK(Conv(Shape{1, kUnknownDim, 9, 3}, f3, {.padding = "VALID"}) == "[1,?,7,8]");
  CHECK(Conv(Shape{2, 9, 9, kUnknownDim}, f3, {.padding = "VALID"}) == "[2,7,7,8]");
  CHECK(Conv(Shape::UnknownRank(), f3, {.padding = "SAME"}) == "[?,?,?,8]");
  CHECK(Conv(Shape::UnknownRank(), f3, {.padding = "SAME", .data_format = "NCHW"}) == "[?,8,?,?]");
  // SAME needs only the input size and the stride.
  CHECK(Conv(Shape{2, 9, 9, 3}, Shape::UnknownRank(),
             {.strides = {1, 2, 2, 1}, .padding = "SAME"}) == "[2,5,5,?]");
  CHECK(Conv(Shape{2, 9, 9, 3}, Shape::UnknownRank(), {.padding = "VALID"}) == "[2,?,?,?]");
  CHECK(Conv(Shape{2, 9, 9, 3}, Shape{kUnknownDim, 3, 3, kUnknownDim}, {.padding = "VALID"}) ==
        "[2,?,7,?]");
  CHECK(Conv(Shape::UnknownRank(), Shape::UnknownRank(), {.padding = "VALID"}) == "[?,?,?,?]");

  Scope root = Scope::NewRootScope();
  Output y = Conv2D(root, Placeholder(root, DType::kF64, Shape{1, 5, 5, 2}),
                    Placeholder(root, DType::kF64, Shape{3, 3, 2, 4}),
                    {.strides = {1, 2, 2, 1}, .padding = "VALID"});
  REQUIRE(root.ok());
  CHECK(y.shape().ToString() == "[1,2,2,4]");
  CHECK(y.dtype() == DType::kF64);
  CHECK(y.node->attr("T").dtype() == DType::kF64);
  CHECK(y.node->attr("strides").ints() == std::vector<int64_t>{1, 2, 2, 1});
  CHECK(y.node->attr("padding").s() == "VALID");
  CHECK(y.node->attr("explicit_paddings").ints().empty());
  CHECK(y.node->attr("data_format").s() == "NHWC");
  CHECK(y.node->attr("dilations").ints() == std::vector<int64_t>{1, 1, 1, 1});
}

TEST_CASE("Conv2D rejects what cannot work, naming the node") {
  const Shape x{1, 8, 8, 3};
  const Shape f{3, 3, 3, 4};
  CHECK_THAT(Conv(x, Shape{3, 3, 2, 4}, {.padding = "SAME"}),
             Contains("conv (Conv2D): input [1,8,8,3] has 3 channels (NHWC) but filter "
                      "[3,3,2,4] expects 2"));
  CHECK_THAT(Conv(Shape{1, 3, 8, 8}, Shape{3, 3, 8, 4}, {.padding = "SAME", .data_format = "NCHW"}),
             Contains("conv (Conv2D): input [1,3,8,8] has 3 channels (NCHW) but filter "
                      "[3,3,8,4] expects 8"));
  CHECK_THAT(Conv(Shape{8, 8, 3}, f, {.padding = "SAME"}),
             Contains("conv (Conv2D): input must have rank 4, got [8,8,3]"));
  CHECK_THAT(Conv(x, Shape{3, 3, 3}, {.padding = "SAME"}),
             Contains("conv (Conv2D): filter must have rank 4, got [3,3,3]"));
  CHECK_THAT(Conv(x, Shape{0, 3, 3, 4}, {.padding = "SAME"}),
             Contains("conv (Conv2D): filter [0,3,3,4] has an empty window"));

  CHECK_THAT(Conv(x, f, {.strides = {1, 1}, .padding = "SAME"}),
             Contains("conv (Conv2D): strides must have 4 entries, got [1,1]"));
  CHECK_THAT(Conv(x, f, {.strides = {2, 1, 1, 1}, .padding = "SAME"}),
             Contains("conv (Conv2D): strides must be 1 in the batch and channel dims, got "
                      "[2,1,1,1]"));
  CHECK_THAT(Conv(Shape{1, 3, 8, 8}, f,
                  {.strides = {1, 2, 2, 1}, .padding = "SAME", .data_format = "NCHW"}),
             Contains("conv (Conv2D): strides must be 1 in the batch and channel dims, got "
                      "[1,2,2,1]"));
  CHECK_THAT(Conv(x, f, {.strides = {1, 0, 1, 1}, .padding = "SAME"}),
             Contains("conv (Conv2D): strides must be positive, got [1,0,1,1]"));
  CHECK_THAT(Conv(x, f, {.padding = "SAME", .dilations = {1, 1, 1, 2}}),
             Contains("conv (Conv2D): dilations must be 1 in the batch and channel dims, got "
                      "[1,1,1,2]"));
  CHECK_THAT(Conv(x, f, {.padding = "SAME", .dilations = {1, 2, 2}}),
             Contains("conv (Conv2D): dilations must have 4 entries, got [1,2,2]"));
  CHECK_THAT(Conv(x, f, {.padding = "SAME", .dilations = {1, -1, 1, 1}}),
             Contains("conv (Conv2D): dilations must be positive, got [1,-1,1,1]"));

  CHECK_THAT(Conv(Shape{1, 2, 8, 3}, f, {.padding = "VALID"}),
             Contains("conv (Conv2D): the filter height 3 is larger than the input height 2 "
                      "with VALID padding"));
  CHECK_THAT(Conv(x, f, {.padding = "VALID", .dilations = {1, 1, 4, 1}}),
             Contains("conv (Conv2D): the filter width 3 with dilation 4 (spanning 9) is larger "
                      "than the input width 8 with VALID padding"));
  CHECK_THAT(Conv(Shape{1, 8, 4, 3}, Shape{3, 7, 3, 4},
                  {.padding = "EXPLICIT", .explicit_paddings = {0, 0, 0, 0, 1, 1, 0, 0}}),
             Contains("conv (Conv2D): the filter width 7 is larger than the padded input width 6 "
                      "(4 + 1 + 1)"));
  CHECK_THAT(
      Conv(x, f, {.padding = "VALID", .dilations = {1, std::numeric_limits<int64_t>::max(), 1, 1}}),
      Contains("conv (Conv2D): the height sizes overflow: input 8, filter 3, dilation "
               "9223372036854775807, padding 0 + 0"));

  CHECK_THAT(Conv(x, f, {.padding = "EXPLICIT"}),
             Contains("conv (Conv2D): explicit_paddings must have 8 entries with padding "
                      "EXPLICIT, got []"));
  CHECK_THAT(Conv(x, f, {.padding = "SAME", .explicit_paddings = {0, 0, 1, 1, 1, 1, 0, 0}}),
             Contains("conv (Conv2D): explicit_paddings must be empty unless padding is "
                      "EXPLICIT, got [0,0,1,1,1,1,0,0] with padding SAME"));
  CHECK_THAT(Conv(x, f, {.padding = "EXPLICIT", .explicit_paddings = {1, 0, 1, 1, 1, 1, 0, 0}}),
             Contains("conv (Conv2D): explicit_paddings must be 0 in the batch and channel dims, "
                      "got [1,0,1,1,1,1,0,0]"));
  // In NCHW the channel pair comes second.
  CHECK_THAT(Conv(Shape{1, 3, 8, 8}, f,
                  {.padding = "EXPLICIT",
                   .explicit_paddings = {0, 0, 0, 1, 1, 1, 1, 1},
                   .data_format = "NCHW"}),
             Contains("conv (Conv2D): explicit_paddings must be 0 in the batch and channel dims, "
                      "got [0,0,0,1,1,1,1,1]"));
  CHECK_THAT(Conv(x, f, {.padding = "EXPLICIT", .explicit_paddings = {0, 0, -1, 1, 1, 1, 0, 0}}),
             Contains("conv (Conv2D): explicit_paddings must be >= 0, got [0,0,-1,1,1,1,0,0]"));
  CHECK_THAT(Conv(x, f, {.padding = "FULL"}),
             Contains("conv (Conv2D): attr 'padding' = \"FULL\" is not one of 'SAME', 'VALID', "
                      "'EXPLICIT'"));
  CHECK_THAT(Conv(x, f, {.data_format = "HWCN"}),
             Contains("conv (Conv2D): attr 'data_format' = \"HWCN\" is not one of 'NHWC', "
                      "'NCHW'"));

  Scope missing = Scope::NewRootScope();
  AddOp(missing.WithOpName("c"), "Conv2D", {F32(missing, x), F32(missing, f)},
        {{"padding", "SAME"}});
  CHECK_THAT(Message(missing), Contains("c (Conv2D): missing required attr 'strides'"));
  Scope no_padding = Scope::NewRootScope();
  AddOp(no_padding.WithOpName("c"), "Conv2D", {F32(no_padding, x), F32(no_padding, f)},
        {{"strides", std::vector<int64_t>{1, 1, 1, 1}}});
  CHECK_THAT(Message(no_padding), Contains("c (Conv2D): missing required attr 'padding'"));

  Scope mixed = Scope::NewRootScope();
  Conv2D(mixed.WithOpName("conv"), F32(mixed, x), Placeholder(mixed, DType::kF64, f));
  CHECK_THAT(Message(mixed),
             Contains("conv (Conv2D): input 1 (filter) is f64 but should be f32 (attr T)"));
  Scope ints = Scope::NewRootScope();
  Conv2D(ints.WithOpName("conv"), Placeholder(ints, DType::kI32, x),
         Placeholder(ints, DType::kI32, f));
  CHECK_THAT(Message(ints), Contains("conv (Conv2D): attr 'T' = i32 is not allowed"));
}

TEST_CASE("Pooling output sizes in both layouts and paddings") {
  for (PoolBuilder pool : {MaxPool, AvgPool}) {
    const Shape x{kUnknownDim, 24, 24, 32};
    // The default: 2x2 windows, stride 2, VALID.
    CHECK(Pool(pool, x, {}) == "[?,12,12,32]");
    const std::vector<int64_t> k3 = {1, 3, 3, 1};
    const std::vector<int64_t> s2 = {1, 2, 2, 1};
    CHECK(Pool(pool, x, {.ksize = k3, .strides = s2, .padding = "SAME"}) == "[?,12,12,32]");
    // (24 - 3) / 2 + 1 = 11.
    CHECK(Pool(pool, x, {.ksize = k3, .strides = s2, .padding = "VALID"}) == "[?,11,11,32]");
    // (24 - 3) / 3 + 1 = 8 and (24 - 2) / 1 + 1 = 23.
    CHECK(Pool(pool, x, {.ksize = {1, 3, 2, 1}, .strides = {1, 3, 1, 1}, .padding = "VALID"}) ==
          "[?,8,23,32]");
    // ceil(24 / 5) = 5 and ceil(24 / 7) = 4.
    CHECK(Pool(pool, x, {.ksize = {1, 1, 1, 1}, .strides = {1, 5, 7, 1}, .padding = "SAME"}) ==
          "[?,5,4,32]");
    CHECK(Pool(pool, Shape{1, 2, 2, 1},
               {.ksize = k3, .strides = {1, 1, 1, 1}, .padding = "SAME"}) == "[1,2,2,1]");

    const Shape xc{2, 32, 7, 7};
    const std::vector<int64_t> k2c = {1, 1, 2, 2};
    CHECK(
        Pool(pool, xc, {.ksize = k2c, .strides = k2c, .padding = "SAME", .data_format = "NCHW"}) ==
        "[2,32,4,4]");
    CHECK(
        Pool(pool, xc, {.ksize = k2c, .strides = k2c, .padding = "VALID", .data_format = "NCHW"}) ==
        "[2,32,3,3]");
    // 7 - 3 + 1 = 5 and (7 - 1) / 2 + 1 = 4.
    CHECK(Pool(pool, xc,
               {.ksize = {1, 1, 3, 1},
                .strides = {1, 1, 1, 2},
                .padding = "VALID",
                .data_format = "NCHW"}) == "[2,32,5,4]");

    // (9 - 3) / 2 + 1 = 4; SAME: ceil(9 / 2) = 5.
    const Shape partial{2, kUnknownDim, 9, kUnknownDim};
    CHECK(Pool(pool, partial, {.ksize = k3, .strides = s2, .padding = "VALID"}) == "[2,?,4,?]");
    CHECK(Pool(pool, partial, {.ksize = k3, .strides = s2, .padding = "SAME"}) == "[2,?,5,?]");
    CHECK(Pool(pool, Shape::UnknownRank(), {}) == "[?,?,?,?]");
  }
}

TEST_CASE("Pooling dtypes: MaxPool also takes integers, AvgPool does not") {
  Scope root = Scope::NewRootScope();
  for (DType dtype :
       {DType::kF32, DType::kF64, DType::kF16, DType::kI8, DType::kU8, DType::kI32, DType::kI64}) {
    INFO(DTypeName(dtype));
    Output y = MaxPool(root, Placeholder(root, dtype, Shape{1, 4, 4, 1}));
    REQUIRE(root.ok());
    CHECK(y.dtype() == dtype);
    CHECK(y.node->attr("T").dtype() == dtype);
    CHECK(y.shape().ToString() == "[1,2,2,1]");
  }
  Output avg = AvgPool(root, Placeholder(root, DType::kF64, Shape{1, 4, 4, 1}));
  REQUIRE(root.ok());
  CHECK(avg.dtype() == DType::kF64);
  CHECK(avg.node->attr("ksize").ints() == std::vector<int64_t>{1, 2, 2, 1});
  CHECK(avg.node->op_def().inputs().at(0).name == "value");

  Scope ints = Scope::NewRootScope();
  AvgPool(ints.WithOpName("avg"), Placeholder(ints, DType::kI32, Shape{1, 4, 4, 1}));
  CHECK_THAT(Message(ints), Contains("avg (AvgPool): attr 'T' = i32 is not allowed"));
  Scope bools = Scope::NewRootScope();
  MaxPool(bools.WithOpName("max"), Placeholder(bools, DType::kBool, Shape{1, 4, 4, 1}));
  CHECK_THAT(Message(bools), Contains("max (MaxPool): attr 'T' = bool is not allowed"));
}

TEST_CASE("Pooling rejects bad windows, naming the node") {
  const Shape x{1, 24, 24, 8};
  CHECK_THAT(Pool(MaxPool, x, {.ksize = {1, 2, 2, 2}}),
             Contains("pool (MaxPool): ksize must be 1 in the batch and channel dims, got "
                      "[1,2,2,2]"));
  // NHWC windows read in NCHW put a 2 in the channel dim.
  CHECK_THAT(Pool(AvgPool, Shape{1, 8, 24, 24}, {.data_format = "NCHW"}),
             Contains("pool (AvgPool): ksize must be 1 in the batch and channel dims, got "
                      "[1,2,2,1]"));
  CHECK_THAT(Pool(MaxPool, x, {.strides = {2, 2}}),
             Contains("pool (MaxPool): strides must have 4 entries, got [2,2]"));
  CHECK_THAT(Pool(AvgPool, x, {.ksize = {1, 0, 2, 1}}),
             Contains("pool (AvgPool): ksize must be positive, got [1,0,2,1]"));
  CHECK_THAT(Pool(AvgPool, Shape{1, 2, 2, 1}, {.ksize = {1, 3, 3, 1}}),
             Contains("pool (AvgPool): the window height 3 is larger than the input height 2 "
                      "with VALID padding"));
  CHECK_THAT(Pool(MaxPool, Shape{1, 1, 8, 1, 1}, {}),
             Contains("pool (MaxPool): input must have rank 4, got [1,1,8,1,1]"));
  CHECK_THAT(Pool(AvgPool, Shape{24, 24, 8}, {}),
             Contains("pool (AvgPool): value must have rank 4, got [24,24,8]"));
  CHECK_THAT(Pool(MaxPool, x, {.padding = "EXPLICIT"}),
             Contains("pool (MaxPool): attr 'padding' = \"EXPLICIT\" is not one of 'SAME', "
                      "'VALID'"));
  Scope missing = Scope::NewRootScope();
  AddOp(missing.WithOpName("p"), "MaxPool", {F32(missing, x)},
        {{"strides", std::vector<int64_t>{1, 2, 2, 1}}, {"padding", "VALID"}});
  CHECK_THAT(Message(missing), Contains("p (MaxPool): missing required attr 'ksize'"));
}

TEST_CASE("FusedBatchNorm yields y and four per-channel statistics") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{kUnknownDim, 7, 7, 16});
  Output c16 = F32(root, Shape{16});
  Output empty = Const(root, std::vector<float>{}, Shape{0});
  FusedBatchNormOutputs train = FusedBatchNorm(root, x, c16, c16, empty, empty);
  REQUIRE(root.ok());
  CHECK(train.y.shape().ToString() == "[?,7,7,16]");
  CHECK(train.batch_mean.shape().ToString() == "[16]");
  CHECK(train.batch_variance.shape().ToString() == "[16]");
  CHECK(train.reserve_space_1.shape().ToString() == "[16]");
  CHECK(train.reserve_space_2.shape().ToString() == "[16]");
  CHECK(train.reserve_space_2.index == 4);
  const Node& node = *train.y.node;
  CHECK(node.attr("epsilon").f() == 0.0001f);
  CHECK(node.attr("exponential_avg_factor").f() == 1.0f);
  CHECK(node.attr("data_format").s() == "NHWC");
  CHECK(node.attr("is_training").b());
  CHECK(node.attr("T").dtype() == DType::kF32);
  CHECK(node.num_outputs() == 5);

  FusedBatchNormOutputs nchw =
      FusedBatchNorm(root, F32(root, Shape{2, 16, 3, 3}), c16, c16, c16, c16,
                     {.epsilon = 0.001f, .data_format = "NCHW", .is_training = false});
  REQUIRE(root.ok());
  CHECK(nchw.y.shape().ToString() == "[2,16,3,3]");
  CHECK(nchw.batch_variance.shape().ToString() == "[16]");
  CHECK(nchw.y.node->attr("epsilon").f() == 0.001f);
  CHECK_FALSE(nchw.y.node->attr("is_training").b());

  // Given statistics are blended in with a factor other than 1.
  FusedBatchNormOutputs running =
      FusedBatchNorm(root, x, c16, c16, c16, c16, {.exponential_avg_factor = 0.9f});
  REQUIRE(root.ok());
  CHECK(running.batch_mean.shape().ToString() == "[16]");
}

TEST_CASE("FusedBatchNorm takes the channel count from whichever input knows it") {
  Scope root = Scope::NewRootScope();
  Output unknown_x = F32(root, Shape::UnknownRank());
  Output c16 = F32(root, Shape{16});
  Output unknown_c = F32(root, Shape{kUnknownDim});
  FusedBatchNormOutputs nhwc = FusedBatchNorm(root, unknown_x, c16, c16, c16, c16);
  FusedBatchNormOutputs nchw =
      FusedBatchNorm(root, unknown_x, c16, c16, c16, c16, {.data_format = "NCHW"});
  FusedBatchNormOutputs from_offset =
      FusedBatchNorm(root, F32(root, Shape{8, 4, 4, kUnknownDim}), unknown_c, F32(root, Shape{5}),
                     unknown_c, unknown_c);
  Output unknown_stat = F32(root, Shape::UnknownRank());
  FusedBatchNormOutputs nothing =
      FusedBatchNorm(root, unknown_x, unknown_stat, unknown_stat, unknown_stat, unknown_stat);
  REQUIRE(root.ok());
  CHECK(nhwc.y.shape().ToString() == "[?,?,?,16]");
  CHECK(nhwc.batch_mean.shape().ToString() == "[16]");
  CHECK(nchw.y.shape().ToString() == "[?,16,?,?]");
  CHECK(from_offset.y.shape().ToString() == "[8,4,4,5]");
  CHECK(from_offset.reserve_space_1.shape().ToString() == "[5]");
  CHECK(nothing.y.shape().ToString() == "[?,?,?,?]");
  CHECK(nothing.batch_mean.shape().ToString() == "[?]");
  CHECK(nothing.reserve_space_2.shape().ToString() == "[?]");

  FusedBatchNormOutputs f64 = FusedBatchNorm(
      root, Placeholder(root, DType::kF64, Shape{1, 2, 2, 3}),
      Placeholder(root, DType::kF64, Shape{3}), Placeholder(root, DType::kF64, Shape{3}),
      Placeholder(root, DType::kF64, Shape{0}), Placeholder(root, DType::kF64, Shape{0}));
  REQUIRE(root.ok());
  CHECK(f64.batch_mean.dtype() == DType::kF64);
  CHECK(f64.y.node->attr("T").dtype() == DType::kF64);
}

TEST_CASE("FusedBatchNorm rejects mismatched statistics, naming the node") {
  auto error = [](const Shape& x, const std::vector<Shape>& stats,
                  const FusedBatchNormOptions& options) {
    Scope s = Scope::NewRootScope();
    FusedBatchNorm(s.WithOpName("bn"), F32(s, x), F32(s, stats[0]), F32(s, stats[1]),
                   F32(s, stats[2]), F32(s, stats[3]), options);
    return Message(s);
  };
  const Shape c16{16};
  const Shape empty{0};
  CHECK_THAT(error(Shape{kUnknownDim, 7, 7, 16}, {Shape{8}, c16, c16, c16}, {}),
             Contains("bn (FusedBatchNorm): scale [8] does not match x [?,7,7,16], which has 16 "
                      "channels (NHWC): it needs one entry per channel"));
  CHECK_THAT(error(Shape{2, 16, 7, 7}, {c16, c16, c16, Shape{7}}, {.data_format = "NCHW"}),
             Contains("bn (FusedBatchNorm): variance [7] does not match x [2,16,7,7], which has "
                      "16 channels (NCHW): it needs one entry per channel"));
  CHECK_THAT(error(Shape{2, 7, 7, kUnknownDim}, {c16, Shape{8}, c16, c16}, {}),
             Contains("bn (FusedBatchNorm): offset [8] does not match scale [16]: it needs one "
                      "entry per channel"));
  CHECK_THAT(error(Shape{1, 2, 2, 4}, {Shape{4}, Shape{4}, empty, empty}, {.is_training = false}),
             Contains("bn (FusedBatchNorm): mean [0] does not match x [1,2,2,4], which has 4 "
                      "channels (NHWC): it needs one entry per channel; only training with "
                      "exponential_avg_factor 1 allows empty statistics"));
  CHECK_THAT(error(Shape{1, 2, 2, 4}, {Shape{4}, Shape{4}, empty, empty},
                   {.exponential_avg_factor = 0.5f}),
             Contains("bn (FusedBatchNorm): mean [0] does not match x [1,2,2,4]"));
  // Only mean and variance may be empty.
  CHECK_THAT(error(Shape{1, 2, 2, 4}, {empty, Shape{4}, empty, empty}, {}),
             Contains("bn (FusedBatchNorm): scale [0] does not match x [1,2,2,4], which has 4 "
                      "channels (NHWC): it needs one entry per channel"));
  CHECK_THAT(error(Shape{7, 7, 16}, {c16, c16, c16, c16}, {}),
             Contains("bn (FusedBatchNorm): x must have rank 4, got [7,7,16]"));
  CHECK_THAT(error(Shape{1, 7, 7, 16}, {c16, c16, Shape{1, 16}, c16}, {}),
             Contains("bn (FusedBatchNorm): mean must have rank 1, got [1,16]"));
  CHECK_THAT(error(Shape{1, 7, 7, 16}, {c16, c16, c16, c16}, {.data_format = "NCWH"}),
             Contains("bn (FusedBatchNorm): attr 'data_format' = \"NCWH\" is not one of 'NHWC', "
                      "'NCHW'"));

  Scope mixed = Scope::NewRootScope();
  Output c = F32(mixed, c16);
  FusedBatchNorm(mixed.WithOpName("bn"), F32(mixed, Shape{1, 2, 2, 16}),
                 Placeholder(mixed, DType::kF64, c16), c, c, c);
  CHECK_THAT(Message(mixed),
             Contains("bn (FusedBatchNorm): input 1 (scale) is f64 but should be f32 (attr T)"));
  Scope ints = Scope::NewRootScope();
  Output i = Placeholder(ints, DType::kI32, c16);
  FusedBatchNorm(ints.WithOpName("bn"), Placeholder(ints, DType::kI32, Shape{1, 2, 2, 16}), i, i, i,
                 i);
  CHECK_THAT(Message(ints), Contains("bn (FusedBatchNorm): attr 'T' = i32 is not allowed"));
}

TEST_CASE("SoftmaxCrossEntropyWithLogits gives a loss per example and a backprop per logit") {
  auto shapes = [](const Shape& features, const Shape& labels) {
    Scope s = Scope::NewRootScope();
    CrossEntropyOutputs out =
        SoftmaxCrossEntropyWithLogits(s.WithOpName("ce"), F32(s, features), F32(s, labels));
    if (!s.ok()) return Message(s);
    return out.loss.shape().ToString() + " " + out.backprop.shape().ToString();
  };
  CHECK(shapes(Shape{4, 10}, Shape{4, 10}) == "[4] [4,10]");
  CHECK(shapes(Shape{kUnknownDim, 10}, Shape{32, kUnknownDim}) == "[32] [32,10]");
  CHECK(shapes(Shape::UnknownRank(), Shape{8, 3}) == "[8] [8,3]");
  CHECK(shapes(Shape{8, 3}, Shape::UnknownRank()) == "[8] [8,3]");
  CHECK(shapes(Shape::UnknownRank(), Shape::UnknownRank()) == "[?] [?,?]");

  CHECK_THAT(shapes(Shape{4, 10}, Shape{5, 10}),
             Contains("ce (SoftmaxCrossEntropyWithLogits): labels [5,10] do not match features "
                      "[4,10]: both are [batch, classes]"));
  CHECK_THAT(shapes(Shape{4, 10}, Shape{kUnknownDim, 3}),
             Contains("ce (SoftmaxCrossEntropyWithLogits): labels [?,3] do not match features "
                      "[4,10]"));
  CHECK_THAT(shapes(Shape{2, 3, 4}, Shape{2, 3}),
             Contains("ce (SoftmaxCrossEntropyWithLogits): features must have rank 2, got "
                      "[2,3,4]"));
  CHECK_THAT(shapes(Shape{2, 3}, Shape{2}),
             Contains("ce (SoftmaxCrossEntropyWithLogits): labels must have rank 2, got [2]"));

  Scope root = Scope::NewRootScope();
  CrossEntropyOutputs f64 =
      SoftmaxCrossEntropyWithLogits(root, Placeholder(root, DType::kF64, Shape{2, 3}),
                                    Placeholder(root, DType::kF64, Shape{2, 3}));
  REQUIRE(root.ok());
  CHECK(f64.loss.dtype() == DType::kF64);
  CHECK(f64.backprop.dtype() == DType::kF64);
  CHECK(f64.backprop.index == 1);
  SoftmaxCrossEntropyWithLogits(root.WithOpName("ce"), F32(root, Shape{2, 3}),
                                Placeholder(root, DType::kF64, Shape{2, 3}));
  CHECK_THAT(Message(root), Contains("ce (SoftmaxCrossEntropyWithLogits): input 1 (labels) is f64 "
                                     "but should be f32 (attr T)"));
}

TEST_CASE("SparseSoftmaxCrossEntropyWithLogits takes class indices") {
  auto shapes = [](const Shape& features, const Shape& labels, DType label_type) {
    Scope s = Scope::NewRootScope();
    CrossEntropyOutputs out = SparseSoftmaxCrossEntropyWithLogits(
        s.WithOpName("xent"), F32(s, features), Placeholder(s, label_type, labels));
    if (!s.ok()) return Message(s);
    return out.loss.shape().ToString() + " " + out.backprop.shape().ToString();
  };
  CHECK(shapes(Shape{kUnknownDim, 10}, Shape{kUnknownDim}, DType::kI64) == "[?] [?,10]");
  CHECK(shapes(Shape{kUnknownDim, 10}, Shape{32}, DType::kI32) == "[32] [32,10]");
  CHECK(shapes(Shape{16, 10}, Shape{16}, DType::kI64) == "[16] [16,10]");
  CHECK(shapes(Shape::UnknownRank(), Shape{6}, DType::kI32) == "[6] [6,?]");
  CHECK(shapes(Shape{6, 4}, Shape::UnknownRank(), DType::kI32) == "[6] [6,4]");
  CHECK(shapes(Shape::UnknownRank(), Shape::UnknownRank(), DType::kI64) == "[?] [?,?]");

  CHECK_THAT(shapes(Shape{4, 10}, Shape{5}, DType::kI64),
             Contains("xent (SparseSoftmaxCrossEntropyWithLogits): labels [5] do not match "
                      "features [4,10]: labels are one class index per example, [batch]"));
  CHECK_THAT(shapes(Shape{kUnknownDim, 10}, Shape{kUnknownDim, 10}, DType::kI64),
             Contains("xent (SparseSoftmaxCrossEntropyWithLogits): labels must have rank 1, got "
                      "[?,10]"));
  CHECK_THAT(shapes(Shape{10}, Shape{10}, DType::kI64),
             Contains("xent (SparseSoftmaxCrossEntropyWithLogits): features must have rank 2, "
                      "got [10]"));
  CHECK_THAT(shapes(Shape{4, 10}, Shape{4}, DType::kF32),
             Contains("xent (SparseSoftmaxCrossEntropyWithLogits): attr 'Tlabels' = f32 is not "
                      "allowed; allowed: i32, i64"));

  Scope root = Scope::NewRootScope();
  Output logits = F32(root, Shape{4, 10});
  CrossEntropyOutputs i32 =
      SparseSoftmaxCrossEntropyWithLogits(root, logits, Placeholder(root, DType::kI32, Shape{4}));
  CrossEntropyOutputs i64 =
      SparseSoftmaxCrossEntropyWithLogits(root, logits, Placeholder(root, DType::kI64, Shape{4}));
  REQUIRE(root.ok());
  CHECK(i32.loss.node->attr("Tlabels").dtype() == DType::kI32);
  CHECK(i64.loss.node->attr("Tlabels").dtype() == DType::kI64);
  CHECK(i32.loss.dtype() == DType::kF32);
  CHECK(i32.backprop.dtype() == DType::kF32);
  const AttrDef* tlabels = i32.loss.node->op_def().FindAttr("Tlabels");
  REQUIRE(tlabels != nullptr);
  REQUIRE(tlabels->default_value.has_value());
  CHECK(tlabels->default_value->dtype() == DType::kI64);

  Scope ints = Scope::NewRootScope();
  SparseSoftmaxCrossEntropyWithLogits(ints.WithOpName("xent"),
                                      Placeholder(ints, DType::kI32, Shape{4, 10}),
                                      Placeholder(ints, DType::kI32, Shape{4}));
  CHECK_THAT(Message(ints), Contains("xent (SparseSoftmaxCrossEntropyWithLogits): attr 'T' = i32 "
                                     "is not allowed"));
}

// ---------------------------------------------------------------------------
// The backward ops.

TEST_CASE("The backward nn ops are registered, pure and not differentiable") {
  for (const char* name :
       {"ReluGrad", "Relu6Grad", "EluGrad", "SoftplusGrad", "LeakyReluGrad", "GeluGrad",
        "SigmoidGrad", "TanhGrad", "BiasAddGrad", "Conv2DBackpropInput", "Conv2DBackpropFilter",
        "MaxPoolGrad", "AvgPoolGrad", "FusedBatchNormGrad"}) {
    INFO(name);
    const OpDef* op = OpRegistry::Global().Find(name);
    REQUIRE(op != nullptr);
    CHECK_FALSE(op->is_differentiable());
    CHECK_FALSE(op->is_stateful());
  }
  // TensorFlow's argument names and order.
  const OpDef* bn = OpRegistry::Global().Find("FusedBatchNormGrad");
  REQUIRE(bn->inputs().size() == 5);
  CHECK(bn->inputs()[3].name == "reserve_space_1");
  REQUIRE(bn->outputs().size() == 5);
  CHECK(bn->outputs()[2].name == "offset_backprop");
  CHECK(bn->outputs()[4].name == "reserve_space_4");
  const OpDef* tanh = OpRegistry::Global().Find("TanhGrad");
  CHECK(tanh->inputs()[0].name == "y");
  CHECK(tanh->inputs()[1].name == "dy");
  CHECK(tanh->outputs()[0].name == "z");
  const OpDef* input = OpRegistry::Global().Find("Conv2DBackpropInput");
  CHECK(input->inputs()[0].name == "input_sizes");
  CHECK(input->inputs()[0].fixed_type == DType::kI32);
  CHECK(OpRegistry::Global().Find("EluGrad")->inputs()[1].name == "outputs");
}

TEST_CASE("Activation gradients merge the shapes of their two inputs") {
  using Builder = Output (*)(const Scope&, Output, Output);
  const std::vector<std::pair<const char*, Builder>> grads = {
      {"ReluGrad", ReluGrad},
      {"Relu6Grad", Relu6Grad},
      {"EluGrad", EluGrad},
      {"SoftplusGrad", SoftplusGrad},
      {"LeakyReluGrad", [](const Scope& s, Output a, Output b) { return LeakyReluGrad(s, a, b); }},
      {"GeluGrad", [](const Scope& s, Output a, Output b) { return GeluGrad(s, a, b); }},
      {"SigmoidGrad", SigmoidGrad},
      {"TanhGrad", TanhGrad},
  };
  for (const auto& [name, build] : grads) {
    INFO(name);
    Scope root = Scope::NewRootScope();
    Output merged = build(root, F32(root, Shape{kUnknownDim, 5}), F32(root, Shape{3, kUnknownDim}));
    Output unknown = build(root, F32(root, Shape::UnknownRank()), F32(root, Shape{2, 2}));
    Output f64 = build(root, Placeholder(root, DType::kF64, Shape{}),
                       Placeholder(root, DType::kF64, Shape{}));
    REQUIRE(root.ok());
    CHECK(merged.shape().ToString() == "[3,5]");
    CHECK(unknown.shape().ToString() == "[2,2]");
    CHECK(f64.dtype() == DType::kF64);
    CHECK(merged.node->op() == name);
  }
  auto error = [](Builder build) {
    Scope s = Scope::NewRootScope();
    build(s.WithOpName("g"), F32(s, Shape{2, 3}), F32(s, Shape{2, 4}));
    return Message(s);
  };
  CHECK_THAT(error(ReluGrad), Contains("g (ReluGrad): gradients [2,3] and features [2,4] must "
                                       "have the same shape"));
  CHECK_THAT(error(EluGrad), Contains("g (EluGrad): gradients [2,3] and outputs [2,4] must "
                                      "have the same shape"));
  CHECK_THAT(error(TanhGrad),
             Contains("g (TanhGrad): y [2,3] and dy [2,4] must have the same shape"));
  Scope rank = Scope::NewRootScope();
  SigmoidGrad(rank.WithOpName("g"), F32(rank, Shape{6}), F32(rank, Shape{2, 3}));
  CHECK_THAT(Message(rank), Contains("g (SigmoidGrad): y [6] and dy [2,3] must have the same "
                                     "shape"));
  Scope types = Scope::NewRootScope();
  ReluGrad(types.WithOpName("g"), F32(types, Shape{2}), Placeholder(types, DType::kF64, Shape{2}));
  CHECK_FALSE(types.ok());

  Scope attrs = Scope::NewRootScope();
  Output leaky = LeakyReluGrad(attrs, F32(attrs, Shape{2}), F32(attrs, Shape{2}), {.alpha = 0.5f});
  Output gelu = GeluGrad(attrs, F32(attrs, Shape{2}), F32(attrs, Shape{2}), {.approximate = true});
  Output defaults = LeakyReluGrad(attrs, F32(attrs, Shape{2}), F32(attrs, Shape{2}));
  REQUIRE(attrs.ok());
  CHECK(leaky.node->attr("alpha").f() == 0.5f);
  CHECK(defaults.node->attr("alpha").f() == 0.2f);
  CHECK(gelu.node->attr("approximate").b());
}

TEST_CASE("BiasAddGrad sums to one entry per channel") {
  auto shape = [](const Shape& value, const std::string& format) {
    Scope s = Scope::NewRootScope();
    Output y = BiasAddGrad(s.WithOpName("bg"), F32(s, value), {.data_format = format});
    return ShapeOrError(s, y);
  };
  CHECK(shape(Shape{8, 7, 7, 16}, "NHWC") == "[16]");
  CHECK(shape(Shape{8, 16, 7, 7}, "NCHW") == "[16]");
  CHECK(shape(Shape{5}, "NHWC") == "[5]");
  CHECK(shape(Shape{4, 3, 10}, "NCHW") == "[3]");
  CHECK(shape(Shape{kUnknownDim, kUnknownDim}, "NHWC") == "[?]");
  CHECK(shape(Shape::UnknownRank(), "NHWC") == "[?]");
  CHECK_THAT(shape(Shape{}, "NHWC"),
             Contains("bg (BiasAddGrad): out_backprop must have rank at least 1, got []"));
  CHECK_THAT(shape(Shape{4, 3}, "NCHW"),
             Contains("bg (BiasAddGrad): out_backprop must have rank at least 3, got [4,3]"));
}

// Conv2DBackpropInput named "cbi" with input_sizes `sizes` (a Const when
// given, else an i32 placeholder of unknown value) and f32 placeholders.
std::string BackpropInput(const std::optional<std::vector<int32_t>>& sizes, const Shape& filter,
                          const Shape& dy, const Conv2DOptions& options) {
  Scope s = Scope::NewRootScope();
  Output sizes_out = sizes ? Const(s, *sizes) : Placeholder(s, DType::kI32, Shape{4});
  Output y =
      Conv2DBackpropInput(s.WithOpName("cbi"), sizes_out, F32(s, filter), F32(s, dy), options);
  return ShapeOrError(s, y);
}

std::string BackpropFilter(const Shape& input, const std::optional<std::vector<int32_t>>& sizes,
                           const Shape& dy, const Conv2DOptions& options) {
  Scope s = Scope::NewRootScope();
  Output sizes_out = sizes ? Const(s, *sizes) : Placeholder(s, DType::kI32, Shape{4});
  Output y =
      Conv2DBackpropFilter(s.WithOpName("cbf"), F32(s, input), sizes_out, F32(s, dy), options);
  return ShapeOrError(s, y);
}

TEST_CASE("Conv2D backprop ops take their output shape from the sizes input") {
  const Conv2DOptions same{.strides = {1, 2, 2, 1}, .padding = "SAME"};
  // Forward: [2,9,9,3] * [3,3,3,8] stride 2 SAME -> [2,5,5,8].
  CHECK(BackpropInput(std::vector<int32_t>{2, 9, 9, 3}, Shape{3, 3, 3, 8}, Shape{2, 5, 5, 8},
                      same) == "[2,9,9,3]");
  // Unknown sizes: rank 4, channels from the filter, batch from out_backprop.
  CHECK(BackpropInput(std::nullopt, Shape{3, 3, 3, 8}, Shape{2, 5, 5, 8}, same) == "[2,?,?,3]");
  CHECK(BackpropInput(std::nullopt, Shape{3, 3, 3, 8}, Shape{2, 8, 5, 5},
                      {.strides = {1, 1, 2, 2}, .padding = "SAME", .data_format = "NCHW"}) ==
        "[2,3,?,?]");
  // VALID NCHW: (10 - 3) / 1 + 1 = 8 and (7 - 3) / 2 + 1 = 3.
  CHECK(BackpropInput(std::vector<int32_t>{1, 4, 10, 7}, Shape{3, 3, 4, 6}, Shape{1, 6, 8, 3},
                      {.strides = {1, 1, 1, 2}, .padding = "VALID", .data_format = "NCHW"}) ==
        "[1,4,10,7]");
  CHECK(BackpropFilter(Shape{2, 9, 9, 3}, std::vector<int32_t>{3, 3, 3, 8}, Shape{2, 5, 5, 8},
                       same) == "[3,3,3,8]");
  CHECK(BackpropFilter(Shape{2, 9, 9, 3}, std::nullopt, Shape{2, 5, 5, 8}, same) == "[?,?,3,8]");
  // EXPLICIT: 6 + 1 + 2 - 3 + 1 = 7.
  CHECK(BackpropFilter(Shape{1, 6, 6, 2}, std::vector<int32_t>{3, 3, 2, 4}, Shape{1, 7, 7, 4},
                       {.padding = "EXPLICIT", .explicit_paddings = {0, 0, 1, 2, 1, 2, 0, 0}}) ==
        "[3,3,2,4]");
}

TEST_CASE("Conv2D backprop ops reject inconsistent shapes, naming the node") {
  const Conv2DOptions same{.strides = {1, 2, 2, 1}, .padding = "SAME"};
  CHECK_THAT(
      BackpropInput(std::vector<int32_t>{2, 9, 9}, Shape{3, 3, 3, 8}, Shape{2, 5, 5, 8}, same),
      Contains("cbi (Conv2DBackpropInput): input_sizes must have 4 entries, got [2,9,9]"));
  CHECK_THAT(
      BackpropInput(std::vector<int32_t>{2, -9, 9, 3}, Shape{3, 3, 3, 8}, Shape{2, 5, 5, 8}, same),
      Contains("cbi (Conv2DBackpropInput): input_sizes must be >= 0, got [2,-9,9,3]"));
  {
    Scope s = Scope::NewRootScope();
    Conv2DBackpropInput(s.WithOpName("cbi"), Placeholder(s, DType::kI32, Shape{5}),
                        F32(s, Shape{3, 3, 3, 8}), F32(s, Shape{2, 5, 5, 8}), same);
    CHECK_THAT(Message(s), Contains("cbi (Conv2DBackpropInput): input_sizes must have 4 entries, "
                                    "got a tensor of shape [5]"));
  }
  {
    Scope s = Scope::NewRootScope();
    Conv2DBackpropInput(s.WithOpName("cbi"), F32(s, Shape{4}), F32(s, Shape{3, 3, 3, 8}),
                        F32(s, Shape{2, 5, 5, 8}), same);
    CHECK_THAT(Message(s), Contains("cbi (Conv2DBackpropInput)"));
  }
  CHECK_THAT(
      BackpropInput(std::vector<int32_t>{2, 9, 9, 3}, Shape{3, 3, 3, 8}, Shape{2, 4, 5, 8}, same),
      Contains("cbi (Conv2DBackpropInput): out_backprop [2,4,5,8] does not match "
               "[2,5,5,8], the Conv2D output for input [2,9,9,3] and filter [3,3,3,8]"));
  CHECK_THAT(
      BackpropInput(std::vector<int32_t>{2, 9, 9, 4}, Shape{3, 3, 3, 8}, Shape{2, 5, 5, 8}, same),
      Contains("cbi (Conv2DBackpropInput): input [2,9,9,4] has 4 channels (NHWC) but "
               "filter [3,3,3,8] expects 3"));
  CHECK_THAT(
      BackpropInput(std::vector<int32_t>{2, 9, 9, 3}, Shape{3, 3, 8}, Shape{2, 5, 5, 8}, same),
      Contains("cbi (Conv2DBackpropInput): filter must have rank 4, got [3,3,8]"));
  CHECK_THAT(BackpropInput(std::vector<int32_t>{2, 9, 9, 3}, Shape{3, 3, 3, 8}, Shape{2, 5, 5, 8},
                           {.strides = {1, 2, 2}, .padding = "SAME"}),
             Contains("cbi (Conv2DBackpropInput): strides must have 4 entries, got [1,2,2]"));

  CHECK_THAT(
      BackpropFilter(Shape{2, 9, 9, 3}, std::vector<int32_t>{3, 3, 3}, Shape{2, 5, 5, 8}, same),
      Contains("cbf (Conv2DBackpropFilter): filter_sizes must have 4 entries, got "
               "[3,3,3]"));
  CHECK_THAT(
      BackpropFilter(Shape{2, 9, 9, 3}, std::vector<int32_t>{3, 3, 3, 8}, Shape{2, 5, 5, 7}, same),
      Contains("cbf (Conv2DBackpropFilter): out_backprop [2,5,5,7] does not match "
               "[2,5,5,8], the Conv2D output for input [2,9,9,3] and filter [3,3,3,8]"));
  CHECK_THAT(
      BackpropFilter(Shape{2, 9, 3}, std::vector<int32_t>{3, 3, 3, 8}, Shape{2, 5, 5, 8}, same),
      Contains("cbf (Conv2DBackpropFilter): input must have rank 4, got [2,9,3]"));
  CHECK_THAT(BackpropFilter(Shape{1, 2, 8, 3}, std::vector<int32_t>{3, 3, 3, 8}, Shape{1, 1, 6, 8},
                            {.padding = "VALID"}),
             Contains("cbf (Conv2DBackpropFilter): the filter height 3 is larger than the input "
                      "height 2 with VALID padding"));
}

TEST_CASE("Pooling gradients have the original input's shape") {
  const PoolOptions k3s2{.ksize = {1, 3, 3, 1}, .strides = {1, 2, 2, 1}, .padding = "SAME"};
  auto max_grad = [](const Shape& x, const Shape& y, const Shape& dy, const PoolOptions& o) {
    Scope s = Scope::NewRootScope();
    Output g = MaxPoolGrad(s.WithOpName("mpg"), F32(s, x), F32(s, y), F32(s, dy), o);
    return ShapeOrError(s, g);
  };
  // ceil(9 / 2) = 5.
  CHECK(max_grad(Shape{2, 9, 9, 4}, Shape{2, 5, 5, 4}, Shape{2, 5, 5, 4}, k3s2) == "[2,9,9,4]");
  CHECK(max_grad(Shape::UnknownRank(), Shape{2, 5, 5, 4}, Shape{2, 5, 5, 4}, k3s2) == "[?,?,?,?]");
  CHECK(max_grad(Shape{1, 4, 9, 9}, Shape{1, 4, 4, 4}, Shape{1, 4, 4, 4},
                 {.ksize = {1, 1, 2, 2}, .strides = {1, 1, 2, 2}, .data_format = "NCHW"}) ==
        "[1,4,9,9]");
  CHECK_THAT(max_grad(Shape{2, 9, 9, 4}, Shape{2, 5, 5, 4}, Shape{2, 4, 4, 4}, k3s2),
             Contains("mpg (MaxPoolGrad): grad [2,4,4,4] does not match [2,5,5,4], the MaxPool "
                      "output for orig_input [2,9,9,4]"));
  CHECK_THAT(max_grad(Shape{2, 9, 9, 4}, Shape{2, 5, 5, 3}, Shape{2, 5, 5, 4}, k3s2),
             Contains("mpg (MaxPoolGrad): orig_output [2,5,5,3] does not match [2,5,5,4], the "
                      "MaxPool output for orig_input [2,9,9,4]"));
  CHECK_THAT(max_grad(Shape{9, 9, 4}, Shape{2, 5, 5, 4}, Shape{2, 5, 5, 4}, k3s2),
             Contains("mpg (MaxPoolGrad): orig_input must have rank 4, got [9,9,4]"));
  CHECK_THAT(
      max_grad(Shape{2, 9, 9, 4}, Shape{2, 5, 5, 4}, Shape{2, 5, 5, 4}, {.ksize = {2, 2, 2, 1}}),
      Contains("mpg (MaxPoolGrad): ksize must be 1 in the batch and channel dims"));

  auto avg_grad = [](const std::optional<std::vector<int32_t>>& sizes, const Shape& dy,
                     const PoolOptions& o) {
    Scope s = Scope::NewRootScope();
    Output shape = sizes ? Const(s, *sizes) : Placeholder(s, DType::kI32, Shape{4});
    Output g = AvgPoolGrad(s.WithOpName("apg"), shape, F32(s, dy), o);
    return ShapeOrError(s, g);
  };
  CHECK(avg_grad(std::vector<int32_t>{2, 9, 9, 4}, Shape{2, 5, 5, 4}, k3s2) == "[2,9,9,4]");
  CHECK(avg_grad(std::nullopt, Shape{2, 5, 5, 4}, k3s2) == "[2,?,?,4]");
  // VALID: (9 - 3) / 2 + 1 = 4.
  CHECK(avg_grad(std::vector<int32_t>{2, 9, 9, 4}, Shape{2, 4, 4, 4},
                 {.ksize = {1, 3, 3, 1}, .strides = {1, 2, 2, 1}}) == "[2,9,9,4]");
  CHECK_THAT(avg_grad(std::vector<int32_t>{2, 9, 9, 4}, Shape{2, 5, 5, 4},
                      {.ksize = {1, 3, 3, 1}, .strides = {1, 2, 2, 1}}),
             Contains("apg (AvgPoolGrad): grad [2,5,5,4] does not match [2,4,4,4], the AvgPool "
                      "output for an input of shape [2,9,9,4]"));
  CHECK_THAT(avg_grad(std::vector<int32_t>{9, 9, 4}, Shape{2, 5, 5, 4}, k3s2),
             Contains("apg (AvgPoolGrad): orig_input_shape must have 4 entries, got [9,9,4]"));
  CHECK_THAT(avg_grad(std::vector<int32_t>{2, 9, 9, 4}, Shape{5, 5, 4}, k3s2),
             Contains("apg (AvgPoolGrad): grad must have rank 4, got [5,5,4]"));
}

TEST_CASE("FusedBatchNormGrad yields x_backprop, two per-channel sums and two empty outputs") {
  Scope root = Scope::NewRootScope();
  Output c16 = F32(root, Shape{16});
  FusedBatchNormGradOutputs g =
      FusedBatchNormGrad(root, F32(root, Shape{kUnknownDim, 7, 7, 16}),
                         F32(root, Shape{8, 7, kUnknownDim, 16}), c16, c16, c16);
  REQUIRE(root.ok());
  CHECK(g.x_backprop.shape().ToString() == "[8,7,7,16]");
  CHECK(g.scale_backprop.shape().ToString() == "[16]");
  CHECK(g.offset_backprop.shape().ToString() == "[16]");
  CHECK(g.offset_backprop.index == 2);
  const Node& node = *g.x_backprop.node;
  CHECK(node.num_outputs() == 5);
  CHECK(node.output_shape(3).ToString() == "[0]");
  CHECK(node.output_shape(4).ToString() == "[0]");
  CHECK(node.attr("epsilon").f() == 0.0001f);
  CHECK(node.attr("is_training").b());
  CHECK(node.attr("data_format").s() == "NHWC");

  Output unknown_x = F32(root, Shape::UnknownRank());
  FusedBatchNormGradOutputs nchw =
      FusedBatchNormGrad(root, unknown_x, unknown_x, F32(root, Shape{kUnknownDim}),
                         F32(root, Shape{5}), F32(root, Shape{kUnknownDim}),
                         {.epsilon = 0.01f, .data_format = "NCHW", .is_training = false});
  REQUIRE(root.ok());
  CHECK(nchw.x_backprop.shape().ToString() == "[?,5,?,?]");
  CHECK(nchw.scale_backprop.shape().ToString() == "[5]");
  CHECK(nchw.x_backprop.node->attr("epsilon").f() == 0.01f);
  CHECK_FALSE(nchw.x_backprop.node->attr("is_training").b());

  auto error = [](const Shape& dy, const Shape& x, const std::vector<Shape>& vectors,
                  const std::string& format) {
    Scope s = Scope::NewRootScope();
    FusedBatchNormGradOutputs out =
        FusedBatchNormGrad(s.WithOpName("bng"), F32(s, dy), F32(s, x), F32(s, vectors[0]),
                           F32(s, vectors[1]), F32(s, vectors[2]), {.data_format = format});
    CHECK(out.x_backprop.node == nullptr);
    return Message(s);
  };
  const std::vector<Shape> c3 = {Shape{3}, Shape{3}, Shape{3}};
  CHECK_THAT(error(Shape{2, 4, 4, 3}, Shape{2, 4, 5, 3}, c3, "NHWC"),
             Contains("bng (FusedBatchNormGrad): y_backprop [2,4,4,3] and x [2,4,5,3] must have "
                      "the same shape"));
  CHECK_THAT(error(Shape{2, 4, 4, 3}, Shape{2, 4, 4, 3}, {Shape{3}, Shape{4}, Shape{3}}, "NHWC"),
             Contains("bng (FusedBatchNormGrad): reserve_space_1 [4] does not match x [2,4,4,3], "
                      "which has 3 channels (NHWC): it needs one entry per channel"));
  CHECK_THAT(error(Shape{2, 3, 4, 4}, Shape{2, 3, 4, 4}, {Shape{4}, Shape{3}, Shape{3}}, "NCHW"),
             Contains("bng (FusedBatchNormGrad): scale [4] does not match x [2,3,4,4], which has "
                      "3 channels (NCHW)"));
  CHECK_THAT(
      error(Shape::UnknownRank(), Shape::UnknownRank(), {Shape{3}, Shape{3}, Shape{2}}, "NHWC"),
      Contains("bng (FusedBatchNormGrad): reserve_space_2 [2] does not match scale [3]"));
  CHECK_THAT(error(Shape{4, 3}, Shape::UnknownRank(), c3, "NHWC"),
             Contains("bng (FusedBatchNormGrad): y_backprop must have rank 4, got [4,3]"));
  CHECK_THAT(error(Shape{2, 4, 4, 3}, Shape{2, 4, 4, 3}, {Shape{3, 1}, Shape{3}, Shape{3}}, "NHWC"),
             Contains("bng (FusedBatchNormGrad): scale must have rank 1, got [3,1]"));
}

}  // namespace
}  // namespace sluice
