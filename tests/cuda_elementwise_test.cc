// CUDA kernels of the element-wise family against the CPU ones: every
// registered op and dtype, odd sizes, broadcasting, attributes and errors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cuda/elementwise_launch.h"
#include "graph/ops/fused.h"
#include "kernels/device_context.h"
#include "tests/cuda_test_util.h"
#include "tests/kernel_test_util.h"

namespace sluice::testing {
namespace {

const std::vector<DType> kFloat = {DType::kF32, DType::kF64};
const std::vector<DType> kSigned = {DType::kF32, DType::kF64, DType::kI8, DType::kI32, DType::kI64};
const std::vector<DType> kArithmetic = {DType::kF32, DType::kF64, DType::kI8,
                                        DType::kU8,  DType::kI32, DType::kI64};
const std::vector<DType> kComparable = {DType::kF32, DType::kF64, DType::kI8,  DType::kU8,
                                        DType::kI32, DType::kI64, DType::kBool};

// A tensor of `dtype` and `shape` holding `values` converted (cycled when
// shorter than the tensor).
Tensor Make(DType dtype, const Shape& shape, const std::vector<double>& values) {
  Tensor t(dtype, shape);
  VisitDType(dtype, [&]<typename T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      const double v = values[static_cast<size_t>(i) % values.size()];
      if constexpr (std::is_same_v<T, Half>) {
        p[i] = FloatToHalf(static_cast<float>(v));
      } else if constexpr (std::is_same_v<T, BFloat16>) {
        p[i] = FloatToBFloat16(static_cast<float>(v));
      } else if constexpr (std::is_same_v<T, bool>) {
        p[i] = v != 0;
      } else {
        p[i] = static_cast<T>(v);
      }
    }
  });
  return t;
}

std::vector<double> ValuesOf(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.num_elements()));
  for (int64_t i = 0; i < t.num_elements(); ++i) v[static_cast<size_t>(i)] = t.ElementAsDouble(i);
  return v;
}

// Random values of `dtype` within [lo, hi), clipped to the dtype's range.
Tensor Random(DType dtype, const Shape& shape, uint64_t seed, double lo, double hi) {
  if (dtype == DType::kU8) {
    lo = std::max(lo, 0.0);
    hi = std::max(std::min(hi, 256.0), lo + 8);
  }
  if (dtype == DType::kI8) {
    lo = std::max(lo, -128.0);
    hi = std::min(hi, 128.0);
  }
  return RandomTensor(dtype, shape, seed, lo, hi);
}

// Small whole numbers, so that comparisons meet equal values often.
Tensor SmallWhole(DType dtype, const Shape& shape, uint64_t seed) {
  if (dtype == DType::kBool) return RandomTensor(DType::kBool, shape, seed);
  const double lo = dtype == DType::kU8 ? 0 : -3;
  return Make(dtype, shape, ValuesOf(RandomTensor(DType::kI32, shape, seed, lo, 4)));
}

// `t` with every zero replaced by `replacement`.
Tensor WithoutZeros(const Tensor& t, double replacement) {
  std::vector<double> v = ValuesOf(t);
  for (double& x : v) {
    if (x == 0) x = replacement;
  }
  return Make(t.dtype(), t.shape(), v);
}

struct Tolerance {
  double rtol = 0;
  double atol = 0;
};
// Exact for integers and bool; a few ulps (more for the transcendental
// functions, whose device and host versions may round differently).
Tolerance ToleranceFor(DType dtype, bool transcendental) {
  if (dtype == DType::kF32) return {1e-5, transcendental ? 1e-5 : 1e-6};
  if (dtype == DType::kF64) return {1e-12, 1e-12};
  return {};
}

// The CUDA kernel's error for `op` equals the CPU kernel's: the same code,
// and the CPU's message at the end of the CUDA one (which may carry the
// node's name where the CPU reported the error from Compute).
std::string CompareErrors(const std::string& op, const std::vector<Tensor>& inputs,
                          const AttrMap& attrs) {
  const auto cpu = RunCpuKernel(op, inputs, attrs);
  const auto gpu = RunCudaKernel(op, inputs, attrs);
  if (cpu.ok()) return "the CPU kernel succeeded";
  if (gpu.ok())
    return absl::StrCat("the CUDA kernel succeeded; the CPU said ", cpu.status().ToString());
  if (cpu.status().code() != gpu.status().code() ||
      !absl::EndsWith(gpu.status().message(), cpu.status().message())) {
    return absl::StrCat("CPU: ", cpu.status().ToString(), " CUDA: ", gpu.status().ToString());
  }
  return "";
}

const std::vector<Shape> kUnaryShapes = {Shape{},     Shape{1},    Shape{7},
                                         Shape{3, 5}, Shape{1031}, Shape{100003}};

// (a, b) pairs: same shapes, scalars, rows, columns, rank-4 and large
// strided broadcasts.
const std::vector<std::pair<Shape, Shape>> kBinaryShapes = {
    {Shape{1}, Shape{1}},
    {Shape{7}, Shape{7}},
    {Shape{1031}, Shape{1031}},
    {Shape{100003}, Shape{100003}},
    {Shape{2, 3, 4, 5}, Shape{2, 3, 4, 5}},
    {Shape{}, Shape{3, 5}},
    {Shape{3, 5}, Shape{}},
    {Shape{1}, Shape{1000}},
    {Shape{4, 7}, Shape{7}},
    {Shape{4, 7}, Shape{1, 7}},
    {Shape{4, 7}, Shape{4, 1}},
    {Shape{4, 1}, Shape{1, 7}},
    {Shape{2, 3, 4, 5}, Shape{3, 1, 5}},
    {Shape{2, 1, 4, 1}, Shape{1, 3, 1, 5}},
    {Shape{300, 401}, Shape{300, 1}},
    {Shape{33, 1, 129}, Shape{1, 65, 1}},
    {Shape{0, 3}, Shape{3}},
};

// ---------------------------------------------------------------------------
// Unary ops.

struct UnaryCase {
  std::string op;
  std::vector<DType> dtypes;
  double lo, hi;
  bool transcendental;
};

TEST_CASE("CUDA unary ops match the CPU for every dtype and size") {
  const std::vector<UnaryCase> cases = {
      {"Neg", kSigned, -100, 100, false}, {"Square", kSigned, -100, 100, false},
      {"Abs", kSigned, -100, 100, false}, {"Sign", kSigned, -3, 3, false},
      {"Sqrt", kFloat, 0, 50, false},     {"Rsqrt", kFloat, 0.01, 50, false},
      {"Exp", kFloat, -20, 20, true},     {"Log", kFloat, 0.001, 100, true},
      {"Relu", kFloat, -5, 5, false},     {"Relu6", kFloat, -3, 9, false},
      {"Elu", kFloat, -5, 5, true},       {"Sigmoid", kFloat, -20, 20, true},
      {"Tanh", kFloat, -6, 6, true},      {"Softplus", kFloat, -30, 30, true},
  };
  uint64_t seed = 1;
  for (const UnaryCase& c : cases) {
    for (DType dtype : c.dtypes) {
      for (const Shape& shape : kUnaryShapes) {
        INFO(c.op << " " << DTypeName(dtype) << " " << shape.ToString());
        const Tensor x = Random(dtype, shape, seed++, c.lo, c.hi);
        const Tolerance tol = ToleranceFor(dtype, c.transcendental);
        CHECK(CompareCudaWithCpu(c.op, {x}, {}, tol.rtol, tol.atol) == "");
      }
    }
  }
}

TEST_CASE("CUDA integer unary ops wrap as the CPU's do") {
  for (DType dtype : {DType::kI8, DType::kI32, DType::kI64}) {
    INFO(DTypeName(dtype));
    std::vector<double> edges = {0, 1, -1, 127, -128, 100, -100};
    if (dtype != DType::kI8) edges.insert(edges.end(), {46341, -46341, 2147483647.0});
    if (dtype == DType::kI32) edges.push_back(-2147483648.0);
    const Tensor x = Make(dtype, Shape{static_cast<int64_t>(edges.size())}, edges);
    for (const char* op : {"Neg", "Square", "Abs", "Sign"}) {
      INFO(op);
      CHECK(CompareCudaWithCpu(op, {x}, {}, 0, 0) == "");
    }
  }
}

TEST_CASE("CUDA float unary ops keep the CPU's NaN, infinity and signed-zero results") {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> specials = {0.0,    -0.0, inf,   -inf,  std::nan(""), 1e-30,
                                        -1e-30, 88.0, -88.0, 710.0, -710.0};
  for (DType dtype : kFloat) {
    const Tensor x = Make(dtype, Shape{static_cast<int64_t>(specials.size())}, specials);
    for (const char* op : {"Neg", "Abs", "Sign", "Square", "Sqrt", "Rsqrt", "Exp", "Log", "Relu",
                           "Relu6", "Elu", "Sigmoid", "Tanh", "Softplus"}) {
      INFO(op << " " << DTypeName(dtype));
      const Tolerance tol = ToleranceFor(dtype, true);
      CHECK(CompareCudaWithCpu(op, {x}, {}, tol.rtol, tol.atol) == "");
    }
    INFO(DTypeName(dtype));
    CHECK(CompareCudaWithCpu("LeakyRelu", {x}, {{"alpha", 0.1f}}, 1e-6, 0) == "");
    CHECK(CompareCudaWithCpu("Gelu", {x}, {{"approximate", false}}, 1e-5, 1e-6) == "");
    CHECK(CompareCudaWithCpu("Gelu", {x}, {{"approximate", true}}, 1e-5, 1e-6) == "");
  }
}

TEST_CASE("CUDA LeakyRelu and Gelu honour their attributes") {
  uint64_t seed = 100;
  for (DType dtype : kFloat) {
    for (const Shape& shape : kUnaryShapes) {
      INFO(DTypeName(dtype) << " " << shape.ToString());
      const Tensor x = Random(dtype, shape, seed++, -6, 6);
      const Tolerance tol = ToleranceFor(dtype, true);
      for (float alpha : {0.2f, 0.01f, -0.5f, 3.0f}) {
        INFO("alpha " << alpha);
        CHECK(CompareCudaWithCpu("LeakyRelu", {x}, {{"alpha", alpha}}, tol.rtol, tol.atol) == "");
      }
      CHECK(CompareCudaWithCpu("LeakyRelu", {x}, {}, tol.rtol, tol.atol) == "");  // default
      for (bool approximate : {false, true}) {
        INFO("approximate " << approximate);
        CHECK(CompareCudaWithCpu("Gelu", {x}, {{"approximate", approximate}}, tol.rtol, tol.atol) ==
              "");
      }
    }
  }
  // The two Gelu forms differ (by up to about 1e-3), so a kernel that
  // ignored the attribute would fail one of the comparisons above.
  const Tensor x = Make(DType::kF64, Shape{3}, {-2.0, 1.5, 3.0});
  const auto exact = RunCudaKernel("Gelu", {x}, {{"approximate", false}});
  const auto approx = RunCudaKernel("Gelu", {x}, {{"approximate", true}});
  REQUIRE(exact.ok());
  REQUIRE(approx.ok());
  CHECK(CompareTensors((*exact)[0], (*approx)[0], 0, 1e-5) != "");
}

TEST_CASE("CUDA LogicalNot matches the CPU") {
  uint64_t seed = 200;
  for (const Shape& shape : kUnaryShapes) {
    INFO(shape.ToString());
    CHECK(CompareCudaWithCpu("LogicalNot", {RandomTensor(DType::kBool, shape, seed++)}, {}, 0, 0) ==
          "");
  }
}

// ---------------------------------------------------------------------------
// Binary ops.

struct BinaryCase {
  std::string op;
  std::vector<DType> dtypes;
};

// Inputs for `op`: right operands without zeros for Div, positive bases and
// non-negative integer exponents for Pow, small whole numbers for
// comparisons.
std::vector<Tensor> BinaryInputs(const std::string& op, DType dtype, const Shape& a, const Shape& b,
                                 uint64_t seed) {
  const bool compare = op == "Equal" || op == "NotEqual" || op == "Less" || op == "LessEqual" ||
                       op == "Greater" || op == "GreaterEqual" || op == "LogicalAnd" ||
                       op == "LogicalOr";
  if (compare) return {SmallWhole(dtype, a, seed), SmallWhole(dtype, b, seed + 1)};
  if (op == "Pow") {
    if (IsInteger(dtype)) {
      return {Random(dtype, a, seed, -5, 6), Random(dtype, b, seed + 1, 0, 7)};
    }
    return {Random(dtype, a, seed, 0.1, 3), Random(dtype, b, seed + 1, -3, 3)};
  }
  const double range = dtype == DType::kI8 || dtype == DType::kU8 ? 128 : 1000;
  Tensor x = Random(dtype, a, seed, -range, range);
  Tensor y = Random(dtype, b, seed + 1, -range, range);
  if (op == "Div") {
    if (IsInteger(dtype)) {
      y = WithoutZeros(Random(dtype, b, seed + 1, -40, 40), 7);
    } else {
      y = Random(dtype, b, seed + 1, -4, 4);
    }
  }
  return {x, y};
}

TEST_CASE("CUDA binary ops match the CPU with every broadcast") {
  const std::vector<BinaryCase> cases = {
      {"Add", kArithmetic},
      {"Sub", kArithmetic},
      {"Mul", kArithmetic},
      {"Div", kArithmetic},
      {"Maximum", kArithmetic},
      {"Minimum", kArithmetic},
      {"Pow", {DType::kF32, DType::kF64, DType::kI32, DType::kI64}},
      {"Equal", kComparable},
      {"NotEqual", kComparable},
      {"Less", kArithmetic},
      {"LessEqual", kArithmetic},
      {"Greater", kArithmetic},
      {"GreaterEqual", kArithmetic},
      {"LogicalAnd", {DType::kBool}},
      {"LogicalOr", {DType::kBool}},
  };
  uint64_t seed = 1000;
  for (const BinaryCase& c : cases) {
    for (DType dtype : c.dtypes) {
      for (const auto& [a, b] : kBinaryShapes) {
        INFO(c.op << " " << DTypeName(dtype) << " " << a.ToString() << " " << b.ToString());
        const std::vector<Tensor> inputs = BinaryInputs(c.op, dtype, a, b, seed);
        seed += 2;
        const Tolerance tol = ToleranceFor(dtype, c.op == "Pow");
        CHECK(CompareCudaWithCpu(c.op, inputs, {}, tol.rtol, tol.atol) == "");
      }
    }
  }
}

TEST_CASE("CUDA Maximum, Minimum and Pow keep the CPU's special values") {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::nan("");
  const std::vector<double> a = {nan, 1.0, nan, -0.0, 0.0, inf, -2.0, -2.0, 0.0, -8.0};
  const std::vector<double> b = {1.0, nan, nan, 0.0, -0.0, -inf, 3.0, 0.5, -1.0, 1.0 / 3.0};
  for (DType dtype : kFloat) {
    const Tensor x = Make(dtype, Shape{10}, a);
    const Tensor y = Make(dtype, Shape{10}, b);
    for (const char* op : {"Maximum", "Minimum", "Pow", "Div", "Equal", "Less"}) {
      INFO(op << " " << DTypeName(dtype));
      const Tolerance tol = ToleranceFor(dtype, true);
      CHECK(CompareCudaWithCpu(op, {x, y}, {}, tol.rtol, tol.atol) == "");
      CHECK(CompareCudaWithCpu(op, {y, x}, {}, tol.rtol, tol.atol) == "");
    }
  }
}

TEST_CASE("CUDA integer Div truncates and wraps like the CPU") {
  for (DType dtype : {DType::kI8, DType::kU8, DType::kI32, DType::kI64}) {
    INFO(DTypeName(dtype));
    std::vector<double> a = {7, -7, 7, -7, 0, 1, 127, -128, 100, 255};
    std::vector<double> b = {2, 2, -2, -2, 5, -1, -1, -1, 3, 16};
    if (dtype == DType::kU8) {
      a = {7, 0, 255, 254, 1, 100, 9, 10, 200, 255};
      b = {2, 5, 1, 255, 3, 7, 9, 11, 13, 16};
    }
    if (dtype == DType::kI32) a[7] = -2147483648.0;
    const Tensor x = Make(dtype, Shape{10}, a);
    const Tensor y = Make(dtype, Shape{10}, b);
    CHECK(CompareCudaWithCpu("Div", {x, y}, {}, 0, 0) == "");
  }
}

TEST_CASE("CUDA integer Div by zero and Pow to a negative power fail as on the CPU") {
  for (DType dtype : {DType::kI8, DType::kU8, DType::kI32, DType::kI64}) {
    INFO(DTypeName(dtype));
    const Tensor x = Make(dtype, Shape{2, 3}, {1, 2, 3, 4, 5, 6});
    CHECK(CompareErrors("Div", {x, Make(dtype, Shape{2, 3}, {1, 2, 0, 4, 5, 6})}, {}) == "");
    CHECK(CompareErrors("Div", {x, Make(dtype, Shape{}, {0})}, {}) == "");
  }
  for (DType dtype : {DType::kI32, DType::kI64}) {
    INFO(DTypeName(dtype));
    const Tensor x = Make(dtype, Shape{4}, {1, 2, 3, 4});
    CHECK(CompareErrors("Pow", {x, Make(dtype, Shape{4}, {1, 2, -1, 0})}, {}) == "");
  }
  // Floats divide by zero as IEEE says, on both.
  const Tensor f = Make(DType::kF32, Shape{3}, {1, -1, 0});
  CHECK(CompareCudaWithCpu("Div", {f, Make(DType::kF32, Shape{3}, {0, 0, 0})}, {}, 0, 0) == "");
}

// A divisor only known when the kernel runs cannot fail the run on the
// device: the kernel gives the defined results of cuda/elementwise_launch.h.
TEST_CASE("CUDA integer Div by a zero computed on the device gives all bits set") {
  cuda::CudaContext& context = TestCudaContext();
  const auto run = [&](cuda::BinaryOp op, const Tensor& a, const Tensor& b, DType type) {
    cuda::EwBroadcast plan;
    plan.rank = 1;
    plan.num_inputs = 2;
    plan.num_elements = a.num_elements();
    plan.dims[0] = a.num_elements();
    plan.strides[0][0] = 1;
    plan.strides[1][0] = 1;
    auto da = CopyTensorToDevice(context, a);
    auto db = CopyTensorToDevice(context, b);
    auto dout = AllocateOnDevice(context, a.dtype(), a.shape());
    REQUIRE(da.ok());
    REQUIRE(db.ok());
    REQUIRE(dout.ok());
    const cuda::EwType ew = type == DType::kI32   ? cuda::EwType::kI32
                            : type == DType::kI64 ? cuda::EwType::kI64
                            : type == DType::kU8  ? cuda::EwType::kU8
                                                  : cuda::EwType::kI8;
    REQUIRE(cuda::LaunchBinary(op, ew, plan, da->raw_data(), db->raw_data(), dout->raw_data(),
                               context.stream()) == cudaSuccess);
    auto host = CopyTensorToHost(context, *dout);
    REQUIRE(host.ok());
    return ValuesOf(*host);
  };
  for (DType dtype : {DType::kI8, DType::kI32, DType::kI64}) {
    INFO(DTypeName(dtype));
    const Tensor a = Make(dtype, Shape{4}, {5, -5, 0, 7});
    const Tensor zero = Make(dtype, Shape{4}, {0, 0, 0, 2});
    CHECK(run(cuda::BinaryOp::kDiv, a, zero, dtype) == std::vector<double>{-1, -1, -1, 3});
    const Tensor base = Make(dtype, Shape{4}, {1, -1, -1, 2});
    const Tensor exponent = Make(dtype, Shape{4}, {-3, -3, -2, -1});
    CHECK(run(cuda::BinaryOp::kPow, base, exponent, dtype) == std::vector<double>{1, -1, 1, 0});
  }
  const Tensor a = Make(DType::kU8, Shape{2}, {5, 9});
  const Tensor zero = Make(DType::kU8, Shape{2}, {0, 3});
  CHECK(run(cuda::BinaryOp::kDiv, a, zero, DType::kU8) == std::vector<double>{255, 3});
}

TEST_CASE("CUDA binary ops reject too many distinct broadcast dims as the CPU does") {
  const Tensor a = RandomTensor(DType::kF32, Shape{2, 1, 2, 1, 2, 1, 2, 1, 2}, 1);
  const Tensor b = RandomTensor(DType::kF32, Shape{1, 2, 1, 2, 1, 2, 1, 2, 1}, 2);
  CHECK(CompareErrors("Add", {a, b}, {}) == "");
  // Eight distinct dims still run.
  const Tensor c = RandomTensor(DType::kF32, Shape{2, 1, 2, 1, 2, 1, 2, 1}, 3);
  const Tensor d = RandomTensor(DType::kF32, Shape{1, 3, 1, 3, 1, 3, 1, 3}, 4);
  CHECK(CompareCudaWithCpu("Mul", {c, d}, {}, 1e-6, 0) == "");
}

// ---------------------------------------------------------------------------
// Select, Cast, AddN, BiasAdd.

TEST_CASE("CUDA Select matches the CPU with broadcast conditions") {
  struct Shapes {
    Shape c, t, e;
  };
  const std::vector<Shapes> shapes = {
      {Shape{1}, Shape{1}, Shape{1}},
      {Shape{7}, Shape{7}, Shape{7}},
      {Shape{100003}, Shape{100003}, Shape{100003}},
      {Shape{}, Shape{3, 5}, Shape{3, 5}},
      {Shape{4, 1}, Shape{4, 7}, Shape{4, 7}},
      {Shape{7}, Shape{4, 7}, Shape{4, 7}},
      {Shape{4, 7}, Shape{7}, Shape{4, 1}},
      {Shape{2, 3, 4, 5}, Shape{3, 1, 5}, Shape{2, 1, 4, 1}},
      {Shape{300, 1}, Shape{300, 401}, Shape{}},
      {Shape{1031}, Shape{}, Shape{}},
  };
  uint64_t seed = 3000;
  for (DType dtype : kComparable) {
    for (const Shapes& s : shapes) {
      INFO(DTypeName(dtype) << " " << s.c.ToString() << " " << s.t.ToString() << " "
                            << s.e.ToString());
      const Tensor c = RandomTensor(DType::kBool, s.c, seed++);
      const Tensor t = Random(dtype, s.t, seed++, -100, 100);
      const Tensor e = Random(dtype, s.e, seed++, -100, 100);
      CHECK(CompareCudaWithCpu("Select", {c, t, e}, {}, 0, 0) == "");
    }
  }
}

TEST_CASE("CUDA Cast matches the CPU for every pair of dtypes") {
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<double> float_specials = {std::nan(""), inf,  -inf,    1e20,    -1e20, 0.5,
                                              -0.5,         2.5,  -2.5,    255.5,   256.0, -129.0,
                                              3e9,          -3e9, 65519.0, 70000.0, 1e-8,  -0.0};
  uint64_t seed = 4000;
  for (DType from : kAllDTypes) {
    std::vector<Tensor> inputs;
    for (const Shape& shape : {Shape{}, Shape{7}, Shape{1031}, Shape{100003}}) {
      inputs.push_back(Random(from, shape, seed++, -300, 300));
    }
    if (IsFloating(from)) {
      inputs.push_back(
          Make(from, Shape{static_cast<int64_t>(float_specials.size())}, float_specials));
    }
    if (from == DType::kI64) {
      inputs.push_back(Make(from, Shape{4}, {9007199254740993.0, -4e18, 4e18, 16777217}));
    }
    if (from == DType::kI32) {
      inputs.push_back(Make(from, Shape{4}, {2147483647.0, -2147483648.0, 16777217, 300}));
    }
    for (DType to : kAllDTypes) {
      for (const Tensor& x : inputs) {
        INFO(DTypeName(from) << " -> " << DTypeName(to) << " " << x.shape().ToString());
        CHECK(CompareCudaWithCpu("Cast", {x}, {{"DstT", to}}, 0, 0) == "");
      }
    }
  }
}

TEST_CASE("CUDA AddN matches the CPU for any number of inputs") {
  uint64_t seed = 5000;
  for (DType dtype : {DType::kF32, DType::kF64, DType::kI32, DType::kI64}) {
    for (int count : {1, 2, 3, 16, 17, 40}) {
      for (const Shape& shape : {Shape{}, Shape{7}, Shape{3, 5}, Shape{100003}}) {
        INFO(DTypeName(dtype) << " x" << count << " " << shape.ToString());
        std::vector<Tensor> inputs;
        for (int k = 0; k < count; ++k) inputs.push_back(Random(dtype, shape, seed++, -1e4, 1e4));
        // The same additions in the same order: equal up to FMA-free rounding.
        CHECK(CompareCudaWithCpu("AddN", inputs, {}, IsInteger(dtype) ? 0 : 1e-6,
                                 IsInteger(dtype) ? 0 : 1e-6) == "");
      }
    }
  }
}

TEST_CASE("CUDA BiasAdd matches the CPU in both data formats") {
  struct Case {
    Shape value;
    std::string format;
  };
  const std::vector<Case> cases = {
      {Shape{7}, "NHWC"},
      {Shape{5, 7}, "NHWC"},
      {Shape{2, 3, 4, 5}, "NHWC"},
      {Shape{64, 1000}, "NHWC"},
      {Shape{2, 5, 3, 4}, "NCHW"},
      {Shape{2, 3, 4}, "NCHW"},
      {Shape{2, 3, 2, 3, 4}, "NCHW"},
      {Shape{8, 33, 17, 19}, "NCHW"},
      {Shape{8, 17, 19, 33}, "NHWC"},
      {Shape{1, 1, 1, 1}, "NCHW"},
      {Shape{0, 4}, "NHWC"},
  };
  uint64_t seed = 6000;
  for (DType dtype : kFloat) {
    for (const Case& c : cases) {
      INFO(DTypeName(dtype) << " " << c.value.ToString() << " " << c.format);
      const int channel_dim = c.format == "NCHW" ? 1 : c.value.rank() - 1;
      const Tensor x = Random(dtype, c.value, seed++, -5, 5);
      const Tensor bias = Random(dtype, Shape{c.value.dim(channel_dim)}, seed++, -5, 5);
      CHECK(CompareCudaWithCpu("BiasAdd", {x, bias}, {{"data_format", c.format}}, 0, 0) == "");
    }
  }
  // NCHW needs rank >= 3, and one bias entry per channel.
  const Tensor x = RandomTensor(DType::kF32, Shape{4, 6}, 1);
  CHECK(CompareErrors("BiasAdd", {x, RandomTensor(DType::kF32, Shape{6}, 2)},
                      {{"data_format", std::string("NCHW")}}) == "");
  CHECK(CompareErrors("BiasAdd", {x, RandomTensor(DType::kF32, Shape{4}, 3)}, {}) == "");
}

// ---------------------------------------------------------------------------
// Activation gradients and BiasAddGrad.

TEST_CASE("CUDA activation gradients match the CPU") {
  struct Case {
    std::string op;
    AttrMap attrs;
    double lo, hi;  // the range of the value operand
  };
  const std::vector<Case> cases = {
      {"ReluGrad", {}, -3, 3},
      {"Relu6Grad", {}, -2, 8},
      {"EluGrad", {}, -1, 3},
      {"SoftplusGrad", {}, -30, 30},
      {"LeakyReluGrad", {}, -3, 3},
      {"LeakyReluGrad", {{"alpha", 0.05f}}, -3, 3},
      {"GeluGrad", {{"approximate", false}}, -6, 6},
      {"GeluGrad", {{"approximate", true}}, -6, 6},
      {"SigmoidGrad", {}, 0, 1},
      {"TanhGrad", {}, -1, 1},
  };
  uint64_t seed = 7000;
  for (const Case& c : cases) {
    // SigmoidGrad and TanhGrad take (y, dy); the others (gradients, features).
    const bool value_first = c.op == "SigmoidGrad" || c.op == "TanhGrad";
    for (DType dtype : kFloat) {
      for (const Shape& shape : kUnaryShapes) {
        INFO(c.op << " " << DTypeName(dtype) << " " << shape.ToString());
        const Tensor g = Random(dtype, shape, seed++, -2, 2);
        const Tensor v = Random(dtype, shape, seed++, c.lo, c.hi);
        const Tolerance tol = ToleranceFor(dtype, true);
        const std::vector<Tensor> inputs =
            value_first ? std::vector<Tensor>{v, g} : std::vector<Tensor>{g, v};
        CHECK(CompareCudaWithCpu(c.op, inputs, c.attrs, tol.rtol, tol.atol) == "");
      }
    }
  }
  // Relu6Grad's edges: exactly 0 and 6 pass no gradient.
  const Tensor g = Make(DType::kF32, Shape{5}, {1, 2, 3, 4, 5});
  const Tensor x = Make(DType::kF32, Shape{5}, {0, 6, 3, -1, 7});
  CHECK(CompareCudaWithCpu("Relu6Grad", {g, x}, {}, 0, 0) == "");
  CHECK(CompareCudaWithCpu("ReluGrad", {g, x}, {}, 0, 0) == "");
}

TEST_CASE("CUDA activation gradients reject mismatched shapes as the CPU does") {
  const Tensor a = RandomTensor(DType::kF32, Shape{2, 3}, 1);
  const Tensor b = RandomTensor(DType::kF32, Shape{3, 2}, 2);
  for (const char* op : {"ReluGrad", "SigmoidGrad", "GeluGrad"}) {
    INFO(op);
    CHECK(CompareErrors(op, {a, b}, {}) == "");
  }
}

TEST_CASE("CUDA BiasAddGrad matches the CPU in both data formats") {
  struct Case {
    Shape value;
    std::string format;
    double atol;  // f32: long sums round differently in another order
  };
  const std::vector<Case> cases = {
      {Shape{7}, "NHWC", 1e-5},
      {Shape{5, 7}, "NHWC", 1e-5},
      {Shape{2, 3, 4, 5}, "NHWC", 1e-5},
      {Shape{3000, 33}, "NHWC", 1e-3},
      {Shape{100003, 3}, "NHWC", 1e-2},
      {Shape{64, 1000}, "NHWC", 1e-4},
      {Shape{2, 5, 3, 4}, "NCHW", 1e-5},
      {Shape{2, 3, 1}, "NCHW", 1e-5},
      {Shape{4, 3, 100, 50}, "NCHW", 1e-2},
      {Shape{3, 70, 7, 1}, "NCHW", 1e-5},
      {Shape{2, 3, 2, 3, 4}, "NCHW", 1e-5},
      {Shape{0, 5}, "NHWC", 0},
      {Shape{4, 0}, "NHWC", 0},
      {Shape{0, 5, 3}, "NCHW", 0},
  };
  uint64_t seed = 8000;
  for (DType dtype : kFloat) {
    for (const Case& c : cases) {
      INFO(DTypeName(dtype) << " " << c.value.ToString() << " " << c.format);
      const Tensor x = Random(dtype, c.value, seed++, -1, 1);
      const double atol = dtype == DType::kF64 ? 1e-9 : c.atol;
      CHECK(CompareCudaWithCpu("BiasAddGrad", {x}, {{"data_format", c.format}}, 1e-5, atol) == "");
    }
  }
  // A fixed summation order: two runs agree bit for bit.
  const Tensor x = Random(DType::kF32, Shape{50000, 5}, 9, -1, 1);
  const auto first = RunCudaKernel("BiasAddGrad", {x}, {});
  const auto second = RunCudaKernel("BiasAddGrad", {x}, {});
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK((*first)[0].BitwiseEquals((*second)[0]));
}

TEST_CASE("CUDA BiasAddGrad rejects a too small rank as the CPU does") {
  CHECK(CompareErrors("BiasAddGrad", {RandomTensor(DType::kF32, Shape{4, 5}, 1)},
                      {{"data_format", std::string("NCHW")}}) == "");
}

// ---------------------------------------------------------------------------
// _FusedElementwise.

TEST_CASE("CUDA _FusedElementwise matches the CPU for chains of 1 to 6 steps") {
  // Operands: 0 a scalar, 1 x's shape, 2 a [1] single element.
  const std::vector<std::vector<ElementwiseStep>> chains = {
      {{"Relu"}},
      {{"Add", 0}, {"Tanh"}},
      {{"Mul", 1}, {"Sub", 0, true}, {"Sigmoid"}},
      {{"Square"}, {"Add", 1}, {"Sqrt"}, {"Div", 2, true}},
      {{"Maximum", 1}, {"Minimum", 0, true}, {"Exp"}, {"Log"}, {"LeakyRelu", -1, false, 0.3f}},
      {{"Abs"}, {"Add", 0}, {"Pow", 1}, {"Neg"}, {"Elu"}, {"Softplus"}},
      {{"Relu6"}, {"Add", 2}, {"Rsqrt"}, {"Sub", 1, true}, {"Pow", 0, true}, {"Div", 1}},
      {{"Mul", 1, true}, {"Mul", 1}, {"Maximum", 2, true}, {"Minimum", 1}},
  };
  uint64_t seed = 9000;
  for (const Shape& shape :
       {Shape{1}, Shape{7}, Shape{3, 5}, Shape{1031}, Shape{100003}, Shape{2, 3, 4, 5}}) {
    const Tensor x = RandomTensor(DType::kF32, shape, seed++, 0.1, 2.0);
    const Tensor scalar = Tensor::Scalar(0.75f);
    const Tensor full = RandomTensor(DType::kF32, shape, seed++, 0.5, 1.5);
    const Tensor one = Make(DType::kF32, Shape{1}, {1.25});
    for (const auto& chain : chains) {
      INFO(shape.ToString() << " chain of " << chain.size() << " starting " << chain[0].op);
      CHECK(CompareCudaWithCpu("_FusedElementwise", {x, scalar, full, one},
                               FusedElementwiseAttrs(chain), 1e-5, 1e-5) == "");
    }
  }
}

TEST_CASE("CUDA _FusedElementwise runs chains longer than one launch holds") {
  // 60 steps reading 12 args: more steps and operands than one segment
  // (kFusedMaxSteps, kFusedMaxOperands) takes.
  const Shape shape{37, 29};
  std::vector<Tensor> inputs = {RandomTensor(DType::kF32, shape, 1, -1, 1)};
  for (int k = 0; k < 12; ++k) {
    inputs.push_back(k % 3 == 0 ? Tensor::Scalar(0.1f * static_cast<float>(k) - 0.5f)
                                : RandomTensor(DType::kF32, shape, 10 + k, -0.5, 0.5));
  }
  std::vector<ElementwiseStep> chain;
  for (int s = 0; s < 30; ++s) {
    chain.push_back({s % 2 == 0 ? "Add" : "Sub", s % 12, s % 5 == 0});
    chain.push_back({s % 3 == 0 ? "Tanh" : "Sigmoid"});
  }
  REQUIRE(static_cast<int>(chain.size()) > cuda::kFusedMaxSteps);
  CHECK(CompareCudaWithCpu("_FusedElementwise", inputs, FusedElementwiseAttrs(chain), 1e-5, 1e-5) ==
        "");
}

TEST_CASE("CUDA _FusedElementwise rejects malformed chains as the CPU does") {
  const Tensor x = RandomTensor(DType::kF32, Shape{2, 3}, 1);
  CHECK(CompareErrors("_FusedElementwise", {x}, FusedElementwiseAttrs({{"Softmax"}})) == "");
  CHECK(CompareErrors("_FusedElementwise", {x}, FusedElementwiseAttrs({{"Add", 0}})) == "");
}

}  // namespace
}  // namespace sluice::testing
