// The layout family's CPU kernels (cpu/layout.cc) against the plain ops:
// conversions, blocked convolution with its epilogue, blocked pooling, and
// the shapes and errors of the ops (graph/ops/layout.h).
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "graph/ops/layout.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "tests/pass_test_util.h"

namespace sluice {
namespace {

using testing::CheckClose;
using testing::RunUnoptimised;

Tensor RandomTensor(const Shape& shape, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  Tensor t(DType::kF32, shape);
  for (float& v : t.flat<float>()) v = u(rng);
  return t;
}

TEST_CASE("_ToBlocked puts channel c at [n, c/b, h, w, c%b] and _FromBlocked undoes it") {
  for (int64_t block : {4, 8, 16}) {
    INFO("block " << block);
    Scope root = Scope::NewRootScope();
    const Shape nhwc{2, 3, 5, 32};
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, nhwc);
    Output blocked = ToBlocked(root.WithOpName("blocked"), x, block);
    Output back = FromBlocked(root.WithOpName("back"), blocked);
    REQUIRE(root.ok());
    CHECK(blocked.shape() == Shape{2, 32 / block, 3, 5, block});
    CHECK(back.shape() == nhwc);
    const Tensor in = RandomTensor(nhwc, 1);
    const std::vector<Tensor> out =
        RunUnoptimised(*root.graph(), {{"x", in}}, {"blocked", "back"});
    const float* b = out[0].data<float>();
    const float* xs = in.data<float>();
    bool placed = true;
    for (int64_t n = 0; n < 2; ++n) {
      for (int64_t h = 0; h < 3; ++h) {
        for (int64_t w = 0; w < 5; ++w) {
          for (int64_t c = 0; c < 32; ++c) {
            const int64_t at = (((n * (32 / block) + c / block) * 3 + h) * 5 + w) * block + c % block;
            placed &= b[at] == xs[((n * 3 + h) * 5 + w) * 32 + c];
          }
        }
      }
    }
    CHECK(placed);
    CheckClose({in}, {out[1]}, 0);
  }
}

// conv(x) [+ bias] [+ residual] [relu] with the plain ops, and blocked.
TEST_CASE("_BlockedConv2D computes Conv2D and its epilogue") {
  struct Case {
    int64_t in_c;
    bool blocked_input;
    std::vector<std::string> fused_ops;
    std::string padding;
    int64_t stride, dilation;
  };
  const std::vector<Case> cases = {
      {1, false, {}, "SAME", 1, 1},
      {3, false, {"BiasAdd", "Relu"}, "VALID", 2, 1},
      {16, true, {"BiasAdd"}, "SAME", 1, 2},
      {32, true, {"BiasAdd", "Add", "Relu"}, "SAME", 1, 1},
      {16, true, {"BiasAdd", "Add", "LeakyRelu"}, "VALID", 1, 1},
      {32, true, {}, "VALID", 2, 1},
  };
  for (const Case& c : cases) {
    INFO("in_c " << c.in_c << " fused_ops " << c.fused_ops.size() << " " << c.padding);
    Scope root = Scope::NewRootScope();
    const Shape nhwc{2, 9, 10, c.in_c};
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, nhwc);
    Output filter = Const(root, RandomTensor(Shape{3, 3, c.in_c, 32}, 2));
    Output bias = Const(root, RandomTensor(Shape{32}, 3));
    const Conv2DOptions window = {.strides = {1, c.stride, c.stride, 1},
                                  .padding = c.padding,
                                  .dilations = {1, c.dilation, c.dilation, 1}};
    Output expected = Conv2D(root, x, filter, window);
    const Shape out_shape = expected.shape();
    Output residual = Placeholder(root.WithOpName("r"), DType::kF32, out_shape);
    std::vector<Output> args;
    for (const std::string& op : c.fused_ops) {
      if (op == "BiasAdd") {
        expected = BiasAdd(root, expected, bias);
        args.push_back(bias);
      } else if (op == "Add") {
        expected = Add(root, expected, residual);
        args.push_back(ToBlocked(root, residual, 16));
      } else if (op == "Relu") {
        expected = Relu(root, expected);
      } else if (op == "LeakyRelu") {
        expected = LeakyRelu(root, expected, {.alpha = 0.2f});
      }
    }
    expected = Identity(root.WithOpName("expected"), expected);
    BlockedConv2DOptions options;
    options.conv = window;
    options.block = 16;
    options.blocked_input = c.blocked_input;
    options.fused_ops = c.fused_ops;
    Output input = c.blocked_input ? ToBlocked(root, x, 16) : x;
    Output blocked = BlockedConv2D(root.WithOpName("conv"), input, filter, args, options);
    FromBlocked(root.WithOpName("actual"), blocked);  // fetched by name below
    INFO(root.status().ToString());
    REQUIRE(root.ok());
    CHECK(blocked.shape() == BlockedShape(out_shape, 16));
    const std::vector<Tensor> out =
        RunUnoptimised(*root.graph(), {{"x", RandomTensor(nhwc, 4)}, {"r", RandomTensor(out_shape, 5)}},
                       {"expected", "actual"});
    CheckClose({out[0]}, {out[1]}, 1e-4);
  }
}

TEST_CASE("_BlockedMaxPool and _BlockedAvgPool compute MaxPool and AvgPool") {
  for (const std::string padding : {"SAME", "VALID"}) {
    INFO(padding);
    Scope root = Scope::NewRootScope();
    const Shape nhwc{3, 7, 9, 32};
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, nhwc);
    const PoolOptions pool = {.ksize = {1, 3, 3, 1}, .strides = {1, 2, 2, 1}, .padding = padding};
    Identity(root.WithOpName("max"), MaxPool(root, x, pool));
    Identity(root.WithOpName("avg"), AvgPool(root, x, pool));
    Output blocked = ToBlocked(root, x, 16);
    FromBlocked(root.WithOpName("bmax"), BlockedMaxPool(root, blocked, pool));
    FromBlocked(root.WithOpName("bavg"), BlockedAvgPool(root, blocked, pool));
    REQUIRE(root.ok());
    const std::vector<Tensor> out = RunUnoptimised(
        *root.graph(), {{"x", RandomTensor(nhwc, 6)}}, {"max", "avg", "bmax", "bavg"});
    CheckClose({out[0], out[1]}, {out[2], out[3]}, 1e-5);
  }
}

TEST_CASE("The layout ops infer their shapes") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root, DType::kF32, Shape{kUnknownDim, 6, 8, 32});
  Output b = ToBlocked(root, x, 16);
  CHECK(b.shape() == Shape{kUnknownDim, 2, 6, 8, 16});
  CHECK(FromBlocked(root, b).shape() == Shape{kUnknownDim, 6, 8, 32});
  BlockedConv2DOptions conv;
  conv.conv.padding = "VALID";
  Output filter = Const(root, Tensor::Zeros(DType::kF32, Shape{3, 3, 32, 48}));
  CHECK(BlockedConv2D(root, b, filter, {}, conv).shape() == Shape{kUnknownDim, 3, 4, 6, 16});
  conv.blocked_input = false;
  CHECK(BlockedConv2D(root, x, filter, {}, conv).shape() == Shape{kUnknownDim, 3, 4, 6, 16});
  CHECK(BlockedMaxPool(root, b).shape() == Shape{kUnknownDim, 2, 3, 4, 16});
  CHECK(BlockedAvgPool(root, b, {.padding = "SAME"}).shape() == Shape{kUnknownDim, 2, 3, 4, 16});
  REQUIRE(root.ok());
}

// The first error of `build`, which must name `node`.
template <typename Build>
void CheckError(const std::string& node, const std::string& message, Build build) {
  Scope root = Scope::NewRootScope();
  build(root);
  REQUIRE_FALSE(root.ok());
  const std::string error(root.status().message());
  INFO(error);
  CHECK(absl::StrContains(error, node));
  CHECK(absl::StrContains(error, message));
}

TEST_CASE("Bad layout attributes are errors naming the node") {
  CheckError("tb", "block must be at least 1, got 0", [](const Scope& root) {
    ToBlocked(root.WithOpName("tb"), Placeholder(root, DType::kF32, Shape{1, 2, 2, 16}), 0);
  });
  CheckError("tb", "do not divide into blocks of 16", [](const Scope& root) {
    ToBlocked(root.WithOpName("tb"), Placeholder(root, DType::kF32, Shape{1, 2, 2, 24}), 16);
  });
  CheckError("fb", "rank", [](const Scope& root) {
    FromBlocked(root.WithOpName("fb"), Placeholder(root, DType::kF32, Shape{1, 2, 2, 16}));
  });
  CheckError("conv", "do not divide into blocks of 16", [](const Scope& root) {
    BlockedConv2DOptions conv;
    conv.blocked_input = false;
    Output filter = Const(root, Tensor::Zeros(DType::kF32, Shape{1, 1, 3, 24}));
    BlockedConv2D(root.WithOpName("conv"), Placeholder(root, DType::kF32, Shape{1, 2, 2, 3}),
                  filter, {}, conv);
  });
  CheckError("conv", "not in blocks of 8", [](const Scope& root) {
    BlockedConv2DOptions conv;
    conv.block = 8;
    Output filter = Const(root, Tensor::Zeros(DType::kF32, Shape{1, 1, 32, 16}));
    BlockedConv2D(root.WithOpName("conv"),
                  Placeholder(root, DType::kF32, Shape{1, 2, 2, 2, 16}), filter, {}, conv);
  });
}

TEST_CASE("A block size the CPU kernels lack is an error naming the node at compile time") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{1, 2, 2, 10});
  ToBlocked(root.WithOpName("tb5"), x, 5);
  REQUIRE(root.ok());
  SessionOptions options;
  options.optimization.level = 0;
  auto session = Session::Create(*root.graph(), options);
  REQUIRE(session.ok());
  auto out = (*session)->Run({{"x", Tensor::Zeros(DType::kF32, Shape{1, 2, 2, 10})}}, {"tb5"});
  REQUIRE_FALSE(out.ok());
  INFO(out.status().ToString());
  CHECK(absl::StrContains(out.status().message(), "tb5"));
  CHECK(absl::StrContains(out.status().message(), "blocks of 5 channels"));
}

}  // namespace
}  // namespace sluice
