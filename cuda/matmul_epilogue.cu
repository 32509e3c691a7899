#include <cstdint>

#include "cuda/launch.cuh"
#include "cuda/matmul_launch.h"

namespace sluice::cuda {
namespace {

// The activations as the CPU's fused and unfused kernels compute them.
__device__ float Activate(EpilogueActivation activation, float alpha, float x) {
  switch (activation) {
    case EpilogueActivation::kNone:
      return x;
    case EpilogueActivation::kRelu:
      return x > 0.0f ? x : 0.0f;
    case EpilogueActivation::kRelu6:
      return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
    case EpilogueActivation::kElu:
      return x > 0.0f ? x : expm1f(x);
    case EpilogueActivation::kSigmoid:
      return 1.0f / (1.0f + expf(-x));
    case EpilogueActivation::kTanh:
      return tanhf(x);
    case EpilogueActivation::kLeakyRelu:
      return x > 0.0f ? x : alpha * x;
  }
  return x;
}

__global__ void EpilogueKernel(EpilogueActivation activation, float alpha,
                               const float* __restrict__ bias, const float* residual,
                               bool product_in_y, float* y, int64_t rows, int64_t cols) {
  const int64_t n = rows * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{blockDim.x} * gridDim.x) {
    float v = product_in_y ? y[i] : 0.0f;
    if (bias != nullptr) v += bias[i % cols];
    if (residual != nullptr) v += residual[i];
    y[i] = Activate(activation, alpha, v);
  }
}

}  // namespace

cudaError_t LaunchEpilogue(EpilogueActivation activation, float alpha, const float* bias,
                           const float* residual, bool product_in_y, float* y, int64_t rows,
                           int64_t cols, cudaStream_t stream) {
  const int64_t n = rows * cols;
  if (n == 0) return cudaSuccess;
  EpilogueKernel<<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(activation, alpha, bias, residual,
                                                                product_in_y, y, rows, cols);
  return cudaGetLastError();
}

}  // namespace sluice::cuda
