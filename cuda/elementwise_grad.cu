// The activation gradients and BiasAddGrad.
#include "cuda/elementwise_launch.h"
#include "cuda/elementwise_ops.cuh"
#include "cuda/launch.cuh"

namespace sluice::cuda {
namespace {

using ew::FirstIndex;
using ew::IndexStride;

// (gradient g, value v) to the backprop; v is the forward input, or the
// forward output for Elu, Sigmoid and Tanh. The formulas and their
// derivations are cpu/nn_grad.cc's.
template <typename T>
__device__ inline T ActivationGrad(ActivationGradOp op, T g, T v, float alpha) {
  switch (op) {
    case ActivationGradOp::kRelu:
      return v > T(0) ? g : T(0);
    case ActivationGradOp::kRelu6:
      return (v > T(0) && v < T(6)) ? g : T(0);
    case ActivationGradOp::kElu:
      return v > T(0) ? g : g * (v + T(1));
    case ActivationGradOp::kSoftplus:
      return g / (T(1) + ew::Exp(-v));
    case ActivationGradOp::kLeakyRelu:
      return v > T(0) ? g : g * static_cast<T>(alpha);
    case ActivationGradOp::kGelu: {
      const T cdf = T(0.5) * (T(1) + ew::Erf(v * static_cast<T>(0.7071067811865476)));
      const T pdf = static_cast<T>(0.3989422804014327) * ew::Exp(T(-0.5) * v * v);
      return g * (cdf + v * pdf);
    }
    case ActivationGradOp::kGeluTanh: {
      const T k = static_cast<T>(0.7978845608028654);
      const T c = static_cast<T>(0.044715);
      const T v2 = v * v;
      const T t = ew::Tanh(k * (v + c * v2 * v));
      const T dt = (T(1) - t * t) * k * (T(1) + T(3) * c * v2);
      return g * (T(0.5) * (T(1) + t) + T(0.5) * v * dt);
    }
    case ActivationGradOp::kSigmoid:
      return g * v * (T(1) - v);
    case ActivationGradOp::kTanh:
      return g * (T(1) - v * v);
  }
  return T(0);
}

template <typename T>
__global__ void ActivationGradKernel(ActivationGradOp op, const T* g, const T* v, T* out, int64_t n,
                                     float alpha) {
  for (int64_t i = FirstIndex(); i < n; i += IndexStride()) {
    out[i] = ActivationGrad(op, g[i], v[i], alpha);
  }
}

template <typename T>
cudaError_t ActivationGradFor(ActivationGradOp op, const void* g, const void* v, void* out,
                              int64_t n, float alpha, cudaStream_t stream) {
  ActivationGradKernel<T><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
      op, static_cast<const T*>(g), static_cast<const T*>(v), static_cast<T*>(out), n, alpha);
  return cudaGetLastError();
}

// BiasAddGrad. Chunk k of channel c sums a fixed slice of that channel's
// outer * inner values into dst[k * channels + c]; with several chunks a
// second kernel adds the chunks in order. Every sum has a fixed order, so
// runs repeat bit for bit.

// inner == 1: x is [outer, channels]. A block is 32 channels (coalesced
// loads along a row) by kRowThreads rows; gridDim.y is the chunk count.
constexpr int kChannelThreads = 32;
constexpr int kRowThreads = 8;

template <typename T>
__global__ void BiasGradRowsKernel(const T* x, T* dst, int64_t outer, int64_t channels,
                                   int64_t rows_per_chunk) {
  __shared__ T partial[kRowThreads][kChannelThreads];
  const int64_t c = blockIdx.x * int64_t{kChannelThreads} + threadIdx.x;
  const int64_t chunk = blockIdx.y;
  const int64_t begin = chunk * rows_per_chunk;
  const int64_t end = begin + rows_per_chunk < outer ? begin + rows_per_chunk : outer;
  T sum = T(0);
  if (c < channels) {
    for (int64_t r = begin + threadIdx.y; r < end; r += kRowThreads) sum += x[r * channels + c];
  }
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && c < channels) {
    T total = T(0);
    for (int k = 0; k < kRowThreads; ++k) total += partial[k][threadIdx.x];
    dst[chunk * channels + c] = total;
  }
}

// inner > 1: x is [outer, channels, inner]. Block (c, chunk) sums its slice
// of channel c's outer * inner values with kThreadsPerBlock threads walking
// the contiguous runs of `inner`, then reduces in shared memory.
template <typename T>
__global__ void BiasGradInnerKernel(const T* x, T* dst, int64_t outer, int64_t channels,
                                    int64_t inner, int64_t per_chunk) {
  __shared__ T partial[kThreadsPerBlock];
  const int64_t c = blockIdx.x;
  const int64_t chunk = blockIdx.y;
  const int64_t total = outer * inner;
  const int64_t begin = chunk * per_chunk;
  const int64_t end = begin + per_chunk < total ? begin + per_chunk : total;
  T sum = T(0);
  for (int64_t j = begin + threadIdx.x; j < end; j += kThreadsPerBlock) {
    const int64_t o = j / inner;
    const int64_t i = j - o * inner;
    sum += x[(o * channels + c) * inner + i];
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int s = kThreadsPerBlock / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x == 0) dst[chunk * channels + c] = partial[0];
}

template <typename T>
__global__ void SumChunksKernel(const T* partials, T* out, int64_t chunks, int64_t channels) {
  for (int64_t c = FirstIndex(); c < channels; c += IndexStride()) {
    T sum = T(0);
    for (int64_t k = 0; k < chunks; ++k) sum += partials[k * channels + c];
    out[c] = sum;
  }
}

template <typename T>
cudaError_t BiasAddGradFor(const void* x, void* out, int64_t outer, int64_t channels, int64_t inner,
                           int64_t chunks, void* partials, cudaStream_t stream) {
  const T* tx = static_cast<const T*>(x);
  T* dst = static_cast<T*>(chunks > 1 ? partials : out);
  if (inner == 1) {
    const int64_t rows_per_chunk = (outer + chunks - 1) / chunks;
    const dim3 grid(static_cast<unsigned>((channels + kChannelThreads - 1) / kChannelThreads),
                    static_cast<unsigned>(chunks));
    BiasGradRowsKernel<T><<<grid, dim3(kChannelThreads, kRowThreads), 0, stream>>>(
        tx, dst, outer, channels, rows_per_chunk);
  } else {
    const int64_t per_chunk = (outer * inner + chunks - 1) / chunks;
    const dim3 grid(static_cast<unsigned>(channels), static_cast<unsigned>(chunks));
    BiasGradInnerKernel<T>
        <<<grid, kThreadsPerBlock, 0, stream>>>(tx, dst, outer, channels, inner, per_chunk);
  }
  if (chunks > 1) {
    if (const cudaError_t error = cudaGetLastError(); error != cudaSuccess) return error;
    SumChunksKernel<T><<<BlocksFor(channels), kThreadsPerBlock, 0, stream>>>(
        static_cast<const T*>(partials), static_cast<T*>(out), chunks, channels);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchActivationGrad(ActivationGradOp op, EwType type, const void* gradients,
                                 const void* values, void* out, int64_t n, float alpha,
                                 cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (type) {
    case EwType::kF32:
      return ActivationGradFor<float>(op, gradients, values, out, n, alpha, stream);
    case EwType::kF64:
      return ActivationGradFor<double>(op, gradients, values, out, n, alpha, stream);
    default:
      break;
  }
  return cudaErrorInvalidValue;
}

cudaError_t LaunchBiasAddGrad(EwType type, const void* x, void* out, int64_t outer,
                              int64_t channels, int64_t inner, int64_t chunks, void* partials,
                              cudaStream_t stream) {
  if (channels == 0) return cudaSuccess;
  const int64_t element_bytes = type == EwType::kF64 ? 8 : 4;
  if (outer * inner == 0) {  // an empty sum
    return cudaMemsetAsync(out, 0, static_cast<size_t>(channels * element_bytes), stream);
  }
  if (chunks < 1 || chunks > kBiasGradMaxChunks || (chunks > 1 && partials == nullptr) ||
      channels > 0x7fffffff) {
    return cudaErrorInvalidValue;
  }
  switch (type) {
    case EwType::kF32:
      return BiasAddGradFor<float>(x, out, outer, channels, inner, chunks, partials, stream);
    case EwType::kF64:
      return BiasAddGradFor<double>(x, out, outer, channels, inner, chunks, partials, stream);
    default:
      break;
  }
  return cudaErrorInvalidValue;
}

}  // namespace sluice::cuda
