// Array kernels: views (Reshape, Squeeze, ExpandDims), strided copies
// (Transpose, Slice, StridedSlice, Pad, Tile, BroadcastTo), Concat, Split,
// Gather, OneHot, Fill, ZerosLike, OnesLike, Shape and Size.
//
// These ops move bytes without looking at them, so every kernel works on
// element sizes rather than dtypes and is registered for every dtype. Index
// inputs (perm, begin, paddings, axis...) are almost always constants: the
// factory then plans the copy once. When one is not known while building,
// the kernel plans at run time from the input's value (allocation-free) and
// checks the result against the static output shape.
#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cpu/cpu_kernels.h"
#include "cpu/parallel.h"
#include "cpu/strided_copy.h"
#include "graph/status_macros.h"
#include "kernels/array_params.h"
#include "kernels/kernel_registry.h"
#include "kernels/state_kernels.h"

namespace sluice::cpu {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

const std::vector<DType> kAll(std::begin(kAllDTypes), std::end(kAllDTypes));

absl::Status CheckCopyRank(const Shape& shape) {
  if (shape.rank() > kMaxCopyRank) {
    return absl::UnimplementedError(absl::StrCat("array kernels support rank up to ", kMaxCopyRank,
                                                 ", got ", shape.ToString()));
  }
  return absl::OkStatus();
}

// Writes `n` copies of the `elem_size`-byte element at `value` to `dst`.
void FillElements(void* dst, int64_t n, const void* value, int elem_size) {
  auto fill = [&]<typename W>() {
    W v;
    std::memcpy(&v, value, sizeof(W));
    W* __restrict out = static_cast<W*>(dst);
    ParallelFor(n, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = v;
    });
  };
  switch (elem_size) {
    case 1:
      return fill.template operator()<uint8_t>();
    case 2:
      return fill.template operator()<uint16_t>();
    case 4:
      return fill.template operator()<uint32_t>();
    case 8:
      return fill.template operator()<uint64_t>();
    default:
      break;
  }
}

char* Bytes(Tensor& t) { return static_cast<char*>(t.raw_data()); }
const char* Bytes(const Tensor& t) { return static_cast<const char*>(t.raw_data()); }

// ---------------------------------------------------------------------------
// Views: the output is the input with another shape (kernels/state_kernels.h).

KernelOr MakeView(const KernelInit& init) {
  return std::make_unique<ViewKernel>(init.output_shape(0));
}

// ---------------------------------------------------------------------------
// Single strided copies from input 0 to output 0.

// One copy: the plan plus element offsets into both buffers.
struct CopyPiece {
  StridedCopyPlan plan;
  int64_t src_offset = 0;
  int64_t dst_offset = 0;
  bool zero_fill = false;  // zero the whole output first (padding)
};

// What a planner sees: shapes, element size and the index inputs (1..3).
struct CopyArgs {
  const Shape& input;
  const Shape& output;
  int elem_size;
  const SliceMasks& masks;
  std::array<const Tensor*, 3> index;
};

using CopyPlanner = absl::Status (*)(const CopyArgs&, CopyPiece*);

absl::Status MakePlan(int elem_size, absl::Span<const int64_t> dims,
                      absl::Span<const int64_t> src_strides, absl::Span<const int64_t> dst_strides,
                      StridedCopyPlan* plan) {
  if (!PlanStridedCopy(elem_size, dims, src_strides, dst_strides, plan)) {
    return absl::UnimplementedError(
        absl::StrCat("the copy needs more than ", kMaxCopyRank, " strided dimensions"));
  }
  return absl::OkStatus();
}

absl::Status PlanTranspose(const CopyArgs& a, CopyPiece* piece) {
  const int rank = a.input.rank();
  std::array<int64_t, kMaxCopyRank> in_strides, out_dims, source_dims, src_strides, dst_strides;
  RETURN_IF_ERROR(TransposeDims(*a.index[0], a.input, a.output, absl::MakeSpan(out_dims),
                                absl::MakeSpan(source_dims)));
  RowMajorStrides(a.input.dims(), in_strides.data());
  for (int i = 0; i < rank; ++i) src_strides[i] = in_strides[source_dims[i]];
  const absl::Span<const int64_t> dims(out_dims.data(), rank);
  RowMajorStrides(dims, dst_strides.data());
  return MakePlan(a.elem_size, dims, absl::MakeSpan(src_strides.data(), rank),
                  absl::MakeSpan(dst_strides.data(), rank), &piece->plan);
}

absl::Status PlanSlice(const CopyArgs& a, CopyPiece* piece) {
  const int rank = a.input.rank();
  std::array<int64_t, kMaxCopyRank> in_strides, starts, out_dims, dst_strides;
  RETURN_IF_ERROR(SliceDims(*a.index[0], *a.index[1], a.input, a.output, absl::MakeSpan(starts),
                            absl::MakeSpan(out_dims)));
  RowMajorStrides(a.input.dims(), in_strides.data());
  piece->src_offset = 0;
  for (int i = 0; i < rank; ++i) piece->src_offset += starts[i] * in_strides[i];
  const absl::Span<const int64_t> dims(out_dims.data(), rank);
  RowMajorStrides(dims, dst_strides.data());
  return MakePlan(a.elem_size, dims, absl::MakeSpan(in_strides.data(), rank),
                  absl::MakeSpan(dst_strides.data(), rank), &piece->plan);
}

// StridedSlice: each input dim's range (kernels/array_params.h) read with
// the input's strides times the step. New and shrunk axes have size 1, so
// the output's elements are those ranges in row-major order.
absl::Status PlanStridedSlice(const CopyArgs& a, CopyPiece* piece) {
  const int rank = a.input.rank();
  std::array<SliceRange, kMaxCopyRank> ranges;
  RETURN_IF_ERROR(StridedSliceRanges(*a.index[0], *a.index[1], *a.index[2], a.masks, a.input,
                                     a.output, absl::MakeSpan(ranges)));
  std::array<int64_t, kMaxCopyRank> in_strides, count, src_strides, dst_strides;
  RowMajorStrides(a.input.dims(), in_strides.data());
  const bool empty = a.output.num_elements() == 0;
  piece->src_offset = 0;
  for (int d = 0; d < rank; ++d) {
    count[d] = ranges[d].count;
    // An empty slice may start outside the input; it reads nothing.
    if (!empty) piece->src_offset += ranges[d].start * in_strides[d];
    src_strides[d] = in_strides[d] * ranges[d].step;
  }
  const absl::Span<const int64_t> dims(count.data(), rank);
  RowMajorStrides(dims, dst_strides.data());
  return MakePlan(a.elem_size, dims, absl::MakeSpan(src_strides.data(), rank),
                  absl::MakeSpan(dst_strides.data(), rank), &piece->plan);
}

absl::Status PlanPad(const CopyArgs& a, CopyPiece* piece) {
  const int rank = a.input.rank();
  std::array<int64_t, kMaxCopyRank> in_strides, before, out_dims, out_strides;
  ASSIGN_OR_RETURN(piece->zero_fill, PadDims(*a.index[0], a.input, a.output, absl::MakeSpan(before),
                                             absl::MakeSpan(out_dims)));
  RowMajorStrides(a.input.dims(), in_strides.data());
  RowMajorStrides(absl::MakeSpan(out_dims.data(), rank), out_strides.data());
  piece->dst_offset = 0;
  for (int i = 0; i < rank; ++i) piece->dst_offset += before[i] * out_strides[i];
  return MakePlan(a.elem_size, a.input.dims(), absl::MakeSpan(in_strides.data(), rank),
                  absl::MakeSpan(out_strides.data(), rank), &piece->plan);
}

// Tile and BroadcastTo need only the static shapes.
absl::Status PlanTile(const CopyArgs& a, CopyPiece* piece) {
  const int rank = a.input.rank();
  if (a.output.rank() != rank) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot tile ", a.input.ToString(), " into ", a.output.ToString()));
  }
  std::array<int64_t, kMaxCopyRank> in_strides;
  RowMajorStrides(a.input.dims(), in_strides.data());
  // Output dim i is (multiple, input dim) in row-major order.
  std::array<int64_t, 2 * kMaxCopyRank> dims, src_strides, dst_strides;
  for (int i = 0; i < rank; ++i) {
    const int64_t in = a.input.dim(i);
    const int64_t out = a.output.dim(i);
    if (in == 0 || out == 0) {
      piece->plan = StridedCopyPlan{};  // nothing to copy
      piece->plan.elem_size = a.elem_size;
      return absl::OkStatus();
    }
    if (out % in != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot tile ", a.input.ToString(), " into ", a.output.ToString()));
    }
    dims[2 * i] = out / in;
    dims[2 * i + 1] = in;
    src_strides[2 * i] = 0;
    src_strides[2 * i + 1] = in_strides[i];
  }
  RowMajorStrides(absl::MakeSpan(dims.data(), 2 * rank), dst_strides.data());
  return MakePlan(a.elem_size, absl::MakeSpan(dims.data(), 2 * rank),
                  absl::MakeSpan(src_strides.data(), 2 * rank),
                  absl::MakeSpan(dst_strides.data(), 2 * rank), &piece->plan);
}

absl::Status PlanBroadcastTo(const CopyArgs& a, CopyPiece* piece) {
  const int rank = a.output.rank();
  const int offset = rank - a.input.rank();
  std::array<int64_t, kMaxCopyRank> in_strides, src_strides, dst_strides;
  RowMajorStrides(a.input.dims(), in_strides.data());
  for (int i = 0; i < rank; ++i) {
    const int j = i - offset;
    const int64_t out = a.output.dim(i);
    if (j < 0) {
      src_strides[i] = 0;
      continue;
    }
    const int64_t in = a.input.dim(j);
    if (in != out && in != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot broadcast ", a.input.ToString(), " to ", a.output.ToString()));
    }
    src_strides[i] = in == out ? in_strides[j] : 0;
  }
  RowMajorStrides(a.output.dims(), dst_strides.data());
  return MakePlan(a.elem_size, a.output.dims(), absl::MakeSpan(src_strides.data(), rank),
                  absl::MakeSpan(dst_strides.data(), rank), &piece->plan);
}

void RunPiece(const CopyPiece& piece, const char* src, char* dst, int64_t dst_bytes) {
  if (piece.zero_fill) std::memset(dst, 0, dst_bytes);
  const int64_t e = piece.plan.elem_size;
  RunStridedCopy(piece.plan, src + piece.src_offset * e, dst + piece.dst_offset * e);
}

class CopyKernel final : public OpKernel {
 public:
  CopyKernel(CopyPlanner planner, int num_index_inputs, Shape input_shape, int elem_size,
             SliceMasks masks, std::optional<CopyPiece> piece)
      : planner_(planner),
        num_index_inputs_(num_index_inputs),
        input_shape_(std::move(input_shape)),
        elem_size_(elem_size),
        masks_(masks),
        piece_(piece) {}

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    if (piece_.has_value()) {
      RunPiece(*piece_, Bytes(ctx.input(0)), Bytes(out), out.num_bytes());
      return absl::OkStatus();
    }
    CopyArgs args{input_shape_, out.shape(), elem_size_, masks_, {}};
    for (int i = 0; i < num_index_inputs_; ++i) args.index[i] = &ctx.input(1 + i);
    CopyPiece piece;
    RETURN_IF_ERROR(planner_(args, &piece));
    RunPiece(piece, Bytes(ctx.input(0)), Bytes(out), out.num_bytes());
    return absl::OkStatus();
  }

 private:
  const CopyPlanner planner_;
  const int num_index_inputs_;
  const Shape input_shape_;
  const int elem_size_;
  const SliceMasks masks_;
  const std::optional<CopyPiece> piece_;
};

// A copy kernel for `planner`, planned now when every index input is known;
// a copy that turns out to move every element in place becomes a view.
KernelOr MakeCopy(const KernelInit& init, CopyPlanner planner, int num_index_inputs,
                  SliceMasks masks = {}) {
  const Shape& in = init.input_shape(0);
  const Shape& out = init.output_shape(0);
  RETURN_IF_ERROR(CheckCopyRank(in));
  RETURN_IF_ERROR(CheckCopyRank(out));
  const int elem_size = DTypeSize(init.input_dtype(0));
  CopyArgs args{in, out, elem_size, masks, {}};
  bool known = true;
  for (int i = 0; i < num_index_inputs; ++i) {
    args.index[i] = init.input_value(1 + i);
    known = known && args.index[i] != nullptr;
  }
  std::optional<CopyPiece> piece;
  if (known) {
    piece.emplace();
    RETURN_IF_ERROR(planner(args, &*piece));
    if (!piece->zero_fill && piece->src_offset == 0 && piece->dst_offset == 0 &&
        piece->plan.contiguous() && in.num_elements() == out.num_elements()) {
      return std::make_unique<ViewKernel>(out);
    }
  }
  return std::make_unique<CopyKernel>(planner, num_index_inputs, in, elem_size, masks, piece);
}

// ---------------------------------------------------------------------------
// Concat and Split: one 2-D copy per piece, [outer, run] at a column offset.

int64_t ProductOf(const Shape& s, int begin, int end) {
  int64_t p = 1;
  for (int d = begin; d < end; ++d) p *= s.dim(d);
  return p;
}

// The copy of `piece` (shape `piece_shape`) to or from `whole` at `offset`
// along `axis`. `into_whole` is true for Concat.
absl::Status PlanPiece(const Shape& piece_shape, const Shape& whole, int axis, int64_t offset,
                       int elem_size, bool into_whole, CopyPiece* piece) {
  const int64_t outer = ProductOf(whole, 0, axis);
  const int64_t whole_run = ProductOf(whole, axis, whole.rank());
  const int64_t run = ProductOf(piece_shape, axis, piece_shape.rank());
  const int64_t offset_elems = offset * ProductOf(whole, axis + 1, whole.rank());
  const int64_t dims[2] = {outer, run};
  const int64_t piece_strides[2] = {run, 1};
  const int64_t whole_strides[2] = {whole_run, 1};
  piece->src_offset = into_whole ? 0 : offset_elems;
  piece->dst_offset = into_whole ? offset_elems : 0;
  return MakePlan(elem_size, dims, into_whole ? piece_strides : whole_strides,
                  into_whole ? whole_strides : piece_strides, &piece->plan);
}

absl::StatusOr<int> AxisOf(const Tensor& axis, int rank) {
  const int64_t v = IndexValueAt(axis, 0);
  if (v < -rank || v >= rank) {
    return absl::InvalidArgumentError(absl::StrCat("axis ", v, " is out of range for rank ", rank));
  }
  return static_cast<int>(v < 0 ? v + rank : v);
}

class ConcatKernel final : public OpKernel {
 public:
  ConcatKernel(std::vector<Shape> input_shapes, int elem_size, std::vector<CopyPiece> pieces)
      : input_shapes_(std::move(input_shapes)), elem_size_(elem_size), pieces_(std::move(pieces)) {}

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    const int n = static_cast<int>(input_shapes_.size());
    if (!pieces_.empty()) {
      for (int i = 0; i < n; ++i) RunPiece(pieces_[i], Bytes(ctx.input(1 + i)), Bytes(out), 0);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(const int axis, AxisOf(ctx.input(0), out.shape().rank()));
    int64_t offset = 0;
    for (int i = 0; i < n; ++i) {
      RETURN_IF_ERROR(CheckPieceShape(input_shapes_[i], out.shape(), axis));
      offset += input_shapes_[i].dim(axis);
    }
    if (offset != out.shape().dim(axis)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the inputs add up to ", offset, " along dimension ", axis,
                       ", but the output has shape ", out.shape().ToString()));
    }
    offset = 0;
    for (int i = 0; i < n; ++i) {
      CopyPiece piece;
      RETURN_IF_ERROR(
          PlanPiece(input_shapes_[i], out.shape(), axis, offset, elem_size_, true, &piece));
      RunPiece(piece, Bytes(ctx.input(1 + i)), Bytes(out), 0);
      offset += input_shapes_[i].dim(axis);
    }
    return absl::OkStatus();
  }

 private:
  const std::vector<Shape> input_shapes_;
  const int elem_size_;
  const std::vector<CopyPiece> pieces_;  // empty when the axis is read at run time
};

KernelOr MakeConcat(const KernelInit& init) {
  const Shape& out = init.output_shape(0);
  std::vector<Shape> shapes;
  for (int i = 1; i < init.num_inputs(); ++i) shapes.push_back(init.input_shape(i));
  const int elem_size = DTypeSize(init.output_dtype(0));
  std::vector<CopyPiece> pieces;
  if (const Tensor* axis_value = init.input_value(0)) {
    ASSIGN_OR_RETURN(const int axis, AxisOf(*axis_value, out.rank()));
    int64_t offset = 0;
    for (const Shape& s : shapes) {
      RETURN_IF_ERROR(CheckPieceShape(s, out, axis));
      pieces.emplace_back();
      RETURN_IF_ERROR(PlanPiece(s, out, axis, offset, elem_size, true, &pieces.back()));
      offset += s.dim(axis);
    }
  }
  return std::make_unique<ConcatKernel>(std::move(shapes), elem_size, std::move(pieces));
}

class SplitKernel final : public OpKernel {
 public:
  SplitKernel(Shape input_shape, int elem_size, std::vector<CopyPiece> pieces)
      : input_shape_(std::move(input_shape)), elem_size_(elem_size), pieces_(std::move(pieces)) {}

  absl::Status Compute(const KernelContext& ctx) override {
    const Tensor& in = ctx.input(1);
    const int n = static_cast<int>(ctx.outputs.size());
    if (!pieces_.empty()) {
      for (int i = 0; i < n; ++i) RunPiece(pieces_[i], Bytes(in), Bytes(ctx.output(i)), 0);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(const int axis, AxisOf(ctx.input(0), input_shape_.rank()));
    int64_t offset = 0;
    for (int i = 0; i < n; ++i) {
      const Shape& piece_shape = ctx.output(i).shape();
      RETURN_IF_ERROR(CheckPieceShape(piece_shape, input_shape_, axis));
      if (piece_shape.dim(axis) * n != input_shape_.dim(axis)) {
        return absl::InvalidArgumentError(absl::StrCat("cannot split ", input_shape_.ToString(),
                                                       " into ", n, " pieces of shape ",
                                                       piece_shape.ToString()));
      }
      CopyPiece piece;
      RETURN_IF_ERROR(
          PlanPiece(piece_shape, input_shape_, axis, offset, elem_size_, false, &piece));
      RunPiece(piece, Bytes(in), Bytes(ctx.output(i)), 0);
      offset += piece_shape.dim(axis);
    }
    return absl::OkStatus();
  }

 private:
  const Shape input_shape_;
  const int elem_size_;
  const std::vector<CopyPiece> pieces_;
};

KernelOr MakeSplit(const KernelInit& init) {
  const Shape& in = init.input_shape(1);
  const int elem_size = DTypeSize(init.input_dtype(1));
  std::vector<CopyPiece> pieces;
  if (const Tensor* axis_value = init.input_value(0)) {
    ASSIGN_OR_RETURN(const int axis, AxisOf(*axis_value, in.rank()));
    int64_t offset = 0;
    for (int i = 0; i < init.node.num_outputs(); ++i) {
      const Shape& s = init.output_shape(i);
      pieces.emplace_back();
      RETURN_IF_ERROR(PlanPiece(s, in, axis, offset, elem_size, false, &pieces.back()));
      offset += s.dim(axis);
    }
  }
  return std::make_unique<SplitKernel>(in, elem_size, std::move(pieces));
}

// ---------------------------------------------------------------------------
// Gather (GatherV2): params [batch, outer, n, inner] and indices [batch, m]
// give output [batch, outer, m, inner].

// "[1,2]": the position of flat element `i` of a tensor of `shape`.
std::string PositionString(const Shape& shape, int64_t i) {
  std::vector<int64_t> index(shape.rank());
  for (int d = shape.rank() - 1; d >= 0; --d) {
    index[d] = i % shape.dim(d);
    i /= shape.dim(d);
  }
  return absl::StrCat("[", absl::StrJoin(index, ","), "]");
}

template <typename Index>
class GatherKernel final : public OpKernel {
 public:
  GatherKernel(Shape params, Shape indices, int64_t batch_dims, int elem_size,
               std::optional<GatherLayout> layout)
      : params_(std::move(params)),
        indices_(std::move(indices)),
        batch_dims_(batch_dims),
        elem_size_(elem_size),
        layout_(layout) {}

  absl::Status Compute(const KernelContext& ctx) override {
    GatherLayout g;
    if (layout_.has_value()) {
      g = *layout_;
    } else {
      ASSIGN_OR_RETURN(g, PlanGather(params_, indices_, IndexValueAt(ctx.input(2), 0), batch_dims_));
      if (g.batch * g.outer * g.m * g.inner != ctx.output(0).num_elements()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "gathering from ", params_.ToString(), " with indices ", indices_.ToString(),
            " does not give the output shape ", ctx.output(0).shape().ToString()));
      }
    }
    const Index* idx = ctx.input(1).data<Index>();
    const int64_t num_indices = g.batch * g.m;
    for (int64_t i = 0; i < num_indices; ++i) {
      if (idx[i] < 0 || idx[i] >= g.n) {
        return absl::InvalidArgumentError(
            absl::StrCat("indices", indices_.rank() > 0 ? PositionString(indices_, i) : "", " = ",
                         static_cast<int64_t>(idx[i]), " is not in [0, ", g.n, ")"));
      }
    }
    const char* src = Bytes(ctx.input(0));
    char* dst = Bytes(ctx.output(0));
    const int64_t row_bytes = g.inner * elem_size_;
    const int64_t rows = g.batch * g.outer * g.m;
    // Output row r = ((b * outer + o) * m + j) reads params row
    // (b * outer + o) * n + idx[b * m + j].
    ParallelFor(rows, g.inner, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t j = r % g.m;
        const int64_t bo = r / g.m;
        const int64_t b = bo / g.outer;
        const int64_t src_row = bo * g.n + idx[b * g.m + j];
        std::memcpy(dst + r * row_bytes, src + src_row * row_bytes, row_bytes);
      }
    });
    return absl::OkStatus();
  }

 private:
  const Shape params_;
  const Shape indices_;
  const int64_t batch_dims_;
  const int elem_size_;
  const std::optional<GatherLayout> layout_;
};

KernelOr MakeGather(const KernelInit& init) {
  const Shape& params = init.input_shape(0);
  const Shape& indices = init.input_shape(1);
  const int64_t batch_dims = init.attr("batch_dims").i();
  std::optional<GatherLayout> layout;
  if (const Tensor* axis = init.input_value(2)) {
    ASSIGN_OR_RETURN(layout, PlanGather(params, indices, IndexValueAt(*axis, 0), batch_dims));
  }
  const int elem_size = DTypeSize(init.input_dtype(0));
  if (init.input_dtype(1) == DType::kI32) {
    return std::make_unique<GatherKernel<int32_t>>(params, indices, batch_dims, elem_size, layout);
  }
  return std::make_unique<GatherKernel<int64_t>>(params, indices, batch_dims, elem_size, layout);
}

// ---------------------------------------------------------------------------
// OneHot: output [outer, depth, inner] from indices [outer, inner]; indices
// outside [0, depth) give a row of off_value.

template <typename Index>
class OneHotKernel final : public OpKernel {
 public:
  OneHotKernel(int64_t outer, int64_t depth, int64_t inner, int elem_size)
      : outer_(outer), depth_(depth), inner_(inner), elem_size_(elem_size) {}

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    const Index* idx = ctx.input(0).data<Index>();
    const char* on = Bytes(ctx.input(2));
    char* dst = Bytes(out);
    FillElements(dst, out.num_elements(), ctx.input(3).raw_data(), elem_size_);
    for (int64_t o = 0; o < outer_; ++o) {
      for (int64_t i = 0; i < inner_; ++i) {
        const int64_t d = static_cast<int64_t>(idx[o * inner_ + i]);
        if (d < 0 || d >= depth_) continue;
        std::memcpy(dst + ((o * depth_ + d) * inner_ + i) * elem_size_, on, elem_size_);
      }
    }
    return absl::OkStatus();
  }

 private:
  const int64_t outer_, depth_, inner_;
  const int elem_size_;
};

KernelOr MakeOneHot(const KernelInit& init) {
  const Shape& indices = init.input_shape(0);
  const int64_t axis_attr = init.attr("axis").i();
  const int axis = axis_attr == -1 ? indices.rank() : static_cast<int>(axis_attr);
  const int64_t outer = ProductOf(indices, 0, axis);
  const int64_t inner = ProductOf(indices, axis, indices.rank());
  const int64_t depth = init.output_shape(0).dim(axis);
  const int elem_size = DTypeSize(init.output_dtype(0));
  switch (init.input_dtype(0)) {
    case DType::kU8:
      return std::make_unique<OneHotKernel<uint8_t>>(outer, depth, inner, elem_size);
    case DType::kI32:
      return std::make_unique<OneHotKernel<int32_t>>(outer, depth, inner, elem_size);
    default:
      return std::make_unique<OneHotKernel<int64_t>>(outer, depth, inner, elem_size);
  }
}

// ---------------------------------------------------------------------------
// Fill, ZerosLike, OnesLike, Shape, Size.

// Fills the output with the scalar input `value_input`.
class FillKernel final : public OpKernel {
 public:
  explicit FillKernel(int value_input) : value_input_(value_input) {}
  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    const Tensor& value = ctx.input(value_input_);
    FillElements(out.raw_data(), out.num_elements(), value.raw_data(), DTypeSize(out.dtype()));
    return absl::OkStatus();
  }

 private:
  const int value_input_;
};

// Fills the output with a value fixed when the kernel is made.
class ConstantFillKernel final : public OpKernel {
 public:
  explicit ConstantFillKernel(Tensor value) : value_(std::move(value)) {}
  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    FillElements(out.raw_data(), out.num_elements(), value_.raw_data(), DTypeSize(out.dtype()));
    return absl::OkStatus();
  }

 private:
  const Tensor value_;
};

Tensor OneOf(DType dtype) {
  return VisitDType(dtype, [&]<typename T>() {
    if constexpr (std::is_same_v<T, Half>) {
      return Tensor::Scalar(FloatToHalf(1.0f));
    } else if constexpr (std::is_same_v<T, BFloat16>) {
      return Tensor::Scalar(FloatToBFloat16(1.0f));
    } else {
      return Tensor::Scalar(static_cast<T>(1));
    }
  });
}

// Writes values fixed by the static input shape (Shape, Size).
class IndexValuesKernel final : public OpKernel {
 public:
  explicit IndexValuesKernel(Tensor values) : values_(std::move(values)) {}
  absl::Status Compute(const KernelContext& ctx) override {
    std::memcpy(ctx.output(0).raw_data(), values_.raw_data(), values_.num_bytes());
    return absl::OkStatus();
  }

 private:
  const Tensor values_;
};

KernelOr MakeIndexValues(const KernelInit& init, const std::vector<int64_t>& values) {
  const Shape& shape = init.output_shape(0);
  if (init.output_dtype(0) == DType::kI64) {
    ASSIGN_OR_RETURN(Tensor t, Tensor::FromVector(values, shape));
    return std::make_unique<IndexValuesKernel>(std::move(t));
  }
  std::vector<int32_t> narrow;
  for (int64_t v : values) {
    if (v > std::numeric_limits<int32_t>::max()) {
      return absl::InvalidArgumentError(
          absl::StrCat("value ", v, " does not fit in i32; use out_type i64"));
    }
    narrow.push_back(static_cast<int32_t>(v));
  }
  ASSIGN_OR_RETURN(Tensor t, Tensor::FromVector(narrow, shape));
  return std::make_unique<IndexValuesKernel>(std::move(t));
}

}  // namespace

void RegisterArrayKernels(KernelRegistry& r) {
  const DeviceType cpu = DeviceType::kCpu;
  for (const char* op : {"Reshape", "Squeeze", "ExpandDims"}) r.Register(op, cpu, kAll, MakeView);
  r.Register("Transpose", cpu, kAll,
             [](const KernelInit& init) { return MakeCopy(init, PlanTranspose, 1); });
  r.Register("Slice", cpu, kAll,
             [](const KernelInit& init) { return MakeCopy(init, PlanSlice, 2); });
  r.Register("StridedSlice", cpu, kAll, [](const KernelInit& init) {
    return MakeCopy(init, PlanStridedSlice, 3, SliceMasksOf(init));
  });
  r.Register("Pad", cpu, kAll, [](const KernelInit& init) { return MakeCopy(init, PlanPad, 1); });
  r.Register("Tile", cpu, kAll, [](const KernelInit& init) { return MakeCopy(init, PlanTile, 0); });
  r.Register("BroadcastTo", cpu, kAll,
             [](const KernelInit& init) { return MakeCopy(init, PlanBroadcastTo, 0); });
  r.Register("Concat", cpu, kAll, MakeConcat);
  r.Register("Split", cpu, kAll, MakeSplit);
  r.Register("Gather", cpu, kAll, MakeGather);
  r.Register("OneHot", cpu, kAll, MakeOneHot);
  r.Register("Fill", cpu, kAll,
             [](const KernelInit&) -> KernelOr { return std::make_unique<FillKernel>(1); });
  r.Register("ZerosLike", cpu, kAll, [](const KernelInit& init) -> KernelOr {
    return std::make_unique<ConstantFillKernel>(Tensor::Zeros(init.output_dtype(0), Shape{}));
  });
  r.Register("OnesLike", cpu, kAll, [](const KernelInit& init) -> KernelOr {
    return std::make_unique<ConstantFillKernel>(OneOf(init.output_dtype(0)));
  });
  r.Register("Shape", cpu, kAll, [](const KernelInit& init) {
    const Shape& in = init.input_shape(0);
    return MakeIndexValues(init, std::vector<int64_t>(in.dims().begin(), in.dims().end()));
  });
  r.Register("Size", cpu, kAll, [](const KernelInit& init) {
    return MakeIndexValues(init, {init.input_shape(0).num_elements()});
  });
}

}  // namespace sluice::cpu
