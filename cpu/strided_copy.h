// N-d strided copies, planned once from static shapes: transposes, slices,
// strided slices, tiles, broadcasts, concatenation and padding are all "walk
// these dims, reading with these strides and writing with those".
#ifndef SLUICE_CPU_STRIDED_COPY_H_
#define SLUICE_CPU_STRIDED_COPY_H_

#include <array>
#include <cstdint>

#include "absl/types/span.h"
#include "graph/shape.h"

namespace sluice::cpu {

inline constexpr int kMaxCopyRank = 16;

// A copy of `dims` elements from `src` to `dst`, each with its own element
// strides (possibly 0 for repeated reads, or negative). Dims of size 1 are
// dropped and neighbouring dims that are contiguous in both source and
// destination are merged, so most copies become a few memcpy runs.
struct StridedCopyPlan {
  int elem_size = 0;  // bytes
  int rank = 0;       // merged rank; 0 copies a single element
  std::array<int64_t, kMaxCopyRank> dims{};
  std::array<int64_t, kMaxCopyRank> src_strides{};
  std::array<int64_t, kMaxCopyRank> dst_strides{};
  int64_t num_elements = 0;

  // True when the copy is one contiguous run in both buffers (a memcpy, or
  // nothing at all, e.g. an identity transpose).
  bool contiguous() const {
    return num_elements == 0 || rank == 0 ||
           (rank == 1 && src_strides[0] == 1 && dst_strides[0] == 1);
  }
};

// Plans a copy of `dims` (all >= 0, same length as both stride lists, any
// length). Returns false when even the merged rank exceeds kMaxCopyRank.
bool PlanStridedCopy(int elem_size, absl::Span<const int64_t> dims,
                     absl::Span<const int64_t> src_strides, absl::Span<const int64_t> dst_strides,
                     StridedCopyPlan* plan);

// Runs `plan`: element (i0, i1, ...) goes from src + sum(i_k * src_strides[k])
// to dst + sum(i_k * dst_strides[k]) (offsets in elements). Large copies are
// split across the OpenMP threads of the caller. Allocates nothing.
void RunStridedCopy(const StridedCopyPlan& plan, const void* src, void* dst);

// Writes the row-major element strides of `dims` (the last dim has stride 1)
// to strides[0, dims.size()).
void RowMajorStrides(absl::Span<const int64_t> dims, int64_t* strides);

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_STRIDED_COPY_H_
