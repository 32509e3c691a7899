// MaxPool, AvgPool and their gradients (see cuda/nn_launch.h).
//
// Own kernels rather than cuDNN's pooling: TensorFlow's SAME padding may put
// one more row or column after the input than before it, which cuDNN's
// symmetric padding cannot express, and MaxPoolGrad must route each window's
// gradient to its first maximum. Each thread computes one output element
// from its window; the gradients gather (each thread owns one element of
// dx and visits the windows holding it), so there are no atomics and sums
// are deterministic.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "cuda/launch.cuh"
#include "cuda/nn_launch.h"

namespace sluice::cuda {
namespace {

// Element strides of the logical (n, c, h, w) dims of a dense activation.
struct Strides {
  int64_t n, c, h, w;
};

__host__ __device__ Strides StridesOf(bool nhwc, int64_t channels, int64_t h, int64_t w) {
  if (nhwc) return {h * w * channels, 1, w * channels, channels};
  return {channels * h * w, h * w, w, 1};
}

// The (n, c, h, w) of element i of a dense activation of `h` x `w`.
struct Position {
  int64_t n, c, h, w;
};

__device__ Position PositionOf(bool nhwc, int64_t i, int64_t channels, int64_t h, int64_t w) {
  Position p;
  if (nhwc) {
    p.c = i % channels;
    i /= channels;
    p.w = i % w;
    i /= w;
    p.h = i % h;
    p.n = i / h;
  } else {
    p.w = i % w;
    i /= w;
    p.h = i % h;
    i /= h;
    p.c = i % channels;
    p.n = i / channels;
  }
  return p;
}

// The valid rows [h0, h1) and columns [w0, w1) of output window (oh, ow).
struct Span2D {
  int64_t h0, h1, w0, w1;
};

__device__ Span2D WindowOf(const PoolGeometry& g, int64_t oh, int64_t ow) {
  const int64_t hs = oh * g.stride_h - g.pad_top;
  const int64_t ws = ow * g.stride_w - g.pad_left;
  Span2D s;
  s.h0 = hs > 0 ? hs : 0;
  s.w0 = ws > 0 ? ws : 0;
  s.h1 = hs + g.k_h < g.in_h ? hs + g.k_h : g.in_h;
  s.w1 = ws + g.k_w < g.in_w ? ws + g.k_w : g.in_w;
  return s;
}

// The first output index whose window (stride s, size k, padded by pad)
// holds input index i, and one past the last, clipped to [0, out).
__device__ void WindowsHolding(int64_t i, int64_t pad, int64_t k, int64_t s, int64_t out,
                               int64_t* first, int64_t* last) {
  const int64_t p = i + pad;  // position in the padded input
  // Window o covers [o*s, o*s + k): o*s <= p and o*s > p - k.
  *first = p < k ? 0 : (p - k) / s + 1;
  const int64_t end = p / s + 1;
  *last = end < out ? end : out;
}

template <typename T>
__device__ float Load(const T* p) {
  return static_cast<float>(*p);
}

// The offset (within one (n, c) plane) of the first maximum of a window:
// row-major order, the first element strictly greater than all before it.
template <typename T>
__device__ int64_t ArgMax(const T* plane, const Strides& s, const Span2D& w) {
  int64_t best_at = w.h0 * s.h + w.w0 * s.w;
  float best = Load(plane + best_at);
  for (int64_t h = w.h0; h < w.h1; ++h) {
    for (int64_t x = w.w0; x < w.w1; ++x) {
      const int64_t at = h * s.h + x * s.w;
      const float v = Load(plane + at);
      if (v > best) {
        best = v;
        best_at = at;
      }
    }
  }
  return best_at;
}

template <typename T, bool kMax>
__global__ void PoolKernel(PoolGeometry g, const T* x, T* y, int64_t n) {
  const Strides in = StridesOf(g.nhwc, g.channels, g.in_h, g.in_w);
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{blockDim.x} * gridDim.x) {
    const Position p = PositionOf(g.nhwc, i, g.channels, g.out_h, g.out_w);
    const T* plane = x + p.n * in.n + p.c * in.c;
    const Span2D w = WindowOf(g, p.h, p.w);
    float result = 0.0f;
    if (w.h1 > w.h0 && w.w1 > w.w0) {
      if (kMax) {
        result = Load(plane + ArgMax(plane, in, w));
      } else {
        float sum = 0.0f;
        for (int64_t h = w.h0; h < w.h1; ++h) {
          for (int64_t c = w.w0; c < w.w1; ++c) sum += Load(plane + h * in.h + c * in.w);
        }
        result = sum / static_cast<float>((w.h1 - w.h0) * (w.w1 - w.w0));
      }
    }
    y[i] = T(result);
  }
}

template <typename T, bool kMax>
__global__ void PoolGradKernel(PoolGeometry g, const T* x, const T* dy, T* dx, int64_t n) {
  const Strides in = StridesOf(g.nhwc, g.channels, g.in_h, g.in_w);
  const Strides out = StridesOf(g.nhwc, g.channels, g.out_h, g.out_w);
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{blockDim.x} * gridDim.x) {
    const Position p = PositionOf(g.nhwc, i, g.channels, g.in_h, g.in_w);
    const int64_t self = p.h * in.h + p.w * in.w;
    const T* plane = kMax ? x + p.n * in.n + p.c * in.c : nullptr;
    const T* dy_plane = dy + p.n * out.n + p.c * out.c;
    int64_t oh0, oh1, ow0, ow1;
    WindowsHolding(p.h, g.pad_top, g.k_h, g.stride_h, g.out_h, &oh0, &oh1);
    WindowsHolding(p.w, g.pad_left, g.k_w, g.stride_w, g.out_w, &ow0, &ow1);
    float sum = 0.0f;
    for (int64_t oh = oh0; oh < oh1; ++oh) {
      for (int64_t ow = ow0; ow < ow1; ++ow) {
        const Span2D w = WindowOf(g, oh, ow);
        const float grad = Load(dy_plane + oh * out.h + ow * out.w);
        if (kMax) {
          if (ArgMax(plane, in, w) == self) sum += grad;
        } else {
          sum += grad / static_cast<float>((w.h1 - w.h0) * (w.w1 - w.w0));
        }
      }
    }
    dx[i] = T(sum);
  }
}

template <typename T, bool kMax>
cudaError_t LaunchPool(const PoolGeometry& g, const void* x, void* y, cudaStream_t stream) {
  const int64_t n = g.batch * g.channels * g.out_h * g.out_w;
  if (n == 0) return cudaSuccess;
  PoolKernel<T, kMax><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(g, static_cast<const T*>(x),
                                                                     static_cast<T*>(y), n);
  return cudaGetLastError();
}

template <typename T, bool kMax>
cudaError_t LaunchPoolGrad(const PoolGeometry& g, const void* x, const void* dy, void* dx,
                           cudaStream_t stream) {
  const int64_t n = g.batch * g.channels * g.in_h * g.in_w;
  if (n == 0) return cudaSuccess;
  PoolGradKernel<T, kMax><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
      g, static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<T*>(dx), n);
  return cudaGetLastError();
}

template <bool kMax>
cudaError_t DispatchPool(NnType type, const PoolGeometry& g, const void* x, void* y,
                         cudaStream_t stream) {
  switch (type) {
    case NnType::kF32:
      return LaunchPool<float, kMax>(g, x, y, stream);
    case NnType::kF16:
      return LaunchPool<__half, kMax>(g, x, y, stream);
    case NnType::kBF16:
      return LaunchPool<__nv_bfloat16, kMax>(g, x, y, stream);
  }
  return cudaErrorInvalidValue;
}

template <bool kMax>
cudaError_t DispatchPoolGrad(NnType type, const PoolGeometry& g, const void* x, const void* dy,
                             void* dx, cudaStream_t stream) {
  switch (type) {
    case NnType::kF32:
      return LaunchPoolGrad<float, kMax>(g, x, dy, dx, stream);
    case NnType::kF16:
      return LaunchPoolGrad<__half, kMax>(g, x, dy, dx, stream);
    case NnType::kBF16:
      return LaunchPoolGrad<__nv_bfloat16, kMax>(g, x, dy, dx, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace

cudaError_t LaunchMaxPool(NnType type, const PoolGeometry& g, const void* x, void* y,
                          cudaStream_t stream) {
  return DispatchPool<true>(type, g, x, y, stream);
}

cudaError_t LaunchAvgPool(NnType type, const PoolGeometry& g, const void* x, void* y,
                          cudaStream_t stream) {
  return DispatchPool<false>(type, g, x, y, stream);
}

cudaError_t LaunchMaxPoolGrad(NnType type, const PoolGeometry& g, const void* x, const void* dy,
                              void* dx, cudaStream_t stream) {
  return DispatchPoolGrad<true>(type, g, x, dy, dx, stream);
}

cudaError_t LaunchAvgPoolGrad(NnType type, const PoolGeometry& g, const void* dy, void* dx,
                              cudaStream_t stream) {
  return DispatchPoolGrad<false>(type, g, nullptr, dy, dx, stream);
}

}  // namespace sluice::cuda
