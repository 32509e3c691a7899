// Device code of the matmul family (cuda/matmul.cu, cuda/matmul_epilogue.cu):
// what cuBLAS and cuBLASLt leave to us.
#ifndef SLUICE_CUDA_MATMUL_LAUNCH_H_
#define SLUICE_CUDA_MATMUL_LAUNCH_H_

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sluice::cuda {

// The pointer arrays of a batched product whose batch dims broadcast in a
// way no single stride describes: for t < count,
//   a_ptrs[t] = a + a_offsets[t] * element_bytes,
//   b_ptrs[t] = b + b_offsets[t] * element_bytes,
//   c_ptrs[t] = c + t * c_stride * element_bytes.
// The offsets (in elements) live in device memory.
cudaError_t LaunchBatchPointers(const void* a, const void* b, void* c, const int64_t* a_offsets,
                                const int64_t* b_offsets, int64_t c_stride, int64_t count,
                                int64_t element_bytes, const void** a_ptrs, const void** b_ptrs,
                                void** c_ptrs, cudaStream_t stream);

// Integer products, which cuBLAS does not compute: for t < count,
// c[t] = op(a[t]) x op(b[t]) as row-major [m, n] matrices one after the
// other, where a[t] and b[t] start at element offsets a_offsets[t] and
// b_offsets[t] (device memory) and are stored transposed when transpose_a /
// transpose_b. Products and sums wrap around (two's complement), as on the
// CPU. k must be at least 1.
enum class IntMatMulType { kI32, kI64 };
cudaError_t LaunchIntMatMul(IntMatMulType type, const void* a, const void* b, void* c,
                            const int64_t* a_offsets, const int64_t* b_offsets, int64_t count,
                            int64_t m, int64_t k, int64_t n, bool transpose_a, bool transpose_b,
                            cudaStream_t stream);

// The activations of the fused epilogue (graph/ops/fused.h).
enum class EpilogueActivation { kNone, kRelu, kRelu6, kElu, kSigmoid, kTanh, kLeakyRelu };

// y[i, j] = act(p + bias[j] + residual[i, j]) over a row-major [rows, cols]
// matrix, where p is y's current value when `product_in_y`, else 0. A null
// bias or residual adds nothing. `alpha` is LeakyRelu's slope.
cudaError_t LaunchEpilogue(EpilogueActivation activation, float alpha, const float* bias,
                           const float* residual, bool product_in_y, float* y, int64_t rows,
                           int64_t cols, cudaStream_t stream);

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_MATMUL_LAUNCH_H_
