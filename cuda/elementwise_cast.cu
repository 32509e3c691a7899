// Cast between any two element types, with the CPU's rules
// (cpu/elementwise.cc CastValue): 16-bit floats convert through f32, float
// to integer saturates and maps NaN to 0, anything to bool is x != 0, and
// the rest is C++'s conversion (integers wrap). One kernel per source type;
// the destination type is a switch outside the element loop.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "cuda/elementwise_launch.h"
#include "cuda/elementwise_ops.cuh"
#include "cuda/launch.cuh"

namespace sluice::cuda {
namespace {

using ew::FirstIndex;
using ew::IndexStride;

// The range of the integer destination types (std::numeric_limits is not
// usable in device code without relaxed constexpr).
template <typename T>
struct IntRange;
template <>
struct IntRange<int8_t> {
  static constexpr int8_t kLowest = -128;
  static constexpr int8_t kMax = 127;
};
template <>
struct IntRange<uint8_t> {
  static constexpr uint8_t kLowest = 0;
  static constexpr uint8_t kMax = 255;
};
template <>
struct IntRange<int32_t> {
  static constexpr int32_t kLowest = -2147483647 - 1;
  static constexpr int32_t kMax = 2147483647;
};
template <>
struct IntRange<int64_t> {
  static constexpr int64_t kLowest = -9223372036854775807LL - 1;
  static constexpr int64_t kMax = 9223372036854775807LL;
};

template <typename To, typename From>
__device__ inline To CastValue(From v) {
  if constexpr (std::is_same_v<From, __half>) {
    return CastValue<To>(__half2float(v));
  } else if constexpr (std::is_same_v<From, __nv_bfloat16>) {
    return CastValue<To>(__bfloat162float(v));
  } else if constexpr (std::is_same_v<To, __half>) {
    return __float2half_rn(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, __nv_bfloat16>) {
    return __float2bfloat16_rn(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (v != v) return To(0);
    if (v <= static_cast<From>(IntRange<To>::kLowest)) return IntRange<To>::kLowest;
    if (v >= static_cast<From>(IntRange<To>::kMax)) return IntRange<To>::kMax;
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

template <typename From, typename To>
__device__ inline void CastLoop(const From* x, void* y, int64_t n) {
  To* out = static_cast<To*>(y);
  for (int64_t i = FirstIndex(); i < n; i += IndexStride()) out[i] = CastValue<To>(x[i]);
}

template <typename From>
__global__ void CastKernel(const From* x, void* y, EwType to, int64_t n) {
  switch (to) {
    case EwType::kF32:
      return CastLoop<From, float>(x, y, n);
    case EwType::kF64:
      return CastLoop<From, double>(x, y, n);
    case EwType::kF16:
      return CastLoop<From, __half>(x, y, n);
    case EwType::kBF16:
      return CastLoop<From, __nv_bfloat16>(x, y, n);
    case EwType::kI8:
      return CastLoop<From, int8_t>(x, y, n);
    case EwType::kU8:
      return CastLoop<From, uint8_t>(x, y, n);
    case EwType::kI32:
      return CastLoop<From, int32_t>(x, y, n);
    case EwType::kI64:
      return CastLoop<From, int64_t>(x, y, n);
    case EwType::kBool:
      return CastLoop<From, bool>(x, y, n);
  }
}

template <typename From>
cudaError_t Cast(const void* x, void* y, EwType to, int64_t n, cudaStream_t stream) {
  CastKernel<From>
      <<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(static_cast<const From*>(x), y, to, n);
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchCast(EwType from, EwType to, const void* x, void* y, int64_t n,
                       cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (from) {
    case EwType::kF32:
      return Cast<float>(x, y, to, n, stream);
    case EwType::kF64:
      return Cast<double>(x, y, to, n, stream);
    case EwType::kF16:
      return Cast<__half>(x, y, to, n, stream);
    case EwType::kBF16:
      return Cast<__nv_bfloat16>(x, y, to, n, stream);
    case EwType::kI8:
      return Cast<int8_t>(x, y, to, n, stream);
    case EwType::kU8:
      return Cast<uint8_t>(x, y, to, n, stream);
    case EwType::kI32:
      return Cast<int32_t>(x, y, to, n, stream);
    case EwType::kI64:
      return Cast<int64_t>(x, y, to, n, stream);
    case EwType::kBool:
      return Cast<bool>(x, y, to, n, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace sluice::cuda
