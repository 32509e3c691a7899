// The array kernels that read index values on the device: Gather, OneHot,
// Range and UnsortedSegmentSum (declared in cuda/array_launch.h).
#include <cstdint>
#include <type_traits>

#include "cuda/array_launch.h"
#include "cuda/launch.cuh"

namespace sluice::cuda {
namespace {

// Sizes up to this use 32-bit index arithmetic; the margin keeps a
// grid-stride step past the end from overflowing.
constexpr int64_t kIndex32Limit = int64_t{1} << 30;

// ---------------------------------------------------------------------------
// Gather

// Output element i = ((bo * m) + j) * inner + k, with bo = b * outer + o,
// reads params ((bo * n) + indices[b * m + j]) * inner + k.
template <typename W, typename I, typename Index>
__global__ void GatherKernel(const W* __restrict__ params, const I* __restrict__ indices,
                             W* __restrict__ out, Index outer, Index n, Index inner, Index m,
                             Index total) {
  using Unsigned = std::make_unsigned_t<Index>;
  const Index step = static_cast<Index>(blockDim.x) * static_cast<Index>(gridDim.x);
  for (Index i = static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) +
                 static_cast<Index>(threadIdx.x);
       i < total; i += step) {
    const Unsigned row = static_cast<Unsigned>(i) / static_cast<Unsigned>(inner);
    const Index k = static_cast<Index>(static_cast<Unsigned>(i) % static_cast<Unsigned>(inner));
    const Index j = static_cast<Index>(row % static_cast<Unsigned>(m));
    const Index bo = static_cast<Index>(row / static_cast<Unsigned>(m));
    const Index b = bo / outer;
    const int64_t index = static_cast<int64_t>(indices[b * m + j]);
    // A kernel cannot report a bad index mid-run: like TensorFlow's GPU
    // kernel, it writes zeros there.
    out[i] = (index >= 0 && index < static_cast<int64_t>(n))
                 ? params[(bo * n + static_cast<Index>(index)) * inner + k]
                 : W{};
  }
}

template <typename W, typename I>
cudaError_t LaunchGatherOf(const void* params, const void* indices, void* out, int64_t batch,
                           int64_t outer, int64_t n, int64_t inner, int64_t m,
                           cudaStream_t stream) {
  const int64_t total = batch * outer * m * inner;
  const int64_t params_elements = batch * outer * n * inner;
  const W* from = static_cast<const W*>(params);
  const I* idx = static_cast<const I*>(indices);
  W* to = static_cast<W*>(out);
  if (total <= kIndex32Limit && params_elements <= kIndex32Limit) {
    GatherKernel<W, I, int32_t><<<BlocksFor(total), kThreadsPerBlock, 0, stream>>>(
        from, idx, to, static_cast<int32_t>(outer), static_cast<int32_t>(n),
        static_cast<int32_t>(inner), static_cast<int32_t>(m), static_cast<int32_t>(total));
  } else {
    GatherKernel<W, I, int64_t><<<BlocksFor(total), kThreadsPerBlock, 0, stream>>>(
        from, idx, to, outer, n, inner, m, total);
  }
  return cudaGetLastError();
}

template <typename W>
cudaError_t LaunchGatherWidth(const void* params, const void* indices, IndexType index_type,
                              void* out, int64_t batch, int64_t outer, int64_t n, int64_t inner,
                              int64_t m, cudaStream_t stream) {
  switch (index_type) {
    case IndexType::kI32:
      return LaunchGatherOf<W, int32_t>(params, indices, out, batch, outer, n, inner, m, stream);
    case IndexType::kI64:
      return LaunchGatherOf<W, int64_t>(params, indices, out, batch, outer, n, inner, m, stream);
    case IndexType::kU8:
      break;
  }
  return cudaErrorInvalidValue;
}

// ---------------------------------------------------------------------------
// OneHot

// Output element i = (o * depth + d) * inner + k.
template <typename W, typename I>
__global__ void OneHotKernel(const I* __restrict__ indices, W* __restrict__ out, int64_t depth,
                             int64_t inner, int64_t total, const W* __restrict__ on_value,
                             const W* __restrict__ off_value) {
  const W on = *on_value;
  const W off = *off_value;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{blockDim.x} * gridDim.x) {
    const int64_t k = i % inner;
    const int64_t row = i / inner;
    const int64_t d = row % depth;
    const int64_t o = row / depth;
    out[i] = static_cast<int64_t>(indices[o * inner + k]) == d ? on : off;
  }
}

template <typename W>
cudaError_t LaunchOneHotWidth(const void* indices, IndexType index_type, void* out, int64_t outer,
                              int64_t depth, int64_t inner, const void* on_value,
                              const void* off_value, cudaStream_t stream) {
  const int64_t total = outer * depth * inner;
  const W* on = static_cast<const W*>(on_value);
  const W* off = static_cast<const W*>(off_value);
  W* to = static_cast<W*>(out);
  const unsigned blocks = BlocksFor(total);
  switch (index_type) {
    case IndexType::kU8:
      OneHotKernel<W, uint8_t><<<blocks, kThreadsPerBlock, 0, stream>>>(
          static_cast<const uint8_t*>(indices), to, depth, inner, total, on, off);
      break;
    case IndexType::kI32:
      OneHotKernel<W, int32_t><<<blocks, kThreadsPerBlock, 0, stream>>>(
          static_cast<const int32_t*>(indices), to, depth, inner, total, on, off);
      break;
    case IndexType::kI64:
      OneHotKernel<W, int64_t><<<blocks, kThreadsPerBlock, 0, stream>>>(
          static_cast<const int64_t*>(indices), to, depth, inner, total, on, off);
      break;
  }
  return cudaGetLastError();
}

// ---------------------------------------------------------------------------
// Range

// Unsigned arithmetic wraps like the CPU's int64 arithmetic does in practice,
// without signed overflow.
template <typename T>
__global__ void IntRangeKernel(T* __restrict__ out, int64_t n, int64_t start, int64_t delta) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{blockDim.x} * gridDim.x) {
    const uint64_t value =
        static_cast<uint64_t>(start) + static_cast<uint64_t>(delta) * static_cast<uint64_t>(i);
    out[i] = static_cast<T>(static_cast<int64_t>(value));
  }
}

// One fused multiply-add, spelled out so that every build rounds the same
// way: the CPU kernel's `start + delta * i` is contracted into an FMA by the
// host compiler wherever the target has one (-march=native on x86-64 with
// FMA, and AArch64).
__global__ void F32RangeKernel(float* __restrict__ out, int64_t n, float start, float delta) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{blockDim.x} * gridDim.x) {
    out[i] = __fmaf_rn(delta, static_cast<float>(i), start);
  }
}

__global__ void F64RangeKernel(double* __restrict__ out, int64_t n, double start, double delta) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n;
       i += int64_t{blockDim.x} * gridDim.x) {
    out[i] = __fma_rn(delta, static_cast<double>(i), start);
  }
}

// ---------------------------------------------------------------------------
// UnsortedSegmentSum

__device__ void AtomicAddTo(float* p, float v) { atomicAdd(p, v); }
__device__ void AtomicAddTo(double* p, double v) { atomicAdd(p, v); }
__device__ void AtomicAddTo(int32_t* p, int32_t v) { atomicAdd(p, v); }
// Two's complement addition is the same on unsigned bits.
__device__ void AtomicAddTo(int64_t* p, int64_t v) {
  static_assert(sizeof(unsigned long long) == sizeof(int64_t));
  atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}

template <typename T, typename I>
__global__ void SegmentSumKernel(const T* __restrict__ data, const I* __restrict__ ids,
                                 T* __restrict__ out, int64_t total, int64_t inner,
                                 int64_t segments) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{blockDim.x} * gridDim.x) {
    const int64_t row = i / inner;
    const int64_t id = static_cast<int64_t>(ids[row]);
    if (id < 0 || id >= segments) continue;
    AtomicAddTo(out + id * inner + (i - row * inner), data[i]);
  }
}

template <typename T>
cudaError_t LaunchSegmentSumOf(const void* data, const void* ids, IndexType index_type, void* out,
                               int64_t num_ids, int64_t inner, int64_t segments,
                               cudaStream_t stream) {
  const int64_t total = num_ids * inner;
  const T* from = static_cast<const T*>(data);
  T* to = static_cast<T*>(out);
  switch (index_type) {
    case IndexType::kI32:
      SegmentSumKernel<T, int32_t><<<BlocksFor(total), kThreadsPerBlock, 0, stream>>>(
          from, static_cast<const int32_t*>(ids), to, total, inner, segments);
      break;
    case IndexType::kI64:
      SegmentSumKernel<T, int64_t><<<BlocksFor(total), kThreadsPerBlock, 0, stream>>>(
          from, static_cast<const int64_t*>(ids), to, total, inner, segments);
      break;
    case IndexType::kU8:
      return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchGather(const void* params, const void* indices, IndexType index_type, void* out,
                         int64_t batch, int64_t outer, int64_t n, int64_t inner, int64_t m,
                         int elem_size, cudaStream_t stream) {
  if (batch * outer * m * inner == 0) return cudaSuccess;
  switch (elem_size) {
    case 1:
      return LaunchGatherWidth<uint8_t>(params, indices, index_type, out, batch, outer, n, inner, m,
                                        stream);
    case 2:
      return LaunchGatherWidth<uint16_t>(params, indices, index_type, out, batch, outer, n, inner,
                                         m, stream);
    case 4:
      return LaunchGatherWidth<uint32_t>(params, indices, index_type, out, batch, outer, n, inner,
                                         m, stream);
    case 8:
      return LaunchGatherWidth<uint64_t>(params, indices, index_type, out, batch, outer, n, inner,
                                         m, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

cudaError_t LaunchOneHot(const void* indices, IndexType index_type, void* out, int64_t outer,
                         int64_t depth, int64_t inner, const void* on_value, const void* off_value,
                         int elem_size, cudaStream_t stream) {
  if (outer * depth * inner == 0) return cudaSuccess;
  switch (elem_size) {
    case 1:
      return LaunchOneHotWidth<uint8_t>(indices, index_type, out, outer, depth, inner, on_value,
                                        off_value, stream);
    case 2:
      return LaunchOneHotWidth<uint16_t>(indices, index_type, out, outer, depth, inner, on_value,
                                         off_value, stream);
    case 4:
      return LaunchOneHotWidth<uint32_t>(indices, index_type, out, outer, depth, inner, on_value,
                                         off_value, stream);
    case 8:
      return LaunchOneHotWidth<uint64_t>(indices, index_type, out, outer, depth, inner, on_value,
                                         off_value, stream);
    default:
      return cudaErrorInvalidValue;
  }
}

cudaError_t LaunchIntRange(RangeType type, void* out, int64_t n, int64_t start, int64_t delta,
                           cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (type) {
    case RangeType::kI32:
      IntRangeKernel<int32_t><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
          static_cast<int32_t*>(out), n, start, delta);
      break;
    case RangeType::kI64:
      IntRangeKernel<int64_t><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
          static_cast<int64_t*>(out), n, start, delta);
      break;
    default:
      return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t LaunchFloatRange(RangeType type, void* out, int64_t n, double start, double delta,
                             cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (type) {
    case RangeType::kF32:
      // start and delta were f32 values, so these conversions are exact.
      F32RangeKernel<<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
          static_cast<float*>(out), n, static_cast<float>(start), static_cast<float>(delta));
      break;
    case RangeType::kF64:
      F64RangeKernel<<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(static_cast<double*>(out), n,
                                                                    start, delta);
      break;
    default:
      return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

cudaError_t LaunchUnsortedSegmentSum(SegmentSumType type, const void* data, const void* ids,
                                     IndexType index_type, void* out, int64_t num_ids,
                                     int64_t inner, int64_t segments, cudaStream_t stream) {
  if (num_ids * inner == 0 || segments == 0) return cudaSuccess;
  switch (type) {
    case SegmentSumType::kF32:
      return LaunchSegmentSumOf<float>(data, ids, index_type, out, num_ids, inner, segments,
                                       stream);
    case SegmentSumType::kF64:
      return LaunchSegmentSumOf<double>(data, ids, index_type, out, num_ids, inner, segments,
                                        stream);
    case SegmentSumType::kI32:
      return LaunchSegmentSumOf<int32_t>(data, ids, index_type, out, num_ids, inner, segments,
                                         stream);
    case SegmentSumType::kI64:
      return LaunchSegmentSumOf<int64_t>(data, ids, index_type, out, num_ids, inner, segments,
                                         stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace sluice::cuda
