// Neural-network kernels: Conv2D, MaxPool, AvgPool, FusedBatchNorm, Softmax,
// LogSoftmax and the two softmax cross-entropy losses.
//
// f32 (and bf16 for conv, pooling and softmax) run on oneDNN primitives
// built in the factory; tensors at or below the thresholds of
// cpu/nn_plain.h, and every f64 tensor, run the plain loops of
// cpu/nn_plain.cc instead. Zero-sized tensors never reach oneDNN (it divides
// by zero on them). The losses are plain loops throughout: they are a single
// pass over the logits.
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpu/cpu_kernels.h"
#include "cpu/nn_plain.h"
#include "cpu/onednn.h"
#include "cpu/parallel.h"
#include "cpu/window.h"
#include "graph/status_macros.h"
#include "kernels/batch_norm_params.h"
#include "kernels/cross_entropy_params.h"
#include "kernels/kernel_registry.h"
#include "kernels/shape_checks.h"

namespace sluice::cpu {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;
using dnnl::algorithm;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;

// bf16 has no plain loops: a factory whose primitive could not be built
// reports why.
absl::Status RequirePrimitive(const ReorderingPrimitive& p, const absl::Status& status, DType dtype,
                              absl::string_view what) {
  if (p.valid() || dtype != DType::kBF16) return absl::OkStatus();
  if (!status.ok()) return status;
  return absl::UnimplementedError(absl::StrCat("no oneDNN ", what, " for bf16 on this CPU"));
}

std::unique_ptr<KernelState> StateOf(const ReorderingPrimitive& p) {
  return p.valid() ? p.NewState() : nullptr;
}

absl::Status RunPrimitive(const ReorderingPrimitive& p, const KernelContext& ctx,
                          std::initializer_list<const void*> ptrs) {
  return p.Run(*static_cast<ReorderingPrimitive::State*>(ctx.state), ptrs);
}

// ---------------------------------------------------------------------------
// Conv2D(input, filter HWIO; strides, padding, explicit_paddings, data_format,
// dilations).

class Conv2DKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(Window2D w, Conv2DWindow(init.input_shape(0), init.input_shape(1), init.node));
    RETURN_IF_ERROR(CheckOutputShape(init, 0, w.OutputShape()));
    const DType dtype = init.input_dtype(0);
    auto kernel = std::unique_ptr<Conv2DKernel>(new Conv2DKernel(w, dtype));
    const int64_t macs = w.output_elements() * w.k_h * w.k_w * w.in_c;
    if (w.output_elements() == 0 || macs == 0 || plain::UsePlain(dtype, macs, plain::kConvMacs)) {
      return kernel;
    }
    absl::Status status = CatchDnnl("Conv2D", [&] {
      const ConvDescs d = MakeConvDescs(w, *DnnlDataType(dtype));
      const DnnlWindow& dw = d.window;
      dnnl::convolution_forward::primitive_desc pd(
          dnnl::convolution_forward::desc(prop_kind::forward_inference,
                                          algorithm::convolution_direct, d.src, d.weights, d.dst,
                                          dw.strides, dw.dilates, dw.pad_l, dw.pad_r),
          UserScratchpad(), CpuEngine());
      auto p = ReorderingPrimitive::Create(pd, {{DNNL_ARG_SRC, d.user_src},
                                                {DNNL_ARG_WEIGHTS, d.user_weights},
                                                {DNNL_ARG_DST, d.user_dst, true}});
      if (p.ok()) kernel->primitive_ = *std::move(p);
    });
    RETURN_IF_ERROR(RequirePrimitive(kernel->primitive_, status, dtype, "Conv2D"));
    return kernel;
  }

  std::unique_ptr<KernelState> CreateState() const override { return StateOf(primitive_); }

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& y = ctx.output(0);
    if (y.num_elements() == 0) return absl::OkStatus();
    if (window_.input_elements() == 0 || ctx.input(1).num_elements() == 0) {
      std::memset(y.raw_data(), 0, y.num_bytes());  // an empty sum
      return absl::OkStatus();
    }
    if (primitive_.valid()) {
      return RunPrimitive(primitive_, ctx,
                          {ctx.input(0).raw_data(), ctx.input(1).raw_data(), y.raw_data()});
    }
    plain::VisitPlain(dtype_, [&]<typename T>() {
      plain::Conv2D(window_, ctx.input(0).data<T>(), ctx.input(1).data<T>(), y.data<T>());
    });
    return absl::OkStatus();
  }

 private:
  Conv2DKernel(const Window2D& w, DType dtype) : window_(w), dtype_(dtype) {}
  const Window2D window_;
  const DType dtype_;
  ReorderingPrimitive primitive_;
};

// ---------------------------------------------------------------------------
// MaxPool / AvgPool(input; ksize, strides, padding, data_format).

class PoolKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init, plain::PoolKind kind) {
    ASSIGN_OR_RETURN(Window2D w, Pool2DWindow(init.input_shape(0), init.node));
    RETURN_IF_ERROR(CheckOutputShape(init, 0, w.OutputShape()));
    const DType dtype = init.input_dtype(0);
    auto kernel = std::unique_ptr<PoolKernel>(new PoolKernel(w, kind, dtype));
    // Integers (max pooling only) always take the plain loops.
    if (w.output_elements() == 0 || IsInteger(dtype) ||
        plain::UsePlain(dtype, plain::PoolWork(w), plain::kPoolWork)) {
      return kernel;
    }
    absl::Status status = CatchDnnl("pooling", [&] {
      const DnnlWindow dw = ToDnnlWindow(w);
      const dnnl::memory::data_type type = *DnnlDataType(dtype);
      const dnnl::memory::desc src(dw.src, type, dw.layout), dst(dw.dst, type, dw.layout);
      dnnl::pooling_forward::primitive_desc pd(
          dnnl::pooling_forward::desc(prop_kind::forward_inference,
                                      kind == plain::PoolKind::kMax
                                          ? algorithm::pooling_max
                                          : algorithm::pooling_avg_exclude_padding,
                                      src, dst, dw.strides, dw.kernel, dw.pad_l, dw.pad_r),
          UserScratchpad(), CpuEngine());
      auto p = ReorderingPrimitive::Create(pd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst, true}});
      if (p.ok()) kernel->primitive_ = *std::move(p);
    });
    RETURN_IF_ERROR(RequirePrimitive(kernel->primitive_, status, dtype, "pooling"));
    return kernel;
  }

  std::unique_ptr<KernelState> CreateState() const override { return StateOf(primitive_); }

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& y = ctx.output(0);
    if (y.num_elements() == 0) return absl::OkStatus();
    if (primitive_.valid()) {
      return RunPrimitive(primitive_, ctx, {ctx.input(0).raw_data(), y.raw_data()});
    }
    VisitDType(dtype_, [&]<typename T>() {
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                    std::is_same_v<T, int8_t> || std::is_same_v<T, uint8_t> ||
                    std::is_same_v<T, int32_t> || std::is_same_v<T, int64_t>) {
        plain::Pool2D(window_, kind_, ctx.input(0).data<T>(), y.data<T>());
      }
    });
    return absl::OkStatus();
  }

 private:
  PoolKernel(const Window2D& w, plain::PoolKind kind, DType dtype)
      : window_(w), kind_(kind), dtype_(dtype) {}
  const Window2D window_;
  const plain::PoolKind kind_;
  const DType dtype_;
  ReorderingPrimitive primitive_;
};

// ---------------------------------------------------------------------------
// FusedBatchNorm(x, scale, offset, mean, variance; epsilon,
// exponential_avg_factor, data_format, is_training)
//   -> y, batch_mean, batch_variance, reserve_space_1, reserve_space_2.
//
// Training normalises with the batch mean and biased batch variance.
// batch_variance is the unbiased (Bessel-corrected, n/(n-1) with n the
// elements per channel) variance; with exponential_avg_factor f != 1 both
// statistics are blended as (1 - f) * input + f * batch. reserve_space_1 and
// reserve_space_2 hold the batch mean and the biased batch variance, which is
// what FusedBatchNormGrad needs. Inference normalises with the given mean
// and variance and passes them through to outputs 1-4. An empty x gives NaN
// statistics, as TensorFlow's CPU kernel does.

class FusedBatchNormKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    const Shape& x = init.input_shape(0);
    ASSIGN_OR_RETURN(const BatchNormParams params, FusedBatchNormParams(init));
    const bool nhwc = params.nhwc();
    const int64_t n = params.n, c = params.c;
    const int64_t spatial = params.h * params.w;
    auto kernel = std::unique_ptr<FusedBatchNormKernel>(new FusedBatchNormKernel());
    kernel->dtype_ = init.input_dtype(0);
    kernel->layout_ =
        nhwc ? plain::ChannelLayout{n * spatial, c, 1} : plain::ChannelLayout{n, c, spatial};
    kernel->epsilon_ = params.epsilon;
    kernel->factor_ = params.factor;
    kernel->training_ = params.training;
    const int64_t elements = n * c * spatial;
    if (elements == 0 || plain::UsePlain(kernel->dtype_, elements, plain::kBatchNormElements)) {
      return kernel;
    }
    // Failure leaves f32 on the plain loops.
    (void)CatchDnnl("FusedBatchNorm", [&] {
      const dnnl::memory::desc data(nhwc ? dnnl::memory::dims{n, c, x.dim(1), x.dim(2)}
                                         : dnnl::memory::dims{n, c, x.dim(2), x.dim(3)},
                                    dnnl::memory::data_type::f32, nhwc ? tag::nhwc : tag::nchw);
      dnnl::normalization_flags flags =
          dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
      if (!kernel->training_) flags = flags | dnnl::normalization_flags::use_global_stats;
      dnnl::batch_normalization_forward::primitive_desc pd(
          dnnl::batch_normalization_forward::desc(
              kernel->training_ ? prop_kind::forward_training : prop_kind::forward_inference, data,
              kernel->epsilon_, flags),
          UserScratchpad(), CpuEngine());
      // Training writes the statistics; inference reads them.
      const bool stats_out = kernel->training_;
      auto p = ReorderingPrimitive::Create(pd, {{DNNL_ARG_SRC, data},
                                                {DNNL_ARG_SCALE, {}},
                                                {DNNL_ARG_SHIFT, {}},
                                                {DNNL_ARG_MEAN, {}, stats_out},
                                                {DNNL_ARG_VARIANCE, {}, stats_out},
                                                {DNNL_ARG_DST, data, true}});
      if (p.ok()) kernel->primitive_ = *std::move(p);
    });
    return kernel;
  }

  std::unique_ptr<KernelState> CreateState() const override { return StateOf(primitive_); }

  absl::Status Compute(const KernelContext& ctx) override {
    plain::VisitPlain(dtype_, [&]<typename T>() { ComputeTyped<T>(ctx); });
    if (primitive_.valid() && layout_.count() > 0 && layout_.channels > 0) {
      // The statistics were prepared above; the primitive does the rest.
      const bool training = training_;
      const void* mean = training ? ctx.output(3).raw_data() : ctx.input(3).raw_data();
      const void* variance = training ? ctx.output(4).raw_data() : ctx.input(4).raw_data();
      RETURN_IF_ERROR(
          RunPrimitive(primitive_, ctx,
                       {ctx.input(0).raw_data(), ctx.input(1).raw_data(), ctx.input(2).raw_data(),
                        mean, variance, ctx.output(0).raw_data()}));
      if (training) plain::VisitPlain(dtype_, [&]<typename T>() { BlendStatistics<T>(ctx); });
    }
    return absl::OkStatus();
  }

 private:
  FusedBatchNormKernel() = default;

  // Everything except the oneDNN call itself.
  template <typename T>
  void ComputeTyped(const KernelContext& ctx) const {
    const int64_t C = layout_.channels;
    T* batch_mean = ctx.output(1).data<T>();
    T* batch_variance = ctx.output(2).data<T>();
    T* saved_mean = ctx.output(3).data<T>();
    T* saved_variance = ctx.output(4).data<T>();
    if (layout_.count() == 0) {
      const T nan = std::numeric_limits<T>::quiet_NaN();
      std::fill(batch_mean, batch_mean + C, nan);
      std::fill(batch_variance, batch_variance + C, nan);
      std::fill(saved_mean, saved_mean + C, nan);
      std::fill(saved_variance, saved_variance + C, nan);
      return;
    }
    const T* x = ctx.input(0).data<T>();
    const T* scale = ctx.input(1).data<T>();
    const T* offset = ctx.input(2).data<T>();
    if (!training_) {
      const T* mean = ctx.input(3).data<T>();
      const T* variance = ctx.input(4).data<T>();
      for (T* out : {batch_mean, saved_mean}) std::copy(mean, mean + C, out);
      for (T* out : {batch_variance, saved_variance}) std::copy(variance, variance + C, out);
      if (!primitive_.valid()) {
        plain::BatchNormApply(layout_, x, scale, offset, mean, variance, epsilon_,
                              ctx.output(0).data<T>());
      }
      return;
    }
    if (primitive_.valid()) return;  // the primitive computes the statistics
    plain::BatchNormStats(layout_, x, saved_mean, saved_variance);
    plain::BatchNormApply(layout_, x, scale, offset, saved_mean, saved_variance, epsilon_,
                          ctx.output(0).data<T>());
    BlendStatistics<T>(ctx);
  }

  // batch_mean / batch_variance from the saved (biased) batch statistics.
  template <typename T>
  void BlendStatistics(const KernelContext& ctx) const {
    const int64_t C = layout_.channels;
    const int64_t count = layout_.count();
    const T bessel = static_cast<T>(count) / static_cast<T>(count > 1 ? count - 1 : 1);
    const T* saved_mean = ctx.output(3).data<T>();
    const T* saved_variance = ctx.output(4).data<T>();
    T* batch_mean = ctx.output(1).data<T>();
    T* batch_variance = ctx.output(2).data<T>();
    if (factor_ == 1.0f) {
      for (int64_t c = 0; c < C; ++c) {
        batch_mean[c] = saved_mean[c];
        batch_variance[c] = saved_variance[c] * bessel;
      }
      return;
    }
    const T f = static_cast<T>(factor_);
    const T* old_mean = ctx.input(3).data<T>();
    const T* old_variance = ctx.input(4).data<T>();
    for (int64_t c = 0; c < C; ++c) {
      batch_mean[c] = (T(1) - f) * old_mean[c] + f * saved_mean[c];
      batch_variance[c] = (T(1) - f) * old_variance[c] + f * bessel * saved_variance[c];
    }
  }

  DType dtype_ = DType::kF32;
  plain::ChannelLayout layout_;
  float epsilon_ = 0;
  float factor_ = 1;
  bool training_ = false;
  ReorderingPrimitive primitive_;
};

// ---------------------------------------------------------------------------
// Softmax / LogSoftmax(logits) over the last axis.

class SoftmaxKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init, bool log) {
    const Shape& shape = init.input_shape(0);
    if (shape.rank() < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("logits must have rank >= 1, got ", shape.ToString()));
    }
    RETURN_IF_ERROR(CheckOutputShape(init, 0, shape));
    const int64_t cols = shape.dim(shape.rank() - 1);
    const int64_t rows = cols == 0 ? 0 : shape.num_elements() / cols;
    const DType dtype = init.input_dtype(0);
    auto kernel = std::unique_ptr<SoftmaxKernel>(new SoftmaxKernel(rows, cols, log, dtype));
    if (rows * cols == 0 || plain::UsePlain(dtype, rows * cols, plain::kSoftmaxElements)) {
      return kernel;
    }
    absl::Status status = CatchDnnl("softmax", [&] {
      const dnnl::memory::desc data({rows, cols}, *DnnlDataType(dtype), tag::ab);
      dnnl::softmax_v2_forward::primitive_desc pd(
          dnnl::softmax_v2_forward::desc(prop_kind::forward_inference,
                                         log ? algorithm::softmax_log : algorithm::softmax_accurate,
                                         data, data, 1),
          UserScratchpad(), CpuEngine());
      auto p = ReorderingPrimitive::Create(pd, {{DNNL_ARG_SRC, data}, {DNNL_ARG_DST, data, true}});
      if (p.ok()) kernel->primitive_ = *std::move(p);
    });
    RETURN_IF_ERROR(RequirePrimitive(kernel->primitive_, status, dtype, "softmax"));
    return kernel;
  }

  std::unique_ptr<KernelState> CreateState() const override { return StateOf(primitive_); }

  absl::Status Compute(const KernelContext& ctx) override {
    if (rows_ * cols_ == 0) return absl::OkStatus();
    if (primitive_.valid()) {
      return RunPrimitive(primitive_, ctx, {ctx.input(0).raw_data(), ctx.output(0).raw_data()});
    }
    plain::VisitPlain(dtype_, [&]<typename T>() {
      plain::Softmax(rows_, cols_, log_, ctx.input(0).data<T>(), ctx.output(0).data<T>());
    });
    return absl::OkStatus();
  }

 private:
  SoftmaxKernel(int64_t rows, int64_t cols, bool log, DType dtype)
      : rows_(rows), cols_(cols), log_(log), dtype_(dtype) {}
  const int64_t rows_, cols_;
  const bool log_;
  const DType dtype_;
  ReorderingPrimitive primitive_;
};

// ---------------------------------------------------------------------------
// SoftmaxCrossEntropyWithLogits(features [B,C], labels [B,C]) -> loss [B],
// backprop [B,C]:
//   loss = sum_j labels_j * (log(sum_k exp(x_k - max)) - (x_j - max))
//   backprop = softmax(x) - labels

template <typename T>
class SoftmaxCrossEntropyKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(const CrossEntropyShape shape, SoftmaxCrossEntropyShape(init));
    return std::unique_ptr<OpKernel>(new SoftmaxCrossEntropyKernel(shape.rows, shape.cols));
  }

  absl::Status Compute(const KernelContext& ctx) override {
    const T* features = ctx.input(0).data<T>();
    const T* labels = ctx.input(1).data<T>();
    T* loss = ctx.output(0).data<T>();
    T* backprop = ctx.output(1).data<T>();
    const int64_t C = cols_;
    ParallelFor(rows_, C * 8, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const T* __restrict x = features + r * C;
        const T* __restrict y = labels + r * C;
        T* __restrict g = backprop + r * C;
        T max = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < C; ++j) max = std::max(max, x[j]);
        T sum = 0;
        for (int64_t j = 0; j < C; ++j) {
          g[j] = std::exp(x[j] - max);
          sum += g[j];
        }
        const T log_sum = std::log(sum);
        const T inv = T(1) / sum;
        T l = 0;
        for (int64_t j = 0; j < C; ++j) {
          l += y[j] * (log_sum - (x[j] - max));
          g[j] = g[j] * inv - y[j];
        }
        loss[r] = l;
      }
    });
    return absl::OkStatus();
  }

 private:
  SoftmaxCrossEntropyKernel(int64_t rows, int64_t cols) : rows_(rows), cols_(cols) {}
  const int64_t rows_, cols_;
};

// SparseSoftmaxCrossEntropyWithLogits(features [B,C], labels [B] i32/i64)
//   -> loss [B], backprop [B,C]. A label outside [0, C) is an error.

template <typename T>
class SparseSoftmaxCrossEntropyKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(const CrossEntropyShape shape, SparseSoftmaxCrossEntropyShape(init));
    return std::unique_ptr<OpKernel>(
        new SparseSoftmaxCrossEntropyKernel(shape.rows, shape.cols, shape.wide_labels));
  }

  absl::Status Compute(const KernelContext& ctx) override {
    if (wide_labels_) return ComputeTyped(ctx, ctx.input(1).data<int64_t>());
    return ComputeTyped(ctx, ctx.input(1).data<int32_t>());
  }

 private:
  SparseSoftmaxCrossEntropyKernel(int64_t rows, int64_t cols, bool wide_labels)
      : rows_(rows), cols_(cols), wide_labels_(wide_labels) {}

  template <typename L>
  absl::Status ComputeTyped(const KernelContext& ctx, const L* labels) const {
    const int64_t C = cols_;
    for (int64_t r = 0; r < rows_; ++r) {
      if (labels[r] < 0 || labels[r] >= C) {
        return absl::InvalidArgumentError(
            absl::StrCat("labels[", r, "] = ", labels[r], " is not in [0, ", C, ")"));
      }
    }
    const T* features = ctx.input(0).data<T>();
    T* loss = ctx.output(0).data<T>();
    T* backprop = ctx.output(1).data<T>();
    ParallelFor(rows_, C * 8, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const T* __restrict x = features + r * C;
        T* __restrict g = backprop + r * C;
        T max = -std::numeric_limits<T>::infinity();
        for (int64_t j = 0; j < C; ++j) max = std::max(max, x[j]);
        T sum = 0;
        for (int64_t j = 0; j < C; ++j) {
          g[j] = std::exp(x[j] - max);
          sum += g[j];
        }
        const T inv = T(1) / sum;
        for (int64_t j = 0; j < C; ++j) g[j] *= inv;
        const int64_t label = static_cast<int64_t>(labels[r]);
        g[label] -= T(1);
        loss[r] = std::log(sum) - (x[label] - max);
      }
    });
    return absl::OkStatus();
  }

  const int64_t rows_, cols_;
  const bool wide_labels_;
};

template <template <typename> class Kernel>
KernelOr MakeFloatKernel(const KernelInit& init) {
  if (init.input_dtype(0) == DType::kF64) return Kernel<double>::Create(init);
  return Kernel<float>::Create(init);
}

}  // namespace

void RegisterNnKernels(KernelRegistry& r) {
  const std::vector<DType> with_bf16 = {DType::kF32, DType::kF64, DType::kBF16};
  const std::vector<DType> plain_float = {DType::kF32, DType::kF64};
  r.Register("Conv2D", DeviceType::kCpu, with_bf16, Conv2DKernel::Create);
  const std::vector<DType> max_pool_types = {DType::kF32, DType::kF64, DType::kBF16, DType::kI8,
                                             DType::kU8,  DType::kI32, DType::kI64};
  r.Register("MaxPool", DeviceType::kCpu, max_pool_types, [](const KernelInit& init) {
    return PoolKernel::Create(init, plain::PoolKind::kMax);
  });
  r.Register("AvgPool", DeviceType::kCpu, with_bf16, [](const KernelInit& init) {
    return PoolKernel::Create(init, plain::PoolKind::kAvg);
  });
  r.Register("FusedBatchNorm", DeviceType::kCpu, plain_float, FusedBatchNormKernel::Create);
  r.Register("Softmax", DeviceType::kCpu, with_bf16,
             [](const KernelInit& init) { return SoftmaxKernel::Create(init, false); });
  r.Register("LogSoftmax", DeviceType::kCpu, with_bf16,
             [](const KernelInit& init) { return SoftmaxKernel::Create(init, true); });
  r.Register("SoftmaxCrossEntropyWithLogits", DeviceType::kCpu, plain_float,
             MakeFloatKernel<SoftmaxCrossEntropyKernel>);
  r.Register("SparseSoftmaxCrossEntropyWithLogits", DeviceType::kCpu, plain_float,
             MakeFloatKernel<SparseSoftmaxCrossEntropyKernel>);
}

}  // namespace sluice::cpu
