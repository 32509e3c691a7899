#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "cuda/launch.cuh"
#include "cuda/reduction_launch.h"

namespace sluice::cuda {
namespace {

// Every partial result takes the size of the widest accumulator.
constexpr int64_t kPartialBytes = 8;

// Largest and smallest values of the element types whose Max/Min
// accumulate in their own type.
template <typename T>
struct Bounds;
template <>
struct Bounds<float> {
  __device__ static float Lowest() { return -INFINITY; }
  __device__ static float Highest() { return INFINITY; }
};
template <>
struct Bounds<double> {
  __device__ static double Lowest() { return -static_cast<double>(INFINITY); }
  __device__ static double Highest() { return static_cast<double>(INFINITY); }
};
template <>
struct Bounds<int8_t> {
  __device__ static int8_t Lowest() { return -128; }
  __device__ static int8_t Highest() { return 127; }
};
template <>
struct Bounds<uint8_t> {
  __device__ static uint8_t Lowest() { return 0; }
  __device__ static uint8_t Highest() { return 255; }
};
template <>
struct Bounds<int32_t> {
  __device__ static int32_t Lowest() { return INT32_MIN; }
  __device__ static int32_t Highest() { return INT32_MAX; }
};
template <>
struct Bounds<int64_t> {
  __device__ static int64_t Lowest() { return INT64_MIN; }
  __device__ static int64_t Highest() { return INT64_MAX; }
};

template <typename T>
constexpr bool kIs16BitFloat = std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

template <typename T>
__device__ float ToFloat(T x) {
  if constexpr (std::is_same_v<T, __half>) {
    return __half2float(x);
  } else {
    return __bfloat162float(x);
  }
}

template <typename T>
__device__ T FromFloat(float x) {
  if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(x);
  } else {
    return __float2bfloat16_rn(x);
  }
}

// The accumulator of each (element type, op), as on the CPU: 16-bit floats
// in f32, integer sums and products in the unsigned type (they wrap),
// integer means in 64 bits, everything else in its own type.
template <typename T, ReduceOp K, typename Enable = void>
struct AccumulatorOf {
  using type = T;
};
template <ReduceOp K>
struct AccumulatorOf<__half, K> {
  using type = float;
};
template <ReduceOp K>
struct AccumulatorOf<__nv_bfloat16, K> {
  using type = float;
};
template <typename T, ReduceOp K>
struct AccumulatorOf<
    T, K,
    std::enable_if_t<std::is_integral_v<T> && (K == ReduceOp::kSum || K == ReduceOp::kProd)>> {
  using type = std::make_unsigned_t<T>;
};
template <typename T>
struct AccumulatorOf<T, ReduceOp::kMean, std::enable_if_t<std::is_integral_v<T>>> {
  using type = uint64_t;
};

template <typename T, ReduceOp K>
struct Reducer {
  using Acc = typename AccumulatorOf<T, K>::type;
  static_assert(sizeof(Acc) <= kPartialBytes);

  __device__ static Acc Identity() {
    if constexpr (K == ReduceOp::kSum || K == ReduceOp::kMean) {
      return Acc(0);
    } else if constexpr (K == ReduceOp::kProd) {
      return Acc(1);
    } else if constexpr (K == ReduceOp::kMax) {
      return Bounds<Acc>::Lowest();
    } else {
      return Bounds<Acc>::Highest();
    }
  }

  __device__ static Acc Load(T x) {
    if constexpr (kIs16BitFloat<T>) {
      return ToFloat(x);
    } else if constexpr (std::is_integral_v<T> && K == ReduceOp::kMean) {
      return static_cast<Acc>(static_cast<int64_t>(x));  // sign-extended, then wraps
    } else {
      return static_cast<Acc>(x);
    }
  }

  // Max and Min propagate NaN: `a` wins when it is NaN or beats `b`.
  __device__ static Acc Combine(Acc a, Acc b) {
    if constexpr (K == ReduceOp::kSum || K == ReduceOp::kMean) {
      return static_cast<Acc>(a + b);
    } else if constexpr (K == ReduceOp::kProd) {
      return static_cast<Acc>(a * b);
    } else if constexpr (std::is_floating_point_v<Acc>) {
      if (a != a) return a;
      if constexpr (K == ReduceOp::kMax) {
        return a > b ? a : b;
      } else {
        return a < b ? a : b;
      }
    } else if constexpr (K == ReduceOp::kMax) {
      return a > b ? a : b;
    } else {
      return a < b ? a : b;
    }
  }

  __device__ static T Store(Acc a, int64_t count) {
    if constexpr (K == ReduceOp::kMean) {
      if constexpr (std::is_integral_v<T>) {
        if (count == 0) return T(0);
        return static_cast<T>(static_cast<int64_t>(a) / count);
      } else {
        const Acc mean = a / static_cast<Acc>(count);  // 0/0: NaN, as on the CPU
        if constexpr (kIs16BitFloat<T>) {
          return FromFloat<T>(mean);
        } else {
          return mean;
        }
      }
    } else if constexpr (kIs16BitFloat<T>) {
      return FromFloat<T>(a);
    } else {
      return static_cast<T>(a);
    }
  }
};

// Element offset of position `index` (row-major) of `groups`.
__device__ int64_t GroupOffset(const ReduceGroups& groups, int64_t index) {
  int64_t offset = 0;
  for (int k = groups.rank - 1; k > 0; --k) {
    const int64_t dim = groups.dims[k];
    const int64_t rest = index / dim;
    offset += (index - rest * dim) * groups.strides[k];
    index = rest;
  }
  if (groups.rank > 0) offset += index * groups.strides[0];
  return offset;
}

// Combines every thread's `value` in a fixed order; all threads of the block
// get the result. `shared` holds kThreadsPerBlock values; blockDim.x must be
// kThreadsPerBlock.
template <typename R, typename Acc>
__device__ Acc BlockCombine(Acc value, Acc* shared) {
  shared[threadIdx.x] = value;
  __syncthreads();
  for (int half = kThreadsPerBlock / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.x) < half) {
      shared[threadIdx.x] = R::Combine(shared[threadIdx.x], shared[threadIdx.x + half]);
    }
    __syncthreads();
  }
  const Acc total = shared[0];
  __syncthreads();  // shared[] is reused by the caller's next item
  return total;
}

template <typename T, ReduceOp K>
__global__ void ReducePerThreadKernel(const T* __restrict__ x, T* __restrict__ y,
                                      ReduceGeometry g) {
  using R = Reducer<T, K>;
  using Acc = typename R::Acc;
  for (int64_t q = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; q < g.out_elements;
       q += int64_t{blockDim.x} * gridDim.x) {
    const T* base = x + GroupOffset(g.kept, q);
    Acc acc = R::Identity();
    for (int64_t r = 0; r < g.reduce_count; ++r) {
      acc = R::Combine(acc, R::Load(base[GroupOffset(g.reduced, r)]));
    }
    y[q] = R::Store(acc, g.reduce_count);
  }
}

// Item i of out_elements * parts: output q = i / parts, part p = i % parts.
// With one part the block stores the output element, else its partial.
template <typename T, ReduceOp K>
__global__ void ReducePerBlockKernel(const T* __restrict__ x, void* __restrict__ out,
                                     ReduceGeometry g, int64_t parts, int64_t chunk) {
  using R = Reducer<T, K>;
  using Acc = typename R::Acc;
  __shared__ Acc shared[kThreadsPerBlock];
  const int64_t items = g.out_elements * parts;
  for (int64_t item = blockIdx.x; item < items; item += gridDim.x) {
    const int64_t q = item / parts, p = item - (item / parts) * parts;
    const T* base = x + GroupOffset(g.kept, q);
    const int64_t begin = parts == 1 ? 0 : p * chunk;
    const int64_t end =
        parts == 1 || g.reduce_count - begin < chunk ? g.reduce_count : begin + chunk;
    Acc acc = R::Identity();
    for (int64_t r = begin + threadIdx.x; r < end; r += blockDim.x) {
      acc = R::Combine(acc, R::Load(base[GroupOffset(g.reduced, r)]));
    }
    acc = BlockCombine<R>(acc, shared);
    if (threadIdx.x == 0) {
      if (parts == 1) {
        static_cast<T*>(out)[q] = R::Store(acc, g.reduce_count);
      } else {
        static_cast<Acc*>(out)[item] = acc;
      }
    }
  }
}

// y[q] = the partials of q, combined in a fixed order.
template <typename T, ReduceOp K>
__global__ void CombinePartialsKernel(const void* __restrict__ partials, T* __restrict__ y,
                                      int64_t out_elements, int64_t parts, int64_t count) {
  using R = Reducer<T, K>;
  using Acc = typename R::Acc;
  __shared__ Acc shared[kThreadsPerBlock];
  const Acc* p = static_cast<const Acc*>(partials);
  for (int64_t q = blockIdx.x; q < out_elements; q += gridDim.x) {
    Acc acc = R::Identity();
    for (int64_t i = threadIdx.x; i < parts; i += blockDim.x) {
      acc = R::Combine(acc, p[q * parts + i]);
    }
    acc = BlockCombine<R>(acc, shared);
    if (threadIdx.x == 0) y[q] = R::Store(acc, count);
  }
}

template <typename T, ReduceOp K>
cudaError_t Reduce(const ReduceGeometry& g, const ReduceSchedule& s, const void* x, void* y,
                   void* workspace, cudaStream_t stream) {
  const T* in = static_cast<const T*>(x);
  T* out = static_cast<T*>(y);
  if (s.per_thread) {
    ReducePerThreadKernel<T, K>
        <<<BlocksFor(g.out_elements), kThreadsPerBlock, 0, stream>>>(in, out, g);
    return cudaGetLastError();
  }
  const int64_t items = g.out_elements * s.parts;
  const unsigned blocks = static_cast<unsigned>(items < 65535 * 8 ? items : 65535 * 8);
  if (s.parts == 1) {
    ReducePerBlockKernel<T, K><<<blocks, kThreadsPerBlock, 0, stream>>>(in, out, g, 1, 0);
    return cudaGetLastError();
  }
  ReducePerBlockKernel<T, K>
      <<<blocks, kThreadsPerBlock, 0, stream>>>(in, workspace, g, s.parts, s.chunk);
  const cudaError_t error = cudaGetLastError();
  if (error != cudaSuccess) return error;
  const unsigned out_blocks =
      static_cast<unsigned>(g.out_elements < 65535 * 8 ? g.out_elements : 65535 * 8);
  CombinePartialsKernel<T, K><<<out_blocks, kThreadsPerBlock, 0, stream>>>(
      workspace, out, g.out_elements, s.parts, g.reduce_count);
  return cudaGetLastError();
}

template <typename T>
cudaError_t ReduceOf(ReduceOp op, const ReduceGeometry& g, const ReduceSchedule& s, const void* x,
                     void* y, void* workspace, cudaStream_t stream) {
  switch (op) {
    case ReduceOp::kSum:
      return Reduce<T, ReduceOp::kSum>(g, s, x, y, workspace, stream);
    case ReduceOp::kMean:
      return Reduce<T, ReduceOp::kMean>(g, s, x, y, workspace, stream);
    case ReduceOp::kMax:
      return Reduce<T, ReduceOp::kMax>(g, s, x, y, workspace, stream);
    case ReduceOp::kMin:
      return Reduce<T, ReduceOp::kMin>(g, s, x, y, workspace, stream);
    case ReduceOp::kProd:
      return Reduce<T, ReduceOp::kProd>(g, s, x, y, workspace, stream);
  }
  return cudaErrorInvalidValue;
}

// ---------------------------------------------------------------------------
// ArgMax.

template <typename T>
__device__ auto Comparable(T x) {
  if constexpr (kIs16BitFloat<T>) {
    return ToFloat(x);
  } else {
    return x;
  }
}

template <typename V>
__device__ bool IsNaN(V v) {
  if constexpr (std::is_floating_point_v<V>) {
    return v != v;
  } else {
    return false;
  }
}

// Whether candidate (v, i) beats (best, best_i), both taken in index
// order from the same row: strictly larger, or the first NaN.
template <typename V>
__device__ bool Beats(V v, V best) {
  return v > best || (IsNaN(v) && !IsNaN(best));
}

// Whether (v, i) wins over (w, j) when the two come from different parts
// of a row: NaN beats numbers, larger beats smaller, and between equals
// (or two NaNs) the smaller index wins. An index < 0 marks "no element".
template <typename V>
__device__ bool Wins(V v, int64_t i, V w, int64_t j) {
  if (j < 0) return true;
  if (i < 0) return false;
  const bool v_nan = IsNaN(v), w_nan = IsNaN(w);
  if (v_nan || w_nan) return v_nan && w_nan ? i < j : v_nan;
  if (v > w) return true;
  if (w > v) return false;
  return i < j;
}

template <typename T, typename Index>
__global__ void ArgMaxPerThreadKernel(const T* __restrict__ x, Index* __restrict__ y, int64_t outer,
                                      int64_t n, int64_t inner) {
  const int64_t outputs = outer * inner;
  for (int64_t q = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; q < outputs;
       q += int64_t{blockDim.x} * gridDim.x) {
    const int64_t o = q / inner, i = q - (q / inner) * inner;
    const T* base = x + o * n * inner + i;
    auto best = Comparable(base[0]);
    int64_t best_j = 0;
    for (int64_t j = 1; j < n; ++j) {
      const auto v = Comparable(base[j * inner]);
      if (Beats(v, best)) {
        best = v;
        best_j = j;
      }
    }
    y[q] = static_cast<Index>(best_j);
  }
}

template <typename T, typename Index>
__global__ void ArgMaxPerBlockKernel(const T* __restrict__ x, Index* __restrict__ y, int64_t outer,
                                     int64_t n, int64_t inner) {
  using V = decltype(Comparable(T()));
  __shared__ V values[kThreadsPerBlock];
  __shared__ int64_t indices[kThreadsPerBlock];
  const int64_t outputs = outer * inner;
  for (int64_t q = blockIdx.x; q < outputs; q += gridDim.x) {
    const int64_t o = q / inner, i = q - (q / inner) * inner;
    const T* base = x + o * n * inner + i;
    V best = V();
    int64_t best_j = -1;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) {
      const V v = Comparable(base[j * inner]);
      if (best_j < 0 || Beats(v, best)) {
        best = v;
        best_j = j;
      }
    }
    values[threadIdx.x] = best;
    indices[threadIdx.x] = best_j;
    __syncthreads();
    for (int half = kThreadsPerBlock / 2; half > 0; half /= 2) {
      const int t = static_cast<int>(threadIdx.x);
      if (t < half && Wins(values[t + half], indices[t + half], values[t], indices[t])) {
        values[t] = values[t + half];
        indices[t] = indices[t + half];
      }
      __syncthreads();
    }
    if (threadIdx.x == 0) y[q] = static_cast<Index>(indices[0]);
    __syncthreads();  // values[] and indices[] are reused by the next item
  }
}

template <typename T, typename Index>
cudaError_t ArgMax(int64_t outer, int64_t n, int64_t inner, bool per_block, const void* x, void* y,
                   cudaStream_t stream) {
  const int64_t outputs = outer * inner;
  const T* in = static_cast<const T*>(x);
  Index* out = static_cast<Index*>(y);
  if (per_block) {
    const unsigned blocks = static_cast<unsigned>(outputs < 65535 * 8 ? outputs : 65535 * 8);
    ArgMaxPerBlockKernel<T, Index>
        <<<blocks, kThreadsPerBlock, 0, stream>>>(in, out, outer, n, inner);
  } else {
    ArgMaxPerThreadKernel<T, Index>
        <<<BlocksFor(outputs), kThreadsPerBlock, 0, stream>>>(in, out, outer, n, inner);
  }
  return cudaGetLastError();
}

template <typename T>
cudaError_t ArgMaxOf(ArgIndexType index_type, int64_t outer, int64_t n, int64_t inner,
                     bool per_block, const void* x, void* y, cudaStream_t stream) {
  if (index_type == ArgIndexType::kI32) {
    return ArgMax<T, int32_t>(outer, n, inner, per_block, x, y, stream);
  }
  return ArgMax<T, int64_t>(outer, n, inner, per_block, x, y, stream);
}

}  // namespace

int64_t ReduceWorkspaceBytes(const ReduceGeometry& geometry, const ReduceSchedule& schedule) {
  if (schedule.per_thread || schedule.parts <= 1) return 0;
  return geometry.out_elements * schedule.parts * kPartialBytes;
}

cudaError_t LaunchReduce(ReduceOp op, ReduceType type, const ReduceGeometry& geometry,
                         const ReduceSchedule& schedule, const void* x, void* y, void* workspace,
                         cudaStream_t stream) {
  if (geometry.out_elements == 0) return cudaSuccess;
  const ReduceGeometry& g = geometry;
  const ReduceSchedule& s = schedule;
  switch (type) {
    case ReduceType::kF32:
      return ReduceOf<float>(op, g, s, x, y, workspace, stream);
    case ReduceType::kF64:
      return ReduceOf<double>(op, g, s, x, y, workspace, stream);
    case ReduceType::kF16:
      return ReduceOf<__half>(op, g, s, x, y, workspace, stream);
    case ReduceType::kBF16:
      return ReduceOf<__nv_bfloat16>(op, g, s, x, y, workspace, stream);
    case ReduceType::kI8:
      return ReduceOf<int8_t>(op, g, s, x, y, workspace, stream);
    case ReduceType::kU8:
      return ReduceOf<uint8_t>(op, g, s, x, y, workspace, stream);
    case ReduceType::kI32:
      return ReduceOf<int32_t>(op, g, s, x, y, workspace, stream);
    case ReduceType::kI64:
      return ReduceOf<int64_t>(op, g, s, x, y, workspace, stream);
  }
  return cudaErrorInvalidValue;
}

cudaError_t LaunchArgMax(ReduceType type, ArgIndexType index_type, int64_t outer, int64_t n,
                         int64_t inner, bool per_block, const void* x, void* y,
                         cudaStream_t stream) {
  if (outer * inner == 0) return cudaSuccess;
  switch (type) {
    case ReduceType::kF32:
      return ArgMaxOf<float>(index_type, outer, n, inner, per_block, x, y, stream);
    case ReduceType::kF64:
      return ArgMaxOf<double>(index_type, outer, n, inner, per_block, x, y, stream);
    case ReduceType::kF16:
      return ArgMaxOf<__half>(index_type, outer, n, inner, per_block, x, y, stream);
    case ReduceType::kBF16:
      return ArgMaxOf<__nv_bfloat16>(index_type, outer, n, inner, per_block, x, y, stream);
    case ReduceType::kI8:
      return ArgMaxOf<int8_t>(index_type, outer, n, inner, per_block, x, y, stream);
    case ReduceType::kU8:
      return ArgMaxOf<uint8_t>(index_type, outer, n, inner, per_block, x, y, stream);
    case ReduceType::kI32:
      return ArgMaxOf<int32_t>(index_type, outer, n, inner, per_block, x, y, stream);
    case ReduceType::kI64:
      return ArgMaxOf<int64_t>(index_type, outer, n, inner, per_block, x, y, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace sluice::cuda
