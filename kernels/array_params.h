// What every device's array kernels (Transpose, Slice, StridedSlice, Pad,
// Concat, Split, Gather) read from their index inputs and shapes: the
// validated per-dim geometry, with the same errors on every device. Devices
// turn it into copies and launches their own way. Nothing here allocates, so
// a kernel whose index inputs are only known at run time may call it on
// every run.
#ifndef SLUICE_KERNELS_ARRAY_PARAMS_H_
#define SLUICE_KERNELS_ARRAY_PARAMS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/shape.h"
#include "graph/tensor.h"
#include "kernels/kernel.h"

namespace sluice {

// InvalidArgument when `dims`, computed from the index values, differ from
// the static `output` shape.
absl::Status CheckIndexedShape(absl::Span<const int64_t> dims, const Shape& output);

// Transpose: `perm` must hold a permutation of [0, rank of `input`). Output
// dim i is input dim perm[i]: `out_dims` receives its size and `source_dims`
// perm[i]. Both spans have input.rank() entries; the output shape is checked.
absl::Status TransposeDims(const Tensor& perm, const Shape& input, const Shape& output,
                           absl::Span<int64_t> out_dims, absl::Span<int64_t> source_dims);

// Slice: `begin` and `size` (-1: to the end) must have one entry per dim of
// `input` and fit it. `starts` receives begin and `out_dims` the sizes (one
// entry per dim each); the output shape is checked.
absl::Status SliceDims(const Tensor& begin, const Tensor& size, const Shape& input,
                       const Shape& output, absl::Span<int64_t> starts,
                       absl::Span<int64_t> out_dims);

// Pad: `paddings` is [rank, 2] of non-negative (before, after) pairs.
// `before` receives the leading padding and `out_dims` the padded sizes (one
// entry per dim each); the output shape is checked. Returns whether anything
// is padded at all.
absl::StatusOr<bool> PadDims(const Tensor& paddings, const Shape& input, const Shape& output,
                             absl::Span<int64_t> before, absl::Span<int64_t> out_dims);

// StridedSlice's mask attributes.
struct SliceMasks {
  int64_t begin = 0, end = 0, ellipsis = 0, new_axis = 0, shrink = 0;
};

// The masks of a StridedSlice node (begin_mask, end_mask, ellipsis_mask,
// new_axis_mask, shrink_axis_mask).
SliceMasks SliceMasksOf(const KernelInit& init);

// The elements one input dim contributes to a strided slice: `count`
// positions from `start`, `step` apart.
struct SliceRange {
  int64_t start = 0, step = 1, count = 0;
};

// StridedSlice with TensorFlow's rules. The sparse spec (begin/end/strides
// entries, at most one ellipsis, any new axes) maps onto the input dims:
// entries before the ellipsis take the leading dims in order, entries after
// it the trailing ones, and the ellipsis (implicitly at the end when absent)
// covers the dims between with full ranges; new axes take no input dim. A
// shrunk entry picks one index (negative counts from the end, out of range
// is an error); otherwise begin and end count from the end when negative and
// are clamped to [0, dim] going forward and to [-1, dim - 1] going back, and
// a masked bound is the start or end of that range. `ranges` (one entry per
// input dim) receives each dim's range; the number of elements they select
// is checked against `output`.
absl::Status StridedSliceRanges(const Tensor& begin, const Tensor& end, const Tensor& strides,
                                const SliceMasks& masks, const Shape& input, const Shape& output,
                                absl::Span<SliceRange> ranges);

// Concat/Split: InvalidArgument when `piece` differs from `whole` outside
// `axis`.
absl::Status CheckPieceShape(const Shape& piece, const Shape& whole, int axis);

// Gather (GatherV2) seen as params [batch, outer, n, inner] and indices
// [batch, m], giving output [batch, outer, m, inner].
struct GatherLayout {
  int64_t batch = 1, outer = 1, n = 1, inner = 1, m = 1;
};

// The layout of gathering from `params` along `axis` (negative counts from
// the end) with `indices` whose first `batch_dims` dims (negative counts
// from the end of indices) are batch dims shared with params.
absl::StatusOr<GatherLayout> PlanGather(const Shape& params, const Shape& indices, int64_t axis,
                                        int64_t batch_dims);

}  // namespace sluice

#endif  // SLUICE_KERNELS_ARRAY_PARAMS_H_
