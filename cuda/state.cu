#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cuda/launch.cuh"
#include "cuda/state_launch.h"

namespace sluice::cuda {
namespace {

template <typename T>
__global__ void AccumulateKernel(T* dst, const T* src, int64_t n, int sign) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{blockDim.x} * gridDim.x) {
    if constexpr (std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>) {
      dst[i] = T(float(dst[i]) + float(sign) * float(src[i]));
    } else {
      dst[i] = sign > 0 ? T(dst[i] + src[i]) : T(dst[i] - src[i]);
    }
  }
}

template <typename T>
cudaError_t Launch(void* dst, const void* src, int64_t n, int sign, cudaStream_t stream) {
  AccumulateKernel<T><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
      static_cast<T*>(dst), static_cast<const T*>(src), n, sign);
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchAccumulate(AccumulateType type, void* dst, const void* src, int64_t n, int sign,
                             cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (type) {
    case AccumulateType::kF32: return Launch<float>(dst, src, n, sign, stream);
    case AccumulateType::kF64: return Launch<double>(dst, src, n, sign, stream);
    case AccumulateType::kI32: return Launch<int32_t>(dst, src, n, sign, stream);
    case AccumulateType::kI64: return Launch<int64_t>(dst, src, n, sign, stream);
    case AccumulateType::kF16: return Launch<__half>(dst, src, n, sign, stream);
    case AccumulateType::kBF16: return Launch<__nv_bfloat16>(dst, src, n, sign, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace sluice::cuda
