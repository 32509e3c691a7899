// Kernels of the array ops that gradients are built from:
// BroadcastGradientArgs, Range, InvertPermutation and UnsortedSegmentSum.
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpu/cpu_kernels.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"

namespace sluice::cpu {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

std::vector<int64_t> IndexValues(const Tensor& t) {
  std::vector<int64_t> values(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) values[i] = IndexValueAt(t, i);
  return values;
}

void StoreIndices(const std::vector<int64_t>& values, Tensor& out) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (out.dtype() == DType::kI64) {
      out.data<int64_t>()[i] = values[i];
    } else {
      out.data<int32_t>()[i] = static_cast<int32_t>(values[i]);
    }
  }
}

// Shapes are known when a plan is compiled, so this usually runs once while
// folding; it stays correct as a run-time step.
class BroadcastGradientArgsKernel final : public OpKernel {
 public:
  absl::Status Compute(const KernelContext& ctx) override {
    ASSIGN_OR_RETURN(BroadcastReductionAxes axes,
                     ComputeBroadcastReductionAxes(IndexValues(ctx.input(0)),
                                                   IndexValues(ctx.input(1))));
    for (int i = 0; i < 2; ++i) {
      const std::vector<int64_t>& r = i == 0 ? axes.r0 : axes.r1;
      if (static_cast<int64_t>(r.size()) != ctx.output(i).num_elements()) {
        return absl::InternalError(absl::StrCat("r", i, " has ", r.size(),
                                                " axes but the plan expected ",
                                                ctx.output(i).num_elements()));
      }
      StoreIndices(r, ctx.output(i));
    }
    return absl::OkStatus();
  }
};

class InvertPermutationKernel final : public OpKernel {
 public:
  absl::Status Compute(const KernelContext& ctx) override {
    const std::vector<int64_t> perm = IndexValues(ctx.input(0));
    const int64_t n = static_cast<int64_t>(perm.size());
    std::vector<int64_t> inverse(perm.size(), -1);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t p = perm[i];
      if (p < 0 || p >= n || inverse[p] != -1) {
        return absl::InvalidArgumentError(
            absl::StrCat("x is not a permutation of 0..", n - 1, ": element ", i, " is ", p));
      }
      inverse[p] = i;
    }
    StoreIndices(inverse, ctx.output(0));
    return absl::OkStatus();
  }
};

template <typename T>
class UnsortedSegmentSumKernel final : public OpKernel {
 public:
  absl::Status Compute(const KernelContext& ctx) override {
    const Tensor& data = ctx.input(0);
    const Tensor& ids = ctx.input(1);
    Tensor& out = ctx.output(0);
    const int64_t segments = out.shape().dim(0);
    const int64_t num_ids = ids.num_elements();
    const int64_t inner = num_ids == 0 ? 0 : data.num_elements() / num_ids;
    T* dst = out.data<T>();
    std::memset(static_cast<void*>(dst), 0, out.num_bytes());
    const T* src = data.data<T>();
    for (int64_t i = 0; i < num_ids; ++i) {
      const int64_t k = IndexValueAt(ids, i);
      if (k < 0 || k >= segments) continue;
      T* row = dst + k * inner;
      const T* in = src + i * inner;
      for (int64_t j = 0; j < inner; ++j) row[j] = static_cast<T>(row[j] + in[j]);
    }
    return absl::OkStatus();
  }
};

template <typename T>
class RangeKernel final : public OpKernel {
 public:
  absl::Status Compute(const KernelContext& ctx) override {
    const T start = ctx.input(0).data<T>()[0];
    const T delta = ctx.input(2).data<T>()[0];
    Tensor& out = ctx.output(0);
    T* dst = out.data<T>();
    for (int64_t i = 0; i < out.num_elements(); ++i) dst[i] = static_cast<T>(start + delta * i);
    return absl::OkStatus();
  }
};

}  // namespace

void RegisterArrayGradKernels(KernelRegistry& r) {
  const std::vector<DType> index_types = {DType::kI32, DType::kI64};
  r.Register("BroadcastGradientArgs", DeviceType::kCpu, index_types,
             [](const KernelInit&) -> KernelOr {
               return std::make_unique<BroadcastGradientArgsKernel>();
             });
  r.Register("Range", DeviceType::kCpu, {DType::kI32, DType::kI64, DType::kF32, DType::kF64},
             [](const KernelInit& init) -> KernelOr {
               switch (init.output_dtype(0)) {
                 case DType::kI32: return std::make_unique<RangeKernel<int32_t>>();
                 case DType::kI64: return std::make_unique<RangeKernel<int64_t>>();
                 case DType::kF32: return std::make_unique<RangeKernel<float>>();
                 default: return std::make_unique<RangeKernel<double>>();
               }
             });
  r.Register("InvertPermutation", DeviceType::kCpu, index_types, [](const KernelInit&) -> KernelOr {
    return std::make_unique<InvertPermutationKernel>();
  });
  r.Register("UnsortedSegmentSum", DeviceType::kCpu,
             {DType::kF32, DType::kF64, DType::kI32, DType::kI64},
             [](const KernelInit& init) -> KernelOr {
               switch (init.output_dtype(0)) {
                 case DType::kF32: return std::make_unique<UnsortedSegmentSumKernel<float>>();
                 case DType::kF64: return std::make_unique<UnsortedSegmentSumKernel<double>>();
                 case DType::kI32: return std::make_unique<UnsortedSegmentSumKernel<int32_t>>();
                 default: return std::make_unique<UnsortedSegmentSumKernel<int64_t>>();
               }
             });
}

}  // namespace sluice::cpu
