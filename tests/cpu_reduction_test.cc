// Reduction CPU kernels (Sum, Mean, Max, Min, Prod, ArgMax) against plain
// references.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/graph.h"
#include "kernels/variable_store.h"
#include "runtime/kernel_setup.h"
#include "tests/kernel_test_util.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;
using testing::CompareTensors;
using testing::RandomTensor;
using testing::RunCpuKernel;
using testing::RunWithFedInputs;


Tensor Axes(const std::vector<int32_t>& axes) { return Tensor::FromVector(axes); }

// The reduction of `x` over `axes` in double (integers: exact, wrapping like
// the kernels), walking every element.
Tensor ReduceReference(const std::string& op, const Tensor& x, const std::vector<int>& axes,
                       bool keep_dims) {
  const Shape& in = x.shape();
  const int rank = in.rank();
  std::vector<bool> reduced(rank, false);
  for (int a : axes) reduced[a < 0 ? a + rank : a] = true;
  Shape out_shape;
  int64_t count = 1;
  for (int d = 0; d < rank; ++d) {
    if (!reduced[d]) {
      out_shape.AddDim(in.dim(d));
    } else {
      count *= in.dim(d);
      if (keep_dims) out_shape.AddDim(1);
    }
  }
  const int64_t n_out = out_shape.num_elements();
  std::vector<double> acc(n_out);
  std::vector<uint64_t> iacc(n_out);
  for (int64_t o = 0; o < n_out; ++o) {
    if (op == "Sum" || op == "Mean") acc[o] = 0, iacc[o] = 0;
    if (op == "Prod") acc[o] = 1, iacc[o] = 1;
    if (op == "Max") acc[o] = -INFINITY;
    if (op == "Min") acc[o] = INFINITY;
  }
  std::vector<int64_t> index(rank);
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    int64_t rest = i;
    for (int d = rank - 1; d >= 0; --d) {
      index[d] = rest % in.dim(d);
      rest /= in.dim(d);
    }
    int64_t o = 0;
    for (int d = 0; d < rank; ++d) {
      if (!reduced[d]) o = o * in.dim(d) + index[d];
    }
    const double v = x.ElementAsDouble(i);
    const uint64_t iv = static_cast<uint64_t>(static_cast<int64_t>(v));
    if (op == "Sum" || op == "Mean") acc[o] += v, iacc[o] += iv;
    if (op == "Prod") acc[o] *= v, iacc[o] *= iv;
    if (op == "Max") acc[o] = (std::isnan(v) || v > acc[o]) && !std::isnan(acc[o]) ? v : acc[o];
    if (op == "Min") acc[o] = (std::isnan(v) || v < acc[o]) && !std::isnan(acc[o]) ? v : acc[o];
  }
  Tensor out(x.dtype(), out_shape);
  VisitDType(x.dtype(), [&]<typename T>() {
    T* p = out.data<T>();
    for (int64_t o = 0; o < n_out; ++o) {
      double v = acc[o];
      if (op == "Mean") v = count == 0 ? NAN : v / count;
      if constexpr (std::is_same_v<T, Half>) {
        p[o] = FloatToHalf(static_cast<float>(v));
      } else if constexpr (std::is_same_v<T, BFloat16>) {
        p[o] = FloatToBFloat16(static_cast<float>(v));
      } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (op == "Max" || op == "Min") {
          p[o] = count == 0 ? (op == "Max" ? std::numeric_limits<T>::lowest()
                                           : std::numeric_limits<T>::max())
                            : static_cast<T>(v);
        } else if (op == "Mean") {
          p[o] = count == 0 ? T(0) : static_cast<T>(static_cast<int64_t>(iacc[o]) / count);
        } else {
          p[o] = static_cast<T>(iacc[o]);
        }
      } else {
        p[o] = static_cast<T>(v);
      }
    }
  });
  return out;
}

struct ReduceCase {
  Shape shape;
  std::vector<int> axes;
};

const std::vector<ReduceCase>& ReduceCases() {
  static const std::vector<ReduceCase> cases = {
      {Shape{}, {}},
      {Shape{1}, {0}},
      {Shape{7}, {0}},
      {Shape{7}, {}},
      {Shape{33}, {-1}},
      {Shape{3, 5}, {1}},
      {Shape{3, 5}, {0}},
      {Shape{3, 5}, {0, 1}},
      {Shape{3, 5}, {-1, -2}},
      {Shape{2, 3, 4}, {1}},
      {Shape{2, 3, 4}, {0, 2}},
      {Shape{2, 3, 4}, {2, 0, 1}},
      {Shape{2, 3, 4, 5}, {1, 3}},
      {Shape{2, 3, 4, 5}, {0, 2}},
      {Shape{3, 4, 5, 6}, {0, 2, 3}},  // NCHW batch statistics
      {Shape{3, 4, 5, 6}, {0, 1, 2}},  // NHWC batch statistics
      {Shape{2, 1, 33, 1}, {-1, 0}},
      {Shape{1, 7, 1}, {0, 2}},
      {Shape{1000, 3}, {0}},
      {Shape{3, 1000}, {1}},
      {Shape{5, 300, 7}, {1}},
      {Shape{600, 5}, {1}},
      {Shape{40001}, {0}},    // long enough to be summed in parallel partials
      {Shape{5000, 3}, {0}},  // long columns, split into parts
      {Shape{40, 70, 5}, {0, 1}},
      {Shape{9, 4100}, {0}},  // a column run longer than one chunk
      {Shape{4, 0, 3}, {1}},
      {Shape{4, 0, 3}, {0}},
      {Shape{0}, {0}},
  };
  return cases;
}

std::string CaseName(const std::string& op, DType dtype, const ReduceCase& c, bool keep_dims) {
  return absl::StrCat(op, " ", DTypeName(dtype), c.shape.ToString(), " axes [",
                      absl::StrJoin(c.axes, ","), "] keep_dims=", keep_dims);
}

void CheckReductions(DType dtype, double lo, double hi, double rtol, double atol) {
  uint64_t seed = 1;
  for (const std::string op : {"Sum", "Mean", "Max", "Min", "Prod"}) {
    for (const ReduceCase& c : ReduceCases()) {
      // Products of many values overflow; keep them to short reductions.
      int64_t count = 1;
      for (int a : c.axes) count *= c.shape.dim(a < 0 ? a + c.shape.rank() : a);
      double op_lo = lo, op_hi = hi;
      if (op == "Prod") {
        if (count > 40) continue;
        if (IsFloating(dtype)) op_lo = 0.5, op_hi = 1.5;
      }
      for (bool keep_dims : {false, true}) {
        INFO(CaseName(op, dtype, c, keep_dims));
        const Tensor x = RandomTensor(dtype, c.shape, seed++, op_lo, op_hi);
        auto out = RunCpuKernel(op, {x, Axes(std::vector<int32_t>(c.axes.begin(), c.axes.end()))},
                                {{"keep_dims", keep_dims}});
        REQUIRE(out.ok());
        const Tensor expected = ReduceReference(op, x, c.axes, keep_dims);
        // Sums of n values carry about n rounding errors of the inputs' size.
        const double scale = op == "Sum" ? std::sqrt(static_cast<double>(count)) : 1.0;
        CHECK(CompareTensors((*out)[0], expected, rtol, atol * scale) == "");
      }
    }
  }
}

TEST_CASE("Reductions match a reference for every layout and dtype") {
  CheckReductions(DType::kF32, -1, 1, 1e-5, 1e-5);
  CheckReductions(DType::kF64, -1, 1, 1e-12, 1e-12);
  CheckReductions(DType::kI32, -50, 50, 0, 0);
  CheckReductions(DType::kI64, -50, 50, 0, 0);
  CheckReductions(DType::kI8, -3, 4, 0, 0);
  CheckReductions(DType::kU8, 0, 4, 0, 0);
  CheckReductions(DType::kF16, -1, 1, 1e-2, 2e-2);
  CheckReductions(DType::kBF16, -1, 1, 1e-2, 5e-2);
}

TEST_CASE("Integer sums and products wrap instead of overflowing") {
  auto x = Tensor::FromVector(std::vector<int32_t>{std::numeric_limits<int32_t>::max(), 2});
  auto sum = RunCpuKernel("Sum", {x, Axes({0})});
  REQUIRE(sum.ok());
  CHECK((*sum)[0].data<int32_t>()[0] == std::numeric_limits<int32_t>::min() + 1);
  auto prod = RunCpuKernel("Prod", {x, Axes({0})});
  REQUIRE(prod.ok());
  CHECK((*prod)[0].data<int32_t>()[0] == -2);
  // The mean accumulates in 64 bits, so it does not wrap.
  auto mean = RunCpuKernel("Mean", {x, Axes({0})});
  REQUIRE(mean.ok());
  CHECK((*mean)[0].data<int32_t>()[0] == 1073741824);
}

TEST_CASE("Integer means truncate toward zero") {
  auto x = *Tensor::FromVector(std::vector<int32_t>{1, 2, -1, -2, 7, 0}, Shape{3, 2});
  auto mean = RunCpuKernel("Mean", {x, Axes({1})});
  REQUIRE(mean.ok());
  CHECK((*mean)[0].ToVector<int32_t>() == std::vector<int32_t>{1, -1, 3});
}

TEST_CASE("Empty reductions give each op's identity") {
  const Tensor x(DType::kF32, Shape{2, 0});
  auto value = [&](const char* op) {
    auto out = RunCpuKernel(op, {x, Axes({1})});
    REQUIRE(out.ok());
    REQUIRE((*out)[0].shape() == Shape{2});
    return (*out)[0].data<float>()[1];
  };
  CHECK(value("Sum") == 0.0f);
  CHECK(value("Prod") == 1.0f);
  CHECK(value("Max") == -std::numeric_limits<float>::infinity());
  CHECK(value("Min") == std::numeric_limits<float>::infinity());
  CHECK(std::isnan(value("Mean")));

  const Tensor xi(DType::kI32, Shape{0});
  auto max = RunCpuKernel("Max", {xi, Axes({0})});
  REQUIRE(max.ok());
  CHECK((*max)[0].data<int32_t>()[0] == std::numeric_limits<int32_t>::lowest());
  auto min = RunCpuKernel("Min", {xi, Axes({0})});
  REQUIRE(min.ok());
  CHECK((*min)[0].data<int32_t>()[0] == std::numeric_limits<int32_t>::max());
}

TEST_CASE("Max and Min propagate NaN") {
  std::vector<float> values(100, 1.0f);
  values[37] = NAN;
  values[99] = 5.0f;
  const Tensor x = Tensor::FromVector(values);
  for (const char* op : {"Max", "Min"}) {
    auto out = RunCpuKernel(op, {x, Axes({0})});
    REQUIRE(out.ok());
    CHECK(std::isnan((*out)[0].data<float>()[0]));
  }
  // Along columns too.
  auto cols = *Tensor::FromVector(std::vector<float>{1, NAN, 3, 4}, Shape{2, 2});
  auto out = RunCpuKernel("Max", {cols, Axes({0})});
  REQUIRE(out.ok());
  CHECK((*out)[0].data<float>()[0] == 3.0f);
  CHECK(std::isnan((*out)[0].data<float>()[1]));
}

TEST_CASE("Reductions read axes that are only known at run time") {
  const Tensor x = RandomTensor(DType::kF32, Shape{4, 5, 6}, 7);
  auto out =
      RunWithFedInputs("Sum", {x, Axes({0, -1})}, {1}, {{"keep_dims", true}}, {Shape{1, 5, 1}});
  REQUIRE(out.ok());
  CHECK(CompareTensors((*out)[0], ReduceReference("Sum", x, {0, 2}, true), 1e-5, 1e-5) == "");

  auto bad = RunWithFedInputs("Sum", {x, Axes({3})}, {1}, {}, {Shape{4, 5}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Contains("reduction axis 3 is out of range for input of shape [4,5,6]"));

  auto repeated = RunWithFedInputs("Sum", {x, Axes({1, -2})}, {1}, {}, {Shape{4, 6}});
  REQUIRE_FALSE(repeated.ok());
  CHECK_THAT(std::string(repeated.status().message()), Contains("reduction axis -2 is repeated"));

  auto mismatch = RunWithFedInputs("Sum", {x, Axes({1})}, {1}, {}, {Shape{4, 5}});
  REQUIRE_FALSE(mismatch.ok());
  CHECK_THAT(std::string(mismatch.status().message()),
             Contains("gives 24 elements, but the output has shape [4,5]"));
}

// ---------------------------------------------------------------------------
// ArgMax

Tensor ArgMaxReference(const Tensor& x, int axis, DType index_type) {
  const Shape& in = x.shape();
  if (axis < 0) axis += in.rank();
  int64_t outer = 1, inner = 1;
  Shape out_shape;
  for (int d = 0; d < in.rank(); ++d) {
    if (d < axis) outer *= in.dim(d);
    if (d > axis) inner *= in.dim(d);
    if (d != axis) out_shape.AddDim(in.dim(d));
  }
  const int64_t n = in.dim(axis);
  Tensor out(index_type, out_shape);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      for (int64_t k = 1; k < n; ++k) {
        const double v = x.ElementAsDouble((o * n + k) * inner + i);
        const double b = x.ElementAsDouble((o * n + best) * inner + i);
        if (!std::isnan(b) && (v > b || std::isnan(v))) best = k;
      }
      if (index_type == DType::kI32) {
        out.data<int32_t>()[o * inner + i] = static_cast<int32_t>(best);
      } else {
        out.data<int64_t>()[o * inner + i] = best;
      }
    }
  }
  return out;
}

TEST_CASE("ArgMax matches a reference") {
  struct Case {
    Shape shape;
    int axis;
  };
  const std::vector<Case> cases = {{Shape{7}, 0},        {Shape{3, 5}, 1},      {Shape{3, 5}, 0},
                                   {Shape{2, 3, 4}, 1},  {Shape{2, 3, 4}, -1},  {Shape{1000, 3}, 0},
                                   {Shape{3, 1000}, -1}, {Shape{4, 300, 5}, 1}, {Shape{0, 3}, 1}};
  uint64_t seed = 100;
  for (DType dtype :
       {DType::kF32, DType::kF64, DType::kI32, DType::kI64, DType::kU8, DType::kF16}) {
    for (DType index_type : {DType::kI32, DType::kI64}) {
      for (const Case& c : cases) {
        INFO(DTypeName(dtype) << c.shape.ToString() << " axis " << c.axis << " -> "
                              << DTypeName(index_type));
        // Few distinct values, so ties are common and must pick the first.
        const Tensor x = RandomTensor(dtype, c.shape, seed++, 0, 4);
        auto out = RunCpuKernel("ArgMax", {x, Tensor::Scalar<int32_t>(c.axis)},
                                {{"output_type", index_type}});
        REQUIRE(out.ok());
        CHECK(CompareTensors((*out)[0], ArgMaxReference(x, c.axis, index_type), 0, 0) == "");
      }
    }
  }
}

TEST_CASE("ArgMax picks the first of equal values and the first NaN") {
  auto x = *Tensor::FromVector(std::vector<float>{1, 3, 3, 2, NAN, 5, NAN, 1}, Shape{2, 4});
  auto out = RunCpuKernel("ArgMax", {x, Tensor::Scalar<int32_t>(1)});
  REQUIRE(out.ok());
  CHECK((*out)[0].ToVector<int64_t>() == std::vector<int64_t>{1, 0});
}

TEST_CASE("ArgMax over an empty dimension is an error") {
  auto out = RunCpuKernel("ArgMax", {Tensor(DType::kF32, Shape{3, 0}), Tensor::Scalar<int32_t>(1)});
  REQUIRE_FALSE(out.ok());
  CHECK_THAT(std::string(out.status().message()),
             Contains("node (ArgMax): reduction axis 1 is empty in shape [3,0]"));
}

TEST_CASE("ArgMax reads its dimension at run time when it is not constant") {
  const Tensor x = RandomTensor(DType::kF32, Shape{4, 6}, 3);
  auto out = RunWithFedInputs("ArgMax", {x, Tensor::Scalar<int32_t>(-1)}, {1}, {}, {Shape{4}});
  REQUIRE(out.ok());
  CHECK(CompareTensors((*out)[0], ArgMaxReference(x, 1, DType::kI64), 0, 0) == "");
}

}  // namespace
}  // namespace sluice
