// CPU kernels of the nn backward ops: the activation gradients, BiasAddGrad,
// Conv2DBackpropInput/Filter, MaxPoolGrad, AvgPoolGrad and
// FusedBatchNormGrad.
//
// Activation gradients and BiasAddGrad are vectorised loops (one pass over
// memory; oneDNN's eltwise backward lost to such loops at every size
// measured, see cpu/nn_plain.h). Convolution, pooling and batch-norm
// gradients run the building blocks of cpu/onednn_backward.h, created in the
// factory: oneDNN above the sizes where it pays, plain loops below them and
// for f64.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpu/cpu_kernels.h"
#include "cpu/onednn_backward.h"
#include "cpu/parallel.h"
#include "cpu/window.h"
#include "graph/status_macros.h"
#include "kernels/batch_norm_params.h"
#include "kernels/kernel_registry.h"
#include "kernels/shape_checks.h"

namespace sluice::cpu {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

const std::vector<DType> kFloat = {DType::kF32, DType::kF64};
const std::vector<DType> kFloatBf16 = {DType::kF32, DType::kF64, DType::kBF16};

// ---------------------------------------------------------------------------
// Activation gradients. Each functor maps (gradient, value) to the backprop,
// where `value` is the forward input (or output, for Elu, Sigmoid and Tanh).
// Both operands are read unconditionally and branches are selects, so the
// loops vectorise.

struct ReluGradOp {
  template <typename T>
  T operator()(T g, T x) const {
    return x > T(0) ? g : T(0);
  }
};
struct Relu6GradOp {
  template <typename T>
  T operator()(T g, T x) const {
    return (x > T(0) && x < T(6)) ? g : T(0);
  }
};
// Elu's output y is exp(x) - 1 for x <= 0, so exp(x) = y + 1.
struct EluGradOp {
  template <typename T>
  T operator()(T g, T y) const {
    return y > T(0) ? g : g * (y + T(1));
  }
};
// d/dx log(1 + e^x) = sigmoid(x); exp(-x) overflowing to inf gives 0, right.
struct SoftplusGradOp {
  template <typename T>
  T operator()(T g, T x) const {
    return g / (T(1) + std::exp(-x));
  }
};
struct LeakyReluGradOp {
  float alpha;
  template <typename T>
  T operator()(T g, T x) const {
    return x > T(0) ? g : g * static_cast<T>(alpha);
  }
};
// The derivatives of the two forms cpu/elementwise.cc's Gelu computes:
//   exact:  y = x/2 (1 + erf(x/sqrt2)),  y' = (1 + erf(x/sqrt2))/2 + x phi(x)
//           with phi the standard normal density exp(-x^2/2) / sqrt(2 pi);
//   approx: y = x/2 (1 + tanh(u)), u = k (x + 0.044715 x^3), k = sqrt(2/pi),
//           y' = (1 + tanh u)/2 + x/2 (1 - tanh^2 u) k (1 + 3 * 0.044715 x^2).
struct GeluGradOp {
  bool approximate;
  template <typename T>
  T operator()(T g, T x) const {
    if (approximate) {
      const T k = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
      const T c = static_cast<T>(0.044715);
      const T x2 = x * x;
      const T t = std::tanh(k * (x + c * x2 * x));
      const T dt = (T(1) - t * t) * k * (T(1) + T(3) * c * x2);
      return g * (T(0.5) * (T(1) + t) + T(0.5) * x * dt);
    }
    const T cdf = T(0.5) * (T(1) + std::erf(x * static_cast<T>(0.7071067811865476)));
    const T pdf = static_cast<T>(0.3989422804014327) * std::exp(T(-0.5) * x * x);  // 1/sqrt(2pi)
    return g * (cdf + x * pdf);
  }
};
// From the output y: sigmoid' = y (1 - y), tanh' = 1 - y^2.
struct SigmoidGradOp {
  template <typename T>
  T operator()(T g, T y) const {
    return g * y * (T(1) - y);
  }
};
struct TanhGradOp {
  template <typename T>
  T operator()(T g, T y) const {
    return g * (T(1) - y * y);
  }
};

// `gradient_input` is the index of the incoming gradient: 0 for
// (gradients, features), 1 for TensorFlow's (y, dy).
template <typename T, typename Op>
class ActivationGradKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init, Op op, int gradient_input) {
    RETURN_IF_ERROR(CheckSameInputShapes(init));
    RETURN_IF_ERROR(CheckOutputShape(init, 0, init.input_shape(0)));
    return std::unique_ptr<OpKernel>(new ActivationGradKernel(op, gradient_input));
  }

  absl::Status Compute(const KernelContext& ctx) override {
    const T* __restrict g = ctx.input(gradient_input_).data<T>();
    const T* __restrict v = ctx.input(1 - gradient_input_).data<T>();
    T* __restrict d = ctx.output(0).data<T>();
    // The transcendental functors cost some 10-20x a load, so they split
    // across threads at fewer elements.
    constexpr int64_t kCost =
        std::is_same_v<Op, SoftplusGradOp> || std::is_same_v<Op, GeluGradOp> ? 8 : 1;
    ParallelFor(ctx.output(0).num_elements(), kCost, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) d[i] = op_(g[i], v[i]);
    });
    return absl::OkStatus();
  }

 private:
  ActivationGradKernel(Op op, int gradient_input) : op_(op), gradient_input_(gradient_input) {}
  const Op op_;
  const int gradient_input_;
};

template <typename Op>
void RegisterActivationGrad(KernelRegistry& r, const char* name, int gradient_input,
                            std::function<Op(const KernelInit&)> make_op = nullptr) {
  r.Register(name, DeviceType::kCpu, kFloat,
             [gradient_input, make_op](const KernelInit& init) -> KernelOr {
               const Op op = make_op ? make_op(init) : Op();
               if (init.input_dtype(0) == DType::kF64) {
                 return ActivationGradKernel<double, Op>::Create(init, op, gradient_input);
               }
               return ActivationGradKernel<float, Op>::Create(init, op, gradient_input);
             });
}

// ---------------------------------------------------------------------------
// BiasAddGrad(out_backprop; data_format) -> [C]: the sum over every dim but
// the channel one.
//
// The input is viewed as [outer, C, inner]: NHWC (channel last) has inner 1,
// NCHW has outer = N and inner = the product of the dims after C. With
// inner 1 the rows are summed as vectors of C in row chunks (each chunk on
// one thread into its own partial row, then the partials are added), which
// also keeps float sums short; otherwise each channel's contiguous runs are
// summed, channels split across threads.

// Elements per row chunk: about 32 KiB of f32, enough to amortise a thread.
constexpr int64_t kBiasChunkElements = 8192;
constexpr int64_t kMaxBiasChunks = 64;

class BiasGradState final : public KernelState {
 public:
  Tensor partials;  // [chunks, C]
};

template <typename T>
class BiasAddGradKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    const Shape& value = init.input_shape(0);
    const bool nchw = init.attr("data_format").s() == "NCHW";
    if (value.rank() < (nchw ? 3 : 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat("out_backprop must have rank >= ", nchw ? 3 : 1, " with data_format ",
                       nchw ? "NCHW" : "NHWC", ", got ", value.ToString()));
    }
    const int channel_dim = nchw ? 1 : value.rank() - 1;
    const int64_t channels = value.dim(channel_dim);
    RETURN_IF_ERROR(CheckOutputShape(init, 0, Shape{channels}));
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < channel_dim; ++d) outer *= value.dim(d);
    for (int d = channel_dim + 1; d < value.rank(); ++d) inner *= value.dim(d);
    std::unique_ptr<BiasAddGradKernel> kernel(new BiasAddGradKernel(outer, channels, inner));
    if (inner == 1 && channels > 0 && outer > 0) {
      const int64_t rows_per_chunk = std::max<int64_t>(1, kBiasChunkElements / channels);
      kernel->chunks_ =
          std::min<int64_t>(kMaxBiasChunks, (outer + rows_per_chunk - 1) / rows_per_chunk);
      kernel->rows_per_chunk_ = (outer + kernel->chunks_ - 1) / kernel->chunks_;
    }
    return kernel;
  }

  std::unique_ptr<KernelState> CreateState() const override {
    if (chunks_ <= 1) return nullptr;
    auto state = std::make_unique<BiasGradState>();
    state->partials = Tensor(DTypeOf<T>::value, Shape{chunks_, channels_});
    return state;
  }

  absl::Status Compute(const KernelContext& ctx) override {
    const T* x = ctx.input(0).data<T>();
    T* out = ctx.output(0).data<T>();
    const int64_t C = channels_;
    if (C == 0) return absl::OkStatus();
    if (outer_ * inner_ == 0) {
      std::fill(out, out + C, T(0));  // an empty sum
      return absl::OkStatus();
    }
    if (inner_ != 1) {
      ParallelFor(C, outer_ * inner_, [&](int64_t begin, int64_t end) {
        for (int64_t c = begin; c < end; ++c) {
          T sum = 0;
          for (int64_t o = 0; o < outer_; ++o) {
            const T* __restrict p = x + (o * C + c) * inner_;
            T run = 0;
            for (int64_t i = 0; i < inner_; ++i) run += p[i];
            sum += run;
          }
          out[c] = sum;
        }
      });
      return absl::OkStatus();
    }
    if (chunks_ <= 1) {
      SumRows(x, 0, outer_, out);
      return absl::OkStatus();
    }
    T* partials = static_cast<BiasGradState*>(ctx.state)->partials.data<T>();
    ParallelFor(chunks_, rows_per_chunk_ * C, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        const int64_t first = k * rows_per_chunk_;
        SumRows(x, first, std::min(outer_, first + rows_per_chunk_), partials + k * C);
      }
    });
    SumRows(partials, 0, chunks_, out);
    return absl::OkStatus();
  }

 private:
  BiasAddGradKernel(int64_t outer, int64_t channels, int64_t inner)
      : outer_(outer), channels_(channels), inner_(inner) {}

  // out[c] = the sum of rows [begin, end) of the [rows, C] matrix at x.
  void SumRows(const T* x, int64_t begin, int64_t end, T* out) const {
    const int64_t C = channels_;
    T* __restrict acc = out;
    std::fill(acc, acc + C, T(0));
    for (int64_t r = begin; r < end; ++r) {
      const T* __restrict row = x + r * C;
      for (int64_t c = 0; c < C; ++c) acc[c] += row[c];
    }
  }

  const int64_t outer_, channels_, inner_;
  int64_t chunks_ = 1;
  int64_t rows_per_chunk_ = 0;
};

// ---------------------------------------------------------------------------
// Conv2DBackpropInput(input_sizes, filter, out_backprop) and
// Conv2DBackpropFilter(input, filter_sizes, out_backprop), with Conv2D's
// attrs.

class Conv2DBackpropInputKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    const Shape& input = init.output_shape(0);
    RETURN_IF_ERROR(RequireKnownSizes(init, input, 0));
    ASSIGN_OR_RETURN(Window2D w, Conv2DWindow(input, init.input_shape(1), init.node));
    RETURN_IF_ERROR(CheckInputShape(init, 2, w.OutputShape(),
                                    absl::StrCat("Conv2D output for input ", input.ToString(),
                                                 " and filter ", init.input_shape(1).ToString())));
    ASSIGN_OR_RETURN(auto block, Conv2DBackwardData::Create(w, init.input_dtype(1)));
    return std::unique_ptr<OpKernel>(new Conv2DBackpropInputKernel(std::move(block), input));
  }

  std::unique_ptr<KernelState> CreateState() const override { return block_->CreateState(); }

  absl::Status Compute(const KernelContext& ctx) override {
    RETURN_IF_ERROR(CheckSizesValue(ctx.input(0), input_shape_, "input_sizes"));
    return block_->Run(ctx.state, ctx.input(1).raw_data(), ctx.input(2).raw_data(),
                       ctx.output(0).raw_data());
  }

 private:
  Conv2DBackpropInputKernel(std::unique_ptr<Conv2DBackwardData> block, const Shape& input)
      : block_(std::move(block)), input_shape_(input) {}
  const std::unique_ptr<Conv2DBackwardData> block_;
  const Shape input_shape_;
};

class Conv2DBackpropFilterKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    const Shape& filter = init.output_shape(0);
    RETURN_IF_ERROR(RequireKnownSizes(init, filter, 1));
    ASSIGN_OR_RETURN(Window2D w, Conv2DWindow(init.input_shape(0), filter, init.node));
    RETURN_IF_ERROR(
        CheckInputShape(init, 2, w.OutputShape(),
                        absl::StrCat("Conv2D output for input ", init.input_shape(0).ToString(),
                                     " and filter ", filter.ToString())));
    ASSIGN_OR_RETURN(auto block, Conv2DBackwardFilter::Create(w, init.input_dtype(0)));
    return std::unique_ptr<OpKernel>(new Conv2DBackpropFilterKernel(std::move(block), filter));
  }

  std::unique_ptr<KernelState> CreateState() const override { return block_->CreateState(); }

  absl::Status Compute(const KernelContext& ctx) override {
    RETURN_IF_ERROR(CheckSizesValue(ctx.input(1), filter_shape_, "filter_sizes"));
    return block_->Run(ctx.state, ctx.input(0).raw_data(), ctx.input(2).raw_data(),
                       ctx.output(0).raw_data());
  }

 private:
  Conv2DBackpropFilterKernel(std::unique_ptr<Conv2DBackwardFilter> block, const Shape& filter)
      : block_(std::move(block)), filter_shape_(filter) {}
  const std::unique_ptr<Conv2DBackwardFilter> block_;
  const Shape filter_shape_;
};

// ---------------------------------------------------------------------------
// MaxPoolGrad(orig_input, orig_output, grad) and AvgPoolGrad(orig_input_shape,
// grad), with the pooling attrs. MaxPoolGrad finds each window's first
// maximum in orig_input again (oneDNN: by rerunning the forward pooling with
// a workspace; orig_output is then not needed).

class PoolGradKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init, plain::PoolKind kind) {
    const bool is_max = kind == plain::PoolKind::kMax;
    // MaxPoolGrad's orig_input, AvgPoolGrad's orig_input_shape.
    const Shape& input = is_max ? init.input_shape(0) : init.output_shape(0);
    if (!is_max) RETURN_IF_ERROR(RequireKnownSizes(init, input, 0));
    RETURN_IF_ERROR(CheckOutputShape(init, 0, input));
    ASSIGN_OR_RETURN(Window2D w, Pool2DWindow(input, init.node));
    const std::string origin = absl::StrCat(is_max ? "MaxPool" : "AvgPool",
                                            " output for an input of shape ", input.ToString());
    if (is_max) RETURN_IF_ERROR(CheckInputShape(init, 1, w.OutputShape(), origin));
    const int grad_input = is_max ? 2 : 1;
    RETURN_IF_ERROR(CheckInputShape(init, grad_input, w.OutputShape(), origin));
    ASSIGN_OR_RETURN(auto block, Pool2DBackward::Create(w, kind, init.input_dtype(grad_input)));
    return std::unique_ptr<OpKernel>(new PoolGradKernel(std::move(block), kind, input));
  }

  std::unique_ptr<KernelState> CreateState() const override { return block_->CreateState(); }

  absl::Status Compute(const KernelContext& ctx) override {
    if (kind_ == plain::PoolKind::kMax) {
      return block_->Run(ctx.state, ctx.input(0).raw_data(), ctx.input(2).raw_data(),
                         ctx.output(0).raw_data());
    }
    RETURN_IF_ERROR(CheckSizesValue(ctx.input(0), input_shape_, "orig_input_shape"));
    return block_->Run(ctx.state, nullptr, ctx.input(1).raw_data(), ctx.output(0).raw_data());
  }

 private:
  PoolGradKernel(std::unique_ptr<Pool2DBackward> block, plain::PoolKind kind, const Shape& input)
      : block_(std::move(block)), kind_(kind), input_shape_(input) {}
  const std::unique_ptr<Pool2DBackward> block_;
  const plain::PoolKind kind_;
  const Shape input_shape_;
};

// ---------------------------------------------------------------------------
// FusedBatchNormGrad(y_backprop, x, scale, reserve_space_1, reserve_space_2;
// epsilon, data_format, is_training) -> x_backprop, scale_backprop,
// offset_backprop, reserve_space_3 [0], reserve_space_4 [0].
//
// reserve_space_1/2 are FusedBatchNorm's outputs of those names: in training
// the batch mean and the biased batch variance (see cpu/nn.cc), in inference
// the mean and variance it was given.

class FusedBatchNormGradKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    const Shape& x = init.input_shape(1);
    ASSIGN_OR_RETURN(const BatchNormParams params, FusedBatchNormGradParams(init));
    ASSIGN_OR_RETURN(auto block, BatchNormBackward::Create(x, params.format, params.epsilon,
                                                           params.training, init.input_dtype(1)));
    return std::unique_ptr<OpKernel>(new FusedBatchNormGradKernel(std::move(block)));
  }

  std::unique_ptr<KernelState> CreateState() const override { return block_->CreateState(); }

  absl::Status Compute(const KernelContext& ctx) override {
    return block_->Run(ctx.state, ctx.input(1).raw_data(), ctx.input(0).raw_data(),
                       ctx.input(2).raw_data(), ctx.input(3).raw_data(), ctx.input(4).raw_data(),
                       ctx.output(0).raw_data(), ctx.output(1).raw_data(),
                       ctx.output(2).raw_data());
  }

 private:
  explicit FusedBatchNormGradKernel(std::unique_ptr<BatchNormBackward> block)
      : block_(std::move(block)) {}
  const std::unique_ptr<BatchNormBackward> block_;
};

}  // namespace

void RegisterNnGradKernels(KernelRegistry& r) {
  RegisterActivationGrad<ReluGradOp>(r, "ReluGrad", 0);
  RegisterActivationGrad<Relu6GradOp>(r, "Relu6Grad", 0);
  RegisterActivationGrad<EluGradOp>(r, "EluGrad", 0);
  RegisterActivationGrad<SoftplusGradOp>(r, "SoftplusGrad", 0);
  RegisterActivationGrad<LeakyReluGradOp>(r, "LeakyReluGrad", 0, [](const KernelInit& init) {
    return LeakyReluGradOp{init.attr("alpha").f()};
  });
  RegisterActivationGrad<GeluGradOp>(r, "GeluGrad", 0, [](const KernelInit& init) {
    return GeluGradOp{init.attr("approximate").b()};
  });
  RegisterActivationGrad<SigmoidGradOp>(r, "SigmoidGrad", 1);
  RegisterActivationGrad<TanhGradOp>(r, "TanhGrad", 1);
  r.Register("BiasAddGrad", DeviceType::kCpu, kFloat, [](const KernelInit& init) -> KernelOr {
    if (init.input_dtype(0) == DType::kF64) return BiasAddGradKernel<double>::Create(init);
    return BiasAddGradKernel<float>::Create(init);
  });
  r.Register("Conv2DBackpropInput", DeviceType::kCpu, kFloatBf16,
             Conv2DBackpropInputKernel::Create);
  r.Register("Conv2DBackpropFilter", DeviceType::kCpu, kFloatBf16,
             Conv2DBackpropFilterKernel::Create);
  r.Register("MaxPoolGrad", DeviceType::kCpu, kFloatBf16, [](const KernelInit& init) {
    return PoolGradKernel::Create(init, plain::PoolKind::kMax);
  });
  r.Register("AvgPoolGrad", DeviceType::kCpu, kFloatBf16, [](const KernelInit& init) {
    return PoolGradKernel::Create(init, plain::PoolKind::kAvg);
  });
  r.Register("FusedBatchNormGrad", DeviceType::kCpu, kFloat, FusedBatchNormGradKernel::Create);
}

}  // namespace sluice::cpu
