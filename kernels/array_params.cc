#include "kernels/array_params.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/kernel.h"

namespace sluice {
namespace {

int64_t ProductOf(const Shape& s, int begin, int end) {
  int64_t p = 1;
  for (int d = begin; d < end; ++d) p *= s.dim(d);
  return p;
}

bool Bit(int64_t mask, int64_t i) { return i < 63 && ((mask >> i) & 1) != 0; }

// Entry `i` of the strided slice spec on input dim `full` of size `dim`.
absl::StatusOr<SliceRange> StridedSliceRange(const Tensor& begin, const Tensor& end,
                                             const Tensor& strides, const SliceMasks& masks,
                                             const Shape& input, int64_t i, int full, int64_t dim) {
  const int64_t s = IndexValueAt(strides, i);
  if (s == 0) return absl::InvalidArgumentError(absl::StrCat("strides[", i, "] is 0"));
  if (Bit(masks.shrink, i)) {
    const int64_t b = IndexValueAt(begin, i);
    const int64_t index = b < 0 ? b + dim : b;
    if (index < 0 || index >= dim) {
      return absl::InvalidArgumentError(
          absl::StrCat("index ", b, " is out of bounds for dimension ", full, " of input ",
                       input.ToString(), ", which has size ", dim));
    }
    return SliceRange{index, 1, 1};
  }
  const bool forward = s > 0;
  const int64_t first = forward ? 0 : -1;
  const int64_t past = forward ? dim : dim - 1;
  auto bound = [&](const Tensor& values, bool masked, bool is_end) {
    if (masked) return forward == is_end ? past : first;
    const int64_t v = IndexValueAt(values, i);
    return std::clamp(v < 0 ? v + dim : v, first, past);
  };
  const int64_t b = bound(begin, Bit(masks.begin, i), false);
  const int64_t e = bound(end, Bit(masks.end, i), true);
  const int64_t span = e - b;
  // Positions b, b + s, ... strictly before e in the direction of s.
  int64_t count = 0;
  if (span != 0 && (span > 0) == forward) {
    const int64_t magnitude = forward ? span : -span;
    const int64_t step = forward ? s : -s;
    count = (magnitude + step - 1) / step;
  }
  return SliceRange{b, s, count};
}

}  // namespace

absl::Status CheckIndexedShape(absl::Span<const int64_t> dims, const Shape& output) {
  if (Shape(dims) != output) {
    return absl::InvalidArgumentError(
        absl::StrCat("the index values give shape ", Shape(dims).ToString(),
                     ", but the output has shape ", output.ToString()));
  }
  return absl::OkStatus();
}

absl::Status TransposeDims(const Tensor& perm, const Shape& input, const Shape& output,
                           absl::Span<int64_t> out_dims, absl::Span<int64_t> source_dims) {
  const int rank = input.rank();
  if (perm.num_elements() != rank) {
    return absl::InvalidArgumentError(absl::StrCat(
        "perm has ", perm.num_elements(), " entries for input of shape ", input.ToString()));
  }
  for (int i = 0; i < rank; ++i) {
    const int64_t p = IndexValueAt(perm, i);
    const bool repeated =
        std::find(source_dims.begin(), source_dims.begin() + i, p) != source_dims.begin() + i;
    if (p < 0 || p >= rank || repeated) {
      return absl::InvalidArgumentError(
          absl::StrCat("perm is not a permutation of [0, ", rank, "): entry ", i, " is ", p));
    }
    source_dims[i] = p;
    out_dims[i] = input.dim(static_cast<int>(p));
  }
  return CheckIndexedShape(out_dims.subspan(0, rank), output);
}

absl::Status SliceDims(const Tensor& begin, const Tensor& size, const Shape& input,
                       const Shape& output, absl::Span<int64_t> starts,
                       absl::Span<int64_t> out_dims) {
  const int rank = input.rank();
  if (begin.num_elements() != rank || size.num_elements() != rank) {
    return absl::InvalidArgumentError(absl::StrCat(
        "begin and size must have ", rank, " entries for input of shape ", input.ToString()));
  }
  for (int i = 0; i < rank; ++i) {
    const int64_t dim = input.dim(i);
    const int64_t b = IndexValueAt(begin, i);
    const int64_t requested = IndexValueAt(size, i);
    const int64_t s = requested == -1 ? dim - b : requested;
    if (b < 0 || b > dim || s < 0 || b + s > dim) {
      return absl::InvalidArgumentError(absl::StrCat("begin[", i, "] = ", b, " and size[", i,
                                                     "] = ", requested, " do not fit dimension ", i,
                                                     " of input ", input.ToString()));
    }
    starts[i] = b;
    out_dims[i] = s;
  }
  return CheckIndexedShape(out_dims.subspan(0, rank), output);
}

absl::StatusOr<bool> PadDims(const Tensor& paddings, const Shape& input, const Shape& output,
                             absl::Span<int64_t> before, absl::Span<int64_t> out_dims) {
  const int rank = input.rank();
  if (paddings.num_elements() != 2 * rank) {
    return absl::InvalidArgumentError(absl::StrCat("paddings must have shape [", rank,
                                                   ",2] for input of shape ", input.ToString()));
  }
  bool padded = false;
  for (int i = 0; i < rank; ++i) {
    const int64_t leading = IndexValueAt(paddings, 2 * i);
    const int64_t trailing = IndexValueAt(paddings, 2 * i + 1);
    if (leading < 0 || trailing < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("paddings[", i, "] = [", leading, ",", trailing, "] must be non-negative"));
    }
    padded = padded || leading > 0 || trailing > 0;
    before[i] = leading;
    out_dims[i] = input.dim(i) + leading + trailing;
  }
  RETURN_IF_ERROR(CheckIndexedShape(out_dims.subspan(0, rank), output));
  return padded;
}

SliceMasks SliceMasksOf(const KernelInit& init) {
  return SliceMasks{init.attr("begin_mask").i(), init.attr("end_mask").i(),
                    init.attr("ellipsis_mask").i(), init.attr("new_axis_mask").i(),
                    init.attr("shrink_axis_mask").i()};
}

absl::Status StridedSliceRanges(const Tensor& begin, const Tensor& end, const Tensor& strides,
                                const SliceMasks& masks, const Shape& input, const Shape& output,
                                absl::Span<SliceRange> ranges) {
  const int rank = input.rank();
  const int64_t length = begin.num_elements();
  if (end.num_elements() != length || strides.num_elements() != length) {
    return absl::InvalidArgumentError(
        absl::StrCat("begin, end and strides must have the same length, got ", length, ", ",
                     end.num_elements(), " and ", strides.num_elements()));
  }
  int64_t ellipsis = -1;
  for (int64_t i = 0; i < length && ellipsis < 0; ++i) {
    if (Bit(masks.ellipsis, i)) ellipsis = i;
  }
  // Input dims taken by the entries after the ellipsis.
  int64_t trailing = 0;
  for (int64_t i = ellipsis + 1; ellipsis >= 0 && i < length; ++i) {
    if (!Bit(masks.new_axis, i)) ++trailing;
  }
  for (int d = 0; d < rank; ++d) ranges[d] = SliceRange{0, 1, input.dim(d)};
  int full = 0;
  for (int64_t i = 0; i < length; ++i) {
    if (i == ellipsis) {
      full = std::max(full, static_cast<int>(std::max<int64_t>(rank - trailing, 0)));
      continue;
    }
    if (Bit(masks.new_axis, i)) continue;
    if (full == rank) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the slice spec indexes more dimensions than input ", input.ToString(), " has"));
    }
    ASSIGN_OR_RETURN(ranges[full], StridedSliceRange(begin, end, strides, masks, input, i, full,
                                                     input.dim(full)));
    ++full;
  }
  int64_t elements = 1;
  for (int d = 0; d < rank; ++d) elements *= ranges[d].count;
  if (elements != output.num_elements()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the slice selects ", elements, " elements, but the output has shape ", output.ToString()));
  }
  return absl::OkStatus();
}

absl::Status CheckPieceShape(const Shape& piece, const Shape& whole, int axis) {
  bool ok = piece.rank() == whole.rank();
  for (int d = 0; ok && d < whole.rank(); ++d) ok = d == axis || piece.dim(d) == whole.dim(d);
  if (!ok) {
    return absl::InvalidArgumentError(absl::StrCat("shape ", piece.ToString(), " does not match ",
                                                   whole.ToString(), " outside dimension ", axis));
  }
  return absl::OkStatus();
}

absl::StatusOr<GatherLayout> PlanGather(const Shape& params, const Shape& indices, int64_t axis,
                                        int64_t batch_dims) {
  const int rank = params.rank();
  if (batch_dims < 0) batch_dims += indices.rank();
  if (axis < -rank || axis >= rank) {
    return absl::InvalidArgumentError(
        absl::StrCat("axis ", axis, " is out of range for params ", params.ToString()));
  }
  if (axis < 0) axis += rank;
  if (batch_dims < 0 || batch_dims > axis || batch_dims > indices.rank()) {
    return absl::InvalidArgumentError(absl::StrCat("batch_dims ", batch_dims, " does not fit axis ",
                                                   axis, " and indices ", indices.ToString()));
  }
  const int b = static_cast<int>(batch_dims);
  const int a = static_cast<int>(axis);
  GatherLayout g;
  g.batch = ProductOf(params, 0, b);
  g.outer = ProductOf(params, b, a);
  g.n = params.dim(a);
  g.inner = ProductOf(params, a + 1, rank);
  g.m = ProductOf(indices, b, indices.rank());
  return g;
}

}  // namespace sluice
