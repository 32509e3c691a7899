// Initializers: exact constants, the random families' ranges and moments,
// Keras fan computations, seeds, and MakeVariable's naming and errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "graph/initializers.h"
#include "graph/ops/state.h"
#include "runtime/session.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

// Builds `init` for `shape` in a fresh graph, runs it and returns the value.
Tensor Evaluate(const initializers::Initializer& init, const Shape& shape,
                DType dtype = DType::kF32) {
  Scope root = Scope::NewRootScope();
  Output value = init(root.NewSubScope("init"), shape, dtype);
  REQUIRE(root.ok());
  REQUIRE(value.valid());
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  auto out = (*session)->Run({}, {value.name()});
  REQUIRE(out.ok());
  return (*out)[0];
}

struct Moments {
  double mean = 0, variance = 0, min = 0, max = 0;
};
Moments MomentsOf(const Tensor& t) {
  const std::vector<float> v = t.ToVector<float>();
  Moments m;
  m.min = *std::min_element(v.begin(), v.end());
  m.max = *std::max_element(v.begin(), v.end());
  for (float x : v) m.mean += x;
  m.mean /= v.size();
  for (float x : v) m.variance += (x - m.mean) * (x - m.mean);
  m.variance /= v.size();
  return m;
}

TEST_CASE("Zeros, Ones and Constant fill exactly") {
  Tensor z = Evaluate(initializers::Zeros(), Shape{2, 3});
  CHECK(z.shape() == Shape{2, 3});
  CHECK(z.ToVector<float>() == std::vector<float>(6, 0.0f));
  CHECK(Evaluate(initializers::Ones(), Shape{4}).ToVector<float>() == std::vector<float>(4, 1.0f));
  Tensor c = Evaluate(initializers::Constant(2.5), Shape{3, 1}, DType::kF64);
  CHECK(c.dtype() == DType::kF64);
  CHECK(c.ToVector<double>() == std::vector<double>{2.5, 2.5, 2.5});
  Tensor i = Evaluate(initializers::Constant(-7), Shape{2}, DType::kI32);
  CHECK(i.ToVector<int32_t>() == std::vector<int32_t>{-7, -7});
  Tensor scalar = Evaluate(initializers::Constant(0.25), Shape{});
  CHECK(scalar.shape() == Shape{});
  CHECK(scalar.data<float>()[0] == 0.25f);
}

TEST_CASE("RandomUniform stays in range with the moments of a uniform") {
  // U[-1, 3): mean 1, variance (3 - -1)^2 / 12 = 4/3.
  Moments m = MomentsOf(Evaluate(initializers::RandomUniform(-1, 3, 5), Shape{200, 500}));
  CHECK(m.min >= -1.0);
  CHECK(m.max < 3.0);
  CHECK(m.mean == Approx(1.0).margin(0.02));
  CHECK(m.variance == Approx(4.0 / 3.0).epsilon(0.02));
}

TEST_CASE("RandomNormal and TruncatedNormal have the requested moments") {
  Moments n = MomentsOf(Evaluate(initializers::RandomNormal(2, 0.5, 3), Shape{100000}));
  CHECK(n.mean == Approx(2.0).margin(0.01));
  CHECK(std::sqrt(n.variance) == Approx(0.5).epsilon(0.02));

  // Truncated at two standard deviations; the variance of a standard normal
  // truncated to [-2, 2] is 0.8796^2 = 0.7737.
  Moments t = MomentsOf(Evaluate(initializers::TruncatedNormal(-1, 2, 3), Shape{100000}));
  CHECK(t.min >= -1 - 2 * 2);
  CHECK(t.max <= -1 + 2 * 2);
  CHECK(t.mean == Approx(-1.0).margin(0.02));
  CHECK(t.variance == Approx(4 * 0.87962566103423978 * 0.87962566103423978).epsilon(0.03));
}

TEST_CASE("Fans follow Keras for dense and convolution weights") {
  auto dense = initializers::ComputeFans(Shape{784, 256});
  CHECK(dense.fan_in == 784);
  CHECK(dense.fan_out == 256);
  auto conv = initializers::ComputeFans(Shape{5, 5, 1, 32});
  CHECK(conv.fan_in == 25);
  CHECK(conv.fan_out == 800);
  auto vec = initializers::ComputeFans(Shape{10});
  CHECK(vec.fan_in == 10);
  CHECK(vec.fan_out == 10);
  auto scalar = initializers::ComputeFans(Shape{});
  CHECK(scalar.fan_in == 1);
  CHECK(scalar.fan_out == 1);
}

TEST_CASE("Glorot and He uniform use the hand-computed limits") {
  // Dense [784, 256]: Glorot l = sqrt(6 / 1040) = 0.075955; He l = sqrt(6 / 784) = 0.087482.
  const double glorot_dense = std::sqrt(6.0 / (784 + 256));
  const double he_dense = std::sqrt(6.0 / 784);
  CHECK(glorot_dense == Approx(0.0759555).epsilon(1e-5));
  CHECK(he_dense == Approx(0.0874818).epsilon(1e-5));
  Moments g = MomentsOf(Evaluate(initializers::GlorotUniform(1), Shape{784, 256}));
  CHECK(g.min >= -glorot_dense);
  CHECK(g.max <= glorot_dense);
  // A uniform over [-l, l] reaches close to both ends and has variance l^2 / 3.
  CHECK(g.max > 0.99 * glorot_dense);
  CHECK(g.min < -0.99 * glorot_dense);
  CHECK(g.variance == Approx(glorot_dense * glorot_dense / 3).epsilon(0.02));
  Moments h = MomentsOf(Evaluate(initializers::HeUniform(1), Shape{784, 256}));
  CHECK(h.max <= he_dense);
  CHECK(h.max > 0.99 * he_dense);
  CHECK(h.variance == Approx(he_dense * he_dense / 3).epsilon(0.02));

  // Conv [5, 5, 1, 32]: fan_in 25, fan_out 800. Glorot l = sqrt(6 / 825) =
  // 0.085280; He l = sqrt(6 / 25) = 0.489898.
  const double glorot_conv = std::sqrt(6.0 / 825);
  const double he_conv = std::sqrt(6.0 / 25);
  Moments gc = MomentsOf(Evaluate(initializers::GlorotUniform(2), Shape{5, 5, 1, 32}));
  CHECK(gc.max <= glorot_conv);
  CHECK(gc.min >= -glorot_conv);
  CHECK(gc.max > 0.95 * glorot_conv);
  Moments hc = MomentsOf(Evaluate(initializers::HeUniform(2), Shape{5, 5, 1, 32}));
  CHECK(hc.max <= he_conv);
  CHECK(hc.min >= -he_conv);
  CHECK(hc.max > 0.95 * he_conv);
}

TEST_CASE("Glorot and He normal are truncated normals with the corrected stddev") {
  // Dense [784, 256]: Glorot stddev sqrt(2 / 1040) / 0.8796 = 0.049853; the
  // drawn values then have standard deviation sqrt(2 / 1040) = 0.043853.
  const double glorot = std::sqrt(2.0 / 1040) / 0.87962566103423978;
  Moments g = MomentsOf(Evaluate(initializers::GlorotNormal(4), Shape{784, 256}));
  CHECK(g.max <= 2 * glorot);
  CHECK(g.min >= -2 * glorot);
  CHECK(g.mean == Approx(0).margin(0.001));
  CHECK(std::sqrt(g.variance) == Approx(std::sqrt(2.0 / 1040)).epsilon(0.02));
  // Conv [5, 5, 1, 32]: He stddev sqrt(2 / 25) / 0.8796 = 0.321547.
  const double he = std::sqrt(2.0 / 25) / 0.87962566103423978;
  Moments h = MomentsOf(Evaluate(initializers::HeNormal(4), Shape{5, 5, 1, 32}));
  CHECK(h.max <= 2 * he);
  CHECK(h.min >= -2 * he);
  CHECK(std::sqrt(h.variance) == Approx(std::sqrt(2.0 / 25)).epsilon(0.06));
}

TEST_CASE("The same seed gives the same values, another seed others") {
  const Shape shape{64, 32};
  Tensor a = Evaluate(initializers::GlorotUniform(7), shape);
  Tensor b = Evaluate(initializers::GlorotUniform(7), shape);
  Tensor c = Evaluate(initializers::GlorotUniform(8), shape);
  CHECK(a.ToVector<float>() == b.ToVector<float>());
  CHECK(a.ToVector<float>() != c.ToVector<float>());
  CHECK(Evaluate(initializers::TruncatedNormal(0, 1, 9), shape).ToVector<float>() ==
        Evaluate(initializers::TruncatedNormal(0, 1, 9), shape).ToVector<float>());
}

TEST_CASE("MakeVariable names the variable and its initializer nodes") {
  Scope root = Scope::NewRootScope();
  Scope dense = root.NewSubScope("dense");
  Output w = initializers::MakeVariable(dense, "kernel", Shape{3, 2}, DType::kF32,
                                        initializers::Constant(0.5));
  Output b = initializers::MakeVariable(dense, "bias", Shape{2}, DType::kF32, initializers::Zeros(),
                                        /*trainable=*/false);
  Output w2 =
      initializers::MakeVariable(dense, "kernel", Shape{1}, DType::kF32, initializers::Ones());
  REQUIRE(root.ok());
  CHECK(w.node->name() == "dense/kernel");
  CHECK(w.node->op() == "Variable");
  CHECK(w.node->attr("trainable").b());
  CHECK_FALSE(b.node->attr("trainable").b());
  CHECK(w2.node->name() == "dense/kernel_1");
  CHECK(w.node->attr("initializer").s() == "dense/kernel/Assign");
  Node* assign = root.graph()->FindNode("dense/kernel/Assign");
  REQUIRE(assign != nullptr);
  CHECK(assign->input(1).node->name().rfind("dense/kernel/Initializer/", 0) == 0);

  Node* init = InitAllVariables(root);
  auto session = Session::Create(*root.graph());
  REQUIRE(session.ok());
  REQUIRE((*session)->Run({}, {}, {init->name()}).ok());
  auto out = (*session)->Run({}, {"dense/kernel", "dense/bias", "dense/kernel_1"});
  REQUIRE(out.ok());
  CHECK((*out)[0].ToVector<float>() == std::vector<float>(6, 0.5f));
  CHECK((*out)[1].ToVector<float>() == std::vector<float>{0, 0});
  CHECK((*out)[2].ToVector<float>() == std::vector<float>{1});
}

TEST_CASE("Bad requests are InvalidArgument naming the variable and the values") {
  SECTION("random initializer for an integer dtype") {
    Scope root = Scope::NewRootScope();
    Output v = initializers::MakeVariable(root, "counts", Shape{2}, DType::kI32,
                                          initializers::GlorotUniform());
    CHECK_FALSE(v.valid());
    CHECK(root.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(root.status().message()),
               Contains("counts/Initializer: GlorotUniform: cannot initialise a tensor of "
                        "dtype i32"));
  }
  SECTION("shape not fully defined") {
    Scope root = Scope::NewRootScope();
    Output v = initializers::MakeVariable(root, "w", Shape{kUnknownDim, 3}, DType::kF32,
                                          initializers::Zeros());
    CHECK_FALSE(v.valid());
    CHECK_THAT(std::string(root.status().message()),
               Contains("variable 'w': needs a fully defined shape, got [?,3]"));
  }
  SECTION("empty range") {
    Scope root = Scope::NewRootScope();
    initializers::MakeVariable(root, "w", Shape{2}, DType::kF32, initializers::RandomUniform(1, 1));
    CHECK_THAT(std::string(root.status().message()),
               Contains("w/Initializer: RandomUniform: minval 1 must be less than maxval 1"));
  }
  SECTION("negative stddev") {
    Scope root = Scope::NewRootScope();
    initializers::MakeVariable(root, "w", Shape{2}, DType::kF32,
                               initializers::TruncatedNormal(0, -1));
    CHECK_THAT(std::string(root.status().message()),
               Contains("TruncatedNormal: stddev -1 must be >= 0"));
  }
  SECTION("constant not representable in an integer dtype") {
    Scope root = Scope::NewRootScope();
    initializers::MakeVariable(root, "n", Shape{2}, DType::kI32, initializers::Constant(0.5));
    CHECK_THAT(std::string(root.status().message()),
               Contains("0.5 is not exactly representable as i32"));
  }
  SECTION("initializer returning a value of the wrong shape") {
    Scope root = Scope::NewRootScope();
    initializers::Initializer wrong = [](const Scope& s, const Shape&, DType dtype) {
      return initializers::Zeros()(s, Shape{5}, dtype);
    };
    initializers::MakeVariable(root, "w", Shape{2}, DType::kF32, wrong);
    CHECK_THAT(std::string(root.status().message()),
               Contains("w: initializer value w/Initializer/zeros is f32[5] but the variable is "
                        "f32[2]"));
  }
}

}  // namespace
}  // namespace sluice
