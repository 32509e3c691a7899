// Layout kernels, the fused-convolution epilogue and the batch-norm helpers
// of the nn families (see cuda/nn_launch.h).
#include <cstdint>

#include "cuda/launch.cuh"
#include "cuda/nn_launch.h"

namespace sluice::cuda {
namespace {

struct Index4 {
  int64_t v[4];
};

// Elements move as raw bits: a transpose or a window copy never computes.
template <typename Bits>
__global__ void Permute4DKernel(const Bits* in, Bits* out, Index4 dims, Index4 in_strides,
                                int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{blockDim.x} * gridDim.x) {
    int64_t rest = i;
    const int64_t i3 = rest % dims.v[3];
    rest /= dims.v[3];
    const int64_t i2 = rest % dims.v[2];
    rest /= dims.v[2];
    const int64_t i1 = rest % dims.v[1];
    const int64_t i0 = rest / dims.v[1];
    out[i] = in[i0 * in_strides.v[0] + i1 * in_strides.v[1] + i2 * in_strides.v[2] +
                i3 * in_strides.v[3]];
  }
}

template <typename Bits>
__global__ void ShiftWindowKernel(bool nhwc, const Bits* in, int64_t channels, int64_t in_h,
                                  int64_t in_w, Bits* out, int64_t out_h, int64_t out_w,
                                  int64_t offset_h, int64_t offset_w, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{blockDim.x} * gridDim.x) {
    // `out` is dense, so i walks it in its own layout order.
    int64_t rest = i, b, c, h, w;
    if (nhwc) {
      c = rest % channels;
      rest /= channels;
      w = rest % out_w;
      rest /= out_w;
      h = rest % out_h;
      b = rest / out_h;
    } else {
      w = rest % out_w;
      rest /= out_w;
      h = rest % out_h;
      rest /= out_h;
      c = rest % channels;
      b = rest / channels;
    }
    const int64_t src_h = h + offset_h, src_w = w + offset_w;
    Bits value = 0;
    if (src_h >= 0 && src_h < in_h && src_w >= 0 && src_w < in_w) {
      const int64_t at = nhwc ? ((b * in_h + src_h) * in_w + src_w) * channels + c
                              : ((b * channels + c) * in_h + src_h) * in_w + src_w;
      value = in[at];
    }
    out[i] = value;
  }
}

__device__ float Activate(FusedActivation a, float alpha, float x) {
  switch (a) {
    case FusedActivation::kNone:
      return x;
    case FusedActivation::kRelu:
      return x > 0.0f ? x : 0.0f;
    case FusedActivation::kRelu6:
      return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
    case FusedActivation::kElu:
      return x > 0.0f ? x : expm1f(x);
    case FusedActivation::kSigmoid:
      return 1.0f / (1.0f + expf(-x));
    case FusedActivation::kTanh:
      return tanhf(x);
    case FusedActivation::kLeakyRelu:
      return x > 0.0f ? x : alpha * x;
  }
  return x;
}

__global__ void ConvEpilogueKernel(FusedActivation activation, float alpha, int64_t channels,
                                   int64_t inner, const float* bias, const float* residual,
                                   float* y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{blockDim.x} * gridDim.x) {
    float v = y[i] + bias[(i / inner) % channels];
    if (residual != nullptr) v += residual[i];
    y[i] = Activate(activation, alpha, v);
  }
}

__global__ void FillF32Kernel(float* out, int64_t n, float value) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{blockDim.x} * gridDim.x) {
    out[i] = value;
  }
}

__global__ void FinishBatchNormStatsKernel(int64_t channels, int64_t count, float factor,
                                           const float* old_mean, const float* old_variance,
                                           float* batch_mean, float* batch_variance,
                                           float* reserve_variance) {
  for (int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; c < channels;
       c += int64_t{blockDim.x} * gridDim.x) {
    const float mean = batch_mean[c];
    // One element has a biased variance of exactly 0 and no Bessel factor.
    const float unbiased = count > 1 ? batch_variance[c] : 0.0f;
    const float biased =
        count > 1 ? static_cast<float>(unbiased * (static_cast<double>(count - 1) / count)) : 0.0f;
    reserve_variance[c] = biased;
    if (factor == 1.0f) {
      batch_mean[c] = mean;
      batch_variance[c] = unbiased;
    } else {
      batch_mean[c] = (1.0f - factor) * old_mean[c] + factor * mean;
      batch_variance[c] = (1.0f - factor) * old_variance[c] + factor * unbiased;
    }
  }
}

__global__ void InverseStdKernel(int64_t channels, const float* variance, float epsilon,
                                 float* inv_std) {
  for (int64_t c = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; c < channels;
       c += int64_t{blockDim.x} * gridDim.x) {
    inv_std[c] = static_cast<float>(1.0 / sqrt(static_cast<double>(variance[c]) + epsilon));
  }
}

// One block per channel: the two sums in double (as the CPU kernel), then dx.
__global__ void BatchNormGradInferenceKernel(int64_t outer, int64_t channels, int64_t inner,
                                             const float* dy, const float* x, const float* scale,
                                             const float* mean, const float* variance,
                                             float epsilon, float* dx, float* dscale,
                                             float* doffset) {
  __shared__ double sum_dy[kThreadsPerBlock];
  __shared__ double sum_dy_xm[kThreadsPerBlock];
  const int64_t c = blockIdx.x;
  const int64_t count = outer * inner;
  const double m = mean[c];
  const double inv = 1.0 / sqrt(static_cast<double>(variance[c]) + epsilon);
  double a = 0, b = 0;
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const int64_t at = ((j / inner) * channels + c) * inner + j % inner;
    const double g = dy[at];
    a += g;
    b += g * (static_cast<double>(x[at]) - m);
  }
  sum_dy[threadIdx.x] = a;
  sum_dy_xm[threadIdx.x] = b;
  __syncthreads();
  for (int half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      sum_dy[threadIdx.x] += sum_dy[threadIdx.x + half];
      sum_dy_xm[threadIdx.x] += sum_dy_xm[threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    dscale[c] = static_cast<float>(sum_dy_xm[0] * inv);
    doffset[c] = static_cast<float>(sum_dy[0]);
  }
  const float k = static_cast<float>(static_cast<double>(scale[c]) * inv);
  for (int64_t j = threadIdx.x; j < count; j += blockDim.x) {
    const int64_t at = ((j / inner) * channels + c) * inner + j % inner;
    dx[at] = dy[at] * k;
  }
}

}  // namespace

cudaError_t LaunchPermute4D(int element_bytes, const void* in, void* out, const int64_t dims[4],
                            const int64_t in_strides[4], cudaStream_t stream) {
  const int64_t n = dims[0] * dims[1] * dims[2] * dims[3];
  if (n == 0) return cudaSuccess;
  Index4 d{}, s{};
  for (int i = 0; i < 4; ++i) {
    d.v[i] = dims[i];
    s.v[i] = in_strides[i];
  }
  if (element_bytes == 4) {
    Permute4DKernel<uint32_t><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
        static_cast<const uint32_t*>(in), static_cast<uint32_t*>(out), d, s, n);
  } else if (element_bytes == 2) {
    Permute4DKernel<uint16_t><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
        static_cast<const uint16_t*>(in), static_cast<uint16_t*>(out), d, s, n);
  } else {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t LaunchShiftWindow(int element_bytes, bool nhwc, const void* in, int64_t batch,
                              int64_t channels, int64_t in_h, int64_t in_w, void* out,
                              int64_t out_h, int64_t out_w, int64_t offset_h, int64_t offset_w,
                              cudaStream_t stream) {
  const int64_t n = batch * channels * out_h * out_w;
  if (n == 0) return cudaSuccess;
  if (element_bytes == 4) {
    ShiftWindowKernel<uint32_t><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
        nhwc, static_cast<const uint32_t*>(in), channels, in_h, in_w, static_cast<uint32_t*>(out),
        out_h, out_w, offset_h, offset_w, n);
  } else if (element_bytes == 2) {
    ShiftWindowKernel<uint16_t><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
        nhwc, static_cast<const uint16_t*>(in), channels, in_h, in_w, static_cast<uint16_t*>(out),
        out_h, out_w, offset_h, offset_w, n);
  } else {
    return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t LaunchConvEpilogue(FusedActivation activation, float alpha, int64_t outer,
                               int64_t channels, int64_t inner, const float* bias,
                               const float* residual, float* y, cudaStream_t stream) {
  const int64_t n = outer * channels * inner;
  if (n == 0) return cudaSuccess;
  ConvEpilogueKernel<<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(activation, alpha, channels,
                                                                    inner, bias, residual, y, n);
  return cudaGetLastError();
}

cudaError_t LaunchFillF32(float* out, int64_t n, float value, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  FillF32Kernel<<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(out, n, value);
  return cudaGetLastError();
}

cudaError_t LaunchFinishBatchNormStats(int64_t channels, int64_t count, float factor,
                                       const float* old_mean, const float* old_variance,
                                       float* batch_mean, float* batch_variance,
                                       float* reserve_variance, cudaStream_t stream) {
  if (channels == 0) return cudaSuccess;
  FinishBatchNormStatsKernel<<<BlocksFor(channels), kThreadsPerBlock, 0, stream>>>(
      channels, count, factor, old_mean, old_variance, batch_mean, batch_variance,
      reserve_variance);
  return cudaGetLastError();
}

cudaError_t LaunchInverseStd(int64_t channels, const float* variance, float epsilon, float* inv_std,
                             cudaStream_t stream) {
  if (channels == 0) return cudaSuccess;
  InverseStdKernel<<<BlocksFor(channels), kThreadsPerBlock, 0, stream>>>(channels, variance,
                                                                         epsilon, inv_std);
  return cudaGetLastError();
}

cudaError_t LaunchBatchNormGradInference(int64_t outer, int64_t channels, int64_t inner,
                                         const float* dy, const float* x, const float* scale,
                                         const float* mean, const float* variance, float epsilon,
                                         float* dx, float* dscale, float* doffset,
                                         cudaStream_t stream) {
  if (channels == 0) return cudaSuccess;
  BatchNormGradInferenceKernel<<<static_cast<unsigned>(channels), kThreadsPerBlock, 0, stream>>>(
      outer, channels, inner, dy, x, scale, mean, variance, epsilon, dx, dscale, doffset);
  return cudaGetLastError();
}

}  // namespace sluice::cuda
