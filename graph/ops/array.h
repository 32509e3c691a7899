// Builders for the array ops: reshaping, slicing, joining, gathering and
// creating tensors from shapes.
//
// Inputs that are usually constant (shapes, permutations, axes, paddings...)
// can be given either as an Output or inline as integers, e.g.
//
//   Output y = Transpose(scope, x, {1, 0});
//   Output flat = Reshape(scope, x, {-1, 784});
//   Output row = StridedSlice(scope, m, {1}, {2}, {1}, {.shrink_axis_mask = 1});
//
// Inline integers become an integer Const next to the op (i32 when every value
// fits, i64 otherwise). The braced-list overloads exist so that lists such as
// {0, 1} pick the integer overload instead of being ambiguous with Output.
#ifndef SLUICE_GRAPH_OPS_ARRAY_H_
#define SLUICE_GRAPH_OPS_ARRAY_H_

#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

#include "graph/ops/state.h"
#include "graph/scope.h"

namespace sluice {

// A 1-D integer Const holding `values`: i32 when every value fits in i32,
// i64 otherwise. Named as `scope` directs, like any builder.
Output IndexConst(const Scope& scope, const std::vector<int64_t>& values);
// A scalar integer Const: i32 when `value` fits in i32, i64 otherwise.
Output IndexScalar(const Scope& scope, int64_t value);

// `tensor` with its elements laid out as `shape`; one entry of `shape` may be
// -1, meaning "whatever makes the element count match".
Output Reshape(const Scope& scope, Output tensor, Output shape);
Output Reshape(const Scope& scope, Output tensor, const std::vector<int64_t>& shape);
inline Output Reshape(const Scope& scope, Output tensor, std::initializer_list<int64_t> shape) {
  return Reshape(scope, tensor, std::vector<int64_t>(shape));
}

// Permutes the dims of `x`: output dim i is input dim perm[i].
Output Transpose(const Scope& scope, Output x, Output perm);
Output Transpose(const Scope& scope, Output x, const std::vector<int64_t>& perm);
inline Output Transpose(const Scope& scope, Output x, std::initializer_list<int64_t> perm) {
  return Transpose(scope, x, std::vector<int64_t>(perm));
}

// Joins `values` (at least one, same rank, same dims except along `axis`)
// along `axis`, which may be negative (counted from the end). The axis is the
// op's first input (TensorFlow's Concat).
Output Concat(const Scope& scope, const std::vector<Output>& values, Output axis);
Output Concat(const Scope& scope, const std::vector<Output>& values, int64_t axis);

// Splits `value` along `axis` into `num_split` equal pieces.
std::vector<Output> Split(const Scope& scope, Output axis, Output value, int64_t num_split);
std::vector<Output> Split(const Scope& scope, int64_t axis, Output value, int64_t num_split);

// The block of `input` starting at `begin` with extent `size` per dim; a size
// of -1 takes everything from begin to the end of that dim.
Output Slice(const Scope& scope, Output input, Output begin, Output size);
Output Slice(const Scope& scope, Output input, const std::vector<int64_t>& begin,
             const std::vector<int64_t>& size);
inline Output Slice(const Scope& scope, Output input, std::initializer_list<int64_t> begin,
                    std::initializer_list<int64_t> size) {
  return Slice(scope, input, std::vector<int64_t>(begin), std::vector<int64_t>(size));
}

// Bit i of a mask refers to entry i of begin/end/strides, as in TensorFlow:
// begin_mask/end_mask ignore begin[i]/end[i] (slice from the start / to the
// end), ellipsis_mask marks the entry that stands for "all remaining dims",
// new_axis_mask inserts a dim of size 1, shrink_axis_mask indexes a single
// element and drops the dim.
struct StridedSliceOptions {
  int64_t begin_mask = 0;
  int64_t end_mask = 0;
  int64_t ellipsis_mask = 0;
  int64_t new_axis_mask = 0;
  int64_t shrink_axis_mask = 0;
};
// NumPy-style slicing input[begin:end:strides] (negative indices count from
// the end, out-of-range bounds are clamped, strides may be negative but not 0).
Output StridedSlice(const Scope& scope, Output input, Output begin, Output end, Output strides,
                    const StridedSliceOptions& options = {});
Output StridedSlice(const Scope& scope, Output input, const std::vector<int64_t>& begin,
                    const std::vector<int64_t>& end, const std::vector<int64_t>& strides,
                    const StridedSliceOptions& options = {});
inline Output StridedSlice(const Scope& scope, Output input, std::initializer_list<int64_t> begin,
                           std::initializer_list<int64_t> end,
                           std::initializer_list<int64_t> strides,
                           const StridedSliceOptions& options = {}) {
  return StridedSlice(scope, input, std::vector<int64_t>(begin), std::vector<int64_t>(end),
                      std::vector<int64_t>(strides), options);
}

struct SqueezeOptions {
  // The dims to remove (each must have size 1); empty removes every dim of
  // size 1.
  std::vector<int64_t> squeeze_dims;
};
Output Squeeze(const Scope& scope, Output input, const SqueezeOptions& options = {});

// Inserts a dim of size 1 at `dim` (in [-rank-1, rank]; negative counts from
// the end of the output).
Output ExpandDims(const Scope& scope, Output input, Output dim);
Output ExpandDims(const Scope& scope, Output input, int64_t dim);

// Pads with zeros: `paddings` has shape [rank, 2], row i holding how many
// elements go before and after dim i.
Output Pad(const Scope& scope, Output input, Output paddings);
Output Pad(const Scope& scope, Output input,
           const std::vector<std::pair<int64_t, int64_t>>& paddings);

// Repeats `input` multiples[i] times along dim i.
Output Tile(const Scope& scope, Output input, Output multiples);
Output Tile(const Scope& scope, Output input, const std::vector<int64_t>& multiples);
inline Output Tile(const Scope& scope, Output input, std::initializer_list<int64_t> multiples) {
  return Tile(scope, input, std::vector<int64_t>(multiples));
}

// Broadcasts `input` (NumPy rules) to exactly `shape`.
Output BroadcastTo(const Scope& scope, Output input, Output shape);
Output BroadcastTo(const Scope& scope, Output input, const std::vector<int64_t>& shape);
inline Output BroadcastTo(const Scope& scope, Output input, std::initializer_list<int64_t> shape) {
  return BroadcastTo(scope, input, std::vector<int64_t>(shape));
}

struct GatherOptions {
  // The number of leading dims that params and indices share as batch dims.
  int64_t batch_dims = 0;
};
// Slices of `params` along `axis` picked by `indices` (TensorFlow's GatherV2):
// the output shape is params[:axis] + indices[batch_dims:] + params[axis+1:].
Output Gather(const Scope& scope, Output params, Output indices, Output axis,
              const GatherOptions& options = {});
Output Gather(const Scope& scope, Output params, Output indices, int64_t axis = 0,
              const GatherOptions& options = {});

struct OneHotOptions {
  // Where the new dim of size `depth` goes; -1 appends it.
  int64_t axis = -1;
};
// on_value where indices[...] == j and off_value elsewhere, along a new dim of
// size `depth`. `on_value` and `off_value` are scalars of the output dtype.
Output OneHot(const Scope& scope, Output indices, Output depth, Output on_value, Output off_value,
              const OneHotOptions& options = {});
Output OneHot(const Scope& scope, Output indices, int64_t depth, Output on_value, Output off_value,
              const OneHotOptions& options = {});

// A tensor of shape `dims` with every element equal to the scalar `value`.
Output Fill(const Scope& scope, Output dims, Output value);
Output Fill(const Scope& scope, const std::vector<int64_t>& dims, Output value);
inline Output Fill(const Scope& scope, std::initializer_list<int64_t> dims, Output value) {
  return Fill(scope, std::vector<int64_t>(dims), value);
}

Output ZerosLike(const Scope& scope, Output x);
Output OnesLike(const Scope& scope, Output x);

struct ShapeOptions {
  DType out_type = DType::kI32;  // i32 or i64
};
// The Shape op: the dims of `input` as a 1-D tensor. (Named ShapeOf because a
// function named Shape would hide the Shape class.) When the input's shape is
// fully defined while building, consumers see the result as a constant.
Output ShapeOf(const Scope& scope, Output input, const ShapeOptions& options = {});
// The Size op: the element count of `input` as a scalar, likewise constant
// when the shape is fully defined.
Output Size(const Scope& scope, Output input, const ShapeOptions& options = {});

// The axes of the broadcast of shapes s0 and s1 (1-D i32/i64) along which
// input 0 (r0) and input 1 (r1) were stretched or missing: summing a
// gradient over r0 and reshaping to s0 gives input 0's gradient. Constant
// when both shapes are.
struct BroadcastGradientArgsOutputs {
  Output r0;
  Output r1;
};
BroadcastGradientArgsOutputs BroadcastGradientArgs(const Scope& scope, Output s0, Output s1);

// start, start + delta, ... while before limit: scalars of one dtype (i32,
// i64, f32 or f64); delta must not be 0.
Output Range(const Scope& scope, Output start, Output limit, Output delta);

// The inverse of the permutation `x` (1-D i32/i64): y[x[i]] = i.
Output InvertPermutation(const Scope& scope, Output x);

// output[k, ...] = sum of data[i..., ...] over every index i... with
// segment_ids[i...] == k; `segment_ids` (i32/i64) has a prefix of data's shape,
// `num_segments` is a scalar. Ids outside [0, num_segments) are dropped.
Output UnsortedSegmentSum(const Scope& scope, Output data, Output segment_ids,
                          Output num_segments);

}  // namespace sluice

#endif  // SLUICE_GRAPH_OPS_ARRAY_H_
