#include <cstdint>

#include "cuda/launch.cuh"
#include "cuda/matmul_launch.h"

namespace sluice::cuda {
namespace {

__global__ void BatchPointersKernel(const char* a, const char* b, char* c,
                                    const int64_t* __restrict__ a_offsets,
                                    const int64_t* __restrict__ b_offsets, int64_t c_stride,
                                    int64_t count, int64_t element_bytes, const void** a_ptrs,
                                    const void** b_ptrs, void** c_ptrs) {
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < count;
       t += int64_t{blockDim.x} * gridDim.x) {
    a_ptrs[t] = a + a_offsets[t] * element_bytes;
    b_ptrs[t] = b + b_offsets[t] * element_bytes;
    c_ptrs[t] = c + t * c_stride * element_bytes;
  }
}

// One thread per output element; the sum runs in uint64_t, whose low bits
// are the two's complement result in T.
template <typename T>
__global__ void IntMatMulKernel(const T* __restrict__ a, const T* __restrict__ b, T* __restrict__ c,
                                const int64_t* __restrict__ a_offsets,
                                const int64_t* __restrict__ b_offsets, int64_t count, int64_t m,
                                int64_t k, int64_t n, bool transpose_a, bool transpose_b) {
  const int64_t per_batch = m * n;
  const int64_t total = count * per_batch;
  // Element (i, kk) of op(a) is at[i * a_row + kk * a_col]; (kk, j) of op(b)
  // is bt[kk * b_row + j * b_col].
  const int64_t a_row = transpose_a ? 1 : k, a_col = transpose_a ? m : 1;
  const int64_t b_row = transpose_b ? 1 : n, b_col = transpose_b ? k : 1;
  for (int64_t idx = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; idx < total;
       idx += int64_t{blockDim.x} * gridDim.x) {
    const int64_t t = idx / per_batch;
    const int64_t rest = idx - t * per_batch;
    const int64_t i = rest / n, j = rest - (rest / n) * n;
    const T* at = a + a_offsets[t] + i * a_row;
    const T* bt = b + b_offsets[t] + j * b_col;
    uint64_t sum = 0;
    for (int64_t kk = 0; kk < k; ++kk) {
      sum += static_cast<uint64_t>(static_cast<int64_t>(at[kk * a_col])) *
             static_cast<uint64_t>(static_cast<int64_t>(bt[kk * b_row]));
    }
    c[idx] = static_cast<T>(sum);
  }
}

template <typename T>
cudaError_t IntMatMul(const void* a, const void* b, void* c, const int64_t* a_offsets,
                      const int64_t* b_offsets, int64_t count, int64_t m, int64_t k, int64_t n,
                      bool transpose_a, bool transpose_b, cudaStream_t stream) {
  IntMatMulKernel<T><<<BlocksFor(count * m * n), kThreadsPerBlock, 0, stream>>>(
      static_cast<const T*>(a), static_cast<const T*>(b), static_cast<T*>(c), a_offsets, b_offsets,
      count, m, k, n, transpose_a, transpose_b);
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchIntMatMul(IntMatMulType type, const void* a, const void* b, void* c,
                            const int64_t* a_offsets, const int64_t* b_offsets, int64_t count,
                            int64_t m, int64_t k, int64_t n, bool transpose_a, bool transpose_b,
                            cudaStream_t stream) {
  if (count * m * n == 0) return cudaSuccess;
  if (type == IntMatMulType::kI32) {
    return IntMatMul<int32_t>(a, b, c, a_offsets, b_offsets, count, m, k, n, transpose_a,
                              transpose_b, stream);
  }
  return IntMatMul<int64_t>(a, b, c, a_offsets, b_offsets, count, m, k, n, transpose_a, transpose_b,
                            stream);
}

cudaError_t LaunchBatchPointers(const void* a, const void* b, void* c, const int64_t* a_offsets,
                                const int64_t* b_offsets, int64_t c_stride, int64_t count,
                                int64_t element_bytes, const void** a_ptrs, const void** b_ptrs,
                                void** c_ptrs, cudaStream_t stream) {
  if (count == 0) return cudaSuccess;
  BatchPointersKernel<<<BlocksFor(count), kThreadsPerBlock, 0, stream>>>(
      static_cast<const char*>(a), static_cast<const char*>(b), static_cast<char*>(c), a_offsets,
      b_offsets, c_stride, count, element_bytes, a_ptrs, b_ptrs, c_ptrs);
  return cudaGetLastError();
}

}  // namespace sluice::cuda
