// CUDA kernels of the nn family: Conv2D and _FusedConv2D (cuDNN convolution,
// see CudnnConv in cuda/cudnn_util.h), MaxPool and AvgPool (own kernels,
// cuda/nn_pool.cu), FusedBatchNorm (cuDNN spatial batch norm) and
// Softmax / LogSoftmax (cuDNN softmax). The softmax cross-entropy losses
// stay on the CPU.
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cuda/cuda_kernel_util.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_status.h"
#include "cuda/cudnn_util.h"
#include "cuda/nn_launch.h"
#include "graph/status_macros.h"
#include "kernels/batch_norm_params.h"
#include "kernels/epilogue_params.h"
#include "kernels/kernel_registry.h"

namespace sluice::cuda {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

const std::vector<DType> kFloat16Too = {DType::kF32, DType::kF16, DType::kBF16};

// ---------------------------------------------------------------------------
// Conv2D(input, filter HWIO; strides, padding, explicit_paddings,
// data_format, dilations).

class Conv2DKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    ASSIGN_OR_RETURN(Window2D w, Conv2DWindow(init.input_shape(0), init.input_shape(1), init.node));
    RETURN_IF_ERROR(CheckOutputShape(init, 0, w.OutputShape()));
    ASSIGN_OR_RETURN(auto conv,
                     CudnnConv::Create(context, w, init.input_dtype(0), ConvPass::kForward));
    return std::unique_ptr<OpKernel>(new Conv2DKernel(std::move(conv)));
  }

  absl::Status Compute(const KernelContext& ctx) override {
    return conv_->Forward(ctx.input(0).raw_data(), ctx.input(1).raw_data(),
                          ctx.output(0).raw_data());
  }

 private:
  explicit Conv2DKernel(std::unique_ptr<CudnnConv> conv) : conv_(std::move(conv)) {}
  const std::unique_ptr<CudnnConv> conv_;
};

// ---------------------------------------------------------------------------
// _FusedConv2D(input, filter, bias[, residual]): the convolution, then one
// element-wise pass y = act(y + bias[c] (+ residual)). The epilogue is
// parsed as on every device (kernels/epilogue_params.h).

struct ConvEpilogue {
  bool add = false;
  FusedActivation activation = FusedActivation::kNone;
  float alpha = 0;
};

FusedActivation FusedActivationOf(Activation activation) {
  switch (activation) {
    case Activation::kNone:
      return FusedActivation::kNone;
    case Activation::kRelu:
      return FusedActivation::kRelu;
    case Activation::kRelu6:
      return FusedActivation::kRelu6;
    case Activation::kElu:
      return FusedActivation::kElu;
    case Activation::kSigmoid:
      return FusedActivation::kSigmoid;
    case Activation::kTanh:
      return FusedActivation::kTanh;
    case Activation::kLeakyRelu:
      return FusedActivation::kLeakyRelu;
  }
  return FusedActivation::kNone;
}

absl::StatusOr<ConvEpilogue> ParseConvEpilogue(const KernelInit& init) {
  ASSIGN_OR_RETURN(const Epilogue e, ParseEpilogue(init));
  return ConvEpilogue{e.add, FusedActivationOf(e.activation), e.alpha};
}

class FusedConv2DKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    ASSIGN_OR_RETURN(ConvEpilogue e, ParseConvEpilogue(init));
    ASSIGN_OR_RETURN(Window2D w, Conv2DWindow(init.input_shape(0), init.input_shape(1), init.node));
    if (init.output_shape(0) != w.OutputShape()) {
      return absl::InternalError(absl::StrCat("output shape ", init.output_shape(0).ToString(),
                                              " differs from the convolution's ",
                                              w.OutputShape().ToString()));
    }
    // The epilogue reads bias[c] and the residual element-wise on the
    // device, where a short operand is no error but a stray read.
    const int needed = e.add ? 4 : 3;
    if (init.num_inputs() < needed) {
      return absl::InvalidArgumentError(absl::StrCat("fused_ops need ", needed - 2,
                                                     " extra inputs, got ", init.num_inputs() - 2));
    }
    if (init.input_shape(2).num_elements() != w.out_c) {
      return absl::InvalidArgumentError(absl::StrCat("bias must have ", w.out_c, " elements, got ",
                                                     init.input_shape(2).ToString()));
    }
    if (e.add && init.input_shape(3) != w.OutputShape()) {
      return absl::InvalidArgumentError(absl::StrCat("the residual must have the output's shape ",
                                                     w.OutputShape().ToString(), ", got ",
                                                     init.input_shape(3).ToString()));
    }
    ASSIGN_OR_RETURN(auto conv,
                     CudnnConv::Create(context, w, init.input_dtype(0), ConvPass::kForward));
    return std::unique_ptr<OpKernel>(new FusedConv2DKernel(context, std::move(conv), w, e));
  }

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& y = ctx.output(0);
    if (y.num_elements() == 0) return absl::OkStatus();
    RETURN_IF_ERROR(conv_->Forward(ctx.input(0).raw_data(), ctx.input(1).raw_data(), y.raw_data()));
    const Window2D& w = window_;
    const int64_t spatial = w.out_h * w.out_w;
    const float* residual = epilogue_.add ? ctx.input(3).data<float>() : nullptr;
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchConvEpilogue(
        epilogue_.activation, epilogue_.alpha, w.nhwc() ? w.batch * spatial : w.batch, w.out_c,
        w.nhwc() ? 1 : spatial, ctx.input(2).data<float>(), residual, y.data<float>(),
        context_->stream()));
    return absl::OkStatus();
  }

 private:
  FusedConv2DKernel(CudaContext* context, std::unique_ptr<CudnnConv> conv, const Window2D& w,
                    const ConvEpilogue& e)
      : context_(context), conv_(std::move(conv)), window_(w), epilogue_(e) {}
  CudaContext* const context_;
  const std::unique_ptr<CudnnConv> conv_;
  const Window2D window_;
  const ConvEpilogue epilogue_;
};

// ---------------------------------------------------------------------------
// MaxPool / AvgPool(input; ksize, strides, padding, data_format).

class PoolKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init, bool max) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    ASSIGN_OR_RETURN(Window2D w, Pool2DWindow(init.input_shape(0), init.node));
    RETURN_IF_ERROR(CheckOutputShape(init, 0, w.OutputShape()));
    ASSIGN_OR_RETURN(NnType type, NnTypeOf(init.input_dtype(0)));
    return std::unique_ptr<OpKernel>(new PoolKernel(context, PoolGeometryOf(w), type, max));
  }

  absl::Status Compute(const KernelContext& ctx) override {
    const void* x = ctx.input(0).raw_data();
    void* y = ctx.output(0).raw_data();
    SLUICE_CUDA_RETURN_IF_ERROR(max_ ? LaunchMaxPool(type_, geometry_, x, y, context_->stream())
                                     : LaunchAvgPool(type_, geometry_, x, y, context_->stream()));
    return absl::OkStatus();
  }

 private:
  PoolKernel(CudaContext* context, const PoolGeometry& g, NnType type, bool max)
      : context_(context), geometry_(g), type_(type), max_(max) {}
  CudaContext* const context_;
  const PoolGeometry geometry_;
  const NnType type_;
  const bool max_;
};

// ---------------------------------------------------------------------------
// FusedBatchNorm(x, scale, offset, mean, variance; epsilon,
// exponential_avg_factor, data_format, is_training)
//   -> y, batch_mean, batch_variance, reserve_space_1, reserve_space_2,
// with the CPU kernel's meaning of every output (cpu/nn.cc): in training
// batch_mean / batch_variance are the batch mean and the Bessel-corrected
// variance blended with the inputs by exponential_avg_factor, and the
// reserve spaces hold the batch mean and the biased variance; in inference
// the given mean and variance pass through to all four.
//
// Training runs cuDNN with an averaging factor of 1 into batch_mean and
// batch_variance (so they receive the batch mean and cuDNN's unbiased
// variance), and the saved mean into reserve_space_1; a small kernel then
// derives the biased variance and applies the blend.

class FusedBatchNormKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    ASSIGN_OR_RETURN(const BatchNormParams params, FusedBatchNormParams(init));
    const bool nhwc = params.nhwc();
    const int64_t n = params.n, c = params.c, h = params.h, w = params.w;
    std::unique_ptr<FusedBatchNormKernel> kernel(new FusedBatchNormKernel(context));
    kernel->channels_ = c;
    kernel->count_ = n * h * w;
    kernel->epsilon_ = params.epsilon;
    kernel->factor_ = params.factor;
    kernel->training_ = params.training;
    if (kernel->count_ == 0 || c == 0) return kernel;
    ASSIGN_OR_RETURN(kernel->x_desc_, MakeTensorDescriptor(nhwc, NnType::kF32, n, c, h, w));
    cudnnTensorDescriptor_t raw = nullptr;
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&raw));
    kernel->stats_desc_.reset(raw);
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnDeriveBNTensorDescriptor(
        kernel->stats_desc_.get(), kernel->x_desc_.get(), CUDNN_BATCHNORM_SPATIAL));
    if (kernel->training_) {
      WorkspaceLayout layout;
      kernel->inv_std_offset_ = layout.Add(c * static_cast<int64_t>(sizeof(float)));
      RETURN_IF_ERROR(context->ReserveWorkspace(layout.bytes()));
    }
    return kernel;
  }

  absl::Status Compute(const KernelContext& ctx) override {
    const int64_t C = channels_;
    cudaStream_t stream = context_->stream();
    if (C == 0) return absl::OkStatus();
    if (count_ == 0) {  // as the CPU: statistics of nothing are NaN
      for (int i = 1; i <= 4; ++i) {
        SLUICE_CUDA_RETURN_IF_ERROR(LaunchFillF32(ctx.output(i).data<float>(), C,
                                                  std::numeric_limits<float>::quiet_NaN(), stream));
      }
      return absl::OkStatus();
    }
    const float one = 1.0f, zero = 0.0f;
    const double epsilon = static_cast<double>(epsilon_);
    float* batch_mean = ctx.output(1).data<float>();
    float* batch_variance = ctx.output(2).data<float>();
    float* reserve_mean = ctx.output(3).data<float>();
    float* reserve_variance = ctx.output(4).data<float>();
    const size_t stats_bytes = C * sizeof(float);
    if (!training_) {
      const float* mean = ctx.input(3).data<float>();
      const float* variance = ctx.input(4).data<float>();
      SLUICE_CUDNN_RETURN_IF_ERROR(cudnnBatchNormalizationForwardInference(
          context_->cudnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, x_desc_.get(),
          ctx.input(0).raw_data(), x_desc_.get(), ctx.output(0).raw_data(), stats_desc_.get(),
          ctx.input(1).raw_data(), ctx.input(2).raw_data(), mean, variance, epsilon));
      for (float* out : {batch_mean, reserve_mean}) {
        SLUICE_CUDA_RETURN_IF_ERROR(
            cudaMemcpyAsync(out, mean, stats_bytes, cudaMemcpyDeviceToDevice, stream));
      }
      for (float* out : {batch_variance, reserve_variance}) {
        SLUICE_CUDA_RETURN_IF_ERROR(
            cudaMemcpyAsync(out, variance, stats_bytes, cudaMemcpyDeviceToDevice, stream));
      }
      return absl::OkStatus();
    }
    // With factor 1 cuDNN still reads the running statistics (times 0):
    // start them at zero so stale NaNs cannot leak in.
    SLUICE_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(batch_mean, 0, stats_bytes, stream));
    SLUICE_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(batch_variance, 0, stats_bytes, stream));
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnBatchNormalizationForwardTraining(
        context_->cudnn(), CUDNN_BATCHNORM_SPATIAL, &one, &zero, x_desc_.get(),
        ctx.input(0).raw_data(), x_desc_.get(), ctx.output(0).raw_data(), stats_desc_.get(),
        ctx.input(1).raw_data(), ctx.input(2).raw_data(), 1.0, batch_mean, batch_variance, epsilon,
        reserve_mean, WorkspaceAt(*context_, inv_std_offset_)));
    const bool blend = factor_ != 1.0f;
    SLUICE_CUDA_RETURN_IF_ERROR(
        LaunchFinishBatchNormStats(C, count_, factor_, blend ? ctx.input(3).data<float>() : nullptr,
                                   blend ? ctx.input(4).data<float>() : nullptr, batch_mean,
                                   batch_variance, reserve_variance, stream));
    return absl::OkStatus();
  }

 private:
  explicit FusedBatchNormKernel(CudaContext* context) : context_(context) {}
  CudaContext* const context_;
  int64_t channels_ = 0, count_ = 0;
  float epsilon_ = 0, factor_ = 1;
  bool training_ = false;
  TensorDescriptor x_desc_, stats_desc_;
  int64_t inv_std_offset_ = 0;
};

// ---------------------------------------------------------------------------
// Softmax / LogSoftmax(logits) over the last axis: cuDNN's instance softmax
// over [rows, cols, 1, 1].

class SoftmaxKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init, bool log) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    const Shape& shape = init.input_shape(0);
    if (shape.rank() < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("logits must have rank >= 1, got ", shape.ToString()));
    }
    RETURN_IF_ERROR(CheckOutputShape(init, 0, shape));
    ASSIGN_OR_RETURN(NnType type, NnTypeOf(init.input_dtype(0)));
    const int64_t cols = shape.dim(shape.rank() - 1);
    const int64_t rows = cols == 0 ? 0 : shape.num_elements() / cols;
    std::unique_ptr<SoftmaxKernel> kernel(new SoftmaxKernel(context, log));
    if (rows * cols == 0) return kernel;
    ASSIGN_OR_RETURN(kernel->desc_, MakeTensorDescriptor(false, type, rows, cols, 1, 1));
    return kernel;
  }

  absl::Status Compute(const KernelContext& ctx) override {
    if (desc_ == nullptr) return absl::OkStatus();  // nothing to normalise
    const float one = 1.0f, zero = 0.0f;
    SLUICE_CUDNN_RETURN_IF_ERROR(
        cudnnSoftmaxForward(context_->cudnn(), log_ ? CUDNN_SOFTMAX_LOG : CUDNN_SOFTMAX_ACCURATE,
                            CUDNN_SOFTMAX_MODE_INSTANCE, &one, desc_.get(), ctx.input(0).raw_data(),
                            &zero, desc_.get(), ctx.output(0).raw_data()));
    return absl::OkStatus();
  }

 private:
  SoftmaxKernel(CudaContext* context, bool log) : context_(context), log_(log) {}
  CudaContext* const context_;
  const bool log_;
  TensorDescriptor desc_;
};

}  // namespace

void RegisterNnKernels(KernelRegistry& registry) {
  registry.Register("Conv2D", DeviceType::kCuda, kFloat16Too, Conv2DKernel::Create);
  registry.Register("_FusedConv2D", DeviceType::kCuda, {DType::kF32}, FusedConv2DKernel::Create);
  registry.Register("MaxPool", DeviceType::kCuda, kFloat16Too,
                    [](const KernelInit& init) { return PoolKernel::Create(init, true); });
  registry.Register("AvgPool", DeviceType::kCuda, kFloat16Too,
                    [](const KernelInit& init) { return PoolKernel::Create(init, false); });
  registry.Register("FusedBatchNorm", DeviceType::kCuda, {DType::kF32},
                    FusedBatchNormKernel::Create);
  registry.Register("Softmax", DeviceType::kCuda, kFloat16Too,
                    [](const KernelInit& init) { return SoftmaxKernel::Create(init, false); });
  registry.Register("LogSoftmax", DeviceType::kCuda, kFloat16Too,
                    [](const KernelInit& init) { return SoftmaxKernel::Create(init, true); });
}

}  // namespace sluice::cuda
