// CUDA kernels of the reduction family: Sum, Mean, Max, Min, Prod and
// ArgMax, with the CPU kernels' semantics (cpu/reduction.cc).
//
// The axes must be known when the plan is compiled. The factory collapses
// the input shape as the CPU does (neighbouring dims that are all reduced or
// all kept merge, dims of size 1 vanish) and picks the launch shape once:
// a thread per output element when the innermost dim is kept and there are
// many outputs or few inputs each, otherwise a block per output element,
// split into parts combined in a fixed order when few outputs reduce many
// inputs.
#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cuda/cuda_kernel_util.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_status.h"
#include "cuda/reduction_launch.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"
#include "kernels/reduction_params.h"

namespace sluice::cuda {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

// A thread per output element pays off from this many outputs, or when each
// reduces at most kPerThreadMaxCount inputs.
constexpr int64_t kPerThreadMinOutputs = 4096;
constexpr int64_t kPerThreadMaxCount = 32;
// Split a per-block reduction into parts while there are fewer than
// kTargetBlocks blocks, keeping at least kMinPartCount inputs per part.
constexpr int64_t kTargetBlocks = 2048;
constexpr int64_t kMinPartCount = 4096;
constexpr int64_t kMaxParts = 256;

const std::vector<DType> kNumeric = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16,
                                     DType::kI8,  DType::kU8,  DType::kI32, DType::kI64};

absl::StatusOr<ReduceType> ReduceTypeOf(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return ReduceType::kF32;
    case DType::kF64:
      return ReduceType::kF64;
    case DType::kF16:
      return ReduceType::kF16;
    case DType::kBF16:
      return ReduceType::kBF16;
    case DType::kI8:
      return ReduceType::kI8;
    case DType::kU8:
      return ReduceType::kU8;
    case DType::kI32:
      return ReduceType::kI32;
    case DType::kI64:
      return ReduceType::kI64;
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("no CUDA reduction of ", DTypeName(dtype)));
}

// The collapsed geometry of reducing `in` over `mask`.
absl::StatusOr<ReduceGeometry> PlanGeometry(const Shape& in, uint64_t mask) {
  // Groups in input order: size and whether reduced.
  std::vector<int64_t> dims;
  std::vector<bool> reduced;
  ReduceGeometry g;
  for (int d = 0; d < in.rank(); ++d) {
    const int64_t size = in.dim(d);
    const bool r = (mask >> d) & 1;
    (r ? g.reduce_count : g.out_elements) *= size;
    if (size == 1) continue;
    if (!dims.empty() && reduced.back() == r) {
      dims.back() *= size;
      continue;
    }
    dims.push_back(size);
    reduced.push_back(r);
  }
  int kept_groups = 0;
  for (bool r : reduced) kept_groups += r ? 0 : 1;
  const int reduced_groups = static_cast<int>(reduced.size()) - kept_groups;
  if (kept_groups > kMaxReduceGroups || reduced_groups > kMaxReduceGroups) {
    return absl::UnimplementedError(absl::StrCat("reduction of ", in.ToString(),
                                                 " alternates reduced and kept dims more than ",
                                                 kMaxReduceGroups, " times"));
  }
  // Strides innermost first, then each group goes to its kind's list.
  std::vector<int64_t> strides(dims.size());
  int64_t stride = 1;
  for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= dims[i];
  }
  for (size_t i = 0; i < dims.size(); ++i) {
    ReduceGroups& groups = reduced[i] ? g.reduced : g.kept;
    groups.dims[groups.rank] = dims[i];
    groups.strides[groups.rank] = strides[i];
    ++groups.rank;
  }
  return g;
}

ReduceSchedule PlanSchedule(const ReduceGeometry& g) {
  ReduceSchedule s;
  const bool innermost_kept = g.kept.rank > 0 && g.kept.strides[g.kept.rank - 1] == 1;
  if (innermost_kept &&
      (g.out_elements >= kPerThreadMinOutputs || g.reduce_count <= kPerThreadMaxCount)) {
    s.per_thread = true;
    return s;
  }
  if (g.out_elements > 0 && g.out_elements < kTargetBlocks) {
    const int64_t parts =
        std::min({kTargetBlocks / g.out_elements, g.reduce_count / kMinPartCount, kMaxParts});
    if (parts > 1) {
      s.parts = parts;
      s.chunk = (g.reduce_count + parts - 1) / parts;
    }
  }
  return s;
}

class ReduceKernel final : public OpKernel {
 public:
  ReduceKernel(CudaContext* context, ReduceOp op, ReduceType type, const ReduceGeometry& geometry,
               const ReduceSchedule& schedule)
      : context_(context), op_(op), type_(type), geometry_(geometry), schedule_(schedule) {}

  absl::Status Compute(const KernelContext& ctx) override {
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchReduce(op_, type_, geometry_, schedule_,
                                             ctx.input(0).raw_data(), ctx.output(0).raw_data(),
                                             context_->workspace(), context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const ReduceOp op_;
  const ReduceType type_;
  const ReduceGeometry geometry_;
  const ReduceSchedule schedule_;
};

template <ReduceOp K>
KernelOr MakeReduce(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  const Shape& in = init.input_shape(0);
  RETURN_IF_ERROR(CheckReductionRank(in));
  const Tensor* axes = init.input_value(1);
  if (axes == nullptr) {
    return absl::UnimplementedError(
        "CUDA reductions need the axes when the plan is compiled (a constant input 1)");
  }
  ASSIGN_OR_RETURN(const uint64_t mask, ReductionAxesMask(*axes, in));
  ASSIGN_OR_RETURN(const ReduceGeometry geometry, PlanGeometry(in, mask));
  if (geometry.out_elements != init.output_shape(0).num_elements()) {
    return absl::InternalError(absl::StrCat("reducing ", in.ToString(), " gives ",
                                            geometry.out_elements, " elements, but the output is ",
                                            init.output_shape(0).ToString()));
  }
  ASSIGN_OR_RETURN(const ReduceType type, ReduceTypeOf(init.input_dtype(0)));
  const ReduceSchedule schedule = PlanSchedule(geometry);
  RETURN_IF_ERROR(context->ReserveWorkspace(ReduceWorkspaceBytes(geometry, schedule)));
  return std::make_unique<ReduceKernel>(context, K, type, geometry, schedule);
}

// ---------------------------------------------------------------------------
// ArgMax over one dimension, with x viewed as [outer, n, inner].

class ArgMaxKernel final : public OpKernel {
 public:
  ArgMaxKernel(CudaContext* context, ReduceType type, ArgIndexType index_type, int64_t outer,
               int64_t n, int64_t inner)
      : context_(context),
        type_(type),
        index_type_(index_type),
        outer_(outer),
        n_(n),
        inner_(inner),
        // Long reductions get a block each when their elements are
        // contiguous (inner 1) or too few to fill the device.
        per_block_(n > kPerThreadMaxCount && (inner == 1 || outer * inner < kPerThreadMinOutputs)) {
  }

  absl::Status Compute(const KernelContext& ctx) override {
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchArgMax(type_, index_type_, outer_, n_, inner_, per_block_,
                                             ctx.input(0).raw_data(), ctx.output(0).raw_data(),
                                             context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const ReduceType type_;
  const ArgIndexType index_type_;
  const int64_t outer_, n_, inner_;
  const bool per_block_;
};

KernelOr MakeArgMax(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  const Shape& in = init.input_shape(0);
  const Tensor* dimension = init.input_value(1);
  if (dimension == nullptr) {
    return absl::UnimplementedError(
        "CUDA ArgMax needs the dimension when the plan is compiled (a constant input 1)");
  }
  const int64_t value = IndexValueAt(*dimension, 0);
  const int rank = in.rank();
  if (value < -rank || value >= rank) {
    return absl::InvalidArgumentError(
        absl::StrCat("dimension ", value, " is out of range for input of shape ", in.ToString()));
  }
  const int axis = static_cast<int>(value < 0 ? value + rank : value);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < rank; ++d) {
    if (d < axis) outer *= in.dim(d);
    if (d > axis) inner *= in.dim(d);
  }
  const int64_t n = in.dim(axis);
  if (n == 0 && outer * inner > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("reduction axis ", axis, " is empty in shape ", in.ToString()));
  }
  ASSIGN_OR_RETURN(const ReduceType type, ReduceTypeOf(init.input_dtype(0)));
  const ArgIndexType index_type =
      init.attr("output_type").dtype() == DType::kI32 ? ArgIndexType::kI32 : ArgIndexType::kI64;
  return std::make_unique<ArgMaxKernel>(context, type, index_type, outer, n, inner);
}

}  // namespace

void RegisterReductionKernels(KernelRegistry& registry) {
  registry.Register("Sum", DeviceType::kCuda, kNumeric, MakeReduce<ReduceOp::kSum>);
  registry.Register("Mean", DeviceType::kCuda, kNumeric, MakeReduce<ReduceOp::kMean>);
  registry.Register("Max", DeviceType::kCuda, kNumeric, MakeReduce<ReduceOp::kMax>);
  registry.Register("Min", DeviceType::kCuda, kNumeric, MakeReduce<ReduceOp::kMin>);
  registry.Register("Prod", DeviceType::kCuda, kNumeric, MakeReduce<ReduceOp::kProd>);
  registry.Register("ArgMax", DeviceType::kCuda, kNumeric, MakeArgMax);
  // The reduction is planned from the axes when the kernel is created.
  for (const char* op : {"Sum", "Mean", "Max", "Min", "Prod", "ArgMax"}) {
    registry.SetConstraint(op, DeviceType::kCuda, InputsKnownWhileCompiling(1, 1));
  }
}

}  // namespace sluice::cuda
