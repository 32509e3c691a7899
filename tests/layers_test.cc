// Layers: values computed by hand or from the variables read back, unknown
// batch dims, training versus inference behaviour, naming and errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "graph/layers.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "runtime/session.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

// A session over `root`'s graph with every variable initialised.
std::unique_ptr<Session> InitializedSession(const Scope& root) {
  REQUIRE(root.ok());
  Node* init = InitAllVariables(root);
  REQUIRE(root.ok());
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  REQUIRE((*session)->Run({}, {}, {init->name()}).ok());
  return std::move(*session);
}

std::vector<Tensor> RunOk(Session& session, const FeedList& feeds,
                          const std::vector<std::string>& fetches) {
  auto out = session.Run(feeds, fetches);
  if (!out.ok()) FAIL(out.status().ToString());
  return *out;
}

Tensor Make(const std::vector<float>& values, const Shape& shape) {
  auto t = Tensor::FromVector<float>(values, shape);
  REQUIRE(t.ok());
  return *t;
}

std::string ErrorOf(const Scope& root) { return std::string(root.status().message()); }

// An initializer yielding fixed values, for hand-computed references.
initializers::Initializer Values(std::vector<float> values) {
  return [values](const Scope& s, const Shape& shape, DType) { return Const(s, values, shape); };
}

TEST_CASE("Dense computes x · kernel + bias with an unknown batch") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 3});
  layers::Dense dense({.units = 2, .bias_initializer = initializers::Constant(0.5)});
  layers::Dense relu(
      {.units = 2, .activation = Relu, .kernel_initializer = initializers::GlorotUniform(3)});
  Output y = dense(root, x);
  Output r = relu(root, x);
  REQUIRE(root.ok());
  CHECK(y.shape() == Shape{kUnknownDim, 2});
  CHECK(dense.name() == "dense");
  CHECK(relu.name() == "dense_1");
  CHECK(dense.kernel().node->name() == "dense/kernel");
  CHECK(dense.bias().node->name() == "dense/bias");
  CHECK(dense.trainable_variables().size() == 2);
  auto session = InitializedSession(root);

  for (int64_t batch : {2, 5}) {
    std::vector<float> xs;
    for (int i = 0; i < batch * 3; ++i) xs.push_back(static_cast<float>(i % 5) - 1.5f);
    auto out = RunOk(*session, {{"x", Make(xs, Shape{batch, 3})}},
                     {y.name(), r.name(), "dense/kernel", "dense/bias", "dense_1/kernel"});
    REQUIRE(out[0].shape() == Shape{batch, 2});
    const std::vector<float> w = out[2].ToVector<float>();
    const std::vector<float> b = out[3].ToVector<float>();
    const std::vector<float> w1 = out[4].ToVector<float>();
    CHECK(b == std::vector<float>{0.5f, 0.5f});
    for (int64_t i = 0; i < batch; ++i) {
      for (int j = 0; j < 2; ++j) {
        double expected = b[j], expected_relu = 0;
        for (int k = 0; k < 3; ++k) {
          expected += xs[i * 3 + k] * w[k * 2 + j];
          expected_relu += xs[i * 3 + k] * w1[k * 2 + j];
        }
        CHECK(out[0].data<float>()[i * 2 + j] == Approx(expected).margin(1e-6));
        CHECK(out[1].data<float>()[i * 2 + j] == Approx(std::max(expected_relu, 0.0)).margin(1e-6));
      }
    }
  }
}

TEST_CASE("Calling a layer again reuses its variables") {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root.WithOpName("a"), DType::kF32, Shape{kUnknownDim, 4});
  Output b = Placeholder(root.WithOpName("b"), DType::kF32, Shape{kUnknownDim, 4});
  layers::Dense dense({.units = 3});
  Output ya = dense(root, a);
  Output yb = dense(root, b);
  REQUIRE(root.ok());
  CHECK(dense.variables().size() == 2);
  int variables = 0;
  for (Node* n : root.graph()->nodes()) variables += n->op() == "Variable";
  CHECK(variables == 2);
  CHECK(ya.node->name().rfind("dense/", 0) == 0);
  CHECK(yb.node->name().rfind("dense_1/", 0) == 0);
  CHECK(dense.name() == "dense");
  auto session = InitializedSession(root);
  Tensor value = Make({1, 2, 3, 4}, Shape{1, 4});
  auto out = RunOk(*session, {{"a", value}, {"b", value}}, {ya.name(), yb.name()});
  CHECK(out[0].ToVector<float>() == out[1].ToVector<float>());

  Output c = Placeholder(root.WithOpName("c"), DType::kF32, Shape{kUnknownDim, 5});
  CHECK_FALSE(dense(root, c).valid());
  CHECK_THAT(ErrorOf(root), Contains("input c (f32[?,5]) does not fit the kernel dense/kernel "
                                     "(f32[4,3]) made by the first call"));
}

TEST_CASE("Conv2D matches a hand-computed convolution") {
  // Input 3x3 holding 1..9; filter 0 sums each 2x2 window, filter 1 is
  // top-left minus bottom-right; bias 0.5 and -1.
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 3, 3, 1});
  layers::Conv2D conv({.filters = 2,
                       .kernel_size = {2, 2},
                       .kernel_initializer = Values({1, 1, 1, 0, 1, 0, 1, -1}),
                       .bias_initializer = Values({0.5f, -1.0f})});
  layers::Conv2D strided({.filters = 1,
                          .kernel_size = {2, 2},
                          .strides = {2, 2},
                          .padding = "SAME",
                          .activation = Relu,
                          .kernel_initializer = initializers::Ones()});
  Output y = conv(root, x);
  Output z = strided(root, x);
  REQUIRE(root.ok());
  CHECK(conv.kernel().shape() == Shape{2, 2, 1, 2});
  CHECK(y.shape() == Shape{kUnknownDim, 2, 2, 2});
  CHECK(z.shape() == Shape{kUnknownDim, 2, 2, 1});
  CHECK(strided.name() == "conv2d_1");
  auto session = InitializedSession(root);
  auto out = RunOk(*session, {{"x", Make({1, 2, 3, 4, 5, 6, 7, 8, 9}, Shape{1, 3, 3, 1})}},
                   {y.name(), z.name()});
  // Window sums 12, 16, 24, 28 (+0.5); differences 1-5, 2-6, 4-8, 5-9 = -4 (-1).
  CHECK(out[0].ToVector<float>() == std::vector<float>{12.5f, -5, 16.5f, -5, 24.5f, -5, 28.5f, -5});
  // SAME with stride 2 pads one row and column after: windows
  // {1,2,4,5} {3,6} {7,8} {9}.
  CHECK(out[1].ToVector<float>() == std::vector<float>{12, 9, 15, 9});
}

TEST_CASE("Conv2D in NCHW gives the NHWC result transposed") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 1, 3, 3});
  layers::Conv2D conv({.filters = 2,
                       .kernel_size = {2, 2},
                       .data_format = "NCHW",
                       .kernel_initializer = Values({1, 1, 1, 0, 1, 0, 1, -1}),
                       .bias_initializer = Values({0.5f, -1.0f})});
  Output y = conv(root, x);
  REQUIRE(root.ok());
  CHECK(y.shape() == Shape{kUnknownDim, 2, 2, 2});
  auto session = InitializedSession(root);
  auto out =
      RunOk(*session, {{"x", Make({1, 2, 3, 4, 5, 6, 7, 8, 9}, Shape{1, 1, 3, 3})}}, {y.name()});
  CHECK(out[0].ToVector<float>() == std::vector<float>{12.5f, 16.5f, 24.5f, 28.5f, -5, -5, -5, -5});
}

TEST_CASE("MaxPool2D and AvgPool2D pool 2x2 windows") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 4, 4, 1});
  layers::MaxPool2D max_pool;
  layers::AvgPool2D avg_pool({.pool_size = {2, 2}, .strides = {1, 1}});
  Output m = max_pool(root, x);
  Output a = avg_pool(root, x);
  REQUIRE(root.ok());
  CHECK(max_pool.name() == "max_pooling2d");
  CHECK(m.shape() == Shape{kUnknownDim, 2, 2, 1});
  CHECK(a.shape() == Shape{kUnknownDim, 3, 3, 1});
  auto session = InitializedSession(root);
  std::vector<float> xs;
  for (int i = 1; i <= 16; ++i) xs.push_back(static_cast<float>(i));
  auto out = RunOk(*session, {{"x", Make(xs, Shape{1, 4, 4, 1})}}, {m.name(), a.name()});
  CHECK(out[0].ToVector<float>() == std::vector<float>{6, 8, 14, 16});
  // Stride 1: the mean of {i, i+1, i+4, i+5} is i + 2.5.
  CHECK(out[1].ToVector<float>() ==
        std::vector<float>{3.5f, 4.5f, 5.5f, 7.5f, 8.5f, 9.5f, 11.5f, 12.5f, 13.5f});
}

TEST_CASE("Flatten keeps an unknown batch dim") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 2, 3, 4});
  Output v = Placeholder(root.WithOpName("v"), DType::kF32, Shape{kUnknownDim, kUnknownDim, 2});
  layers::Flatten flatten;
  Output y = flatten(root, x);
  Output w = layers::Flatten()(root, v);
  REQUIRE(root.ok());
  CHECK(y.shape() == Shape{kUnknownDim, 24});
  auto session = InitializedSession(root);
  std::vector<float> xs;
  for (int i = 0; i < 48; ++i) xs.push_back(static_cast<float>(i));
  std::vector<float> vs(xs.begin(), xs.begin() + 12);
  auto out = RunOk(*session, {{"x", Make(xs, Shape{2, 2, 3, 4})}, {"v", Make(vs, Shape{3, 2, 2})}},
                   {y.name(), w.name()});
  CHECK(out[0].shape() == Shape{2, 24});
  CHECK(out[0].ToVector<float>() == xs);
  CHECK(out[1].shape() == Shape{3, 4});
  CHECK(out[1].ToVector<float>() == vs);
}

TEST_CASE("BatchNormalization normalises in training and updates the moving statistics") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 2});
  Output training = layers::TrainingFlag(root);
  CHECK(training.node->name() == "training");
  layers::BatchNormalization bn;
  Output y = bn(root, x, training);
  REQUIRE(root.ok());
  CHECK(y.shape() == Shape{kUnknownDim, 2});
  CHECK(bn.variables().size() == 4);
  CHECK(bn.trainable_variables().size() == 2);
  CHECK(bn.moving_mean().node->name() == "batch_normalization/moving_mean");
  CHECK_FALSE(bn.moving_mean().node->attr("trainable").b());
  auto session = InitializedSession(root);
  const Tensor xs = Make({1, 10, 2, 20, 3, 30, 4, 40}, Shape{4, 2});
  const std::vector<std::string> stats = {"batch_normalization/moving_mean",
                                          "batch_normalization/moving_variance"};

  // Channel 0: mean 2.5, biased variance 1.25, unbiased 5/3. Channel 1: ten
  // times the values, so mean 25, variances 125 and 500/3.
  const double mean[2] = {2.5, 25};
  const double biased[2] = {1.25, 125};
  const double unbiased[2] = {5.0 / 3, 500.0 / 3};
  const double eps = 0.001;
  auto trained = RunOk(*session, {{"x", xs}, {"training", Tensor::Scalar(true)}}, {y.name()});
  for (int i = 0; i < 4; ++i) {
    for (int c = 0; c < 2; ++c) {
      const double v = xs.data<float>()[i * 2 + c];
      CHECK(trained[0].data<float>()[i * 2 + c] ==
            Approx((v - mean[c]) / std::sqrt(biased[c] + eps)).margin(1e-5));
    }
  }
  // moving -= (moving - batch) * (1 - 0.99), from mean 0 and variance 1.
  auto after = RunOk(*session, {}, stats);
  for (int c = 0; c < 2; ++c) {
    CHECK(after[0].data<float>()[c] == Approx(0 - (0 - mean[c]) * 0.01).epsilon(1e-6));
    CHECK(after[1].data<float>()[c] == Approx(1 - (1 - unbiased[c]) * 0.01).epsilon(1e-6));
  }

  // Inference (the flag's default): the moving statistics normalise, and
  // they stay as they were.
  auto inferred = RunOk(*session, {{"x", xs}}, {y.name()});
  for (int i = 0; i < 4; ++i) {
    for (int c = 0; c < 2; ++c) {
      const double v = xs.data<float>()[i * 2 + c];
      const double mm = after[0].data<float>()[c];
      const double mv = after[1].data<float>()[c];
      CHECK(inferred[0].data<float>()[i * 2 + c] ==
            Approx((v - mm) / std::sqrt(mv + eps)).margin(1e-5));
    }
  }
  auto unchanged = RunOk(*session, {}, stats);
  CHECK(unchanged[0].ToVector<float>() == after[0].ToVector<float>());
  CHECK(unchanged[1].ToVector<float>() == after[1].ToVector<float>());

  // A second training step moves them again from where they are.
  RunOk(*session, {{"x", xs}, {"training", Tensor::Scalar(true)}}, {y.name()});
  auto twice = RunOk(*session, {}, stats);
  const double m1 = after[0].data<float>()[1];
  CHECK(twice[0].data<float>()[1] == Approx(m1 - (m1 - 25) * 0.01).epsilon(1e-6));
}

TEST_CASE("BatchNormalization on NHWC input with scale and offset") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 2, 2, 1});
  Output training = layers::TrainingFlag(root, /*default_value=*/true);
  layers::BatchNormalization bn({.momentum = 0.5,
                                 .gamma_initializer = initializers::Constant(2),
                                 .moving_variance_initializer = initializers::Constant(3)});
  Output y = bn(root, x, training);
  REQUIRE(root.ok());
  CHECK(bn.gamma().shape() == Shape{1});
  auto session = InitializedSession(root);
  // Mean 2.5, biased variance 1.25, unbiased 5/3; y = 2 * (x - 2.5) / sqrt(1.251) + 0.
  auto out = RunOk(*session, {{"x", Make({1, 2, 3, 4}, Shape{1, 2, 2, 1})}}, {y.name()});
  for (int i = 0; i < 4; ++i) {
    CHECK(out[0].data<float>()[i] == Approx(2 * (i + 1 - 2.5) / std::sqrt(1.251)).margin(1e-5));
  }
  auto stats = RunOk(*session, {},
                     {"batch_normalization/moving_mean", "batch_normalization/moving_variance"});
  CHECK(stats[0].data<float>()[0] == Approx(1.25));
  CHECK(stats[1].data<float>()[0] == Approx(3 - (3 - 5.0 / 3) * 0.5));
}

TEST_CASE("Dropout zeros about rate of the elements and scales the rest exactly") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 500});
  Output training = layers::TrainingFlag(root);
  layers::Dropout dropout({.rate = 0.3, .seed = 7});
  Output y = dropout(root, x, training);
  REQUIRE(root.ok());
  CHECK(dropout.name() == "dropout");
  CHECK(dropout.variables().empty());
  std::vector<float> xs;
  for (int i = 0; i < 200 * 500; ++i) xs.push_back(static_cast<float>(i % 7) + 1);
  const Tensor input = Make(xs, Shape{200, 500});
  const float scale = static_cast<float>(1.0 / (1.0 - 0.3));
  const FeedList train_feeds = {{"x", input}, {"training", Tensor::Scalar(true)}};

  auto session = InitializedSession(root);
  auto first = RunOk(*session, train_feeds, {y.name()})[0].ToVector<float>();
  int zeros = 0;
  bool exact = true;
  for (size_t i = 0; i < xs.size(); ++i) {
    if (first[i] == 0) {
      ++zeros;
    } else if (first[i] != xs[i] * scale) {
      exact = false;
    }
  }
  CHECK(exact);
  CHECK(static_cast<double>(zeros) / xs.size() == Approx(0.3).margin(0.01));

  // Inference is the identity.
  CHECK(RunOk(*session, {{"x", input}}, {y.name()})[0].ToVector<float>() == xs);

  // The masks change from run to run, and a fresh session with the same seed
  // draws the same sequence.
  auto second = RunOk(*session, train_feeds, {y.name()})[0].ToVector<float>();
  CHECK(second != first);
  auto fresh = InitializedSession(root);
  CHECK(RunOk(*fresh, train_feeds, {y.name()})[0].ToVector<float>() == first);
  CHECK(RunOk(*fresh, train_feeds, {y.name()})[0].ToVector<float>() == second);
}

TEST_CASE("Layer names are unique like TensorFlow's") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 8, 8, 3});
  layers::Conv2D c1({.filters = 4, .kernel_size = {3, 3}});
  layers::Conv2D c2({.filters = 4, .kernel_size = {3, 3}});
  layers::Flatten flatten;
  layers::Dense d1({.units = 5});
  layers::Dense d2({.units = 5});
  Output y = d2(root, d1(root, flatten(root, c2(root, c1(root, x)))));
  REQUIRE(root.ok());
  CHECK(c1.name() == "conv2d");
  CHECK(c2.name() == "conv2d_1");
  CHECK(flatten.name() == "flatten");
  CHECK(d1.name() == "dense");
  CHECK(d2.name() == "dense_1");
  CHECK(d2.kernel().node->name() == "dense_1/kernel");
  CHECK(c2.kernel().node->name() == "conv2d_1/kernel");
  CHECK(c2.kernel().shape() == Shape{3, 3, 4, 4});
  CHECK(d1.kernel().shape() == Shape{4 * 4 * 4, 5});
  CHECK(y.shape() == Shape{kUnknownDim, 5});
}

TEST_CASE("Bad layer inputs and options are InvalidArgument naming the layer") {
  Scope root = Scope::NewRootScope();
  Output flat = Placeholder(root.WithOpName("flat"), DType::kF32, Shape{kUnknownDim, 4});
  Output image = Placeholder(root.WithOpName("image"), DType::kF32, Shape{kUnknownDim, 4, 4, 2});
  Output training = layers::TrainingFlag(root);
  SECTION("dense without units") {
    CHECK_FALSE(layers::Dense({})(root, flat).valid());
    CHECK(root.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(ErrorOf(root), Contains("dense: units must be positive, got 0"));
  }
  SECTION("dense on an image") {
    CHECK_FALSE(layers::Dense({.units = 3})(root, image).valid());
    CHECK_THAT(ErrorOf(root), Contains("dense: input image (f32[?,4,4,2]) must be [batch, "
                                       "features] with a known channel dim 1"));
  }
  SECTION("dense on integers") {
    Output ints = Placeholder(root.WithOpName("ints"), DType::kI32, Shape{2, 3});
    CHECK_FALSE(layers::Dense({.units = 3})(root, ints).valid());
    CHECK_THAT(ErrorOf(root), Contains("input ints (i32[2,3]) must have a floating dtype"));
  }
  SECTION("conv2d padding") {
    CHECK_FALSE(
        layers::Conv2D({.filters = 1, .kernel_size = {2, 2}, .padding = "FULL"})(root, image)
            .valid());
    CHECK_THAT(ErrorOf(root), Contains("conv2d: padding 'FULL' must be \"SAME\" or \"VALID\""));
  }
  SECTION("conv2d kernel size") {
    CHECK_FALSE(layers::Conv2D({.filters = 1})(root, image).valid());
    CHECK_THAT(ErrorOf(root), Contains("conv2d: kernel_size [0,0] must be positive"));
  }
  SECTION("conv2d on a matrix") {
    CHECK_FALSE(layers::Conv2D({.filters = 1, .kernel_size = {1, 1}})(root, flat).valid());
    CHECK_THAT(ErrorOf(root), Contains("input flat (f32[?,4]) must be NHWC"));
  }
  SECTION("pool data format") {
    CHECK_FALSE(layers::MaxPool2D({.data_format = "NDHWC"})(root, image).valid());
    CHECK_THAT(ErrorOf(root),
               Contains("max_pooling2d: data_format 'NDHWC' must be \"NHWC\" or \"NCHW\""));
  }
  SECTION("flatten of unknown rank") {
    Output any = Placeholder(root.WithOpName("any"), DType::kF32);
    CHECK_FALSE(layers::Flatten()(root, any).valid());
    CHECK_THAT(ErrorOf(root), Contains("flatten: input any (f32<unknown>) must have a known "
                                       "rank >= 1"));
  }
  SECTION("batch normalization flag that is not bool") {
    Output flag = Placeholder(root.WithOpName("flag"), DType::kF32, Shape{});
    CHECK_FALSE(layers::BatchNormalization()(root, flat, flag).valid());
    CHECK_THAT(ErrorOf(root), Contains("batch_normalization: training flag flag (f32[]) must "
                                       "be a bool scalar"));
  }
  SECTION("batch normalization on rank 3") {
    Output seq = Placeholder(root.WithOpName("seq"), DType::kF32, Shape{2, 3, 4});
    CHECK_FALSE(layers::BatchNormalization()(root, seq, training).valid());
    CHECK_THAT(ErrorOf(root), Contains("input seq (f32[2,3,4]) must have rank 2 or 4"));
  }
  SECTION("batch normalization on another axis") {
    CHECK_FALSE(layers::BatchNormalization({.axis = 1})(root, image, training).valid());
    CHECK_THAT(ErrorOf(root), Contains("axis 1 is not supported"));
  }
  SECTION("dropout rate") {
    CHECK_FALSE(layers::Dropout({.rate = 1})(root, flat, training).valid());
    CHECK_THAT(ErrorOf(root), Contains("dropout: rate 1 must be in [0, 1)"));
  }
  SECTION("a layer reused in another graph") {
    layers::Dense dense({.units = 2});
    REQUIRE(dense(root, flat).valid());
    Scope other = Scope::NewRootScope();
    Output x = Placeholder(other, DType::kF32, Shape{1, 4});
    CHECK_FALSE(dense(other, x).valid());
    CHECK_THAT(ErrorOf(other), Contains("layer 'dense' was built in another graph"));
  }
}

}  // namespace
}  // namespace sluice
