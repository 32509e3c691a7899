// CUDA kernels of the reduction family (Sum, Mean, Max, Min, Prod, ArgMax)
// against the CPU ones.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "tests/cuda_test_util.h"
#include "tests/kernel_test_util.h"

namespace sluice::testing {
namespace {

const std::vector<DType> kNumeric = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16,
                                     DType::kI8,  DType::kU8,  DType::kI32, DType::kI64};

struct ReduceCase {
  Shape shape;
  std::vector<int32_t> axes;
};

// Every way the kernels split the work: a thread per output (innermost dim
// kept, many outputs or short reductions), a block per output (innermost
// dim reduced, or few long reductions), split into parts (few outputs with
// very long reductions), general strides (non-contiguous axes), empty
// reductions and empty outputs.
const std::vector<ReduceCase>& ReduceCases() {
  static const auto* cases = new std::vector<ReduceCase>{
      {Shape{1, 1}, {0}},
      {Shape{1, 1}, {1}},
      {Shape{1, 1}, {0, 1}},
      {Shape{7}, {0}},
      {Shape{7, 13}, {0}},
      {Shape{7, 13}, {1}},
      {Shape{7, 13}, {-1}},
      {Shape{7, 13}, {}},
      {Shape{7, 13}, {0, 1}},
      {Shape{7, 13}, {1, 0}},
      {Shape{128, 784}, {0}},
      {Shape{128, 784}, {1}},
      {Shape{128, 784}, {0, 1}},
      {Shape{2, 3, 64, 64}, {0}},
      {Shape{2, 3, 64, 64}, {1}},
      {Shape{2, 3, 64, 64}, {3}},
      {Shape{2, 3, 64, 64}, {2, 3}},
      {Shape{2, 3, 64, 64}, {0, 2}},
      {Shape{2, 3, 64, 64}, {1, 3}},
      {Shape{2, 3, 64, 64}, {0, 2, 3}},
      {Shape{2, 3, 64, 64}, {0, 1, 2, 3}},
      {Shape{5, 1, 6, 7}, {1, 2}},
      {Shape{5, 1, 6, 7}, {1}},
      {Shape{3, 4, 5, 6, 7}, {0, 2, 4}},
      {Shape{8, 4096}, {0}},    // a thread per output
      {Shape{4096, 8}, {0}},    // few outputs, long strided reductions: a block each
      {Shape{3, 100000}, {1}},  // few long rows: parts
      {Shape{100000, 3}, {0}},  // few long columns: parts
      {Shape{300001}, {0}},     // one very long row: parts
      {Shape{3, 0, 4}, {1}},    // empty reductions: the identity (Mean: NaN)
      {Shape{0, 5}, {1}},       // no output elements
      {Shape{0, 5}, {0}},
  };
  return *cases;
}

// Values each dtype reduces without overflow trouble on either side
// (integers wrap identically, so only the range matters for u8).
void RangeFor(DType dtype, const std::string& op, double* lo, double* hi) {
  *lo = dtype == DType::kU8 ? 0 : -4;
  *hi = 4;
  if (op == "Prod" && (dtype == DType::kF32 || dtype == DType::kF64 || dtype == DType::kF16 ||
                       dtype == DType::kBF16)) {
    *lo = 0.5;  // products of many values stay representable a while
    *hi = 1.5;
  }
}

// Tolerances against the CPU: sums of floats differ by the order of
// additions, which grows with the number of terms (a mean divides that
// back out); 16-bit results differ by one rounding of the f32 accumulator.
void TolerancesFor(DType dtype, const std::string& op, int64_t count, double* rtol, double* atol) {
  *rtol = 0;
  *atol = 0;
  if (op == "Max" || op == "Min") return;  // exact for every dtype
  const double terms = op == "Sum" ? static_cast<double>(count) : 1.0;
  switch (dtype) {
    case DType::kF32:
      *rtol = 1e-4;
      *atol = 1e-5 + 5e-7 * terms;
      break;
    case DType::kF64:
      *rtol = 1e-10;
      *atol = 1e-12 * (terms + 1);
      break;
    case DType::kF16:
    case DType::kBF16:
      *rtol = 1.6e-2;
      *atol = 1e-2 + 5e-7 * terms;
      break;
    default:
      break;  // integers wrap identically: exact
  }
}

TEST_CASE("CUDA reductions match the CPU for every op, dtype, axes and keep_dims") {
  uint64_t seed = 1;
  for (const std::string op : {"Sum", "Mean", "Max", "Min", "Prod"}) {
    for (DType dtype : kNumeric) {
      for (const ReduceCase& c : ReduceCases()) {
        double lo = 0, hi = 0;
        RangeFor(dtype, op, &lo, &hi);
        const Tensor x = RandomTensor(dtype, c.shape, seed++, lo, hi);
        int64_t count = 1;
        for (int32_t a : c.axes) count *= c.shape.dim(a < 0 ? a + c.shape.rank() : a);
        double rtol = 0, atol = 0;
        TolerancesFor(dtype, op, count, &rtol, &atol);
        for (bool keep_dims : {false, true}) {
          INFO(op << " " << DTypeName(dtype) << " " << c.shape.ToString() << " axes ["
                  << absl::StrJoin(c.axes, ",") << "] keep_dims " << keep_dims);
          CHECK(CompareCudaWithCpu(op, {x, Tensor::FromVector(c.axes)}, {{"keep_dims", keep_dims}},
                                   rtol, atol) == "");
        }
      }
    }
  }
}

TEST_CASE("CUDA reductions take i64 axes and scalar axes") {
  const Tensor x = RandomTensor(DType::kF32, Shape{6, 9, 10}, 5);
  CHECK(CompareCudaWithCpu("Sum", {x, Tensor::FromVector(std::vector<int64_t>{2, 0})},
                           {{"Tidx", DType::kI64}}, 1e-5, 1e-5) == "");
  CHECK(CompareCudaWithCpu("Max", {x, Tensor::Scalar<int32_t>(1)}, {}, 0, 0) == "");
  CHECK(CompareCudaWithCpu("Mean", {x, Tensor::Scalar<int32_t>(-1)}, {{"keep_dims", true}}, 1e-5,
                           1e-5) == "");
}

TEST_CASE("CUDA Max and Min propagate NaN like the CPU") {
  // NaN first, in the middle and last of the reduced positions, on every
  // launch shape.
  for (const Shape& shape :
       {Shape{7, 13}, Shape{128, 784}, Shape{4096, 8}, Shape{3, 100000}, Shape{100000, 3}}) {
    Tensor x = RandomTensor(DType::kF32, shape, 11);
    float* p = x.data<float>();
    const int64_t n = x.num_elements();
    p[0] = NAN;
    p[n / 2] = NAN;
    p[n - 1] = NAN;
    for (const std::string op : {"Max", "Min", "Sum"}) {
      for (int32_t axis : {0, 1}) {
        INFO(op << " " << shape.ToString() << " axis " << axis);
        CHECK(CompareCudaWithCpu(op, {x, Tensor::FromVector(std::vector<int32_t>{axis})}, {}, 1e-4,
                                 1e-3) == "");
      }
      INFO(op << " " << shape.ToString() << " all axes");
      CHECK(CompareCudaWithCpu(op, {x, Tensor::FromVector(std::vector<int32_t>{0, 1})}, {}, 1e-4,
                               1e-1) == "");
    }
  }
}

TEST_CASE("CUDA reductions give exact values on known inputs") {
  const Tensor x = *Tensor::FromVector(std::vector<float>{1, 2, 3, 4, 5, 6}, Shape{2, 3});
  auto sum = RunCudaKernel("Sum", {x, Tensor::FromVector(std::vector<int32_t>{1})});
  REQUIRE(sum.ok());
  CHECK(CompareTensors((*sum)[0], Tensor::FromVector(std::vector<float>{6, 15}), 0, 0) == "");
  auto mean = RunCudaKernel("Mean", {x, Tensor::FromVector(std::vector<int32_t>{0})},
                            {{"keep_dims", true}});
  REQUIRE(mean.ok());
  CHECK(CompareTensors((*mean)[0],
                       *Tensor::FromVector(std::vector<float>{2.5, 3.5, 4.5}, Shape{1, 3}), 0,
                       0) == "");
  auto prod = RunCudaKernel("Prod", {x, Tensor::FromVector(std::vector<int32_t>{0, 1})});
  REQUIRE(prod.ok());
  CHECK(CompareTensors((*prod)[0], Tensor::Scalar<float>(720), 0, 0) == "");
  // Integer sums wrap; integer means truncate toward zero.
  const Tensor i8 = Tensor::FromVector(std::vector<int8_t>{100, 100, -7});
  auto wrapped = RunCudaKernel("Sum", {i8, Tensor::FromVector(std::vector<int32_t>{0})});
  REQUIRE(wrapped.ok());
  CHECK(CompareTensors((*wrapped)[0], Tensor::Scalar<int8_t>(static_cast<int8_t>(193)), 0, 0) ==
        "");
  const Tensor i32 = Tensor::FromVector(std::vector<int32_t>{-3, -4});
  auto mean_i = RunCudaKernel("Mean", {i32, Tensor::FromVector(std::vector<int32_t>{0})});
  REQUIRE(mean_i.ok());
  CHECK(CompareTensors((*mean_i)[0], Tensor::Scalar<int32_t>(-3), 0, 0) == "");
}

// The same status (code and message) from both kernels.
void CheckSameError(const std::string& op, const std::vector<Tensor>& inputs,
                    const AttrMap& attrs) {
  const auto cpu = RunCpuKernel(op, inputs, attrs);
  const auto gpu = RunCudaKernel(op, inputs, attrs);
  REQUIRE_FALSE(cpu.ok());
  REQUIRE_FALSE(gpu.ok());
  CHECK(gpu.status().code() == cpu.status().code());
  CHECK(gpu.status().message() == cpu.status().message());
}

TEST_CASE("CUDA reductions reject bad axes as the CPU does") {
  const Tensor x = RandomTensor(DType::kF32, Shape{7, 13}, 3);
  for (const std::string op : {"Sum", "Mean", "Max", "Min", "Prod"}) {
    INFO(op);
    CheckSameError(op, {x, Tensor::FromVector(std::vector<int32_t>{2})}, {});
    CheckSameError(op, {x, Tensor::FromVector(std::vector<int32_t>{-3})}, {});
    CheckSameError(op, {x, Tensor::FromVector(std::vector<int32_t>{1, -1})}, {});
  }
  CheckSameError("ArgMax", {x, Tensor::Scalar<int32_t>(2)}, {});
  CheckSameError("ArgMax", {x, Tensor::Scalar<int32_t>(-3)}, {});
  CheckSameError("ArgMax", {Tensor(DType::kF32, Shape{3, 0}), Tensor::Scalar<int32_t>(1)}, {});
}

TEST_CASE("CUDA ArgMax matches the CPU, ties included") {
  struct Case {
    Shape shape;
    int axis;
  };
  const std::vector<Case> cases = {
      {Shape{1, 1}, 0},         {Shape{1, 1}, 1},         {Shape{7}, 0},
      {Shape{7, 13}, 0},        {Shape{7, 13}, 1},        {Shape{7, 13}, -1},
      {Shape{128, 784}, 0},     {Shape{128, 784}, 1},     {Shape{2, 3, 64, 64}, 0},
      {Shape{2, 3, 64, 64}, 1}, {Shape{2, 3, 64, 64}, 2}, {Shape{2, 3, 64, 64}, 3},
      {Shape{5000}, 0},         {Shape{100000, 3}, 0},    {Shape{3, 100000}, 1},
      {Shape{4, 300, 5}, 1},    {Shape{0, 3}, 1},         {Shape{3, 0}, 0}};
  uint64_t seed = 100;
  for (DType dtype : kNumeric) {
    for (DType index_type : {DType::kI32, DType::kI64}) {
      for (const Case& c : cases) {
        INFO(DTypeName(dtype) << c.shape.ToString() << " axis " << c.axis << " -> "
                              << DTypeName(index_type));
        // Few distinct values, so ties are common and must pick the first.
        const Tensor x = RandomTensor(dtype, c.shape, seed++, 0, 4);
        CHECK(CompareCudaWithCpu("ArgMax", {x, Tensor::Scalar<int32_t>(c.axis)},
                                 {{"output_type", index_type}}, 0, 0) == "");
      }
    }
  }
}

TEST_CASE("CUDA ArgMax picks the first of equal values and the first NaN") {
  auto x = *Tensor::FromVector(std::vector<float>{1, 3, 3, 2, NAN, 5, NAN, 1}, Shape{2, 4});
  auto out = RunCudaKernel("ArgMax", {x, Tensor::Scalar<int32_t>(1)});
  REQUIRE(out.ok());
  CHECK(CompareTensors((*out)[0], Tensor::FromVector(std::vector<int64_t>{1, 0}), 0, 0) == "");
  // Long rows (a block per row) with NaNs in several threads' parts.
  for (const Shape& shape : {Shape{2, 5000}, Shape{5000, 2}, Shape{100000, 3}}) {
    Tensor y = RandomTensor(DType::kF32, shape, 21, 0, 4);
    float* p = y.data<float>();
    const int64_t n = y.num_elements();
    p[n / 3] = NAN;
    p[n / 2] = NAN;
    p[n - 2] = NAN;
    for (int axis : {0, 1}) {
      INFO(shape.ToString() << " axis " << axis);
      CHECK(CompareCudaWithCpu("ArgMax", {y, Tensor::Scalar<int32_t>(axis)}, {}, 0, 0) == "");
    }
  }
}

}  // namespace
}  // namespace sluice::testing
