// Gradients of the array family. Most move the gradient back to where the
// forward op took its elements from; g is the gradient of the output.
#include <numeric>

#include "absl/strings/str_cat.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/state.h"
#include "graph/status_macros.h"
#include "passes/autodiff/grad_util.h"
#include "passes/autodiff/gradient_registry.h"

namespace sluice {
namespace {

// The index dtype (i32 or i64) of an integer input, for building matching
// index tensors.
DType IndexType(Output o) { return o.dtype() == DType::kI64 ? DType::kI64 : DType::kI32; }

// Reshape, Squeeze, ExpandDims: z has x's elements in order: dx = reshape(g).
absl::Status ReshapeGrad(GradContext& c) {
  c.grad_inputs[0] = ReshapeToShapeOf(c.scope, c.grad_outputs[0], c.input(0));
  return absl::OkStatus();
}

// z = transpose(x, p): dx = transpose(g, p^-1).
absl::Status TransposeGrad(GradContext& c) {
  const Output perm = c.input(1);
  if (std::optional<std::vector<int64_t>> p = KnownInts(perm)) {
    std::vector<int64_t> inverse(p->size());
    for (size_t i = 0; i < p->size(); ++i) {
      const int64_t axis = (*p)[i] < 0 ? (*p)[i] + static_cast<int64_t>(p->size()) : (*p)[i];
      inverse[axis] = static_cast<int64_t>(i);
    }
    c.grad_inputs[0] = Transpose(c.scope, c.grad_outputs[0], inverse);
  } else {
    c.grad_inputs[0] = Transpose(c.scope, c.grad_outputs[0], InvertPermutation(c.scope, perm));
  }
  return absl::OkStatus();
}

// A 1-D index tensor of `rank` zeros with `value` (a scalar index tensor) at
// `axis`: the begin of a slice along axis.
Output OffsetAlong(const Scope& scope, Output value, int axis, int rank, DType dtype) {
  std::vector<int64_t> unit(rank, 0);
  unit[axis] = 1;
  Output unit_t = dtype == DType::kI64 ? Const(scope, unit)
                                       : Const(scope, std::vector<int32_t>(unit.begin(), unit.end()));
  return Mul(scope, unit_t, value);
}

// z = concat(axis, x_0, ..., x_n): dx_i is the slice of g that x_i filled.
absl::Status ConcatGrad(GradContext& c) {
  const Output g = c.grad_outputs[0];
  std::optional<std::vector<int64_t>> axis_value = KnownInts(c.input(0));
  const Shape& out = c.output(0).shape();
  if (!axis_value || out.unknown_rank()) {
    return absl::UnimplementedError("Concat's axis and rank must be known to differentiate it");
  }
  ASSIGN_OR_RETURN(int axis, CanonicalAxis((*axis_value)[0], out.rank()));
  const int rank = out.rank();
  // Static offsets when every input's extent along the axis is known.
  bool known = true;
  for (int i = 1; i < c.node.num_inputs(); ++i) {
    if (c.input(i).shape().unknown_rank() || c.input(i).shape().dim(axis) < 0) known = false;
  }
  int64_t offset = 0;
  Output dynamic_offset = IndexScalar(c.scope, 0);
  for (int i = 1; i < c.node.num_inputs(); ++i) {
    const Output x = c.input(i);
    if (known) {
      std::vector<int64_t> begin(rank, 0), size(rank, -1);
      begin[axis] = offset;
      size[axis] = x.shape().dim(axis);
      c.grad_inputs[i] = Slice(c.scope, g, begin, size);
      offset += x.shape().dim(axis);
    } else {
      const Output x_shape = ShapeOf(c.scope, x);
      const Output begin = OffsetAlong(c.scope, dynamic_offset, axis, rank, DType::kI32);
      c.grad_inputs[i] = Slice(c.scope, g, begin, x_shape);
      const Output extent = Reshape(c.scope, Slice(c.scope, x_shape, {axis}, {1}), std::vector<int64_t>{});
      dynamic_offset = Add(c.scope, dynamic_offset, extent);
    }
  }
  return absl::OkStatus();
}

// z_0..z_n = split(axis, x): dx = concat(axis, g_0, ..., g_n), with zeros
// for the pieces that got no gradient.
absl::Status SplitGrad(GradContext& c) {
  std::vector<Output> pieces;
  for (int i = 0; i < c.node.num_outputs(); ++i) {
    pieces.push_back(c.grad_outputs[i].valid() ? c.grad_outputs[i]
                                               : ZerosLike(c.scope, c.output(i)));
  }
  c.grad_inputs[1] = Concat(c.scope, pieces, c.input(0));
  return absl::OkStatus();
}

// z = x[begin : begin + size]: dx = g padded with zeros back to x's shape.
absl::Status SliceGrad(GradContext& c) {
  const Output g = c.grad_outputs[0];
  const Output x = c.input(0), begin = c.input(1);
  const Shape& xs = x.shape();
  const Shape& zs = c.output(0).shape();
  std::optional<std::vector<int64_t>> b = KnownInts(begin);
  if (b && xs.IsFullyDefined() && zs.IsFullyDefined()) {
    std::vector<std::pair<int64_t, int64_t>> paddings;
    for (int d = 0; d < xs.rank(); ++d) {
      paddings.push_back({(*b)[d], xs.dim(d) - (*b)[d] - zs.dim(d)});
    }
    c.grad_inputs[0] = Pad(c.scope, g, paddings);
    return absl::OkStatus();
  }
  if (xs.unknown_rank()) {
    return absl::UnimplementedError("the input's rank must be known to differentiate Slice");
  }
  const int64_t rank = xs.rank();
  const DType it = IndexType(begin);
  const Output x_shape = ShapeOf(c.scope, x, {.out_type = it});
  const Output z_shape = ShapeOf(c.scope, c.output(0), {.out_type = it});
  const Output after = Sub(c.scope, Sub(c.scope, x_shape, begin), z_shape);
  const Output paddings = Concat(c.scope,
                                 {Reshape(c.scope, begin, {rank, 1}),
                                  Reshape(c.scope, after, {rank, 1})},
                                 1);
  c.grad_inputs[0] = Pad(c.scope, g, paddings);
  return absl::OkStatus();
}

// z = x[begin:end:strides] (NumPy slicing): each element of z comes from one
// element of x, so dx scatters g back. The flat positions of those elements
// are found by applying the same slice to the flat index of every element.
absl::Status StridedSliceGrad(GradContext& c) {
  const Output x = c.input(0);
  const Scope& s = c.scope;
  const Output size = Size(s, x, {.out_type = DType::kI64});
  const Output positions = Reshape(
      s, Range(s, Const(s, int64_t{0}), size, Const(s, int64_t{1})), ShapeOf(s, x, {.out_type = DType::kI64}));
  const StridedSliceOptions options{.begin_mask = c.attr("begin_mask").i(),
                                    .end_mask = c.attr("end_mask").i(),
                                    .ellipsis_mask = c.attr("ellipsis_mask").i(),
                                    .new_axis_mask = c.attr("new_axis_mask").i(),
                                    .shrink_axis_mask = c.attr("shrink_axis_mask").i()};
  const Output picked = StridedSlice(s, positions, c.input(1), c.input(2), c.input(3), options);
  const Output flat = UnsortedSegmentSum(s, Reshape(s, c.grad_outputs[0], std::vector<int64_t>{-1}),
                                         Reshape(s, picked, std::vector<int64_t>{-1}), size);
  c.grad_inputs[0] = ReshapeToShapeOf(s, flat, x);
  return absl::OkStatus();
}

// z = pad(x, paddings): dx = the slice of g where x was copied.
absl::Status PadGrad(GradContext& c) {
  const Output x = c.input(0), paddings = c.input(1);
  if (std::optional<std::vector<int64_t>> p = KnownInts(paddings)) {
    std::vector<int64_t> begin, size;
    for (size_t d = 0; d < p->size() / 2; ++d) {
      begin.push_back((*p)[2 * d]);
      size.push_back(-1);
    }
    // The sizes are x's dims; -1 (to the end) would include the after pad.
    const Shape& xs = x.shape();
    if (xs.IsFullyDefined()) {
      size.assign(xs.dims().begin(), xs.dims().end());
      c.grad_inputs[0] = Slice(c.scope, c.grad_outputs[0], begin, size);
      return absl::OkStatus();
    }
  }
  const Output begin = Reshape(c.scope, Slice(c.scope, paddings, {0, 0}, {-1, 1}),
                               std::vector<int64_t>{-1});
  c.grad_inputs[0] = Slice(c.scope, c.grad_outputs[0], begin,
                           ShapeOf(c.scope, x, {.out_type = IndexType(paddings)}));
  return absl::OkStatus();
}

// z = tile(x, m): z viewed as [m_0, d_0, m_1, d_1, ...] holds x in every
// (m_0, m_1, ...) block, so dx sums g over the m axes.
absl::Status TileGrad(GradContext& c) {
  const Output x = c.input(0), multiples = c.input(1);
  if (x.shape().unknown_rank()) {
    return absl::UnimplementedError("the input's rank must be known to differentiate Tile");
  }
  const int rank = x.shape().rank();
  const DType it = IndexType(multiples);
  const Output stacked = Concat(c.scope,
                                {ExpandDims(c.scope, multiples, 0),
                                 ExpandDims(c.scope, ShapeOf(c.scope, x, {.out_type = it}), 0)},
                                0);
  const Output split_shape =
      Reshape(c.scope, Transpose(c.scope, stacked, {1, 0}), std::vector<int64_t>{-1});
  std::vector<int64_t> axes;
  for (int d = 0; d < rank; ++d) axes.push_back(2 * d);
  const Output summed = Sum(c.scope, Reshape(c.scope, c.grad_outputs[0], split_shape), axes);
  c.grad_inputs[0] = ReshapeToShapeOf(c.scope, summed, x);
  return absl::OkStatus();
}

// z = broadcast_to(x, shape): dx = g summed over the broadcast axes.
absl::Status BroadcastToGrad(GradContext& c) {
  c.grad_inputs[0] = SumToShapeOf(c.scope, c.grad_outputs[0], c.input(0));
  return absl::OkStatus();
}

// z = gather(params, indices, axis): every slice of params that indices
// picked gets the gradients of the places it went to, summed.
absl::Status GatherGrad(GradContext& c) {
  const Output params = c.input(0), indices = c.input(1);
  const Scope& s = c.scope;
  if (c.attr("batch_dims").i() != 0) {
    return absl::UnimplementedError("Gather with batch_dims has no gradient yet");
  }
  std::optional<std::vector<int64_t>> axis_value = KnownInts(c.input(2));
  const Shape& ps = params.shape();
  const Shape& is = indices.shape();
  if (!axis_value || ps.unknown_rank() || is.unknown_rank()) {
    return absl::UnimplementedError(
        "Gather's axis and the ranks of params and indices must be known to differentiate it");
  }
  ASSIGN_OR_RETURN(int axis, CanonicalAxis((*axis_value)[0], ps.rank()));
  const int pr = ps.rank(), ir = is.rank();
  Output g = c.grad_outputs[0];
  // Move the indices' dims of g to the front: [indices..., params without axis].
  std::vector<int64_t> to_front;
  for (int d = 0; d < ir; ++d) to_front.push_back(axis + d);
  for (int d = 0; d < axis; ++d) to_front.push_back(d);
  for (int d = axis + ir; d < pr - 1 + ir; ++d) to_front.push_back(d);
  if (axis != 0) g = Transpose(s, g, to_front);
  // Rows: [num_indices, params dims without axis].
  std::vector<int64_t> row_dims = {-1};
  bool rows_known = true;
  for (int d = 0; d < pr; ++d) {
    if (d == axis) continue;
    row_dims.push_back(ps.dim(d));
    rows_known &= ps.dim(d) >= 0;
  }
  Output rows;
  if (rows_known) {
    rows = Reshape(s, g, row_dims);
  } else {
    const Output tail = Slice(s, ShapeOf(s, g), {ir}, {-1});
    rows = Reshape(s, g, Concat(s, {Const(s, std::vector<int32_t>{-1}), tail}, 0));
  }
  const Output count = ps.dim(axis) >= 0
                           ? IndexScalar(s, ps.dim(axis))
                           : Reshape(s, Slice(s, ShapeOf(s, params), {axis}, {1}),
                                     std::vector<int64_t>{});
  Output summed =
      UnsortedSegmentSum(s, rows, Reshape(s, indices, std::vector<int64_t>{-1}), count);
  if (axis != 0) {
    // summed is [params[axis], params[:axis], params[axis+1:]]; move axis back.
    std::vector<int64_t> back;
    for (int d = 1; d <= axis; ++d) back.push_back(d);
    back.insert(back.begin() + axis, 0);
    for (int d = axis + 1; d < pr; ++d) back.push_back(d);
    summed = Transpose(s, summed, back);
  }
  c.grad_inputs[0] = summed;
  return absl::OkStatus();
}

}  // namespace

void RegisterArrayGradients(GradientRegistry& r) {
  for (const char* op : {"Reshape", "Squeeze", "ExpandDims"}) r.Register(op, ReshapeGrad);
  r.Register("Transpose", TransposeGrad);
  r.Register("Concat", ConcatGrad);
  r.Register("Split", SplitGrad);
  r.Register("Slice", SliceGrad);
  r.Register("StridedSlice", StridedSliceGrad);
  r.Register("Pad", PadGrad);
  r.Register("Tile", TileGrad);
  r.Register("BroadcastTo", BroadcastToGrad);
  r.Register("Gather", GatherGrad);
  for (const char* op : {"OneHot", "Fill", "ZerosLike", "OnesLike", "Shape", "Size",
                         "BroadcastGradientArgs", "InvertPermutation", "Range"}) {
    r.RegisterNoGradient(op);
  }
}

}  // namespace sluice
