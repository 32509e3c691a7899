// MatMul and BatchMatMul CPU kernels against a naive reference.
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/kernel_test_util.h"

namespace sluice {
namespace {

using testing::CompareTensors;
using testing::RandomTensor;
using testing::RunCpuKernel;

// out[batch..., i, j] = sum_k op(a)[i, k] * op(b)[k, j] in double (or exact
// wrapping integer arithmetic for integer dtypes), with NumPy-broadcast batch
// dims; op transposes the last two dims when asked.
Tensor ReferenceMatMul(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  const int ra = sa.rank(), rb = sb.rank();
  const int64_t m = ta ? sa.dim(ra - 1) : sa.dim(ra - 2);
  const int64_t k = ta ? sa.dim(ra - 2) : sa.dim(ra - 1);
  const int64_t n = tb ? sb.dim(rb - 2) : sb.dim(rb - 1);
  const int batch_rank = std::max(ra, rb) - 2;
  Shape::Dims out_dims;
  for (int i = 0; i < batch_rank; ++i) {
    const int ia = i - (batch_rank - (ra - 2)), ib = i - (batch_rank - (rb - 2));
    const int64_t da = ia >= 0 ? sa.dim(ia) : 1, db = ib >= 0 ? sb.dim(ib) : 1;
    out_dims.push_back(da == 1 ? db : da);
  }
  out_dims.push_back(m);
  out_dims.push_back(n);
  const Shape out_shape(absl::MakeConstSpan(out_dims));
  Tensor out(a.dtype(), out_shape);
  const int64_t batches = out_shape.num_elements() / std::max<int64_t>(m * n, 1);
  const int64_t total_batches = m * n == 0 ? 0 : batches;
  std::vector<int64_t> index(batch_rank, 0);
  for (int64_t t = 0; t < total_batches; ++t) {
    int64_t rem = t;
    for (int d = batch_rank - 1; d >= 0; --d) {
      index[d] = rem % out_dims[d];
      rem /= out_dims[d];
    }
    auto matrix_offset = [&](const Shape& s) {
      int64_t off = 0;
      for (int d = 0; d < s.rank() - 2; ++d) {
        const int od = batch_rank - (s.rank() - 2) + d;
        off = off * s.dim(d) + (s.dim(d) == 1 ? 0 : index[od]);
      }
      return off * s.dim(s.rank() - 2) * s.dim(s.rank() - 1);
    };
    const int64_t oa = matrix_offset(sa), ob = matrix_offset(sb);
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        const int64_t at = t * m * n + i * n + j;
        VisitDType(a.dtype(), [&]<typename T>() {
          if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
            uint64_t sum = 0;
            for (int64_t kk = 0; kk < k; ++kk) {
              const int64_t av = a.data<T>()[oa + (ta ? kk * m + i : i * k + kk)];
              const int64_t bv = b.data<T>()[ob + (tb ? j * k + kk : kk * n + j)];
              sum += static_cast<uint64_t>(av) * static_cast<uint64_t>(bv);
            }
            out.data<T>()[at] = static_cast<T>(sum);
          } else {
            double sum = 0;
            for (int64_t kk = 0; kk < k; ++kk) {
              sum += a.ElementAsDouble(oa + (ta ? kk * m + i : i * k + kk)) *
                     b.ElementAsDouble(ob + (tb ? j * k + kk : kk * n + j));
            }
            if constexpr (std::is_same_v<T, BFloat16>) {
              out.data<T>()[at] = FloatToBFloat16(static_cast<float>(sum));
            } else if constexpr (std::is_floating_point_v<T>) {
              out.data<T>()[at] = static_cast<T>(sum);
            }
          }
        });
      }
    }
  }
  return out;
}

// The stored shape of an operand whose op() is [rows, cols].
Shape Stored(std::vector<int64_t> batch, int64_t rows, int64_t cols, bool transposed) {
  batch.push_back(transposed ? cols : rows);
  batch.push_back(transposed ? rows : cols);
  return Shape(absl::MakeConstSpan(batch));
}

void CheckMatMul(DType dtype, int64_t m, int64_t k, int64_t n, bool ta, bool tb, double rtol,
                 double atol) {
  INFO(absl::StrCat(DTypeName(dtype), " ", m, "x", k, "x", n, " ta=", ta, " tb=", tb));
  const uint64_t seed = static_cast<uint64_t>(m * 1000003 + k * 1009 + n * 7 + ta * 2 + tb);
  const double range = dtype == DType::kI32 || dtype == DType::kI64 ? 50 : 1;
  const Tensor a = RandomTensor(dtype, Stored({}, m, k, ta), seed, -range, range);
  const Tensor b = RandomTensor(dtype, Stored({}, k, n, tb), seed + 1, -range, range);
  auto out = RunCpuKernel("MatMul", {a, b}, {{"transpose_a", ta}, {"transpose_b", tb}});
  REQUIRE(out.ok());
  REQUIRE(out->size() == 1);
  REQUIRE((*out)[0].shape() == Shape{m, n});
  CHECK(CompareTensors((*out)[0], ReferenceMatMul(a, b, ta, tb), rtol, atol) == "");
}

TEST_CASE("MatMul f32 matches the reference for every transpose and size") {
  // Sizes on both sides of the plain-loop/oneDNN crossover.
  const std::vector<std::array<int64_t, 3>> sizes = {
      {1, 1, 1},   {1, 7, 1},    {3, 7, 5},    {8, 8, 8},      {7, 33, 1},
      {1, 33, 65}, {33, 65, 17}, {64, 64, 64}, {128, 256, 10}, {100, 784, 33}};
  for (const auto& s : sizes) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) CheckMatMul(DType::kF32, s[0], s[1], s[2], ta, tb, 1e-4, 1e-4);
    }
  }
}

TEST_CASE("MatMul f32 of a few rows by large weights (the streaming kernel) matches the reference") {
  // 1-4 rows with weights beyond L2 take the streaming kernel: column counts
  // on and off its 256-column blocks; 5 rows and the transposes go to oneDNN.
  const std::vector<std::array<int64_t, 3>> sizes = {
      {1, 1024, 512}, {2, 600, 1000}, {3, 2048, 300}, {4, 1024, 520}, {5, 1024, 512}};
  for (const auto& s : sizes) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) CheckMatMul(DType::kF32, s[0], s[1], s[2], ta, tb, 1e-4, 1e-4);
    }
  }
}

TEST_CASE("MatMul f64, bf16 and integers match the reference") {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      CheckMatMul(DType::kF64, 7, 33, 5, ta, tb, 1e-12, 1e-12);
      CheckMatMul(DType::kF64, 65, 40, 33, ta, tb, 1e-12, 1e-12);
      CheckMatMul(DType::kI32, 7, 33, 5, ta, tb, 0, 0);
      CheckMatMul(DType::kI64, 9, 4, 13, ta, tb, 0, 0);
      // bf16 rounds inputs and output to 8 bits of mantissa; the products
      // accumulate in f32.
      CheckMatMul(DType::kBF16, 33, 64, 17, ta, tb, 2e-2, 5e-2);
      CheckMatMul(DType::kBF16, 2, 3, 4, ta, tb, 2e-2, 5e-2);
    }
  }
}

TEST_CASE("Integer MatMul wraps around on overflow") {
  const int32_t big = std::numeric_limits<int32_t>::max();
  const Tensor a = *Tensor::FromVector<int32_t>({big, big}, Shape{1, 2});
  const Tensor b = *Tensor::FromVector<int32_t>({2, 3}, Shape{2, 1});
  auto out = RunCpuKernel("MatMul", {a, b});
  REQUIRE(out.ok());
  // 5 * (2^31 - 1) mod 2^32, as a signed 32-bit value.
  const int64_t wrapped = (int64_t{5} * big) % (int64_t{1} << 32);
  CHECK(
      (*out)[0].data<int32_t>()[0] ==
      static_cast<int32_t>(wrapped >= (int64_t{1} << 31) ? wrapped - (int64_t{1} << 32) : wrapped));
}

TEST_CASE("MatMul with zero-sized dims") {
  SECTION("no rows") {
    auto out = RunCpuKernel(
        "MatMul", {Tensor(DType::kF32, Shape{0, 5}), RandomTensor(DType::kF32, Shape{5, 3}, 1)});
    REQUIRE(out.ok());
    CHECK((*out)[0].shape() == Shape{0, 3});
  }
  SECTION("an empty inner dim gives zeros") {
    for (int64_t m : {2, 40}) {
      auto out = RunCpuKernel(
          "MatMul", {Tensor(DType::kF32, Shape{m, 0}), Tensor(DType::kF32, Shape{0, 70})});
      REQUIRE(out.ok());
      REQUIRE((*out)[0].shape() == Shape{m, 70});
      CHECK(CompareTensors((*out)[0], Tensor::Zeros(DType::kF32, Shape{m, 70}), 0, 0) == "");
    }
    auto ints = RunCpuKernel("MatMul",
                             {Tensor(DType::kI64, Shape{3, 0}), Tensor(DType::kI64, Shape{0, 2})});
    REQUIRE(ints.ok());
    CHECK(CompareTensors((*ints)[0], Tensor::Zeros(DType::kI64, Shape{3, 2}), 0, 0) == "");
  }
}

void CheckBatchMatMul(DType dtype, const Shape& a_shape, const Shape& b_shape, bool adj_x,
                      bool adj_y, const Shape& expected_shape, double tol) {
  INFO(absl::StrCat(DTypeName(dtype), " ", a_shape.ToString(), " x ", b_shape.ToString(),
                    " adj_x=", adj_x, " adj_y=", adj_y));
  const Tensor a = RandomTensor(dtype, a_shape, 11);
  const Tensor b = RandomTensor(dtype, b_shape, 12);
  auto out = RunCpuKernel("BatchMatMul", {a, b}, {{"adj_x", adj_x}, {"adj_y", adj_y}});
  REQUIRE(out.ok());
  REQUIRE((*out)[0].shape() == expected_shape);
  CHECK(CompareTensors((*out)[0], ReferenceMatMul(a, b, adj_x, adj_y), tol, tol) == "");
}

TEST_CASE("BatchMatMul matches the reference, with broadcast batch dims") {
  for (DType dtype : {DType::kF32, DType::kF64}) {
    const double tol = dtype == DType::kF32 ? 1e-4 : 1e-12;
    CheckBatchMatMul(dtype, Shape{2, 3, 4}, Shape{2, 4, 5}, false, false, Shape{2, 3, 5}, tol);
    CheckBatchMatMul(dtype, Shape{2, 4, 3}, Shape{2, 5, 4}, true, true, Shape{2, 3, 5}, tol);
    CheckBatchMatMul(dtype, Shape{2, 1, 3, 4}, Shape{5, 4, 6}, false, false, Shape{2, 5, 3, 6},
                     tol);
    CheckBatchMatMul(dtype, Shape{3, 4}, Shape{7, 6, 4}, false, true, Shape{7, 3, 6}, tol);
    CheckBatchMatMul(dtype, Shape{1, 7, 1, 3, 4}, Shape{2, 1, 5, 4, 3}, false, false,
                     Shape{2, 7, 5, 3, 3}, tol);
    // Big enough for oneDNN in f32.
    CheckBatchMatMul(dtype, Shape{4, 33, 65}, Shape{65, 17}, false, false, Shape{4, 33, 17}, tol);
    CheckBatchMatMul(dtype, Shape{3, 1, 65, 33}, Shape{1, 2, 17, 65}, true, true,
                     Shape{3, 2, 33, 17}, tol);
  }
  CheckBatchMatMul(DType::kI32, Shape{2, 1, 3, 4}, Shape{5, 4, 6}, false, false, Shape{2, 5, 3, 6},
                   0);
  CheckBatchMatMul(DType::kBF16, Shape{4, 33, 65}, Shape{4, 65, 17}, false, false, Shape{4, 33, 17},
                   5e-2);
}

TEST_CASE("BatchMatMul with an empty batch") {
  auto out = RunCpuKernel("BatchMatMul", {Tensor(DType::kF32, Shape{0, 3, 4}),
                                          RandomTensor(DType::kF32, Shape{1, 4, 5}, 3)});
  REQUIRE(out.ok());
  CHECK((*out)[0].shape() == Shape{0, 3, 5});
}

}  // namespace
}  // namespace sluice
