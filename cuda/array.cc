// CUDA kernels of the array family: views (Reshape, Squeeze, ExpandDims),
// strided copies (Transpose, Slice, StridedSlice, Pad, Tile, BroadcastTo,
// Concat, Split), Gather, OneHot, Fill, ZerosLike, OnesLike, Range and
// UnsortedSegmentSum. The CPU kernels (cpu/array.cc, cpu/array_grad.cc) are
// the reference: same ops, attributes, dtypes and errors.
//
// The index inputs (perm, begin/end/strides, paddings, axes, Range's bounds)
// must be known when the plan is compiled: every copy is planned once, in the
// factory, and Compute only launches. When one is not known the factory
// returns Unimplemented naming it: the op cannot run on CUDA in that graph
// and must stay on the CPU. Shape, Size, BroadcastGradientArgs and
// InvertPermutation compute host metadata that plans fold, so they have no
// CUDA kernel.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cuda/array_launch.h"
#include "cuda/cuda_kernel_util.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_status.h"
#include "graph/status_macros.h"
#include "kernels/array_params.h"
#include "kernels/kernel_registry.h"
#include "kernels/state_kernels.h"

namespace sluice::cuda {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

const std::vector<DType> kAll(std::begin(kAllDTypes), std::end(kAllDTypes));

int64_t ProductOf(absl::Span<const int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims) p *= d;
  return p;
}

int64_t ProductOf(const Shape& s, int begin, int end) {
  return ProductOf(s.dims().subspan(begin, end - begin));
}

std::vector<int64_t> RowMajorStrides(absl::Span<const int64_t> dims) {
  std::vector<int64_t> strides(dims.size());
  int64_t stride = 1;
  for (int d = static_cast<int>(dims.size()) - 1; d >= 0; --d) {
    strides[d] = stride;
    stride *= dims[d];
  }
  return strides;
}

bool IsAligned(const void* p, int bytes) {
  return reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(bytes) == 0;
}

// The name of input `i` of `init`'s op, e.g. "perm", for messages.
std::string InputName(const KernelInit& init, int i) {
  const OpDef& def = init.node.op_def();
  int position = 0;
  for (const ArgDef& arg : def.inputs()) {
    const int count =
        arg.number_attr.empty() ? 1 : static_cast<int>(init.node.attr(arg.number_attr).i());
    if (i < position + count) return arg.name;
    position += count;
  }
  return absl::StrCat("input ", i);
}

// The value of input `i`, which must be known when the plan is compiled.
absl::StatusOr<const Tensor*> ConstantInput(const KernelInit& init, int i) {
  const Tensor* value = init.input_value(i);
  if (value == nullptr) {
    return absl::UnimplementedError(absl::StrCat(init.node.op(), " on CUDA needs ",
                                                 InputName(init, i),
                                                 " to be known when the plan is compiled"));
  }
  return value;
}

// ---------------------------------------------------------------------------
// Planning strided copies.

// Sizes up to this use 32-bit index arithmetic in the copy kernel (with room
// for a grid-stride step past the end).
constexpr int64_t kIndex32Limit = int64_t{1} << 30;

// The furthest element offset a walk over `dims` with `strides` reaches, or
// a value above kIndex32Limit when it is at least that far.
int64_t Reach(const StridedCopy& c, const int64_t* strides) {
  int64_t reach = 0;
  for (int k = 0; k < c.rank; ++k) {
    const int64_t stride = strides[k] < 0 ? -strides[k] : strides[k];
    if (c.dims[k] > kIndex32Limit || stride > kIndex32Limit) return kIndex32Limit + 1;
    reach += (c.dims[k] - 1) * stride;
    if (reach > kIndex32Limit) return reach;
  }
  return reach;
}

// Chooses how a merged copy runs.
void Classify(StridedCopy& c) {
  const int last = c.rank - 1;
  if (c.num_elements == 0) {
    c.kind = StridedCopyKind::kNone;
  } else if (c.rank == 0 || (c.rank == 1 && c.src_strides[0] == 1 && c.dst_strides[0] == 1)) {
    c.kind = StridedCopyKind::kContiguous;
  } else if (c.rank >= 2 && c.src_strides[last - 1] == 1 && c.dst_strides[last] == 1 &&
             c.src_strides[last] != 1 && c.dims[last - 1] >= 16 && c.dims[last] >= 16) {
    // Narrow tiles would leave most of a block idle; the generic kernel
    // handles those with reads that still mostly share cache lines.
    c.kind = StridedCopyKind::kTiled;
  } else {
    c.kind = StridedCopyKind::kGeneric;
  }
  c.index32 = c.num_elements <= kIndex32Limit && Reach(c, c.src_strides) <= kIndex32Limit &&
              Reach(c, c.dst_strides) <= kIndex32Limit;
}

// Plans a copy of `dims` (element strides on both sides, any length): dims of
// size 1 are dropped and neighbours that are contiguous in both buffers are
// merged. Unimplemented when more than kMaxStridedCopyRank dims remain.
absl::StatusOr<StridedCopy> PlanCopy(int elem_size, absl::Span<const int64_t> dims,
                                     absl::Span<const int64_t> src_strides,
                                     absl::Span<const int64_t> dst_strides) {
  StridedCopy c;
  c.elem_size = elem_size;
  c.num_elements = ProductOf(dims);
  if (c.num_elements > 0) {
    std::vector<std::array<int64_t, 3>> merged;  // (dim, src stride, dst stride)
    for (size_t k = 0; k < dims.size(); ++k) {
      if (dims[k] == 1) continue;
      if (!merged.empty() && merged.back()[1] == src_strides[k] * dims[k] &&
          merged.back()[2] == dst_strides[k] * dims[k]) {
        merged.back() = {merged.back()[0] * dims[k], src_strides[k], dst_strides[k]};
      } else {
        merged.push_back({dims[k], src_strides[k], dst_strides[k]});
      }
    }
    if (merged.size() > static_cast<size_t>(kMaxStridedCopyRank)) {
      return absl::UnimplementedError(absl::StrCat("the copy needs ", merged.size(),
                                                   " strided dimensions; CUDA supports at most ",
                                                   kMaxStridedCopyRank));
    }
    c.rank = static_cast<int32_t>(merged.size());
    for (int k = 0; k < c.rank; ++k) {
      c.dims[k] = merged[k][0];
      c.src_strides[k] = merged[k][1];
      c.dst_strides[k] = merged[k][2];
    }
  }
  Classify(c);
  return c;
}

// `c` moved in words of `width` bytes, when its innermost dim is contiguous
// in both buffers and every stride and offset is a whole number of words.
std::optional<StridedCopy> Widened(const StridedCopy& c, int width, int64_t src_offset_bytes,
                                   int64_t dst_offset_bytes) {
  if (c.kind != StridedCopyKind::kGeneric && c.kind != StridedCopyKind::kTiled) {
    return std::nullopt;
  }
  const int last = c.rank - 1;
  if (width <= c.elem_size || width % c.elem_size != 0 || c.src_strides[last] != 1 ||
      c.dst_strides[last] != 1 || src_offset_bytes % width != 0 || dst_offset_bytes % width != 0) {
    return std::nullopt;
  }
  const int64_t k = width / c.elem_size;
  if (c.dims[last] % k != 0) return std::nullopt;
  for (int d = 0; d < last; ++d) {
    if (c.src_strides[d] % k != 0 || c.dst_strides[d] % k != 0) return std::nullopt;
  }
  StridedCopy w = c;
  w.elem_size = width;
  w.dims[last] /= k;
  w.num_elements /= k;
  for (int d = 0; d < last; ++d) {
    w.src_strides[d] /= k;
    w.dst_strides[d] /= k;
  }
  Classify(w);
  return w;
}

// One planned copy between two buffers, offsets in bytes. `wide` is the same
// copy in the widest words its layout allows (or `narrow` again); Compute
// uses it when both pointers are aligned to it.
struct CopyStep {
  StridedCopy narrow;
  StridedCopy wide;
  int64_t src_offset = 0;
  int64_t dst_offset = 0;
};

CopyStep MakeStep(const StridedCopy& narrow, int64_t src_offset, int64_t dst_offset) {
  CopyStep step{narrow, narrow, src_offset, dst_offset};
  for (int width : {16, 8, 4, 2}) {
    if (std::optional<StridedCopy> w = Widened(narrow, width, src_offset, dst_offset)) {
      step.wide = *w;
      break;
    }
  }
  return step;
}

absl::Status RunStep(const CopyStep& step, const void* src, void* dst, cudaStream_t stream) {
  if (step.narrow.kind == StridedCopyKind::kNone) return absl::OkStatus();
  const char* from = static_cast<const char*>(src) + step.src_offset;
  char* to = static_cast<char*>(dst) + step.dst_offset;
  const int width = step.wide.elem_size;
  const StridedCopy& copy =
      IsAligned(from, width) && IsAligned(to, width) ? step.wide : step.narrow;
  SLUICE_CUDA_RETURN_IF_ERROR(LaunchStridedCopy(copy, from, to, stream));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Views: the output is the input with another shape (kernels/state_kernels.h).

KernelOr MakeView(const KernelInit& init) {
  return std::make_unique<ViewKernel>(init.output_shape(0));
}

// ---------------------------------------------------------------------------
// Single copies from input 0 to output 0.

// What a copy planner sees: the static shapes, the element size and the
// values of the index inputs 1..3 (all known).
struct CopyArgs {
  const Shape& input;
  const Shape& output;
  int elem_size;
  SliceMasks masks;
  std::array<const Tensor*, 3> index;
};

// A planned single copy; `zero_fill` zeroes the output first (padding).
struct CopyPlan {
  CopyStep step;
  bool zero_fill = false;
};

using CopyPlanner = absl::StatusOr<CopyPlan> (*)(const CopyArgs&);

// A copy of `dims` read with `src_strides` from `src_offset` (elements) and
// written row-major to the output.
absl::StatusOr<CopyPlan> DenseOutputPlan(const CopyArgs& a, absl::Span<const int64_t> dims,
                                         absl::Span<const int64_t> src_strides,
                                         int64_t src_offset) {
  const std::vector<int64_t> dst_strides = RowMajorStrides(dims);
  ASSIGN_OR_RETURN(const StridedCopy copy, PlanCopy(a.elem_size, dims, src_strides, dst_strides));
  return CopyPlan{MakeStep(copy, src_offset * a.elem_size, 0), false};
}

absl::StatusOr<CopyPlan> PlanTranspose(const CopyArgs& a) {
  const int rank = a.input.rank();
  std::vector<int64_t> out_dims(rank), source_dims(rank), src_strides(rank);
  RETURN_IF_ERROR(TransposeDims(*a.index[0], a.input, a.output, absl::MakeSpan(out_dims),
                                absl::MakeSpan(source_dims)));
  const std::vector<int64_t> in_strides = RowMajorStrides(a.input.dims());
  for (int i = 0; i < rank; ++i) src_strides[i] = in_strides[source_dims[i]];
  return DenseOutputPlan(a, out_dims, src_strides, 0);
}

absl::StatusOr<CopyPlan> PlanSlice(const CopyArgs& a) {
  const int rank = a.input.rank();
  std::vector<int64_t> starts(rank), out_dims(rank);
  RETURN_IF_ERROR(SliceDims(*a.index[0], *a.index[1], a.input, a.output, absl::MakeSpan(starts),
                            absl::MakeSpan(out_dims)));
  const std::vector<int64_t> in_strides = RowMajorStrides(a.input.dims());
  int64_t src_offset = 0;
  for (int i = 0; i < rank; ++i) src_offset += starts[i] * in_strides[i];
  return DenseOutputPlan(a, out_dims, in_strides, src_offset);
}

// StridedSlice: each input dim's range (kernels/array_params.h) read with
// the input's strides times the step. New and shrunk axes have size 1, so
// the output's elements are those ranges in row-major order.
absl::StatusOr<CopyPlan> PlanStridedSlice(const CopyArgs& a) {
  const int rank = a.input.rank();
  std::vector<SliceRange> ranges(rank);
  RETURN_IF_ERROR(StridedSliceRanges(*a.index[0], *a.index[1], *a.index[2], a.masks, a.input,
                                     a.output, absl::MakeSpan(ranges)));
  const std::vector<int64_t> in_strides = RowMajorStrides(a.input.dims());
  std::vector<int64_t> dims(rank), src_strides(rank);
  const bool empty = a.output.num_elements() == 0;
  int64_t src_offset = 0;
  for (int d = 0; d < rank; ++d) {
    dims[d] = ranges[d].count;
    src_strides[d] = in_strides[d] * ranges[d].step;
    // An empty slice may start outside the input; it reads nothing.
    if (!empty) src_offset += ranges[d].start * in_strides[d];
  }
  return DenseOutputPlan(a, dims, src_strides, src_offset);
}

absl::StatusOr<CopyPlan> PlanPad(const CopyArgs& a) {
  const int rank = a.input.rank();
  std::vector<int64_t> before(rank), out_dims(rank);
  ASSIGN_OR_RETURN(const bool padded, PadDims(*a.index[0], a.input, a.output,
                                              absl::MakeSpan(before), absl::MakeSpan(out_dims)));
  const std::vector<int64_t> in_strides = RowMajorStrides(a.input.dims());
  const std::vector<int64_t> out_strides = RowMajorStrides(out_dims);
  int64_t dst_offset = 0;
  for (int i = 0; i < rank; ++i) dst_offset += before[i] * out_strides[i];
  ASSIGN_OR_RETURN(const StridedCopy copy,
                   PlanCopy(a.elem_size, a.input.dims(), in_strides, out_strides));
  return CopyPlan{MakeStep(copy, 0, dst_offset * a.elem_size), padded};
}

// Tile and BroadcastTo need only the static shapes. Output dim i of a tile
// walks (multiple, input dim) in row-major order.
absl::StatusOr<CopyPlan> PlanTile(const CopyArgs& a) {
  const int rank = a.input.rank();
  if (a.output.rank() != rank) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot tile ", a.input.ToString(), " into ", a.output.ToString()));
  }
  const std::vector<int64_t> in_strides = RowMajorStrides(a.input.dims());
  std::vector<int64_t> dims(2 * rank), src_strides(2 * rank);
  for (int i = 0; i < rank; ++i) {
    const int64_t in = a.input.dim(i);
    const int64_t out = a.output.dim(i);
    if (in == 0 || out == 0) {
      if (out != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot tile ", a.input.ToString(), " into ", a.output.ToString()));
      }
      const std::vector<int64_t> empty = {0};
      return DenseOutputPlan(a, empty, empty, 0);  // nothing to copy
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
  return DenseOutputPlan(a, dims, src_strides, 0);
}

absl::StatusOr<CopyPlan> PlanBroadcastTo(const CopyArgs& a) {
  const int rank = a.output.rank();
  const int offset = rank - a.input.rank();
  if (offset < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot broadcast ", a.input.ToString(), " to ", a.output.ToString()));
  }
  const std::vector<int64_t> in_strides = RowMajorStrides(a.input.dims());
  std::vector<int64_t> src_strides(rank, 0);
  for (int i = offset; i < rank; ++i) {
    const int64_t in = a.input.dim(i - offset);
    const int64_t out = a.output.dim(i);
    if (in != out && in != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot broadcast ", a.input.ToString(), " to ", a.output.ToString()));
    }
    src_strides[i] = in == out ? in_strides[i - offset] : 0;
  }
  return DenseOutputPlan(a, a.output.dims(), src_strides, 0);
}

class CopyKernel final : public OpKernel {
 public:
  CopyKernel(CudaContext* context, CopyPlan plan) : context_(context), plan_(plan) {}

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    if (plan_.zero_fill && out.num_bytes() > 0) {
      SLUICE_CUDA_RETURN_IF_ERROR(
          cudaMemsetAsync(out.raw_data(), 0, out.num_bytes(), context_->stream()));
    }
    return RunStep(plan_.step, ctx.input(0).raw_data(), out.raw_data(), context_->stream());
  }

 private:
  CudaContext* const context_;
  const CopyPlan plan_;
};

// A copy kernel planned by `planner` from the values of the
// `num_index_inputs` inputs after input 0; a copy that keeps every element
// where it is becomes a view.
KernelOr MakeCopy(const KernelInit& init, CopyPlanner planner, int num_index_inputs,
                  SliceMasks masks = {}) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  const Shape& in = init.input_shape(0);
  const Shape& out = init.output_shape(0);
  CopyArgs args{in, out, DTypeSize(init.input_dtype(0)), masks, {}};
  for (int i = 0; i < num_index_inputs; ++i) {
    ASSIGN_OR_RETURN(args.index[i], ConstantInput(init, 1 + i));
  }
  ASSIGN_OR_RETURN(const CopyPlan plan, planner(args));
  if (!plan.zero_fill && plan.step.narrow.kind == StridedCopyKind::kContiguous &&
      plan.step.src_offset == 0 && plan.step.dst_offset == 0 &&
      in.num_elements() == out.num_elements()) {
    return std::make_unique<ViewKernel>(out);
  }
  return std::make_unique<CopyKernel>(context, plan);
}

// ---------------------------------------------------------------------------
// Concat and Split: one 2-D copy per piece, [outer, run] at a column offset
// of the whole.

// The copies between each of `pieces` and `whole`, laid side by side along
// `axis`; into the whole for Concat, out of it for Split.
absl::StatusOr<std::vector<CopyStep>> PlanPieces(const std::vector<Shape>& pieces,
                                                 const Shape& whole, int axis, int elem_size,
                                                 bool into_whole) {
  int64_t offset = 0;
  for (const Shape& piece : pieces) {
    RETURN_IF_ERROR(CheckPieceShape(piece, whole, axis));
    offset += piece.dim(axis);
  }
  if (offset != whole.dim(axis)) {
    return absl::InvalidArgumentError(absl::StrCat("the pieces add up to ", offset,
                                                   " along dimension ", axis,
                                                   ", but the whole has shape ", whole.ToString()));
  }
  const int64_t outer = ProductOf(whole, 0, axis);
  const int64_t whole_run = ProductOf(whole, axis, whole.rank());
  const int64_t inner = ProductOf(whole, axis + 1, whole.rank());
  std::vector<CopyStep> steps;
  offset = 0;
  for (const Shape& piece : pieces) {
    const int64_t run = ProductOf(piece, axis, piece.rank());
    const int64_t dims[2] = {outer, run};
    const int64_t piece_strides[2] = {run, 1};
    const int64_t whole_strides[2] = {whole_run, 1};
    ASSIGN_OR_RETURN(const StridedCopy copy,
                     PlanCopy(elem_size, dims, into_whole ? piece_strides : whole_strides,
                              into_whole ? whole_strides : piece_strides));
    const int64_t whole_offset = offset * inner * elem_size;
    steps.push_back(MakeStep(copy, into_whole ? 0 : whole_offset, into_whole ? whole_offset : 0));
    offset += piece.dim(axis);
  }
  return steps;
}

class ConcatKernel final : public OpKernel {
 public:
  ConcatKernel(CudaContext* context, std::vector<CopyStep> steps)
      : context_(context), steps_(std::move(steps)) {}

  absl::Status Compute(const KernelContext& ctx) override {
    for (size_t i = 0; i < steps_.size(); ++i) {
      RETURN_IF_ERROR(RunStep(steps_[i], ctx.input(static_cast<int>(i) + 1).raw_data(),
                              ctx.output(0).raw_data(), context_->stream()));
    }
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const std::vector<CopyStep> steps_;
};

KernelOr MakeConcat(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  ASSIGN_OR_RETURN(const Tensor* axis_value, ConstantInput(init, 0));
  const Shape& out = init.output_shape(0);
  ASSIGN_OR_RETURN(const int axis, CanonicalAxis(IndexValueAt(*axis_value, 0), out.rank()));
  std::vector<Shape> pieces;
  for (int i = 1; i < init.num_inputs(); ++i) pieces.push_back(init.input_shape(i));
  ASSIGN_OR_RETURN(std::vector<CopyStep> steps,
                   PlanPieces(pieces, out, axis, DTypeSize(init.output_dtype(0)), true));
  return std::make_unique<ConcatKernel>(context, std::move(steps));
}

class SplitKernel final : public OpKernel {
 public:
  SplitKernel(CudaContext* context, std::vector<CopyStep> steps)
      : context_(context), steps_(std::move(steps)) {}

  absl::Status Compute(const KernelContext& ctx) override {
    for (size_t i = 0; i < steps_.size(); ++i) {
      RETURN_IF_ERROR(RunStep(steps_[i], ctx.input(1).raw_data(),
                              ctx.output(static_cast<int>(i)).raw_data(), context_->stream()));
    }
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const std::vector<CopyStep> steps_;
};

KernelOr MakeSplit(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  ASSIGN_OR_RETURN(const Tensor* axis_value, ConstantInput(init, 0));
  const Shape& in = init.input_shape(1);
  ASSIGN_OR_RETURN(const int axis, CanonicalAxis(IndexValueAt(*axis_value, 0), in.rank()));
  std::vector<Shape> pieces;
  for (int i = 0; i < init.node.num_outputs(); ++i) pieces.push_back(init.output_shape(i));
  ASSIGN_OR_RETURN(std::vector<CopyStep> steps,
                   PlanPieces(pieces, in, axis, DTypeSize(init.input_dtype(1)), false));
  return std::make_unique<SplitKernel>(context, std::move(steps));
}

// ---------------------------------------------------------------------------
// Gather (GatherV2): params [batch, outer, n, inner] and indices [batch, m]
// give output [batch, outer, m, inner].

IndexType IndexTypeOf(DType dtype) {
  switch (dtype) {
    case DType::kU8:
      return IndexType::kU8;
    case DType::kI32:
      return IndexType::kI32;
    default:
      return IndexType::kI64;
  }
}

class GatherKernel final : public OpKernel {
 public:
  // `width`: the widest word (>= elem_size) that divides a row of `inner`
  // elements; used when the pointers are aligned to it.
  GatherKernel(CudaContext* context, GatherLayout layout, IndexType index_type, int elem_size,
               int width)
      : context_(context),
        layout_(layout),
        index_type_(index_type),
        elem_size_(elem_size),
        width_(width) {}

  absl::Status Compute(const KernelContext& ctx) override {
    const void* params = ctx.input(0).raw_data();
    void* out = ctx.output(0).raw_data();
    const int width = IsAligned(params, width_) && IsAligned(out, width_) ? width_ : elem_size_;
    const GatherLayout& g = layout_;
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchGather(params, ctx.input(1).raw_data(), index_type_, out,
                                             g.batch, g.outer, g.n, g.inner * elem_size_ / width,
                                             g.m, width, context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const GatherLayout layout_;
  const IndexType index_type_;
  const int elem_size_;
  const int width_;
};

KernelOr MakeGather(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  ASSIGN_OR_RETURN(const Tensor* axis, ConstantInput(init, 2));
  const Shape& params = init.input_shape(0);
  const Shape& indices = init.input_shape(1);
  ASSIGN_OR_RETURN(const GatherLayout layout, PlanGather(params, indices, IndexValueAt(*axis, 0),
                                                         init.attr("batch_dims").i()));
  if (layout.batch * layout.outer * layout.m * layout.inner !=
      init.output_shape(0).num_elements()) {
    return absl::InvalidArgumentError(
        absl::StrCat("gathering from ", params.ToString(), " with indices ", indices.ToString(),
                     " does not give the output shape ", init.output_shape(0).ToString()));
  }
  const int elem_size = DTypeSize(init.input_dtype(0));
  const int64_t row_bytes = layout.inner * elem_size;
  int width = elem_size;
  for (int w : {8, 4, 2}) {
    if (w > elem_size && row_bytes % w == 0) {
      width = w;
      break;
    }
  }
  return std::make_unique<GatherKernel>(context, layout, IndexTypeOf(init.input_dtype(1)),
                                        elem_size, width);
}

// ---------------------------------------------------------------------------
// OneHot: output [outer, depth, inner] from indices [outer, inner]; indices
// outside [0, depth) give a row of off_value. on/off are device scalars.

class OneHotKernel final : public OpKernel {
 public:
  OneHotKernel(CudaContext* context, IndexType index_type, int64_t outer, int64_t depth,
               int64_t inner, int elem_size)
      : context_(context),
        index_type_(index_type),
        outer_(outer),
        depth_(depth),
        inner_(inner),
        elem_size_(elem_size) {}

  absl::Status Compute(const KernelContext& ctx) override {
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchOneHot(
        ctx.input(0).raw_data(), index_type_, ctx.output(0).raw_data(), outer_, depth_, inner_,
        ctx.input(2).raw_data(), ctx.input(3).raw_data(), elem_size_, context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const IndexType index_type_;
  const int64_t outer_, depth_, inner_;
  const int elem_size_;
};

KernelOr MakeOneHot(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  const Shape& indices = init.input_shape(0);
  const int64_t axis_attr = init.attr("axis").i();
  if (axis_attr < -1 || axis_attr > indices.rank()) {
    return absl::InvalidArgumentError(
        absl::StrCat("axis ", axis_attr, " is out of range for indices ", indices.ToString()));
  }
  const int axis = axis_attr == -1 ? indices.rank() : static_cast<int>(axis_attr);
  return std::make_unique<OneHotKernel>(context, IndexTypeOf(init.input_dtype(0)),
                                        ProductOf(indices, 0, axis), init.output_shape(0).dim(axis),
                                        ProductOf(indices, axis, indices.rank()),
                                        DTypeSize(init.output_dtype(0)));
}

// ---------------------------------------------------------------------------
// Fill, ZerosLike, OnesLike.

// Fills the output with the device scalar input 1 (Fill), or with `bits`
// (OnesLike) when `from_input` is false.
class FillKernel final : public OpKernel {
 public:
  FillKernel(CudaContext* context, bool from_input, uint64_t bits)
      : context_(context), from_input_(from_input), bits_(bits) {}
  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    const void* value = from_input_ ? ctx.input(1).raw_data() : nullptr;
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchFill(out.raw_data(), out.num_elements(),
                                           DTypeSize(out.dtype()), value, bits_,
                                           context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const bool from_input_;
  const uint64_t bits_;
};

// Every dtype's zero is all zero bits.
class ZerosKernel final : public OpKernel {
 public:
  explicit ZerosKernel(CudaContext* context) : context_(context) {}
  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    if (out.num_bytes() == 0) return absl::OkStatus();
    SLUICE_CUDA_RETURN_IF_ERROR(
        cudaMemsetAsync(out.raw_data(), 0, out.num_bytes(), context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
};

// The bits of 1 in `dtype`, in the low DTypeSize(dtype) bytes.
uint64_t BitsOfOne(DType dtype) {
  const Tensor one = VisitDType(dtype, [&]<typename T>() {
    if constexpr (std::is_same_v<T, Half>) {
      return Tensor::Scalar(FloatToHalf(1.0f));
    } else if constexpr (std::is_same_v<T, BFloat16>) {
      return Tensor::Scalar(FloatToBFloat16(1.0f));
    } else {
      return Tensor::Scalar(static_cast<T>(1));
    }
  });
  uint64_t bits = 0;
  std::memcpy(&bits, one.raw_data(), one.num_bytes());
  return bits;
}

// ---------------------------------------------------------------------------
// Range and UnsortedSegmentSum (the gradient helpers of cpu/array_grad.cc).

class RangeKernel final : public OpKernel {
 public:
  RangeKernel(CudaContext* context, RangeType type, int64_t int_start, int64_t int_delta,
              double float_start, double float_delta)
      : context_(context),
        type_(type),
        int_start_(int_start),
        int_delta_(int_delta),
        float_start_(float_start),
        float_delta_(float_delta) {}

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    if (type_ == RangeType::kI32 || type_ == RangeType::kI64) {
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchIntRange(type_, out.raw_data(), out.num_elements(),
                                                 int_start_, int_delta_, context_->stream()));
    } else {
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchFloatRange(type_, out.raw_data(), out.num_elements(),
                                                   float_start_, float_delta_, context_->stream()));
    }
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const RangeType type_;
  const int64_t int_start_, int_delta_;
  const double float_start_, float_delta_;
};

KernelOr MakeRange(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  ASSIGN_OR_RETURN(const Tensor* start, ConstantInput(init, 0));
  RETURN_IF_ERROR(ConstantInput(init, 1).status());
  ASSIGN_OR_RETURN(const Tensor* delta, ConstantInput(init, 2));
  switch (init.output_dtype(0)) {
    case DType::kI32:
    case DType::kI64:
      return std::make_unique<RangeKernel>(
          context, init.output_dtype(0) == DType::kI32 ? RangeType::kI32 : RangeType::kI64,
          IndexValueAt(*start, 0), IndexValueAt(*delta, 0), 0.0, 0.0);
    case DType::kF32:
    case DType::kF64:
      // Exact for both: an f32 widens to f64 without rounding.
      return std::make_unique<RangeKernel>(
          context, init.output_dtype(0) == DType::kF32 ? RangeType::kF32 : RangeType::kF64, 0, 0,
          start->ElementAsDouble(0), delta->ElementAsDouble(0));
    default:
      return absl::UnimplementedError(
          absl::StrCat("Range on CUDA does not support ", DTypeName(init.output_dtype(0))));
  }
}

class UnsortedSegmentSumKernel final : public OpKernel {
 public:
  UnsortedSegmentSumKernel(CudaContext* context, SegmentSumType type, IndexType index_type,
                           int64_t num_ids, int64_t inner)
      : context_(context), type_(type), index_type_(index_type), num_ids_(num_ids), inner_(inner) {}

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    if (out.num_bytes() == 0) return absl::OkStatus();
    SLUICE_CUDA_RETURN_IF_ERROR(
        cudaMemsetAsync(out.raw_data(), 0, out.num_bytes(), context_->stream()));
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchUnsortedSegmentSum(
        type_, ctx.input(0).raw_data(), ctx.input(1).raw_data(), index_type_, out.raw_data(),
        num_ids_, inner_, out.shape().dim(0), context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const SegmentSumType type_;
  const IndexType index_type_;
  const int64_t num_ids_, inner_;
};

KernelOr MakeUnsortedSegmentSum(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  SegmentSumType type;
  switch (init.output_dtype(0)) {
    case DType::kF32:
      type = SegmentSumType::kF32;
      break;
    case DType::kF64:
      type = SegmentSumType::kF64;
      break;
    case DType::kI32:
      type = SegmentSumType::kI32;
      break;
    case DType::kI64:
      type = SegmentSumType::kI64;
      break;
    default:
      return absl::UnimplementedError(absl::StrCat("UnsortedSegmentSum on CUDA does not support ",
                                                   DTypeName(init.output_dtype(0))));
  }
  const Shape& out = init.output_shape(0);
  if (out.rank() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("UnsortedSegmentSum needs an output of rank >= 1, got ", out.ToString()));
  }
  const int64_t num_ids = init.input_shape(1).num_elements();
  const int64_t inner = num_ids == 0 ? 0 : init.input_shape(0).num_elements() / num_ids;
  return std::make_unique<UnsortedSegmentSumKernel>(context, type, IndexTypeOf(init.input_dtype(1)),
                                                    num_ids, inner);
}

}  // namespace

void RegisterArrayKernels(KernelRegistry& r) {
  const DeviceType cuda = DeviceType::kCuda;
  for (const char* op : {"Reshape", "Squeeze", "ExpandDims"}) r.Register(op, cuda, kAll, MakeView);
  r.Register("Transpose", cuda, kAll,
             [](const KernelInit& init) { return MakeCopy(init, PlanTranspose, 1); });
  r.Register("Slice", cuda, kAll,
             [](const KernelInit& init) { return MakeCopy(init, PlanSlice, 2); });
  r.Register("StridedSlice", cuda, kAll, [](const KernelInit& init) {
    return MakeCopy(init, PlanStridedSlice, 3, SliceMasksOf(init));
  });
  r.Register("Pad", cuda, kAll, [](const KernelInit& init) { return MakeCopy(init, PlanPad, 1); });
  r.Register("Tile", cuda, kAll,
             [](const KernelInit& init) { return MakeCopy(init, PlanTile, 0); });
  r.Register("BroadcastTo", cuda, kAll,
             [](const KernelInit& init) { return MakeCopy(init, PlanBroadcastTo, 0); });
  r.Register("Concat", cuda, kAll, MakeConcat);
  r.Register("Split", cuda, kAll, MakeSplit);
  r.Register("Gather", cuda, kAll, MakeGather);
  r.Register("OneHot", cuda, kAll, MakeOneHot);
  r.Register("Fill", cuda, kAll, [](const KernelInit& init) -> KernelOr {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    return std::make_unique<FillKernel>(context, true, 0);
  });
  r.Register("ZerosLike", cuda, kAll, [](const KernelInit& init) -> KernelOr {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    return std::make_unique<ZerosKernel>(context);
  });
  r.Register("OnesLike", cuda, kAll, [](const KernelInit& init) -> KernelOr {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    return std::make_unique<FillKernel>(context, false, BitsOfOne(init.output_dtype(0)));
  });
  r.Register("Range", cuda, {DType::kI32, DType::kI64, DType::kF32, DType::kF64}, MakeRange);
  r.Register("UnsortedSegmentSum", cuda, {DType::kF32, DType::kF64, DType::kI32, DType::kI64},
             MakeUnsortedSegmentSum);
  // The copies are planned from these inputs when the kernel is created;
  // where one is only known at run time, the op stays on the CPU.
  r.SetConstraint("Transpose", cuda, InputsKnownWhileCompiling(1, 1));
  r.SetConstraint("Slice", cuda, InputsKnownWhileCompiling(1, 2));
  r.SetConstraint("StridedSlice", cuda, InputsKnownWhileCompiling(1, 3));
  r.SetConstraint("Pad", cuda, InputsKnownWhileCompiling(1, 1));
  r.SetConstraint("Concat", cuda, InputsKnownWhileCompiling(0, 0));
  r.SetConstraint("Split", cuda, InputsKnownWhileCompiling(0, 0));
  r.SetConstraint("Gather", cuda, InputsKnownWhileCompiling(2, 2));
  r.SetConstraint("Range", cuda, InputsKnownWhileCompiling(0, 2));
}

}  // namespace sluice::cuda
