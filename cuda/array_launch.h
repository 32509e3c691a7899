// Device code of the array family: strided copies and fills (cuda/array.cu),
// gathers, one-hot encodings, ranges and segment sums (cuda/array_index.cu).
//
// The copies move bytes without looking at them: element sizes, never dtypes.
// Every launcher queues its work on `stream` and returns the launch's error;
// none of them synchronises.
#ifndef SLUICE_CUDA_ARRAY_LAUNCH_H_
#define SLUICE_CUDA_ARRAY_LAUNCH_H_

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sluice::cuda {

// The most dims a strided copy keeps after merging (cuda/array.cc merges
// dims that are contiguous in both buffers and drops dims of size 1).
inline constexpr int kMaxStridedCopyRank = 16;

// How a StridedCopy runs; decided when it is planned.
enum class StridedCopyKind : int32_t {
  kNone,        // no elements: nothing to launch
  kContiguous,  // one run of num_elements in both buffers: a device-to-device memcpy
  // dims[rank-2] is contiguous in the source and dims[rank-1] in the
  // destination (a transpose of the last two dims): 32x32 tiles staged
  // through shared memory so that reads and writes are both coalesced.
  kTiled,
  kGeneric,  // one thread per element, offsets from the element's coordinates
};

// Element (i_0, ..., i_{rank-1}) of a row-major walk over `dims` goes from
// src[sum_k i_k * src_strides[k]] to dst[sum_k i_k * dst_strides[k]], offsets
// in elements of `elem_size` bytes relative to the pointers the launcher gets.
// Strides may be 0 (repeated reads) or negative (reversed reads).
struct StridedCopy {
  StridedCopyKind kind = StridedCopyKind::kNone;
  int32_t elem_size = 0;  // 1, 2, 4, 8 or 16
  int32_t rank = 0;       // 0: a single element
  // Every coordinate, element count and offset of the copy fits in int32
  // arithmetic (with room for the grid-stride step), so kGeneric can use
  // 32-bit division.
  bool index32 = false;
  int64_t num_elements = 0;
  int64_t dims[kMaxStridedCopyRank] = {};
  int64_t src_strides[kMaxStridedCopyRank] = {};
  int64_t dst_strides[kMaxStridedCopyRank] = {};
};

// Runs `copy`; `src` and `dst` are device pointers aligned to copy.elem_size.
cudaError_t LaunchStridedCopy(const StridedCopy& copy, const void* src, void* dst,
                              cudaStream_t stream);

// Writes `n` elements of `elem_size` bytes (1, 2, 4 or 8) to `dst`. Each is
// the device scalar at `device_value` when that is not null, else the low
// `elem_size` bytes of `bits`.
cudaError_t LaunchFill(void* dst, int64_t n, int elem_size, const void* device_value, uint64_t bits,
                       cudaStream_t stream);

// The integer types index inputs come in.
enum class IndexType : int32_t { kU8, kI32, kI64 };

// Gather with params viewed as [batch, outer, n, inner] and indices as
// [batch, m] (integers of `index_type`, kI32 or kI64): output element
// (b, o, j, k) of [batch, outer, m, inner] is params (b, o, indices[b, j], k),
// or zero bits when that index is outside [0, n). `elem_size` is 1, 2, 4 or 8
// (inner counted in those units).
cudaError_t LaunchGather(const void* params, const void* indices, IndexType index_type, void* out,
                         int64_t batch, int64_t outer, int64_t n, int64_t inner, int64_t m,
                         int elem_size, cudaStream_t stream);

// OneHot with the output viewed as [outer, depth, inner] and indices as
// [outer, inner]: output (o, d, k) is the device scalar *on_value when
// indices[o, k] == d, else *off_value. `elem_size` is 1, 2, 4 or 8.
cudaError_t LaunchOneHot(const void* indices, IndexType index_type, void* out, int64_t outer,
                         int64_t depth, int64_t inner, const void* on_value, const void* off_value,
                         int elem_size, cudaStream_t stream);

// Range: out[i] = start + delta * i for i in [0, n): integers in int64
// arithmetic and then narrowed (as the CPU kernel), floats in their own
// precision as one fused multiply-add (within an ulp of an unfused CPU).
enum class RangeType : int32_t { kI32, kI64, kF32, kF64 };
cudaError_t LaunchIntRange(RangeType type, void* out, int64_t n, int64_t start, int64_t delta,
                           cudaStream_t stream);
cudaError_t LaunchFloatRange(RangeType type, void* out, int64_t n, double start, double delta,
                             cudaStream_t stream);

// UnsortedSegmentSum's accumulation: for each of the `num_ids` ids (of
// `index_type`, kI32 or kI64) that lies in [0, segments), adds row i of
// data [num_ids, inner] into row ids[i] of out [segments, inner] with
// atomics. `out` must already hold zeros (or the values to add to).
enum class SegmentSumType : int32_t { kF32, kF64, kI32, kI64 };
cudaError_t LaunchUnsortedSegmentSum(SegmentSumType type, const void* data, const void* ids,
                                     IndexType index_type, void* out, int64_t num_ids,
                                     int64_t inner, int64_t segments, cudaStream_t stream);

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_ARRAY_LAUNCH_H_
