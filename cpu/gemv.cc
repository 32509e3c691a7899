#include "cpu/gemv.h"

#include <algorithm>

#include "cpu/parallel.h"

namespace sluice::cpu {
namespace {

constexpr int64_t kMaxRows = 4;
// Columns per task: the accumulators (kMaxRows x kColumnBlock floats) stay
// in L1, and each row of b is read as one 1 KiB run.
constexpr int64_t kColumnBlock = 256;
// Below this many weights (2 MiB of f32) b stays in L2 and oneDNN is faster.
constexpr int64_t kMinWeights = int64_t{1} << 19;

template <int64_t kRows>
void GemvBlock(const float* a, const float* b, float* c, int64_t k, int64_t n, int64_t n0,
               int64_t n1) {
  float acc[kRows][kColumnBlock] = {};
  const int64_t width = n1 - n0;
  for (int64_t kk = 0; kk < k; ++kk) {
    const float* row = b + kk * n + n0;
    for (int64_t r = 0; r < kRows; ++r) {
      const float x = a[r * k + kk];
      float* out = acc[r];
#pragma omp simd
      for (int64_t j = 0; j < width; ++j) out[j] += x * row[j];
    }
  }
  for (int64_t r = 0; r < kRows; ++r) std::copy(acc[r], acc[r] + width, c + r * n + n0);
}

}  // namespace

bool UseStreamingGemv(int64_t m, int64_t k, int64_t n, bool transpose_a, bool transpose_b) {
  return !transpose_a && !transpose_b && m >= 1 && m <= kMaxRows && n >= 64 &&
         k * n >= kMinWeights;
}

void StreamingGemv(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n) {
  const int64_t blocks = (n + kColumnBlock - 1) / kColumnBlock;
  ParallelFor(blocks, k * kColumnBlock * m, [&](int64_t begin, int64_t end) {
    for (int64_t blk = begin; blk < end; ++blk) {
      const int64_t n0 = blk * kColumnBlock, n1 = std::min(n, n0 + kColumnBlock);
      switch (m) {
        case 1: GemvBlock<1>(a, b, c, k, n, n0, n1); break;
        case 2: GemvBlock<2>(a, b, c, k, n, n0, n1); break;
        case 3: GemvBlock<3>(a, b, c, k, n, n0, n1); break;
        default: GemvBlock<4>(a, b, c, k, n, n0, n1); break;
      }
    }
  });
}

}  // namespace sluice::cpu
