// Element-wise CPU kernels against plain references.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>

#include "cpu/broadcast.h"
#include "tests/kernel_test_util.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;
using testing::CompareTensors;
using testing::RandomTensor;
using testing::RunCpuKernel;

// Applies `f` to every element of `x` in double precision.
Tensor MapReference(const Tensor& x, const std::function<double(double)>& f) {
  Tensor out(x.dtype(), x.shape());
  VisitDType(x.dtype(), [&]<typename T>() {
    for (int64_t i = 0; i < x.num_elements(); ++i) {
      if constexpr (std::is_arithmetic_v<T>) {
        out.data<T>()[i] = static_cast<T>(f(x.ElementAsDouble(i)));
      }
    }
  });
  return out;
}

// The NumPy broadcast of `a` and `b` through `f`, with an index walk that
// shares no code with the kernels.
Tensor BroadcastReference(const Tensor& a, const Tensor& b, DType out_dtype,
                          const std::function<double(double, double)>& f) {
  Shape out_shape = *BroadcastShapes(a.shape(), b.shape());
  Tensor out(out_dtype, out_shape);
  const int rank = out_shape.rank();
  std::vector<int64_t> index(rank, 0);
  for (int64_t flat = 0; flat < out.num_elements(); ++flat) {
    int64_t rem = flat;
    for (int d = rank - 1; d >= 0; --d) {
      index[d] = rem % out_shape.dim(d);
      rem /= out_shape.dim(d);
    }
    auto offset = [&](const Shape& s) {
      int64_t off = 0;
      for (int d = 0; d < s.rank(); ++d) {
        const int od = rank - s.rank() + d;
        off = off * s.dim(d) + (s.dim(d) == 1 ? 0 : index[od]);
      }
      return off;
    };
    const double v = f(a.ElementAsDouble(offset(a.shape())), b.ElementAsDouble(offset(b.shape())));
    VisitDType(out_dtype, [&]<typename T>() {
      if constexpr (std::is_arithmetic_v<T>) out.data<T>()[flat] = static_cast<T>(v);
    });
  }
  return out;
}

TEST_CASE("Unary kernels match their definitions") {
  struct Case {
    const char* op;
    std::function<double(double)> f;
    double lo, hi;
  };
  const std::vector<Case> cases = {
      {"Neg", [](double x) { return -x; }, -3, 3},
      {"Square", [](double x) { return x * x; }, -3, 3},
      {"Abs", [](double x) { return std::fabs(x); }, -3, 3},
      {"Sign", [](double x) { return static_cast<double>((x > 0) - (x < 0)); }, -3, 3},
      {"Sqrt", [](double x) { return std::sqrt(x); }, 0, 9},
      {"Rsqrt", [](double x) { return 1 / std::sqrt(x); }, 0.1, 9},
      {"Exp", [](double x) { return std::exp(x); }, -5, 5},
      {"Log", [](double x) { return std::log(x); }, 0.01, 9},
      {"Relu", [](double x) { return x > 0 ? x : 0; }, -3, 3},
      {"Relu6", [](double x) { return std::min(std::max(x, 0.0), 6.0); }, -3, 9},
      {"Elu", [](double x) { return x > 0 ? x : std::exp(x) - 1; }, -3, 3},
      {"Sigmoid", [](double x) { return 1 / (1 + std::exp(-x)); }, -8, 8},
      {"Tanh", [](double x) { return std::tanh(x); }, -4, 4},
      {"Softplus", [](double x) { return std::log(1 + std::exp(x)); }, -8, 8},
  };
  for (const Case& c : cases) {
    for (DType dtype : {DType::kF32, DType::kF64}) {
      for (int64_t n : {1, 7, 33, 1000, 70000}) {
        INFO(c.op << " " << DTypeName(dtype) << " n=" << n);
        Tensor x = RandomTensor(dtype, Shape{n}, 17 + n, c.lo, c.hi);
        auto y = RunCpuKernel(c.op, {x});
        REQUIRE(y.ok());
        CHECK(CompareTensors((*y)[0], MapReference(x, c.f), 1e-5, 1e-6) == "");
      }
    }
  }
}

TEST_CASE("LeakyRelu and Gelu honour their attributes") {
  Tensor x = RandomTensor(DType::kF32, Shape{3, 5}, 3, -4, 4);
  auto leaky = RunCpuKernel("LeakyRelu", {x}, {{"alpha", 0.1f}});
  REQUIRE(leaky.ok());
  CHECK(CompareTensors((*leaky)[0], MapReference(x, [](double v) { return v > 0 ? v : 0.1 * v; }),
                       1e-6, 1e-7) == "");
  auto exact = RunCpuKernel("Gelu", {x}, {{"approximate", false}});
  REQUIRE(exact.ok());
  CHECK(CompareTensors((*exact)[0], MapReference(x, [](double v) {
                         return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
                       }),
                       1e-5, 1e-6) == "");
  auto approx = RunCpuKernel("Gelu", {x}, {{"approximate", true}});
  REQUIRE(approx.ok());
  CHECK(CompareTensors((*approx)[0], MapReference(x, [](double v) {
                         return 0.5 * v *
                                (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
                       }),
                       1e-5, 1e-6) == "");
}

TEST_CASE("Binary kernels broadcast like NumPy") {
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {Shape{}, Shape{}},          {Shape{7}, Shape{7}},          {Shape{7}, Shape{}},
      {Shape{}, Shape{7}},         {Shape{3, 1}, Shape{1, 4}},    {Shape{2, 3, 4}, Shape{4}},
      {Shape{2, 3, 4}, Shape{3, 1}}, {Shape{5, 1, 6}, Shape{1, 7, 1}},
      {Shape{0, 3}, Shape{3}},     {Shape{2, 1, 3, 1, 2}, Shape{4, 1, 5, 1}},
      {Shape{300, 200}, Shape{200}}, {Shape{300, 200}, Shape{300, 1}},
  };
  struct Case {
    const char* op;
    std::function<double(double, double)> f;
  };
  const std::vector<Case> cases = {
      {"Add", [](double a, double b) { return a + b; }},
      {"Sub", [](double a, double b) { return a - b; }},
      {"Mul", [](double a, double b) { return a * b; }},
      {"Div", [](double a, double b) { return a / b; }},
      {"Maximum", [](double a, double b) { return std::max(a, b); }},
      {"Minimum", [](double a, double b) { return std::min(a, b); }},
      {"Pow", [](double a, double b) { return std::pow(a, b); }},
  };
  for (const Case& c : cases) {
    for (const auto& [sa, sb] : shapes) {
      INFO(c.op << " " << sa.ToString() << " " << sb.ToString());
      Tensor a = RandomTensor(DType::kF32, sa, 1, 0.5, 3);
      Tensor b = RandomTensor(DType::kF32, sb, 2, 0.5, 3);
      auto y = RunCpuKernel(c.op, {a, b});
      REQUIRE(y.ok());
      CHECK(CompareTensors((*y)[0], BroadcastReference(a, b, DType::kF32, c.f), 1e-5, 1e-6) ==
            "");
    }
  }
}

TEST_CASE("Integer arithmetic follows C semantics and rejects bad divisors") {
  Tensor a = Tensor::FromVector<int32_t>({7, -7, 9, INT32_MIN});
  Tensor b = Tensor::FromVector<int32_t>({2, 2, -3, -1});
  auto q = RunCpuKernel("Div", {a, b});
  REQUIRE(q.ok());
  CHECK((*q)[0].ToVector<int32_t>() == std::vector<int32_t>{3, -3, -3, INT32_MIN});

  Tensor zero = Tensor::FromVector<int32_t>({1, 0, 1, 1});
  auto bad = RunCpuKernel("Div", {a, zero});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "Integer division by zero");

  Tensor base = Tensor::FromVector<int64_t>({2, 3, -2, 5});
  Tensor exp = Tensor::FromVector<int64_t>({10, 0, 3, 1});
  auto p = RunCpuKernel("Pow", {base, exp});
  REQUIRE(p.ok());
  CHECK((*p)[0].ToVector<int64_t>() == std::vector<int64_t>{1024, 1, -8, 5});
  auto neg = RunCpuKernel("Pow", {base, Tensor::FromVector<int64_t>({1, -1, 1, 1})});
  REQUIRE_FALSE(neg.ok());
  CHECK_THAT(std::string(neg.status().message()), Contains("negative integer powers"));

  Tensor u = Tensor::FromVector<uint8_t>({250, 3});
  auto wrap = RunCpuKernel("Add", {u, Tensor::FromVector<uint8_t>({10, 4})});
  REQUIRE(wrap.ok());
  CHECK((*wrap)[0].ToVector<uint8_t>() == std::vector<uint8_t>{4, 7});
}

TEST_CASE("Comparisons and logic produce bools") {
  Tensor a = Tensor::FromVector<float>({1, 2, 3, 4});
  Tensor b = Tensor::Scalar(2.0f);
  auto expect = [&](const char* op, std::vector<bool> want) {
    INFO(op);
    auto y = RunCpuKernel(op, {a, b});
    REQUIRE(y.ok());
    CHECK((*y)[0].dtype() == DType::kBool);
    CHECK((*y)[0].ToVector<bool>() == want);
  };
  expect("Equal", {false, true, false, false});
  expect("NotEqual", {true, false, true, true});
  expect("Less", {true, false, false, false});
  expect("LessEqual", {true, true, false, false});
  expect("Greater", {false, false, true, true});
  expect("GreaterEqual", {false, true, true, true});

  Tensor p = Tensor::FromVector<bool>({true, true, false, false});
  Tensor q = Tensor::FromVector<bool>({true, false, true, false});
  CHECK((*RunCpuKernel("LogicalAnd", {p, q}))[0].ToVector<bool>() ==
        std::vector<bool>{true, false, false, false});
  CHECK((*RunCpuKernel("LogicalOr", {p, q}))[0].ToVector<bool>() ==
        std::vector<bool>{true, true, true, false});
  CHECK((*RunCpuKernel("LogicalNot", {p}))[0].ToVector<bool>() ==
        std::vector<bool>{false, false, true, true});
  CHECK((*RunCpuKernel("Equal", {p, q}))[0].ToVector<bool>() ==
        std::vector<bool>{true, false, false, true});
}

TEST_CASE("Maximum and Minimum propagate NaN from the left operand") {
  Tensor a = Tensor::FromVector<float>({NAN, 1});
  Tensor b = Tensor::FromVector<float>({0, 2});
  auto mx = RunCpuKernel("Maximum", {a, b});
  REQUIRE(mx.ok());
  CHECK(std::isnan((*mx)[0].data<float>()[0]));
  CHECK((*mx)[0].data<float>()[1] == 2);
}

TEST_CASE("Select broadcasts condition and branches") {
  Tensor c = Tensor::FromVector<bool>({true, false, true});
  Tensor t = RandomTensor(DType::kF64, Shape{2, 3}, 5);
  Tensor e = Tensor::Scalar(-1.0);
  auto y = RunCpuKernel("Select", {c, t, e});
  REQUIRE(y.ok());
  const Tensor& out = (*y)[0];
  REQUIRE(out.shape() == Shape({2, 3}));
  for (int i = 0; i < 2; ++i) {
    for (int j = 0; j < 3; ++j) {
      const double want = c.data<bool>()[j] ? t.data<double>()[i * 3 + j] : -1.0;
      CHECK(out.data<double>()[i * 3 + j] == want);
    }
  }
}

TEST_CASE("Cast converts between every pair of dtypes") {
  Tensor f = Tensor::FromVector<float>({-2.7f, 0.0f, 1.5f, 300.0f, NAN});
  auto to_i32 = RunCpuKernel("Cast", {f}, {{"DstT", DType::kI32}});
  REQUIRE(to_i32.ok());
  CHECK((*to_i32)[0].ToVector<int32_t>() == std::vector<int32_t>{-2, 0, 1, 300, 0});
  auto to_u8 = RunCpuKernel("Cast", {f}, {{"DstT", DType::kU8}});
  REQUIRE(to_u8.ok());
  CHECK((*to_u8)[0].ToVector<uint8_t>() == std::vector<uint8_t>{0, 0, 1, 255, 0});
  auto to_bool = RunCpuKernel("Cast", {f}, {{"DstT", DType::kBool}});
  REQUIRE(to_bool.ok());
  CHECK((*to_bool)[0].ToVector<bool>() == std::vector<bool>{true, false, true, true, true});
  auto to_half = RunCpuKernel("Cast", {f}, {{"DstT", DType::kF16}});
  REQUIRE(to_half.ok());
  CHECK((*to_half)[0].ElementAsDouble(2) == 1.5);
  auto back = RunCpuKernel("Cast", {(*to_half)[0]}, {{"DstT", DType::kF64}});
  REQUIRE(back.ok());
  CHECK((*back)[0].ElementAsDouble(3) == 300.0);
  auto same = RunCpuKernel("Cast", {f}, {{"DstT", DType::kF32}});
  REQUIRE(same.ok());
  CHECK((*same)[0].SharesBufferWith(f));
  for (DType from : kAllDTypes) {
    for (DType to : kAllDTypes) {
      INFO(DTypeName(from) << " -> " << DTypeName(to));
      Tensor x = RandomTensor(from, Shape{4}, 9, 0, 3);
      auto y = RunCpuKernel("Cast", {x}, {{"DstT", to}});
      REQUIRE(y.ok());
      CHECK((*y)[0].dtype() == to);
    }
  }
}

TEST_CASE("AddN sums any number of tensors") {
  std::vector<Tensor> xs;
  Tensor want = Tensor::Zeros(DType::kF32, Shape{33, 3});
  for (int k = 0; k < 4; ++k) {
    xs.push_back(RandomTensor(DType::kF32, Shape{33, 3}, 100 + k));
    for (int64_t i = 0; i < want.num_elements(); ++i) {
      want.data<float>()[i] += xs.back().data<float>()[i];
    }
  }
  auto y = RunCpuKernel("AddN", xs);
  REQUIRE(y.ok());
  CHECK(CompareTensors((*y)[0], want, 1e-6, 1e-6) == "");
}

TEST_CASE("BiasAdd adds along the channel dim of either layout") {
  Tensor bias = RandomTensor(DType::kF32, Shape{3}, 4);
  Tensor nhwc = RandomTensor(DType::kF32, Shape{2, 4, 5, 3}, 5);
  auto y = RunCpuKernel("BiasAdd", {nhwc, bias});
  REQUIRE(y.ok());
  CHECK(CompareTensors((*y)[0], BroadcastReference(nhwc, bias, DType::kF32,
                                                   [](double a, double b) { return a + b; }),
                       1e-6, 1e-6) == "");
  Tensor nchw = RandomTensor(DType::kF32, Shape{2, 3, 4, 5}, 6);
  auto z = RunCpuKernel("BiasAdd", {nchw, bias}, {{"data_format", "NCHW"}});
  REQUIRE(z.ok());
  Tensor bias_column = *bias.Reshaped(Shape{3, 1, 1});
  CHECK(CompareTensors((*z)[0], BroadcastReference(nchw, bias_column, DType::kF32,
                                                   [](double a, double b) { return a + b; }),
                       1e-6, 1e-6) == "");
}

TEST_CASE("Broadcast plans merge dims that broadcast alike") {
  cpu::BroadcastPlan plan;
  REQUIRE(cpu::PlanBroadcast({Shape{2, 3, 4}, Shape{2, 3, 4}}, Shape{2, 3, 4}, &plan));
  CHECK(plan.rank == 1);
  CHECK(plan.all_same());
  REQUIRE(cpu::PlanBroadcast({Shape{2, 3, 4}, Shape{4}}, Shape{2, 3, 4}, &plan));
  CHECK(plan.rank == 2);
  CHECK(plan.dims[0] == 6);
  CHECK(plan.strides[1][0] == 0);
  CHECK(plan.strides[1][1] == 1);
}

}  // namespace
}  // namespace sluice
