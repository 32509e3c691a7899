// Products of a few rows with a large weight matrix (batch-1 dense layers):
// memory-bound, so the best kernel reads the weights once, in order.
#ifndef SLUICE_CPU_GEMV_H_
#define SLUICE_CPU_GEMV_H_

#include <cstdint>

namespace sluice::cpu {

// Whether c[m,n] = a[m,k] b[k,n] (row-major, neither transposed) is better
// computed by StreamingGemv than by oneDNN's matmul: at most 4 rows, and a
// weight matrix too large for the L2 cache. oneDNN 2.6's brgemm matmul
// repacks B on every call, so with m = 1 it reads the weights three times
// (1x3136 by 3136x1024, 2 threads: 0.18 ms here against oneDNN's 0.52 ms).
// With small weights or more rows, oneDNN wins.
bool UseStreamingGemv(int64_t m, int64_t k, int64_t n, bool transpose_a, bool transpose_b);

// c = a b for row-major a [m,k], b [k,n], c [m,n], m <= 4: every thread
// streams the rows of its own column block of b once.
void StreamingGemv(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n);

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_GEMV_H_
