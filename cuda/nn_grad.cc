// CUDA kernels of the nn_grad family: Conv2DBackpropInput and
// Conv2DBackpropFilter (cuDNN, see CudnnConv in cuda/cudnn_util.h),
// MaxPoolGrad and AvgPoolGrad (own kernels, cuda/nn_pool.cu) and
// FusedBatchNormGrad (cuDNN in training; with fixed statistics, an own
// kernel). The activation gradients and BiasAddGrad belong to other
// families.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cuda/cuda_kernel_util.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_status.h"
#include "cuda/cudnn_util.h"
#include "cuda/nn_launch.h"
#include "graph/status_macros.h"
#include "kernels/batch_norm_params.h"
#include "kernels/kernel_registry.h"
#include "kernels/shape_checks.h"

namespace sluice::cuda {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

const std::vector<DType> kFloat16Too = {DType::kF32, DType::kF16, DType::kBF16};

// The sizes input lives in device memory, where Compute cannot read it
// without a synchronising copy, so its value must be a plan-time constant;
// it must name the static shape the output was planned with.
absl::Status CheckConstantSizes(const KernelInit& init, int sizes_input, const Shape& expected) {
  const Tensor* sizes = init.input_value(sizes_input);
  const std::string name = init.node.op_def().inputs()[sizes_input].name;
  if (sizes == nullptr) {
    return absl::UnimplementedError(
        absl::StrCat(name, " must be a constant when the plan is compiled to run on CUDA"));
  }
  return CheckSizesValue(*sizes, expected, name);
}

// ---------------------------------------------------------------------------
// Conv2DBackpropInput(input_sizes, filter, out_backprop) and
// Conv2DBackpropFilter(input, filter_sizes, out_backprop), with Conv2D's
// attrs.

class Conv2DBackpropInputKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    const Shape& input = init.output_shape(0);
    RETURN_IF_ERROR(RequireKnownSizes(init, input, 0));
    RETURN_IF_ERROR(CheckConstantSizes(init, 0, input));
    ASSIGN_OR_RETURN(Window2D w, Conv2DWindow(input, init.input_shape(1), init.node));
    RETURN_IF_ERROR(CheckInputShape(init, 2, w.OutputShape(),
                                    absl::StrCat("Conv2D output for input ", input.ToString(),
                                                 " and filter ", init.input_shape(1).ToString())));
    ASSIGN_OR_RETURN(auto conv,
                     CudnnConv::Create(context, w, init.input_dtype(1), ConvPass::kBackwardData));
    return std::unique_ptr<OpKernel>(new Conv2DBackpropInputKernel(std::move(conv)));
  }

  absl::Status Compute(const KernelContext& ctx) override {
    return conv_->BackwardData(ctx.input(1).raw_data(), ctx.input(2).raw_data(),
                               ctx.output(0).raw_data());
  }

 private:
  explicit Conv2DBackpropInputKernel(std::unique_ptr<CudnnConv> conv) : conv_(std::move(conv)) {}
  const std::unique_ptr<CudnnConv> conv_;
};

class Conv2DBackpropFilterKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    const Shape& filter = init.output_shape(0);
    RETURN_IF_ERROR(RequireKnownSizes(init, filter, 1));
    RETURN_IF_ERROR(CheckConstantSizes(init, 1, filter));
    ASSIGN_OR_RETURN(Window2D w, Conv2DWindow(init.input_shape(0), filter, init.node));
    RETURN_IF_ERROR(
        CheckInputShape(init, 2, w.OutputShape(),
                        absl::StrCat("Conv2D output for input ", init.input_shape(0).ToString(),
                                     " and filter ", filter.ToString())));
    ASSIGN_OR_RETURN(auto conv,
                     CudnnConv::Create(context, w, init.input_dtype(0), ConvPass::kBackwardFilter));
    return std::unique_ptr<OpKernel>(new Conv2DBackpropFilterKernel(std::move(conv)));
  }

  absl::Status Compute(const KernelContext& ctx) override {
    return conv_->BackwardFilter(ctx.input(0).raw_data(), ctx.input(2).raw_data(),
                                 ctx.output(0).raw_data());
  }

 private:
  explicit Conv2DBackpropFilterKernel(std::unique_ptr<CudnnConv> conv) : conv_(std::move(conv)) {}
  const std::unique_ptr<CudnnConv> conv_;
};

// ---------------------------------------------------------------------------
// MaxPoolGrad(orig_input, orig_output, grad) and AvgPoolGrad(orig_input_shape,
// grad), with the pooling attrs. MaxPoolGrad routes each window's gradient
// to the window's first maximum in orig_input, as the CPU kernel does.

class PoolGradKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init, bool max) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    const Shape& input = max ? init.input_shape(0) : init.output_shape(0);
    if (!max) {
      RETURN_IF_ERROR(RequireKnownSizes(init, input, 0));
      RETURN_IF_ERROR(CheckConstantSizes(init, 0, input));
    }
    RETURN_IF_ERROR(CheckOutputShape(init, 0, input));
    ASSIGN_OR_RETURN(Window2D w, Pool2DWindow(input, init.node));
    const std::string origin = absl::StrCat(max ? "MaxPool" : "AvgPool",
                                            " output for an input of shape ", input.ToString());
    if (max) RETURN_IF_ERROR(CheckInputShape(init, 1, w.OutputShape(), origin));
    const int grad_input = max ? 2 : 1;
    RETURN_IF_ERROR(CheckInputShape(init, grad_input, w.OutputShape(), origin));
    ASSIGN_OR_RETURN(NnType type, NnTypeOf(init.input_dtype(grad_input)));
    return std::unique_ptr<OpKernel>(new PoolGradKernel(context, PoolGeometryOf(w), type, max));
  }

  absl::Status Compute(const KernelContext& ctx) override {
    cudaStream_t stream = context_->stream();
    void* dx = ctx.output(0).raw_data();
    if (max_) {
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchMaxPoolGrad(type_, geometry_, ctx.input(0).raw_data(),
                                                    ctx.input(2).raw_data(), dx, stream));
    } else {
      SLUICE_CUDA_RETURN_IF_ERROR(
          LaunchAvgPoolGrad(type_, geometry_, ctx.input(1).raw_data(), dx, stream));
    }
    return absl::OkStatus();
  }

 private:
  PoolGradKernel(CudaContext* context, const PoolGeometry& g, NnType type, bool max)
      : context_(context), geometry_(g), type_(type), max_(max) {}
  CudaContext* const context_;
  const PoolGeometry geometry_;
  const NnType type_;
  const bool max_;
};

// ---------------------------------------------------------------------------
// FusedBatchNormGrad(y_backprop, x, scale, reserve_space_1, reserve_space_2;
// epsilon, data_format, is_training) -> x_backprop, scale_backprop,
// offset_backprop, reserve_space_3 [0], reserve_space_4 [0].
//
// reserve_space_1/2 are FusedBatchNorm's: in training the batch mean and the
// biased batch variance, which cuDNN's backward takes as the saved mean and
// 1 / sqrt(variance + epsilon) (computed into the workspace). With fixed
// statistics (is_training false) the mean and variance are constants, which
// cuDNN's backward cannot express: an own kernel computes
//   dx = dy * scale * inv, dscale = sum(dy * (x - mean)) * inv,
//   doffset = sum(dy), inv = 1 / sqrt(variance + epsilon).

class FusedBatchNormGradKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    ASSIGN_OR_RETURN(const BatchNormParams params, FusedBatchNormGradParams(init));
    const bool nhwc = params.nhwc();
    const int64_t n = params.n, c = params.c, h = params.h, w = params.w;
    std::unique_ptr<FusedBatchNormGradKernel> kernel(new FusedBatchNormGradKernel(context));
    kernel->channels_ = c;
    kernel->outer_ = nhwc ? n * h * w : n;
    kernel->inner_ = nhwc ? 1 : h * w;
    kernel->epsilon_ = params.epsilon;
    kernel->training_ = params.training;
    if (!kernel->training_ || c == 0 || n * h * w == 0) return kernel;
    ASSIGN_OR_RETURN(kernel->x_desc_, MakeTensorDescriptor(nhwc, NnType::kF32, n, c, h, w));
    cudnnTensorDescriptor_t raw = nullptr;
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&raw));
    kernel->stats_desc_.reset(raw);
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnDeriveBNTensorDescriptor(
        kernel->stats_desc_.get(), kernel->x_desc_.get(), CUDNN_BATCHNORM_SPATIAL));
    WorkspaceLayout layout;
    kernel->inv_std_offset_ = layout.Add(c * static_cast<int64_t>(sizeof(float)));
    RETURN_IF_ERROR(context->ReserveWorkspace(layout.bytes()));
    return kernel;
  }

  absl::Status Compute(const KernelContext& ctx) override {
    const int64_t C = channels_;
    if (C == 0) return absl::OkStatus();
    cudaStream_t stream = context_->stream();
    const float* dy = ctx.input(0).data<float>();
    const float* x = ctx.input(1).data<float>();
    const float* scale = ctx.input(2).data<float>();
    const float* mean = ctx.input(3).data<float>();
    const float* variance = ctx.input(4).data<float>();
    float* dx = ctx.output(0).data<float>();
    float* dscale = ctx.output(1).data<float>();
    float* doffset = ctx.output(2).data<float>();
    if (!training_ || outer_ * inner_ == 0) {
      // Also the empty batch in training: both sums are 0, as on the CPU.
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchBatchNormGradInference(
          outer_, C, inner_, dy, x, scale, mean, variance, epsilon_, dx, dscale, doffset, stream));
      return absl::OkStatus();
    }
    auto* inv_std = static_cast<float*>(WorkspaceAt(*context_, inv_std_offset_));
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchInverseStd(C, variance, epsilon_, inv_std, stream));
    const float one = 1.0f, zero = 0.0f;
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnBatchNormalizationBackward(
        context_->cudnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, x_desc_.get(), x,
        x_desc_.get(), dy, x_desc_.get(), dx, stats_desc_.get(), scale, dscale, doffset,
        static_cast<double>(epsilon_), mean, inv_std));
    return absl::OkStatus();
  }

 private:
  explicit FusedBatchNormGradKernel(CudaContext* context) : context_(context) {}
  CudaContext* const context_;
  int64_t channels_ = 0, outer_ = 0, inner_ = 0;
  float epsilon_ = 0;
  bool training_ = false;
  TensorDescriptor x_desc_, stats_desc_;
  int64_t inv_std_offset_ = 0;
};

}  // namespace

void RegisterNnGradKernels(KernelRegistry& registry) {
  registry.Register("Conv2DBackpropInput", DeviceType::kCuda, kFloat16Too,
                    Conv2DBackpropInputKernel::Create);
  registry.Register("Conv2DBackpropFilter", DeviceType::kCuda, kFloat16Too,
                    Conv2DBackpropFilterKernel::Create);
  registry.Register("MaxPoolGrad", DeviceType::kCuda, kFloat16Too,
                    [](const KernelInit& init) { return PoolGradKernel::Create(init, true); });
  registry.Register("AvgPoolGrad", DeviceType::kCuda, kFloat16Too,
                    [](const KernelInit& init) { return PoolGradKernel::Create(init, false); });
  registry.Register("FusedBatchNormGrad", DeviceType::kCuda, {DType::kF32},
                    FusedBatchNormGradKernel::Create);
  // The sizes inputs decide the output's plan when the kernel is created.
  registry.SetConstraint("Conv2DBackpropInput", DeviceType::kCuda, InputsKnownWhileCompiling(0, 0));
  registry.SetConstraint("Conv2DBackpropFilter", DeviceType::kCuda, InputsKnownWhileCompiling(1, 1));
  registry.SetConstraint("AvgPoolGrad", DeviceType::kCuda, InputsKnownWhileCompiling(0, 0));
}

}  // namespace sluice::cuda
