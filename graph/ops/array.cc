// Array ops: signatures, shape functions and builders.
#include "graph/ops/array.h"

#include <algorithm>
#include <cmath>
#include <bit>
#include <limits>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/op_def.h"
#include "graph/ops/op_families.h"
#include "graph/ops/state.h"
#include "graph/shape_inference.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

// `[1,-1,3]`, the way shape-like values read in messages.
std::string ValuesString(const std::vector<int64_t>& values) {
  return absl::StrCat("[", absl::StrJoin(values, ","), "]");
}

// `[[1,1],[0,2]]` for a [n, 2] paddings value.
std::string PairsString(const std::vector<int64_t>& values) {
  std::vector<std::string> rows;
  for (size_t i = 0; i + 1 < values.size(); i += 2) {
    rows.push_back(absl::StrCat("[", values[i], ",", values[i + 1], "]"));
  }
  return absl::StrCat("[", absl::StrJoin(rows, ","), "]");
}

// The number of entries of 1-D input i when its shape says so; -1 otherwise.
int64_t VectorLength(const InferenceContext& c, int i) {
  const Shape& s = c.input_shape(i);
  return s.rank() == 1 ? s.dim(0) : kUnknownDim;
}

// Dim i of `s`, or unknown when the rank is unknown.
int64_t DimOrUnknown(const Shape& s, int i) { return s.unknown_rank() ? kUnknownDim : s.dim(i); }

// The product of the known dims of `s` (1 for none), or nullopt on overflow.
std::optional<int64_t> KnownDimsProduct(const Shape& s) {
  if (std::find(s.dims().begin(), s.dims().end(), 0) != s.dims().end()) return 0;
  int64_t product = 1;
  for (int64_t d : s.dims()) {
    if (d > 0 && __builtin_mul_overflow(product, d, &product)) return std::nullopt;
  }
  return product;
}

absl::Status ReshapeShape(InferenceContext& c) {
  const Shape& in = c.input_shape(0);
  RETURN_IF_ERROR(c.CheckRank(1, 1));
  const std::optional<std::vector<int64_t>> values = c.IntValuesOfInput(1);
  if (!values) {
    ASSIGN_OR_RETURN(Shape out, c.ShapeFromInput(1));
    // A 1-D result holds every element, so its only dim is the element count.
    if (out.rank() == 1 && in.IsFullyDefined()) out.set_dim(0, in.num_elements());
    c.set_output(0, std::move(out));
    return absl::OkStatus();
  }

  const std::string target = ValuesString(*values);
  Shape out;
  int infer_index = -1;
  for (size_t i = 0; i < values->size(); ++i) {
    const int64_t v = (*values)[i];
    if (v == -1) {
      if (infer_index >= 0) return c.Error("shape ", target, " has more than one -1");
      infer_index = static_cast<int>(i);
      out.AddDim(kUnknownDim);
    } else if (v < 0) {
      return c.Error("shape ", target, " has a negative dimension ", v);
    } else {
      out.AddDim(v);
    }
  }
  const std::optional<int64_t> known = KnownDimsProduct(out);
  if (!known) return c.Error("shape ", target, " has more elements than int64 can count");

  if (in.IsFullyDefined()) {
    ASSIGN_OR_RETURN(const int64_t n, in.CheckedNumElements());
    if (infer_index < 0) {
      if (n != *known) {
        return c.Error("cannot reshape a tensor of shape ", in.ToString(), " (", n,
                       " elements) into shape ", target, " (", *known, " elements)");
      }
    } else if (*known == 0) {
      // The -1 cannot be inferred from an empty product; it only fits an
      // empty input.
      if (n != 0) {
        return c.Error("cannot reshape a tensor of shape ", in.ToString(), " (", n,
                       " elements) into shape ", target, " (0 elements)");
      }
    } else if (n % *known != 0) {
      return c.Error("cannot reshape a tensor of shape ", in.ToString(), " (", n,
                     " elements) into shape ", target, ": ", n, " is not divisible by ", *known);
    } else {
      out.set_dim(infer_index, n / *known);
    }
  } else if (!in.unknown_rank() && infer_index < 0) {
    // The input holds (its known dims' product) * (its unknown dims), so a
    // fully known target must be a multiple of that product.
    const std::optional<int64_t> in_known = KnownDimsProduct(in);
    if (in_known && *in_known > 0 && *known % *in_known != 0) {
      return c.Error("cannot reshape a tensor of shape ", in.ToString(), " into shape ", target,
                     " (", *known, " elements): ", *known, " is not a multiple of ", *in_known);
    }
  }
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status TransposeShape(InferenceContext& c) {
  const Shape& x = c.input_shape(0);
  RETURN_IF_ERROR(c.CheckRank(1, 1));
  int64_t rank = x.rank();
  const int64_t perm_length = VectorLength(c, 1);
  if (perm_length >= 0) {
    if (rank >= 0 && perm_length != rank) {
      return c.Error("perm must have one entry per dimension of x ", x.ToString(), ", got ",
                     perm_length);
    }
    rank = perm_length;
  }
  const std::optional<std::vector<int64_t>> perm = c.IntValuesOfInput(1);
  if (!perm) {
    if (rank < 0) return absl::OkStatus();
    // Whatever the permutation, dims that are all the same stay the same.
    const bool all_equal =
        !x.unknown_rank() && x.IsFullyDefined() &&
        std::all_of(x.dims().begin(), x.dims().end(), [&](int64_t d) { return d == x.dim(0); });
    c.set_output(0, all_equal ? x : Shape::Unknown(static_cast<int>(rank)));
    return absl::OkStatus();
  }
  std::vector<bool> seen(perm->size(), false);
  for (int64_t p : *perm) {
    if (p < 0 || p >= rank || seen[p]) {
      return c.Error("perm ", ValuesString(*perm), " is not a permutation of [0, ", rank, ")");
    }
    seen[p] = true;
  }
  Shape out;
  for (int64_t p : *perm) out.AddDim(DimOrUnknown(x, static_cast<int>(p)));
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

// Concat's inputs: 0 is concat_dim, 1..N are the values.
absl::Status ConcatShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 0));
  int rank = -1;
  int rank_source = -1;
  for (int i = 1; i < c.num_inputs(); ++i) {
    const Shape& s = c.input_shape(i);
    if (s.unknown_rank()) continue;
    if (rank < 0) {
      rank = s.rank();
      rank_source = i;
    } else if (s.rank() != rank) {
      return c.Error("all values must have the same rank, but ", c.InputName(rank_source),
                     " has shape ", c.input_shape(rank_source).ToString(), " and ", c.InputName(i),
                     " has shape ", s.ToString());
    }
  }
  if (rank == 0) {
    return c.Error("cannot concatenate scalars (", c.InputName(rank_source), " has shape [])");
  }
  if (rank < 0) return absl::OkStatus();
  const std::optional<std::vector<int64_t>> axis_value = c.IntValuesOfInput(0);
  if (!axis_value) {
    c.set_output(0, Shape::Unknown(rank));
    return absl::OkStatus();
  }
  auto axis = CanonicalAxis((*axis_value)[0], rank);
  if (!axis.ok()) return c.Error("concat_dim: ", axis.status().message());

  Shape out = Shape::Unknown(rank);
  std::vector<int> dim_source(rank, -1);
  int64_t axis_size = 0;
  bool axis_size_known = true;
  for (int i = 1; i < c.num_inputs(); ++i) {
    const Shape& s = c.input_shape(i);
    if (s.unknown_rank()) {
      axis_size_known = false;
      continue;
    }
    for (int d = 0; d < rank; ++d) {
      const int64_t size = s.dim(d);
      if (d == *axis) {
        if (size < 0) {
          axis_size_known = false;
        } else {
          if (__builtin_add_overflow(axis_size, size, &axis_size)) {
            return c.Error("the concatenated dimension ", *axis, " overflows int64");
          }
        }
      } else if (size >= 0) {
        if (out.dim(d) < 0) {
          out.set_dim(d, size);
          dim_source[d] = i;
        } else if (out.dim(d) != size) {
          return c.Error("dimension ", d, " differs between ", c.InputName(dim_source[d]), " ",
                         c.input_shape(dim_source[d]).ToString(), " and ", c.InputName(i), " ",
                         s.ToString(), "; only concat_dim ", *axis, " may differ");
        }
      }
    }
  }
  out.set_dim(*axis, axis_size_known ? axis_size : kUnknownDim);
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

// Split's inputs: 0 is split_dim, 1 is the value.
absl::Status SplitShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 0));
  const Shape& value = c.input_shape(1);
  const int64_t num_split = c.GetInt("num_split");
  const std::optional<std::vector<int64_t>> axis_value = c.IntValuesOfInput(0);
  Shape out = value;
  if (!value.unknown_rank()) {
    if (!axis_value) {
      out = Shape::Unknown(value.rank());
    } else {
      auto axis = CanonicalAxis((*axis_value)[0], value.rank());
      if (!axis.ok()) return c.Error("split_dim: ", axis.status().message());
      const int64_t size = value.dim(*axis);
      if (size >= 0) {
        if (size % num_split != 0) {
          return c.Error("dimension ", *axis, " of value ", value.ToString(), " has size ", size,
                         ", which is not divisible by num_split ", num_split);
        }
        out.set_dim(*axis, size / num_split);
      }
    }
  }
  for (int i = 0; i < c.num_outputs(); ++i) c.set_output(i, out);
  return absl::OkStatus();
}

absl::Status SliceShape(InferenceContext& c) {
  const Shape& in = c.input_shape(0);
  RETURN_IF_ERROR(c.CheckRank(1, 1));
  RETURN_IF_ERROR(c.CheckRank(2, 1));
  const int64_t begin_length = VectorLength(c, 1);
  const int64_t size_length = VectorLength(c, 2);
  if (begin_length >= 0 && size_length >= 0 && begin_length != size_length) {
    return c.Error("begin and size must have the same length, got ", c.input_shape(1).ToString(),
                   " and ", c.input_shape(2).ToString());
  }
  const int64_t length = begin_length >= 0 ? begin_length : size_length;
  if (length >= 0 && !in.unknown_rank() && length != in.rank()) {
    return c.Error("begin and size must have one entry per dimension of input ", in.ToString(),
                   ", got ", length);
  }
  const int64_t rank = in.unknown_rank() ? length : in.rank();
  if (rank < 0) return absl::OkStatus();

  const std::optional<std::vector<int64_t>> begin = c.IntValuesOfInput(1);
  const std::optional<std::vector<int64_t>> size = c.IntValuesOfInput(2);
  Shape out = Shape::Unknown(static_cast<int>(rank));
  for (int i = 0; i < rank; ++i) {
    const int64_t dim = DimOrUnknown(in, i);
    const int64_t b = begin ? (*begin)[i] : kUnknownDim;
    if (begin && b < 0) return c.Error("begin[", i, "] = ", b, " is negative");
    if (begin && dim >= 0 && b > dim) {
      return c.Error("begin[", i, "] = ", b, " exceeds dimension ", i, " of input ", in.ToString(),
                     ", which has size ", dim);
    }
    if (!size) continue;
    const int64_t s = (*size)[i];
    if (s < -1) return c.Error("size[", i, "] = ", s, " must be -1 or non-negative");
    if (s == -1) {
      if (begin && dim >= 0) out.set_dim(i, dim - b);
      continue;
    }
    out.set_dim(i, s);
    if (dim < 0) continue;
    if (begin && s > dim - b) {
      return c.Error("begin[", i, "] + size[", i, "] = ", b, " + ", s, " exceeds dimension ", i,
                     " of input ", in.ToString(), ", which has size ", dim);
    }
    if (!begin && s > dim) {
      return c.Error("size[", i, "] = ", s, " exceeds dimension ", i, " of input ", in.ToString(),
                     ", which has size ", dim);
    }
  }
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

// StridedSlice follows TensorFlow: the sparse spec (one entry per element of
// begin/end/strides, with ellipsis and new axes) is expanded into a dense spec
// with one entry per input dim; each dense dim gets a size; the output keeps
// the sizes of the dims that are not shrunk and adds the new axes.
constexpr int kNewAxis = -1;
constexpr int kShrinkAxis = -2;

struct DenseSliceDim {
  int sparse_index = -1;  // -1 for dims an ellipsis covers (full range)
  bool begin_masked = false;
  bool end_masked = false;
  bool shrink = false;
};

bool Bit(int64_t mask, int64_t i) { return i < 63 && ((mask >> i) & 1) != 0; }

// The size of one dense dim, or kUnknownDim. `dim` is the input's size there
// (possibly unknown); begin/end/stride are null when unknown.
absl::StatusOr<int64_t> StridedDimSize(const InferenceContext& c, int dense_index,
                                       const DenseSliceDim& spec, int64_t dim, const int64_t* begin,
                                       const int64_t* end, const int64_t* stride) {
  if (spec.shrink) {
    if (stride != nullptr && *stride < 0) {
      return c.Error("strides[", spec.sparse_index, "] = ", *stride,
                     " but a dimension indexed by shrink_axis_mask needs a positive stride");
    }
    if (begin != nullptr && dim >= 0) {
      const int64_t index = *begin < 0 ? dim + *begin : *begin;
      if (index < 0 || index >= dim) {
        return c.Error("index ", *begin, " is out of bounds for dimension ", dense_index,
                       " of input ", c.input_shape(0).ToString(), ", which has size ", dim);
      }
    }
    return 1;
  }
  if (dim < 0 || stride == nullptr) return kUnknownDim;
  const int64_t s = *stride;
  // Valid positions are [0, dim] going forward and [-1, dim - 1] going back.
  const int64_t low = s > 0 ? 0 : -1;
  const int64_t high = s > 0 ? dim : dim - 1;
  auto canonical = [&](const int64_t* value, bool masked, bool is_end) -> std::optional<int64_t> {
    if (masked) return (s > 0) == is_end ? high : low;
    if (value == nullptr) return std::nullopt;
    const int64_t forward = *value < 0 ? dim + *value : *value;
    return std::clamp(forward, low, high);
  };
  const std::optional<int64_t> b = canonical(begin, spec.begin_masked, false);
  const std::optional<int64_t> e = canonical(end, spec.end_masked, true);
  if (!b || !e) return kUnknownDim;
  const int64_t interval = *e - *b;
  if (interval == 0 || (interval < 0) != (s < 0)) return 0;
  return interval / s + (interval % s != 0 ? 1 : 0);
}

absl::Status StridedSliceShape(InferenceContext& c) {
  const Shape& in = c.input_shape(0);
  for (int i = 1; i <= 3; ++i) RETURN_IF_ERROR(c.CheckRank(i, 1));
  int64_t spec_length = kUnknownDim;
  for (int i = 1; i <= 3; ++i) {
    const int64_t length = VectorLength(c, i);
    if (length < 0) continue;
    if (spec_length >= 0 && length != spec_length) {
      return c.Error("begin, end and strides must have the same length, got ",
                     c.input_shape(1).ToString(), ", ", c.input_shape(2).ToString(), " and ",
                     c.input_shape(3).ToString());
    }
    spec_length = length;
  }
  const int64_t begin_mask = c.GetInt("begin_mask");
  const int64_t end_mask = c.GetInt("end_mask");
  const int64_t ellipsis_mask = c.GetInt("ellipsis_mask");
  const int64_t new_axis_mask = c.GetInt("new_axis_mask");
  const int64_t shrink_axis_mask = c.GetInt("shrink_axis_mask");
  if (std::popcount(static_cast<uint64_t>(ellipsis_mask)) > 1) {
    return c.Error("ellipsis_mask ", ellipsis_mask, " marks more than one ellipsis");
  }
  const std::optional<std::vector<int64_t>> begin = c.IntValuesOfInput(1);
  const std::optional<std::vector<int64_t>> end = c.IntValuesOfInput(2);
  const std::optional<std::vector<int64_t>> strides = c.IntValuesOfInput(3);
  if (strides) {
    for (size_t i = 0; i < strides->size(); ++i) {
      if ((*strides)[i] == 0) return c.Error("strides[", i, "] is 0; strides must be non-zero");
    }
  }
  if (in.unknown_rank()) return absl::OkStatus();
  const int rank = in.rank();
  if (spec_length < 0) {
    // Without new or shrunk axes every input dim maps to one output dim.
    if (new_axis_mask == 0 && shrink_axis_mask == 0) c.set_output(0, Shape::Unknown(rank));
    return absl::OkStatus();
  }

  // Expand the sparse spec. Without an explicit ellipsis there is an implicit
  // one after the last entry, covering the remaining dims.
  bool has_ellipsis = false;
  int64_t new_axes_after_ellipsis = 0;
  for (int64_t i = 0; i < spec_length; ++i) {
    if (has_ellipsis && Bit(new_axis_mask, i) && !Bit(ellipsis_mask, i)) ++new_axes_after_ellipsis;
    if (Bit(ellipsis_mask, i)) has_ellipsis = true;
  }
  const int64_t sparse_length = has_ellipsis ? spec_length : spec_length + 1;
  std::vector<DenseSliceDim> dense(rank);
  std::vector<int> gather;  // per output dim: a dense index, kNewAxis or kShrinkAxis
  int full_index = 0;
  for (int64_t i = 0; i < sparse_length; ++i) {
    const bool ellipsis = i == spec_length || Bit(ellipsis_mask, i);
    if (ellipsis) {
      const int64_t next =
          std::min<int64_t>(rank - (sparse_length - i) + 1 + new_axes_after_ellipsis, rank);
      for (; full_index < next; ++full_index) {
        dense[full_index].begin_masked = dense[full_index].end_masked = true;
        gather.push_back(full_index);
      }
    } else if (Bit(new_axis_mask, i)) {
      gather.push_back(kNewAxis);
    } else {
      if (full_index == rank) {
        return c.Error("the slice spec indexes more dimensions than input ", in.ToString(),
                       " has (", rank, ")");
      }
      DenseSliceDim& d = dense[full_index];
      d.sparse_index = static_cast<int>(i);
      d.begin_masked = Bit(begin_mask, i);
      d.end_masked = Bit(end_mask, i);
      d.shrink = Bit(shrink_axis_mask, i);
      gather.push_back(d.shrink ? kShrinkAxis : full_index);
      ++full_index;
    }
  }

  std::vector<int64_t> sizes(rank);
  for (int i = 0; i < rank; ++i) {
    const DenseSliceDim& d = dense[i];
    auto value = [&](const std::optional<std::vector<int64_t>>& v) -> const int64_t* {
      if (d.sparse_index < 0) return nullptr;
      return v ? &(*v)[d.sparse_index] : nullptr;
    };
    static constexpr int64_t kUnitStride = 1;
    const int64_t* stride = d.sparse_index < 0 ? &kUnitStride : value(strides);
    ASSIGN_OR_RETURN(sizes[i],
                     StridedDimSize(c, i, d, in.dim(i), value(begin), value(end), stride));
  }
  Shape out;
  for (int g : gather) {
    if (g == kNewAxis) {
      out.AddDim(1);
    } else if (g != kShrinkAxis) {
      out.AddDim(sizes[g]);
    }
  }
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status SqueezeShape(InferenceContext& c) {
  const Shape& in = c.input_shape(0);
  const std::vector<int64_t>& squeeze_dims = c.GetInts("squeeze_dims");
  if (in.unknown_rank()) return absl::OkStatus();
  std::vector<bool> remove(in.rank(), false);
  for (int64_t d : squeeze_dims) {
    auto axis = CanonicalAxis(d, in.rank());
    if (!axis.ok()) return c.Error("squeeze_dims: ", axis.status().message());
    const int64_t size = in.dim(*axis);
    if (size >= 0 && size != 1) {
      return c.Error("cannot squeeze dimension ", *axis, " of input ", in.ToString(),
                     ": its size is ", size, ", not 1");
    }
    remove[*axis] = true;  // an unknown dim listed here must be 1 at run time
  }
  Shape out;
  for (int i = 0; i < in.rank(); ++i) {
    const int64_t size = in.dim(i);
    if (squeeze_dims.empty()) {
      // An unknown dim might be 1 and vanish, so the output rank is unknown.
      if (size < 0) return absl::OkStatus();
      if (size == 1) continue;
    } else if (remove[i]) {
      continue;
    }
    out.AddDim(size);
  }
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status ExpandDimsShape(InferenceContext& c) {
  const Shape& in = c.input_shape(0);
  const Shape& dim_shape = c.input_shape(1);
  if (dim_shape.rank() > 1 ||
      (dim_shape.rank() == 1 && dim_shape.dim(0) >= 0 && dim_shape.dim(0) != 1)) {
    return c.Error("dim must be a scalar, got shape ", dim_shape.ToString());
  }
  if (in.unknown_rank()) return absl::OkStatus();
  const int rank = in.rank();
  const std::optional<std::vector<int64_t>> dim = c.IntValuesOfInput(1);
  if (!dim) {
    c.set_output(0, Shape::Unknown(rank + 1));
    return absl::OkStatus();
  }
  int64_t d = (*dim)[0];
  if (d < -rank - 1 || d > rank) {
    return c.Error("dim ", d, " is out of range for input ", in.ToString(), " (expected [",
                   -rank - 1, ", ", rank, "])");
  }
  if (d < 0) d += rank + 1;
  Shape out;
  for (int i = 0; i < rank; ++i) {
    if (i == d) out.AddDim(1);
    out.AddDim(in.dim(i));
  }
  if (d == rank) out.AddDim(1);
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status PadShape(InferenceContext& c) {
  const Shape& in = c.input_shape(0);
  const Shape& paddings_shape = c.input_shape(1);
  RETURN_IF_ERROR(c.CheckRank(1, 2));
  int64_t rank = in.rank();
  if (!paddings_shape.unknown_rank()) {
    if (paddings_shape.dim(1) >= 0 && paddings_shape.dim(1) != 2) {
      return c.Error("paddings must have shape [rank, 2], got ", paddings_shape.ToString());
    }
    const int64_t rows = paddings_shape.dim(0);
    if (rows >= 0 && rank >= 0 && rows != rank) {
      return c.Error("paddings must have one row per dimension of input ", in.ToString(), ", got ",
                     rows);
    }
    if (rank < 0) rank = rows;
  }
  if (rank < 0) return absl::OkStatus();
  const std::optional<std::vector<int64_t>> paddings = c.IntValuesOfInput(1);
  Shape out = Shape::Unknown(static_cast<int>(rank));
  if (paddings) {
    for (int64_t p : *paddings) {
      if (p < 0) return c.Error("paddings ", PairsString(*paddings), " must be non-negative");
    }
    for (int i = 0; i < rank; ++i) {
      const int64_t dim = DimOrUnknown(in, i);
      if (dim < 0) continue;
      int64_t padded;
      if (__builtin_add_overflow(dim, (*paddings)[2 * i], &padded) ||
          __builtin_add_overflow(padded, (*paddings)[2 * i + 1], &padded)) {
        return c.Error("padded dimension ", i, " of input ", in.ToString(), " overflows int64");
      }
      out.set_dim(i, padded);
    }
  }
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status TileShape(InferenceContext& c) {
  const Shape& in = c.input_shape(0);
  RETURN_IF_ERROR(c.CheckRank(1, 1));
  const int64_t length = VectorLength(c, 1);
  if (length >= 0 && !in.unknown_rank() && length != in.rank()) {
    return c.Error("multiples must have one entry per dimension of input ", in.ToString(), ", got ",
                   length);
  }
  const int64_t rank = in.unknown_rank() ? length : in.rank();
  if (rank < 0) return absl::OkStatus();
  const std::optional<std::vector<int64_t>> multiples = c.IntValuesOfInput(1);
  if (multiples) {
    for (int64_t m : *multiples) {
      if (m < 0) return c.Error("multiples ", ValuesString(*multiples), " must be non-negative");
    }
  }
  Shape out = Shape::Unknown(static_cast<int>(rank));
  for (int i = 0; i < rank; ++i) {
    const int64_t dim = DimOrUnknown(in, i);
    const int64_t m = multiples ? (*multiples)[i] : kUnknownDim;
    if (dim == 0 || m == 0) {
      out.set_dim(i, 0);
    } else if (dim > 0 && m > 0) {
      int64_t tiled;
      if (__builtin_mul_overflow(dim, m, &tiled)) {
        return c.Error("tiling dimension ", i, " of input ", in.ToString(), " ", m,
                       " times overflows int64");
      }
      out.set_dim(i, tiled);
    }
  }
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

// The shape a 1-D integer input describes, rejecting negative known values.
absl::StatusOr<Shape> NonNegativeShapeFromInput(const InferenceContext& c, int i) {
  RETURN_IF_ERROR(c.CheckRank(i, 1));
  if (auto values = c.IntValuesOfInput(i)) {
    for (int64_t v : *values) {
      if (v < 0) {
        return c.Error(c.InputName(i), " ", ValuesString(*values), " must be non-negative");
      }
    }
  }
  return c.ShapeFromInput(i);
}

absl::Status BroadcastToShape(InferenceContext& c) {
  const Shape& in = c.input_shape(0);
  ASSIGN_OR_RETURN(const Shape target, NonNegativeShapeFromInput(c, 1));
  if (target.unknown_rank() || in.unknown_rank()) {
    c.set_output(0, target);
    return absl::OkStatus();
  }
  if (in.rank() > target.rank()) {
    return c.Error("input of shape ", in.ToString(), " cannot be broadcast to shape ",
                   target.ToString(), ", which has fewer dimensions");
  }
  Shape out = target;
  const int offset = target.rank() - in.rank();
  for (int i = 0; i < in.rank(); ++i) {
    const int64_t from = in.dim(i);
    const int64_t to = target.dim(offset + i);
    if (from >= 0 && to >= 0 && from != 1 && from != to) {
      return c.Error("input of shape ", in.ToString(), " cannot be broadcast to shape ",
                     target.ToString());
    }
    // A known input dim other than 1 must equal the target's.
    if (to < 0 && from >= 0 && from != 1) out.set_dim(offset + i, from);
  }
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status GatherShape(InferenceContext& c) {
  const Shape& params = c.input_shape(0);
  const Shape& indices = c.input_shape(1);
  RETURN_IF_ERROR(c.CheckRankAtLeast(0, 1));
  RETURN_IF_ERROR(c.CheckRank(2, 0));
  int64_t batch_dims = c.GetInt("batch_dims");
  if (!indices.unknown_rank()) {
    const int64_t r = indices.rank();
    if (batch_dims < -r || batch_dims > r) {
      return c.Error("batch_dims ", batch_dims, " is out of range for indices ", indices.ToString(),
                     " (expected [", -r, ", ", r, "])");
    }
    if (batch_dims < 0) batch_dims += r;
  }
  if (!params.unknown_rank() && batch_dims >= params.rank()) {
    return c.Error("batch_dims ", batch_dims, " must be less than the rank of params ",
                   params.ToString());
  }
  if (params.unknown_rank() || indices.unknown_rank()) return absl::OkStatus();
  const int params_rank = params.rank();
  const std::optional<std::vector<int64_t>> axis_value = c.IntValuesOfInput(2);
  if (!axis_value) {
    c.set_output(0,
                 Shape::Unknown(params_rank + indices.rank() - 1 - static_cast<int>(batch_dims)));
    return absl::OkStatus();
  }
  const int64_t a = (*axis_value)[0];
  if (a < -params_rank || a >= params_rank) {
    return c.Error("axis ", a, " is out of range for params ", params.ToString(), " (expected [",
                   -params_rank, ", ", params_rank, "))");
  }
  const int axis = static_cast<int>(a < 0 ? a + params_rank : a);
  if (batch_dims > axis) {
    return c.Error("batch_dims ", batch_dims, " must be less than or equal to axis ", axis);
  }
  Shape out;
  for (int i = 0; i < axis; ++i) {
    int64_t d = params.dim(i);
    if (i < batch_dims) {
      const int64_t b = indices.dim(i);
      if (d >= 0 && b >= 0 && d != b) {
        return c.Error("params ", params.ToString(), " and indices ", indices.ToString(),
                       " differ in batch dimension ", i);
      }
      if (d < 0) d = b;
    }
    out.AddDim(d);
  }
  for (int i = static_cast<int>(batch_dims); i < indices.rank(); ++i) out.AddDim(indices.dim(i));
  for (int i = axis + 1; i < params_rank; ++i) out.AddDim(params.dim(i));
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status OneHotShape(InferenceContext& c) {
  const Shape& indices = c.input_shape(0);
  for (int i = 1; i <= 3; ++i) RETURN_IF_ERROR(c.CheckRank(i, 0));
  const int64_t axis = c.GetInt("axis");
  if (axis < -1) return c.Error("axis ", axis, " must be -1 or non-negative");
  int64_t depth = kUnknownDim;
  if (auto value = c.IntValuesOfInput(1)) {
    depth = (*value)[0];
    if (depth < 0) return c.Error("depth must be non-negative, got ", depth);
  }
  if (indices.unknown_rank()) return absl::OkStatus();
  const int rank = indices.rank();
  if (axis > rank) {
    return c.Error("axis ", axis, " is out of range for indices ", indices.ToString(),
                   " (expected -1 or [0, ", rank, "])");
  }
  const int position = axis == -1 ? rank : static_cast<int>(axis);
  Shape out;
  for (int i = 0; i <= rank; ++i) {
    if (i == position) out.AddDim(depth);
    if (i < rank) out.AddDim(indices.dim(i));
  }
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

absl::Status FillShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(1, 0));
  ASSIGN_OR_RETURN(Shape out, NonNegativeShapeFromInput(c, 0));
  c.set_output(0, std::move(out));
  return absl::OkStatus();
}

// A tensor of `dtype` (i32 or i64) and `shape` holding `values`; `what`
// names the values in the error when one does not fit in i32.
absl::StatusOr<Tensor> IndexTensor(const InferenceContext& c, DType dtype, const Shape& shape,
                                   const std::vector<int64_t>& values, absl::string_view what) {
  if (dtype == DType::kI64) return Tensor::FromVector(values, shape);
  std::vector<int32_t> narrow;
  for (int64_t v : values) {
    if (v > std::numeric_limits<int32_t>::max()) {
      return c.Error(what, " ", v, " of input ", c.input_shape(0).ToString(),
                     " does not fit in i32; use out_type i64");
    }
    narrow.push_back(static_cast<int32_t>(v));
  }
  return Tensor::FromVector(narrow, shape);
}

absl::Status ShapeShape(InferenceContext& c) {
  const Shape& in = c.input_shape(0);
  c.set_output(0, Shape{in.unknown_rank() ? kUnknownDim : in.rank()});
  if (in.IsFullyDefined()) {
    const std::vector<int64_t> dims(in.dims().begin(), in.dims().end());
    ASSIGN_OR_RETURN(Tensor value,
                     IndexTensor(c, c.output_dtype(0), Shape{in.rank()}, dims, "dimension"));
    c.set_output_value(0, std::move(value));
  }
  return absl::OkStatus();
}

// BroadcastGradientArgs: for shapes s0 and s1 broadcast together, the axes of
// the broadcast result that each input was stretched along (or did not have),
// i.e. the axes its gradient must be summed over.
absl::Status BroadcastGradientArgsShape(InferenceContext& c) {
  for (int i = 0; i < 2; ++i) RETURN_IF_ERROR(c.CheckRank(i, 1));
  c.set_output(0, Shape{kUnknownDim});
  c.set_output(1, Shape{kUnknownDim});
  const std::optional<std::vector<int64_t>> s0 = c.IntValuesOfInput(0);
  const std::optional<std::vector<int64_t>> s1 = c.IntValuesOfInput(1);
  if (!s0 || !s1) return absl::OkStatus();
  ASSIGN_OR_RETURN(BroadcastReductionAxes axes, ComputeBroadcastReductionAxes(*s0, *s1));
  for (int i = 0; i < 2; ++i) {
    const std::vector<int64_t>& r = i == 0 ? axes.r0 : axes.r1;
    ASSIGN_OR_RETURN(Tensor value, IndexTensor(c, c.output_dtype(i),
                                               Shape{static_cast<int64_t>(r.size())}, r, "axis"));
    c.set_output(i, Shape{static_cast<int64_t>(r.size())});
    c.set_output_value(i, std::move(value));
  }
  return absl::OkStatus();
}

// Range: [start, start + delta, ...) up to limit (exclusive).
absl::Status RangeShape(InferenceContext& c) {
  for (int i = 0; i < 3; ++i) {
    if (!c.input_shape(i).unknown_rank() && c.input_shape(i).rank() != 0) {
      return c.Error(c.InputName(i), " must be a scalar, got ", c.input_shape(i).ToString());
    }
  }
  c.set_output(0, Shape{kUnknownDim});
  const Tensor* start = c.input_value(0);
  const Tensor* limit = c.input_value(1);
  const Tensor* delta = c.input_value(2);
  if (delta != nullptr && delta->ElementAsDouble(0) == 0) return c.Error("delta must not be 0");
  if (start == nullptr || limit == nullptr || delta == nullptr) return absl::OkStatus();
  const double span = limit->ElementAsDouble(0) - start->ElementAsDouble(0);
  const double d = delta->ElementAsDouble(0);
  const int64_t n = std::max<int64_t>(0, static_cast<int64_t>(std::ceil(span / d)));
  c.set_output(0, Shape{n});
  return absl::OkStatus();
}

absl::Status InvertPermutationShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 1));
  c.set_output(0, c.input_shape(0));
  return absl::OkStatus();
}

// UnsortedSegmentSum: output [num_segments] + data.shape[rank(segment_ids):].
absl::Status UnsortedSegmentSumShape(InferenceContext& c) {
  const Shape& data = c.input_shape(0);
  const Shape& ids = c.input_shape(1);
  RETURN_IF_ERROR(c.CheckRank(2, 0));
  int64_t segments = kUnknownDim;
  if (std::optional<std::vector<int64_t>> n = c.IntValuesOfInput(2)) {
    segments = (*n)[0];
    if (segments < 0) return c.Error("num_segments must be >= 0, got ", segments);
  }
  if (data.unknown_rank() || ids.unknown_rank()) {
    c.set_output(0, Shape::UnknownRank());
    return absl::OkStatus();
  }
  if (ids.rank() > data.rank()) {
    return c.Error("segment_ids ", ids.ToString(), " has a higher rank than data ",
                   data.ToString());
  }
  for (int d = 0; d < ids.rank(); ++d) {
    if (ids.dim(d) >= 0 && data.dim(d) >= 0 && ids.dim(d) != data.dim(d)) {
      return c.Error("segment_ids ", ids.ToString(), " must be a prefix of data's shape ",
                     data.ToString());
    }
  }
  std::vector<int64_t> dims = {segments};
  for (int d = ids.rank(); d < data.rank(); ++d) dims.push_back(data.dim(d));
  c.set_output(0, Shape(absl::MakeConstSpan(dims)));
  return absl::OkStatus();
}

absl::Status SizeShape(InferenceContext& c) {
  const Shape& in = c.input_shape(0);
  RETURN_IF_ERROR(shape_fns::Scalars(c));
  if (in.IsFullyDefined()) {
    auto n = in.CheckedNumElements();
    if (!n.ok()) return c.Error(n.status().message());
    ASSIGN_OR_RETURN(Tensor value,
                     IndexTensor(c, c.output_dtype(0), Shape{}, {*n}, "element count"));
    c.set_output_value(0, std::move(value));
  }
  return absl::OkStatus();
}

// Scope for the constants a builder makes: the op's name scope, but named
// "Const" rather than the name the caller chose for the op.
Scope ConstScope(const Scope& scope) { return scope.WithOpName("Const"); }

bool FitsInI32(int64_t v) {
  return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
}

}  // namespace

void RegisterArrayOps(OpRegistry& r) {
  r.Register(OpDefBuilder("Reshape")
                 .Input("tensor: T")
                 .Input("shape: Tshape")
                 .Output("output: T")
                 .Attr("T: {any}")
                 .Attr("Tshape: {i32, i64} = i32")
                 .SetShapeFn(ReshapeShape)
                 .Differentiable()
                 .Doc("The same elements in another shape; one dim of `shape` may be -1."));
  r.Register(OpDefBuilder("Transpose")
                 .Input("x: T")
                 .Input("perm: Tperm")
                 .Output("y: T")
                 .Attr("T: {any}")
                 .Attr("Tperm: {i32, i64} = i32")
                 .SetShapeFn(TransposeShape)
                 .Differentiable()
                 .Doc("Permutes the dims: output dim i is input dim perm[i]."));
  r.Register(OpDefBuilder("Concat")
                 .Input("concat_dim: i32")
                 .Input("values: N * T")
                 .Output("output: T")
                 .Attr("N: int >= 1")
                 .Attr("T: {any}")
                 .SetShapeFn(ConcatShape)
                 .Differentiable()
                 .Doc("Joins tensors along concat_dim."));
  r.Register(OpDefBuilder("Split")
                 .Input("split_dim: i32")
                 .Input("value: T")
                 .Output("output: num_split * T")
                 .Attr("num_split: int >= 1")
                 .Attr("T: {any}")
                 .SetShapeFn(SplitShape)
                 .Differentiable()
                 .Doc("Splits a tensor into num_split equal pieces along split_dim."));
  r.Register(OpDefBuilder("Slice")
                 .Input("input: T")
                 .Input("begin: Index")
                 .Input("size: Index")
                 .Output("output: T")
                 .Attr("T: {any}")
                 .Attr("Index: {i32, i64} = i32")
                 .SetShapeFn(SliceShape)
                 .Differentiable()
                 .Doc("The block at `begin` of extent `size` (-1: to the end)."));
  r.Register(OpDefBuilder("StridedSlice")
                 .Input("input: T")
                 .Input("begin: Index")
                 .Input("end: Index")
                 .Input("strides: Index")
                 .Output("output: T")
                 .Attr("T: {any}")
                 .Attr("Index: {i32, i64} = i32")
                 .Attr("begin_mask: int = 0")
                 .Attr("end_mask: int = 0")
                 .Attr("ellipsis_mask: int = 0")
                 .Attr("new_axis_mask: int = 0")
                 .Attr("shrink_axis_mask: int = 0")
                 .SetShapeFn(StridedSliceShape)
                 .Differentiable()
                 .Doc("NumPy-style slicing with strides, ellipsis, new and shrunk axes."));
  r.Register(OpDefBuilder("Squeeze")
                 .Input("input: T")
                 .Output("output: T")
                 .Attr("T: {any}")
                 .Attr("squeeze_dims: list(int) = []")
                 .SetShapeFn(SqueezeShape)
                 .Differentiable()
                 .Doc("Removes dims of size 1 (those listed, or all)."));
  r.Register(OpDefBuilder("ExpandDims")
                 .Input("input: T")
                 .Input("dim: Tdim")
                 .Output("output: T")
                 .Attr("T: {any}")
                 .Attr("Tdim: {i32, i64} = i32")
                 .SetShapeFn(ExpandDimsShape)
                 .Differentiable()
                 .Doc("Inserts a dim of size 1 at `dim`."));
  r.Register(OpDefBuilder("Pad")
                 .Input("input: T")
                 .Input("paddings: Tpaddings")
                 .Output("output: T")
                 .Attr("T: {any}")
                 .Attr("Tpaddings: {i32, i64} = i32")
                 .SetShapeFn(PadShape)
                 .Differentiable()
                 .Doc("Pads with zeros; paddings[i] = [before, after] for dim i."));
  r.Register(OpDefBuilder("Tile")
                 .Input("input: T")
                 .Input("multiples: Tmultiples")
                 .Output("output: T")
                 .Attr("T: {any}")
                 .Attr("Tmultiples: {i32, i64} = i32")
                 .SetShapeFn(TileShape)
                 .Differentiable()
                 .Doc("Repeats the input multiples[i] times along dim i."));
  r.Register(OpDefBuilder("BroadcastTo")
                 .Input("input: T")
                 .Input("shape: Tidx")
                 .Output("output: T")
                 .Attr("T: {any}")
                 .Attr("Tidx: {i32, i64} = i32")
                 .SetShapeFn(BroadcastToShape)
                 .Differentiable()
                 .Doc("Broadcasts the input to `shape` (NumPy rules)."));
  r.Register(OpDefBuilder("Gather")
                 .Input("params: Tparams")
                 .Input("indices: Tindices")
                 .Input("axis: Taxis")
                 .Output("output: Tparams")
                 .Attr("Tparams: {any}")
                 .Attr("Tindices: {i32, i64}")
                 .Attr("Taxis: {i32, i64} = i32")
                 .Attr("batch_dims: int = 0")
                 .SetShapeFn(GatherShape)
                 .Differentiable()
                 .Doc("Slices of params along axis picked by indices (TensorFlow's GatherV2)."));
  r.Register(
      OpDefBuilder("OneHot")
          .Input("indices: TI")
          .Input("depth: i32")
          .Input("on_value: T")
          .Input("off_value: T")
          .Output("output: T")
          .Attr("T: {any}")
          .Attr("TI: {u8, i32, i64} = i64")
          .Attr("axis: int = -1")
          .SetShapeFn(OneHotShape)
          .Doc("on_value at each index along a new dim of size depth, off_value elsewhere."));
  r.Register(OpDefBuilder("Fill")
                 .Input("dims: index_type")
                 .Input("value: T")
                 .Output("output: T")
                 .Attr("T: {any}")
                 .Attr("index_type: {i32, i64} = i32")
                 .SetShapeFn(FillShape)
                 .Doc("A tensor of shape dims filled with a scalar."));
  r.Register(OpDefBuilder("ZerosLike")
                 .Input("x: T")
                 .Output("y: T")
                 .Attr("T: {any}")
                 .SetShapeFn(shape_fns::Unchanged)
                 .Doc("Zeros of the input's shape and dtype."));
  r.Register(OpDefBuilder("OnesLike")
                 .Input("x: T")
                 .Output("y: T")
                 .Attr("T: {any}")
                 .SetShapeFn(shape_fns::Unchanged)
                 .Doc("Ones of the input's shape and dtype."));
  r.Register(OpDefBuilder("Shape")
                 .Input("input: T")
                 .Output("output: out_type")
                 .Attr("T: {any}")
                 .Attr("out_type: {i32, i64} = i32")
                 .SetShapeFn(ShapeShape)
                 .Doc("The dims of the input as a 1-D tensor."));
  r.Register(OpDefBuilder("Size")
                 .Input("input: T")
                 .Output("output: out_type")
                 .Attr("T: {any}")
                 .Attr("out_type: {i32, i64} = i32")
                 .SetShapeFn(SizeShape)
                 .Doc("The element count of the input as a scalar."));

  r.Register(OpDefBuilder("BroadcastGradientArgs")
                 .Input("s0: T")
                 .Input("s1: T")
                 .Output("r0: T")
                 .Output("r1: T")
                 .Attr("T: {i32, i64} = i32")
                 .SetShapeFn(BroadcastGradientArgsShape)
                 .Doc("The axes to sum each broadcast input's gradient over."));
  r.Register(OpDefBuilder("Range")
                 .Input("start: Tidx")
                 .Input("limit: Tidx")
                 .Input("delta: Tidx")
                 .Output("output: Tidx")
                 .Attr("Tidx: {i32, i64, f32, f64} = i32")
                 .SetShapeFn(RangeShape)
                 .Doc("start, start + delta, ... up to limit (exclusive)."));
  r.Register(OpDefBuilder("InvertPermutation")
                 .Input("x: T")
                 .Output("y: T")
                 .Attr("T: {i32, i64} = i32")
                 .SetShapeFn(InvertPermutationShape)
                 .Doc("y[x[i]] = i."));
  r.Register(OpDefBuilder("UnsortedSegmentSum")
                 .Input("data: T")
                 .Input("segment_ids: Tindices")
                 .Input("num_segments: Tnumsegments")
                 .Output("output: T")
                 .Attr("T: {numeric}")
                 .Attr("Tindices: {i32, i64}")
                 .Attr("Tnumsegments: {i32, i64} = i32")
                 .SetShapeFn(UnsortedSegmentSumShape)
                 .Doc("Sums the slices of data that share a segment id; ids outside "
                      "[0, num_segments) are dropped."));
}

Output IndexConst(const Scope& scope, const std::vector<int64_t>& values) {
  if (!std::all_of(values.begin(), values.end(), FitsInI32)) {
    return Const(scope, values);
  }
  return Const(scope, std::vector<int32_t>(values.begin(), values.end()));
}

Output IndexScalar(const Scope& scope, int64_t value) {
  if (!FitsInI32(value)) return Const(scope, value);
  return Const(scope, static_cast<int32_t>(value));
}

Output Reshape(const Scope& scope, Output tensor, Output shape) {
  return AddOp(scope, "Reshape", {tensor, shape});
}
Output Reshape(const Scope& scope, Output tensor, const std::vector<int64_t>& shape) {
  return Reshape(scope, tensor, IndexConst(ConstScope(scope), shape));
}

Output Transpose(const Scope& scope, Output x, Output perm) {
  return AddOp(scope, "Transpose", {x, perm});
}
Output Transpose(const Scope& scope, Output x, const std::vector<int64_t>& perm) {
  return Transpose(scope, x, IndexConst(ConstScope(scope), perm));
}

Output Concat(const Scope& scope, const std::vector<Output>& values, Output axis) {
  std::vector<Output> inputs = {axis};
  inputs.insert(inputs.end(), values.begin(), values.end());
  return AddOp(scope, "Concat", inputs);
}
Output Concat(const Scope& scope, const std::vector<Output>& values, int64_t axis) {
  return Concat(scope, values, IndexScalar(ConstScope(scope), axis));
}

std::vector<Output> Split(const Scope& scope, Output axis, Output value, int64_t num_split) {
  return AddOpOutputs(scope, "Split", {axis, value}, {{"num_split", num_split}});
}
std::vector<Output> Split(const Scope& scope, int64_t axis, Output value, int64_t num_split) {
  return Split(scope, IndexScalar(ConstScope(scope), axis), value, num_split);
}

Output Slice(const Scope& scope, Output input, Output begin, Output size) {
  return AddOp(scope, "Slice", {input, begin, size});
}
Output Slice(const Scope& scope, Output input, const std::vector<int64_t>& begin,
             const std::vector<int64_t>& size) {
  return Slice(scope, input, IndexConst(ConstScope(scope), begin),
               IndexConst(ConstScope(scope), size));
}

Output StridedSlice(const Scope& scope, Output input, Output begin, Output end, Output strides,
                    const StridedSliceOptions& options) {
  return AddOp(scope, "StridedSlice", {input, begin, end, strides},
               {{"begin_mask", options.begin_mask},
                {"end_mask", options.end_mask},
                {"ellipsis_mask", options.ellipsis_mask},
                {"new_axis_mask", options.new_axis_mask},
                {"shrink_axis_mask", options.shrink_axis_mask}});
}
Output StridedSlice(const Scope& scope, Output input, const std::vector<int64_t>& begin,
                    const std::vector<int64_t>& end, const std::vector<int64_t>& strides,
                    const StridedSliceOptions& options) {
  // One dtype for all three, as the op requires.
  std::vector<int64_t> all = begin;
  all.insert(all.end(), end.begin(), end.end());
  all.insert(all.end(), strides.begin(), strides.end());
  const bool fits = std::all_of(all.begin(), all.end(), FitsInI32);
  auto make = [&](const std::vector<int64_t>& values) {
    return fits ? Const(ConstScope(scope), std::vector<int32_t>(values.begin(), values.end()))
                : Const(ConstScope(scope), values);
  };
  return StridedSlice(scope, input, make(begin), make(end), make(strides), options);
}

Output Squeeze(const Scope& scope, Output input, const SqueezeOptions& options) {
  return AddOp(scope, "Squeeze", {input}, {{"squeeze_dims", options.squeeze_dims}});
}

Output ExpandDims(const Scope& scope, Output input, Output dim) {
  return AddOp(scope, "ExpandDims", {input, dim});
}
Output ExpandDims(const Scope& scope, Output input, int64_t dim) {
  return ExpandDims(scope, input, IndexScalar(ConstScope(scope), dim));
}

Output Pad(const Scope& scope, Output input, Output paddings) {
  return AddOp(scope, "Pad", {input, paddings});
}
Output Pad(const Scope& scope, Output input,
           const std::vector<std::pair<int64_t, int64_t>>& paddings) {
  if (!scope.ok()) return Output();
  std::vector<int32_t> flat;
  for (const auto& [before, after] : paddings) {
    for (int64_t p : {before, after}) {
      if (!FitsInI32(p)) {
        scope.UpdateStatus(
            absl::InvalidArgumentError(absl::StrCat("Pad: padding ", p, " does not fit in i32")));
        return Output();
      }
      flat.push_back(static_cast<int32_t>(p));
    }
  }
  auto value = Tensor::FromVector(flat, Shape{static_cast<int64_t>(paddings.size()), 2});
  if (!value.ok()) {
    scope.UpdateStatus(value.status());
    return Output();
  }
  return Pad(scope, input, Const(ConstScope(scope), *value));
}

Output Tile(const Scope& scope, Output input, Output multiples) {
  return AddOp(scope, "Tile", {input, multiples});
}
Output Tile(const Scope& scope, Output input, const std::vector<int64_t>& multiples) {
  return Tile(scope, input, IndexConst(ConstScope(scope), multiples));
}

Output BroadcastTo(const Scope& scope, Output input, Output shape) {
  return AddOp(scope, "BroadcastTo", {input, shape});
}
Output BroadcastTo(const Scope& scope, Output input, const std::vector<int64_t>& shape) {
  return BroadcastTo(scope, input, IndexConst(ConstScope(scope), shape));
}

Output Gather(const Scope& scope, Output params, Output indices, Output axis,
              const GatherOptions& options) {
  return AddOp(scope, "Gather", {params, indices, axis}, {{"batch_dims", options.batch_dims}});
}
Output Gather(const Scope& scope, Output params, Output indices, int64_t axis,
              const GatherOptions& options) {
  return Gather(scope, params, indices, IndexScalar(ConstScope(scope), axis), options);
}

Output OneHot(const Scope& scope, Output indices, Output depth, Output on_value, Output off_value,
              const OneHotOptions& options) {
  return AddOp(scope, "OneHot", {indices, depth, on_value, off_value}, {{"axis", options.axis}});
}
Output OneHot(const Scope& scope, Output indices, int64_t depth, Output on_value, Output off_value,
              const OneHotOptions& options) {
  return OneHot(scope, indices, IndexScalar(ConstScope(scope), depth), on_value, off_value,
                options);
}

Output Fill(const Scope& scope, Output dims, Output value) {
  return AddOp(scope, "Fill", {dims, value});
}
Output Fill(const Scope& scope, const std::vector<int64_t>& dims, Output value) {
  return Fill(scope, IndexConst(ConstScope(scope), dims), value);
}

Output ZerosLike(const Scope& scope, Output x) { return AddOp(scope, "ZerosLike", {x}); }
Output OnesLike(const Scope& scope, Output x) { return AddOp(scope, "OnesLike", {x}); }

Output ShapeOf(const Scope& scope, Output input, const ShapeOptions& options) {
  return AddOp(scope, "Shape", {input}, {{"out_type", options.out_type}});
}
Output Size(const Scope& scope, Output input, const ShapeOptions& options) {
  return AddOp(scope, "Size", {input}, {{"out_type", options.out_type}});
}

BroadcastGradientArgsOutputs BroadcastGradientArgs(const Scope& scope, Output s0, Output s1) {
  std::vector<Output> outs = AddOpOutputs(scope, "BroadcastGradientArgs", {s0, s1});
  if (outs.size() != 2) return {};
  return {outs[0], outs[1]};
}

Output Range(const Scope& scope, Output start, Output limit, Output delta) {
  return AddOp(scope, "Range", {start, limit, delta});
}

Output InvertPermutation(const Scope& scope, Output x) {
  return AddOp(scope, "InvertPermutation", {x});
}

Output UnsortedSegmentSum(const Scope& scope, Output data, Output segment_ids,
                          Output num_segments) {
  return AddOp(scope, "UnsortedSegmentSum", {data, segment_ids, num_segments});
}

}  // namespace sluice
