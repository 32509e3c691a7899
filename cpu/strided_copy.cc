#include "cpu/strided_copy.h"

#include <algorithm>
#include <cstring>

#include "cpu/parallel.h"

namespace sluice::cpu {
namespace {

// A transposing copy walks tiles of kBandRows rows of the source-contiguous
// dim by kTileCols positions of the destination-contiguous dim. Few columns
// per tile keep the strided source lines few: with power-of-two strides they
// all fall into one cache set (32x32 tiles were 3x slower there).
constexpr int64_t kBandRows = 64;
constexpr int64_t kTileCols = 8;

// How the innermost dims are copied; the remaining ("outer") dims are walked
// one position at a time.
enum class InnerMode {
  kMemcpy,     // the last dim is contiguous in both buffers
  kFill,       // the last dim repeats one source element into a contiguous run
  kTranspose,  // another dim is contiguous in the source: copy square tiles
  kStrided,    // anything else: an element loop with both strides
};

struct OuterDims {
  int rank = 0;
  std::array<int64_t, kMaxCopyRank> dims{}, src_strides{}, dst_strides{};
};

template <typename W>
void CopyInner(const StridedCopyPlan& p, InnerMode mode, const W* src, W* dst) {
  const int last = p.rank - 1;
  const int64_t len = p.dims[last];
  const int64_t ss = p.src_strides[last];
  const int64_t ds = p.dst_strides[last];
  switch (mode) {
    case InnerMode::kMemcpy:
      std::memcpy(dst, src, static_cast<size_t>(len) * sizeof(W));
      return;
    case InnerMode::kFill: {
      const W v = *src;
      for (int64_t j = 0; j < len; ++j) dst[j] = v;
      return;
    }
    case InnerMode::kStrided:
    case InnerMode::kTranspose:
      for (int64_t j = 0; j < len; ++j) dst[j * ds] = src[j * ss];
      return;
  }
}

// Copies rows [i0, i1) of the transposed pair (dim `a`, which reads
// contiguously, and the last dim, which writes contiguously) in tiles.
template <typename W>
void CopyTransposedRows(const StridedCopyPlan& p, int a, int64_t i0, int64_t i1, const W* src,
                        W* dst) {
  const int last = p.rank - 1;
  const int64_t len = p.dims[last];
  const int64_t ss = p.src_strides[last];
  const int64_t dst_row_stride = p.dst_strides[a];
  for (int64_t j0 = 0; j0 < len; j0 += kTileCols) {
    const int64_t j1 = std::min(len, j0 + kTileCols);
    for (int64_t i = i0; i < i1; ++i) {
      W* __restrict d = dst + i * dst_row_stride;
      const W* __restrict s = src + i;
      for (int64_t j = j0; j < j1; ++j) d[j] = s[j * ss];
    }
  }
}

template <typename W>
void RunTyped(const StridedCopyPlan& p, const W* src, W* dst) {
  if (p.num_elements == 0) return;
  if (p.rank == 0) {
    *dst = *src;
    return;
  }
  const int last = p.rank - 1;
  InnerMode mode = InnerMode::kStrided;
  int transpose_dim = -1;
  if (p.dst_strides[last] == 1 && p.src_strides[last] == 1) {
    mode = InnerMode::kMemcpy;
  } else if (p.dst_strides[last] == 1 && p.src_strides[last] == 0) {
    mode = InnerMode::kFill;
  } else if (p.dst_strides[last] == 1) {
    for (int d = last - 1; d >= 0; --d) {
      if (p.src_strides[d] == 1) {
        transpose_dim = d;
        mode = InnerMode::kTranspose;
        break;
      }
    }
  }

  OuterDims outer;
  int64_t rows = 1;
  for (int d = 0; d < last; ++d) {
    if (d == transpose_dim) continue;
    outer.dims[outer.rank] = p.dims[d];
    outer.src_strides[outer.rank] = p.src_strides[d];
    outer.dst_strides[outer.rank] = p.dst_strides[d];
    ++outer.rank;
    rows *= p.dims[d];
  }
  // Offsets of outer row `row`.
  auto row_offsets = [&](int64_t row, std::array<int64_t, kMaxCopyRank>& index, int64_t& src_off,
                         int64_t& dst_off) {
    src_off = dst_off = 0;
    for (int k = outer.rank - 1; k >= 0; --k) {
      index[k] = row % outer.dims[k];
      row /= outer.dims[k];
      src_off += index[k] * outer.src_strides[k];
      dst_off += index[k] * outer.dst_strides[k];
    }
  };

  if (mode == InnerMode::kTranspose) {
    // Work items are (outer row, band of kBandRows rows of dim a), so that
    // even a single 2-D transpose splits across threads.
    const int64_t band_rows = p.dims[transpose_dim];
    const int64_t bands = (band_rows + kBandRows - 1) / kBandRows;
    ParallelFor(rows * bands, kBandRows * p.dims[last], [&](int64_t begin, int64_t end) {
      std::array<int64_t, kMaxCopyRank> index{};
      for (int64_t item = begin; item < end; ++item) {
        int64_t src_off, dst_off;
        row_offsets(item / bands, index, src_off, dst_off);
        const int64_t i0 = (item % bands) * kBandRows;
        CopyTransposedRows<W>(p, transpose_dim, i0, std::min(band_rows, i0 + kBandRows),
                              src + src_off, dst + dst_off);
      }
    });
    return;
  }

  ParallelFor(rows, p.dims[last], [&](int64_t begin, int64_t end) {
    std::array<int64_t, kMaxCopyRank> index{};
    int64_t src_off, dst_off;
    row_offsets(begin, index, src_off, dst_off);
    for (int64_t row = begin; row < end; ++row) {
      CopyInner<W>(p, mode, src + src_off, dst + dst_off);
      // Advance the odometer.
      for (int k = outer.rank - 1; k >= 0; --k) {
        src_off += outer.src_strides[k];
        dst_off += outer.dst_strides[k];
        if (++index[k] < outer.dims[k]) break;
        src_off -= outer.src_strides[k] * outer.dims[k];
        dst_off -= outer.dst_strides[k] * outer.dims[k];
        index[k] = 0;
      }
    }
  });
}

}  // namespace

bool PlanStridedCopy(int elem_size, absl::Span<const int64_t> dims,
                     absl::Span<const int64_t> src_strides, absl::Span<const int64_t> dst_strides,
                     StridedCopyPlan* plan) {
  *plan = StridedCopyPlan{};
  plan->elem_size = elem_size;
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  plan->num_elements = n;
  if (n == 0) return true;
  int r = 0;
  for (size_t d = 0; d < dims.size(); ++d) {
    if (dims[d] == 1) continue;
    // Dim d continues the previous kept dim in both buffers: one longer dim.
    if (r > 0 && plan->src_strides[r - 1] == src_strides[d] * dims[d] &&
        plan->dst_strides[r - 1] == dst_strides[d] * dims[d]) {
      plan->dims[r - 1] *= dims[d];
      plan->src_strides[r - 1] = src_strides[d];
      plan->dst_strides[r - 1] = dst_strides[d];
      continue;
    }
    if (r == kMaxCopyRank) return false;
    plan->dims[r] = dims[d];
    plan->src_strides[r] = src_strides[d];
    plan->dst_strides[r] = dst_strides[d];
    ++r;
  }
  plan->rank = r;
  return true;
}

void RunStridedCopy(const StridedCopyPlan& plan, const void* src, void* dst) {
  switch (plan.elem_size) {
    case 1:
      return RunTyped(plan, static_cast<const uint8_t*>(src), static_cast<uint8_t*>(dst));
    case 2:
      return RunTyped(plan, static_cast<const uint16_t*>(src), static_cast<uint16_t*>(dst));
    case 4:
      return RunTyped(plan, static_cast<const uint32_t*>(src), static_cast<uint32_t*>(dst));
    case 8:
      return RunTyped(plan, static_cast<const uint64_t*>(src), static_cast<uint64_t*>(dst));
    default:
      break;
  }
}

void RowMajorStrides(absl::Span<const int64_t> dims, int64_t* strides) {
  int64_t stride = 1;
  for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= dims[i];
  }
}

}  // namespace sluice::cpu
