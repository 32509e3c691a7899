// CUDA kernels of the training family: the optimizer apply ops and the
// softmax cross-entropy losses (device code in cuda/training_*.cu).
//
// An apply kernel updates its variable and slots where the variable store
// keeps them, in device memory, exactly as the CPU kernels update theirs in
// host memory; the hyper-parameters stay on the device and are read by the
// launched kernel. The output is the variable itself.
#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cuda/cuda_kernel_util.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_status.h"
#include "cuda/training_launch.h"
#include "graph/status_macros.h"
#include "kernels/cross_entropy_params.h"
#include "kernels/kernel_registry.h"
#include "kernels/shape_checks.h"
#include "kernels/training_checks.h"
#include "kernels/variable_store.h"

namespace sluice::cuda {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

const std::vector<DType> kFloat = {DType::kF32, DType::kF64};

absl::StatusOr<TrainingType> TrainingTypeOf(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return TrainingType::kF32;
    case DType::kF64:
      return TrainingType::kF64;
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("no CUDA kernel for ", DTypeName(dtype)));
}

// ---------------------------------------------------------------------------
// Apply ops.

// What every apply kernel shares: the slots of its variable (input 0) and
// optimizer slots (inputs 1..), the checks before an update, the locking and
// yielding the variable. The update locks (kernels/training_checks.h) are
// held while the update is queued: launches on the one stream then run in
// the order the locks were taken.
class ApplyKernel : public OpKernel {
 public:
  static constexpr size_t kMaxRefs = 3;

  // `refs` are the slots of inputs 0 .. refs.size()-1; `grad_input` is the
  // gradient's input index.
  ApplyKernel(CudaContext* context, TrainingType type, std::vector<VariableSlot*> refs,
              int grad_input, bool use_locking)
      : context_(context),
        type_(type),
        refs_(std::move(refs)),
        mutexes_(SortedUpdateMutexes(refs_)),
        grad_input_(grad_input),
        use_locking_(use_locking) {}

  absl::Status Compute(const KernelContext& ctx) final {
    UpdateLocks locks(mutexes_, use_locking_);
    const Tensor& grad = ctx.input(grad_input_);
    std::array<void*, kMaxRefs> data{};
    for (size_t k = 0; k < refs_.size(); ++k) {
      ASSIGN_OR_RETURN(data[k], UpdateBuffer(*refs_[k], grad.shape()));
    }
    SLUICE_CUDA_RETURN_IF_ERROR(
        Launch(ctx, data.data(), grad.raw_data(), grad.num_elements(), context_->stream()));
    ctx.output(0) = refs_[0]->value();
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }

 protected:
  // Queues the update of the n elements of the variable and slots `refs`
  // (device pointers, in input order) from `grad` and the scalar inputs of
  // `ctx`.
  virtual cudaError_t Launch(const KernelContext& ctx, void* const* refs, const void* grad,
                             int64_t n, cudaStream_t stream) const = 0;

  TrainingType type() const { return type_; }

 private:
  CudaContext* const context_;
  const TrainingType type_;
  const std::vector<VariableSlot*> refs_;
  const std::vector<std::mutex*> mutexes_;
  const int grad_input_;
  const bool use_locking_;
};

// ApplyGradientDescent(var, alpha, delta).
class ApplyGradientDescentKernel final : public ApplyKernel {
 public:
  ApplyGradientDescentKernel(CudaContext* context, TrainingType type,
                             std::vector<VariableSlot*> refs, bool use_locking)
      : ApplyKernel(context, type, std::move(refs), 2, use_locking) {}

 protected:
  cudaError_t Launch(const KernelContext& ctx, void* const* refs, const void* grad, int64_t n,
                     cudaStream_t stream) const override {
    return LaunchApplyGradientDescent(type(), refs[0], ctx.input(1).raw_data(), grad, n, stream);
  }
};

// ApplyMomentum(var, accum, lr, grad, momentum).
class ApplyMomentumKernel final : public ApplyKernel {
 public:
  ApplyMomentumKernel(CudaContext* context, TrainingType type, std::vector<VariableSlot*> refs,
                      bool use_locking, bool nesterov)
      : ApplyKernel(context, type, std::move(refs), 3, use_locking), nesterov_(nesterov) {}

 protected:
  cudaError_t Launch(const KernelContext& ctx, void* const* refs, const void* grad, int64_t n,
                     cudaStream_t stream) const override {
    return LaunchApplyMomentum(type(), refs[0], refs[1], ctx.input(2).raw_data(), grad,
                               ctx.input(4).raw_data(), nesterov_, n, stream);
  }

 private:
  const bool nesterov_;
};

// ApplyAdam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon,
// grad).
class ApplyAdamKernel final : public ApplyKernel {
 public:
  ApplyAdamKernel(CudaContext* context, TrainingType type, std::vector<VariableSlot*> refs,
                  bool use_locking, bool nesterov)
      : ApplyKernel(context, type, std::move(refs), 9, use_locking), nesterov_(nesterov) {}

 protected:
  cudaError_t Launch(const KernelContext& ctx, void* const* refs, const void* grad, int64_t n,
                     cudaStream_t stream) const override {
    const AdamScalars scalars{ctx.input(3).raw_data(), ctx.input(4).raw_data(),
                              ctx.input(5).raw_data(), ctx.input(6).raw_data(),
                              ctx.input(7).raw_data(), ctx.input(8).raw_data()};
    return LaunchApplyAdam(type(), refs[0], refs[1], refs[2], scalars, grad, nesterov_, n, stream);
  }

 private:
  const bool nesterov_;
};

// ApplyRMSProp(var, ms, mom, lr, rho, momentum, epsilon, grad).
class ApplyRMSPropKernel final : public ApplyKernel {
 public:
  ApplyRMSPropKernel(CudaContext* context, TrainingType type, std::vector<VariableSlot*> refs,
                     bool use_locking)
      : ApplyKernel(context, type, std::move(refs), 7, use_locking) {}

 protected:
  cudaError_t Launch(const KernelContext& ctx, void* const* refs, const void* grad, int64_t n,
                     cudaStream_t stream) const override {
    return LaunchApplyRMSProp(type(), refs[0], refs[1], refs[2], ctx.input(3).raw_data(),
                              ctx.input(4).raw_data(), ctx.input(5).raw_data(),
                              ctx.input(6).raw_data(), grad, n, stream);
  }
};

// ApplyAdagrad(var, accum, lr, grad).
class ApplyAdagradKernel final : public ApplyKernel {
 public:
  ApplyAdagradKernel(CudaContext* context, TrainingType type, std::vector<VariableSlot*> refs,
                     bool use_locking, bool update_slots)
      : ApplyKernel(context, type, std::move(refs), 3, use_locking), update_slots_(update_slots) {}

 protected:
  cudaError_t Launch(const KernelContext& ctx, void* const* refs, const void* grad, int64_t n,
                     cudaStream_t stream) const override {
    return LaunchApplyAdagrad(type(), refs[0], refs[1], ctx.input(2).raw_data(), grad,
                              update_slots_, n, stream);
  }

 private:
  const bool update_slots_;
};

// What every apply factory needs: the context, the element type and the
// variable store slots of ref inputs 0 .. num_refs-1, bound to this device
// (kernels/training_checks.h, with the CPU's checks).
struct ApplySetup {
  CudaContext* context;
  TrainingType type;
  std::vector<VariableSlot*> refs;
  bool use_locking;
};

absl::StatusOr<ApplySetup> SetUpApply(const KernelInit& init, int num_refs) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  ASSIGN_OR_RETURN(const TrainingType type, TrainingTypeOf(init.attr("T").dtype()));
  ASSIGN_OR_RETURN(std::vector<VariableSlot*> refs, ApplyVariableSlots(init, num_refs, context));
  return ApplySetup{context, type, std::move(refs), init.attr("use_locking").b()};
}

KernelOr MakeGradientDescent(const KernelInit& init) {
  ASSIGN_OR_RETURN(ApplySetup s, SetUpApply(init, 1));
  return std::make_unique<ApplyGradientDescentKernel>(s.context, s.type, std::move(s.refs),
                                                      s.use_locking);
}

KernelOr MakeMomentum(const KernelInit& init) {
  ASSIGN_OR_RETURN(ApplySetup s, SetUpApply(init, 2));
  return std::make_unique<ApplyMomentumKernel>(s.context, s.type, std::move(s.refs), s.use_locking,
                                               init.attr("use_nesterov").b());
}

KernelOr MakeAdam(const KernelInit& init) {
  ASSIGN_OR_RETURN(ApplySetup s, SetUpApply(init, 3));
  return std::make_unique<ApplyAdamKernel>(s.context, s.type, std::move(s.refs), s.use_locking,
                                           init.attr("use_nesterov").b());
}

KernelOr MakeRMSProp(const KernelInit& init) {
  ASSIGN_OR_RETURN(ApplySetup s, SetUpApply(init, 3));
  return std::make_unique<ApplyRMSPropKernel>(s.context, s.type, std::move(s.refs), s.use_locking);
}

KernelOr MakeAdagrad(const KernelInit& init) {
  ASSIGN_OR_RETURN(ApplySetup s, SetUpApply(init, 2));
  return std::make_unique<ApplyAdagradKernel>(s.context, s.type, std::move(s.refs), s.use_locking,
                                              init.attr("update_slots").b());
}

// ---------------------------------------------------------------------------
// Losses.

// SoftmaxCrossEntropyWithLogits(features [B,C], labels [B,C]) -> loss [B],
// backprop [B,C].
class SoftmaxCrossEntropyKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    ASSIGN_OR_RETURN(const TrainingType type, TrainingTypeOf(init.input_dtype(0)));
    ASSIGN_OR_RETURN(const CrossEntropyShape shape, SoftmaxCrossEntropyShape(init));
    return std::unique_ptr<OpKernel>(
        new SoftmaxCrossEntropyKernel(context, type, shape.rows, shape.cols));
  }

  absl::Status Compute(const KernelContext& ctx) override {
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchSoftmaxCrossEntropy(
        type_, ctx.input(0).raw_data(), ctx.input(1).raw_data(), ctx.output(0).raw_data(),
        ctx.output(1).raw_data(), rows_, cols_, context_->stream()));
    return absl::OkStatus();
  }

 private:
  SoftmaxCrossEntropyKernel(CudaContext* context, TrainingType type, int64_t rows, int64_t cols)
      : context_(context), type_(type), rows_(rows), cols_(cols) {}
  CudaContext* const context_;
  const TrainingType type_;
  const int64_t rows_, cols_;
};

// SparseSoftmaxCrossEntropyWithLogits(features [B,C], labels [B] i32/i64)
// -> loss [B], backprop [B,C]. The labels are in device memory and are not
// read on the host: where the CPU kernel fails on a label outside [0, C),
// this one gives that row a NaN loss and a NaN backprop row.
class SparseSoftmaxCrossEntropyKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    ASSIGN_OR_RETURN(const TrainingType type, TrainingTypeOf(init.input_dtype(0)));
    ASSIGN_OR_RETURN(const CrossEntropyShape shape, SparseSoftmaxCrossEntropyShape(init));
    return std::unique_ptr<OpKernel>(new SparseSoftmaxCrossEntropyKernel(
        context, type, shape.rows, shape.cols, shape.wide_labels));
  }

  absl::Status Compute(const KernelContext& ctx) override {
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchSparseSoftmaxCrossEntropy(
        type_, wide_labels_, ctx.input(0).raw_data(), ctx.input(1).raw_data(),
        ctx.output(0).raw_data(), ctx.output(1).raw_data(), rows_, cols_, context_->stream()));
    return absl::OkStatus();
  }

 private:
  SparseSoftmaxCrossEntropyKernel(CudaContext* context, TrainingType type, int64_t rows,
                                  int64_t cols, bool wide_labels)
      : context_(context), type_(type), rows_(rows), cols_(cols), wide_labels_(wide_labels) {}
  CudaContext* const context_;
  const TrainingType type_;
  const int64_t rows_, cols_;
  const bool wide_labels_;
};

}  // namespace

void RegisterTrainingKernels(KernelRegistry& r) {
  r.Register("ApplyGradientDescent", DeviceType::kCuda, kFloat, MakeGradientDescent);
  r.Register("ApplyMomentum", DeviceType::kCuda, kFloat, MakeMomentum);
  r.Register("ApplyAdam", DeviceType::kCuda, kFloat, MakeAdam);
  r.Register("ApplyRMSProp", DeviceType::kCuda, kFloat, MakeRMSProp);
  r.Register("ApplyAdagrad", DeviceType::kCuda, kFloat, MakeAdagrad);
  r.Register("SoftmaxCrossEntropyWithLogits", DeviceType::kCuda, kFloat,
             SoftmaxCrossEntropyKernel::Create);
  r.Register("SparseSoftmaxCrossEntropyWithLogits", DeviceType::kCuda, kFloat,
             SparseSoftmaxCrossEntropyKernel::Create);
}

}  // namespace sluice::cuda
