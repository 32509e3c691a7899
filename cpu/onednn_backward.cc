#include "cpu/onednn_backward.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"

namespace sluice::cpu {
namespace {

using dnnl::algorithm;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;

absl::Status CheckDType(DType dtype, bool allow_bf16, absl::string_view what) {
  if (dtype == DType::kF32 || dtype == DType::kF64 || (allow_bf16 && dtype == DType::kBF16)) {
    return absl::OkStatus();
  }
  return absl::UnimplementedError(absl::StrCat("no CPU ", what, " for ", DTypeName(dtype)));
}

// An error for a dtype oneDNN should have handled but could not (bf16 on a
// CPU without the instructions): the plain loops exist for f32/f64 only.
absl::Status NoPrimitive(absl::Status status, DType dtype, absl::string_view what) {
  if (!status.ok()) return status;
  return absl::UnimplementedError(
      absl::StrCat("no oneDNN ", what, " for ", DTypeName(dtype), " on this CPU"));
}

std::string ImplName(const ReorderingPrimitive& p) { return p.valid() ? p.impl_name() : "plain"; }

void ZeroBytes(void* p, int64_t elements, DType dtype) {
  if (elements > 0) std::memset(p, 0, static_cast<size_t>(elements) * DTypeSize(dtype));
}

}  // namespace

// ---------------------------------------------------------------------------
// Convolution, gradient w.r.t. the input.

absl::StatusOr<std::unique_ptr<Conv2DBackwardData>> Conv2DBackwardData::Create(
    const Window2D& window, DType dtype) {
  RETURN_IF_ERROR(CheckDType(dtype, true, "Conv2D input gradient"));
  std::unique_ptr<Conv2DBackwardData> b(new Conv2DBackwardData(window, dtype));
  const Window2D& w = window;
  const int64_t macs = w.output_elements() * w.k_h * w.k_w * w.in_c;
  if (w.input_elements() == 0 || w.output_elements() == 0 ||
      plain::UsePlain(dtype, macs, plain::kConvMacs)) {
    return b;
  }
  const dnnl::memory::data_type type = *DnnlDataType(dtype);
  absl::Status status = CatchDnnl("Conv2D input gradient", [&] {
    const ConvDescs d = MakeConvDescs(w, type);
    const DnnlWindow& dw = d.window;
    dnnl::convolution_forward::primitive_desc hint(
        dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                        d.src, d.weights, d.dst, dw.strides, dw.dilates, dw.pad_l,
                                        dw.pad_r),
        UserScratchpad(), CpuEngine());
    dnnl::convolution_backward_data::primitive_desc pd(
        dnnl::convolution_backward_data::desc(algorithm::convolution_direct, d.src, d.weights,
                                              d.dst, dw.strides, dw.dilates, dw.pad_l, dw.pad_r),
        UserScratchpad(), CpuEngine(), hint);
    auto p = ReorderingPrimitive::Create(pd, {{DNNL_ARG_WEIGHTS, d.user_weights},
                                              {DNNL_ARG_DIFF_DST, d.user_dst},
                                              {DNNL_ARG_DIFF_SRC, d.user_src, true}});
    if (p.ok()) b->primitive_ = *std::move(p);
  });
  if (!b->primitive_.valid() && dtype == DType::kBF16) {
    return NoPrimitive(status, dtype, "Conv2D input gradient");
  }
  return b;
}

std::unique_ptr<KernelState> Conv2DBackwardData::CreateState() const {
  return primitive_.valid() ? primitive_.NewState() : nullptr;
}

absl::Status Conv2DBackwardData::Run(KernelState* state, const void* filter, const void* dy,
                                     void* dx) const {
  const Window2D& w = window_;
  if (w.input_elements() == 0) return absl::OkStatus();
  if (w.output_elements() == 0) {
    ZeroBytes(dx, w.input_elements(), dtype_);
    return absl::OkStatus();
  }
  if (primitive_.valid()) {
    return primitive_.Run(*static_cast<ReorderingPrimitive::State*>(state), {filter, dy, dx});
  }
  plain::VisitPlain(dtype_, [&]<typename T>() {
    plain::Conv2DBackwardData(w, static_cast<const T*>(filter), static_cast<const T*>(dy),
                              static_cast<T*>(dx));
  });
  return absl::OkStatus();
}

std::string Conv2DBackwardData::impl_name() const { return ImplName(primitive_); }

// ---------------------------------------------------------------------------
// Convolution, gradient w.r.t. the filter.

absl::StatusOr<std::unique_ptr<Conv2DBackwardFilter>> Conv2DBackwardFilter::Create(
    const Window2D& window, DType dtype) {
  RETURN_IF_ERROR(CheckDType(dtype, true, "Conv2D filter gradient"));
  std::unique_ptr<Conv2DBackwardFilter> b(new Conv2DBackwardFilter(window, dtype));
  const Window2D& w = window;
  const int64_t macs = w.output_elements() * w.k_h * w.k_w * w.in_c;
  if (w.input_elements() == 0 || w.output_elements() == 0 ||
      w.k_h * w.k_w * w.in_c * w.out_c == 0 || plain::UsePlain(dtype, macs, plain::kConvMacs)) {
    return b;
  }
  const dnnl::memory::data_type type = *DnnlDataType(dtype);
  absl::Status status = CatchDnnl("Conv2D filter gradient", [&] {
    const ConvDescs d = MakeConvDescs(w, type);
    const DnnlWindow& dw = d.window;
    dnnl::convolution_forward::primitive_desc hint(
        dnnl::convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                        d.src, d.weights, d.dst, dw.strides, dw.dilates, dw.pad_l,
                                        dw.pad_r),
        UserScratchpad(), CpuEngine());
    dnnl::convolution_backward_weights::primitive_desc pd(
        dnnl::convolution_backward_weights::desc(algorithm::convolution_direct, d.src, d.weights,
                                                 d.dst, dw.strides, dw.dilates, dw.pad_l, dw.pad_r),
        UserScratchpad(), CpuEngine(), hint);
    auto p = ReorderingPrimitive::Create(pd, {{DNNL_ARG_SRC, d.user_src},
                                              {DNNL_ARG_DIFF_DST, d.user_dst},
                                              {DNNL_ARG_DIFF_WEIGHTS, d.user_weights, true}});
    if (p.ok()) b->primitive_ = *std::move(p);
  });
  if (!b->primitive_.valid() && dtype == DType::kBF16) {
    return NoPrimitive(status, dtype, "Conv2D filter gradient");
  }
  return b;
}

std::unique_ptr<KernelState> Conv2DBackwardFilter::CreateState() const {
  return primitive_.valid() ? primitive_.NewState() : nullptr;
}

absl::Status Conv2DBackwardFilter::Run(KernelState* state, const void* x, const void* dy,
                                       void* dfilter) const {
  const Window2D& w = window_;
  const int64_t filter_elements = w.k_h * w.k_w * w.in_c * w.out_c;
  if (filter_elements == 0) return absl::OkStatus();
  if (w.input_elements() == 0 || w.output_elements() == 0) {
    ZeroBytes(dfilter, filter_elements, dtype_);
    return absl::OkStatus();
  }
  if (primitive_.valid()) {
    return primitive_.Run(*static_cast<ReorderingPrimitive::State*>(state), {x, dy, dfilter});
  }
  plain::VisitPlain(dtype_, [&]<typename T>() {
    plain::Conv2DBackwardFilter(w, static_cast<const T*>(x), static_cast<const T*>(dy),
                                static_cast<T*>(dfilter));
  });
  return absl::OkStatus();
}

std::string Conv2DBackwardFilter::impl_name() const { return ImplName(primitive_); }

// ---------------------------------------------------------------------------
// Pooling.

namespace {

class PoolState final : public KernelState {
 public:
  std::unique_ptr<ReorderingPrimitive::State> forward, backward;
  Tensor y, workspace;  // max pooling's recomputed forward
};

}  // namespace

absl::StatusOr<std::unique_ptr<Pool2DBackward>> Pool2DBackward::Create(const Window2D& window,
                                                                       plain::PoolKind kind,
                                                                       DType dtype) {
  RETURN_IF_ERROR(CheckDType(dtype, true, "pooling gradient"));
  std::unique_ptr<Pool2DBackward> b(new Pool2DBackward(window, kind, dtype));
  const Window2D& w = window;
  if (w.input_elements() == 0 || w.output_elements() == 0 ||
      plain::UsePlain(dtype, plain::PoolWork(w), plain::kPoolWork)) {
    return b;
  }
  const dnnl::memory::data_type type = *DnnlDataType(dtype);
  const bool is_max = kind == plain::PoolKind::kMax;
  absl::Status status = CatchDnnl("pooling gradient", [&] {
    const DnnlWindow dw = ToDnnlWindow(w);
    const dnnl::memory::desc src(dw.src, type, dw.layout), dst(dw.dst, type, dw.layout);
    const algorithm alg = is_max ? algorithm::pooling_max : algorithm::pooling_avg_exclude_padding;
    dnnl::pooling_forward::primitive_desc hint(
        dnnl::pooling_forward::desc(prop_kind::forward_training, alg, src, dst, dw.strides,
                                    dw.kernel, dw.pad_l, dw.pad_r),
        UserScratchpad(), CpuEngine());
    dnnl::pooling_backward::primitive_desc pd(
        dnnl::pooling_backward::desc(alg, src, dst, dw.strides, dw.kernel, dw.pad_l, dw.pad_r),
        UserScratchpad(), CpuEngine(), hint);
    if (is_max) {
      auto fwd = ReorderingPrimitive::Create(
          hint, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst, true}, {DNNL_ARG_WORKSPACE, {}, true}});
      auto bwd = ReorderingPrimitive::Create(
          pd, {{DNNL_ARG_DIFF_DST, dst}, {DNNL_ARG_WORKSPACE, {}}, {DNNL_ARG_DIFF_SRC, src, true}});
      if (fwd.ok() && bwd.ok()) {
        b->forward_ = *std::move(fwd);
        b->backward_ = *std::move(bwd);
        b->workspace_bytes_ = DescBytes(hint.workspace_desc());
      }
    } else {
      auto bwd = ReorderingPrimitive::Create(
          pd, {{DNNL_ARG_DIFF_DST, dst}, {DNNL_ARG_DIFF_SRC, src, true}});
      if (bwd.ok()) b->backward_ = *std::move(bwd);
    }
  });
  if (!b->backward_.valid() && dtype == DType::kBF16) {
    return NoPrimitive(status, dtype, "pooling gradient");
  }
  return b;
}

std::unique_ptr<KernelState> Pool2DBackward::CreateState() const {
  if (!backward_.valid()) return nullptr;
  auto state = std::make_unique<PoolState>();
  state->backward = backward_.NewState();
  if (forward_.valid()) {
    state->forward = forward_.NewState();
    state->y = Tensor(dtype_, window_.OutputShape());
    state->workspace = Tensor(DType::kU8, Shape{std::max<int64_t>(workspace_bytes_, 1)});
  }
  return state;
}

absl::Status Pool2DBackward::Run(KernelState* state, const void* x, const void* dy,
                                 void* dx) const {
  const Window2D& w = window_;
  if (w.input_elements() == 0) return absl::OkStatus();
  if (w.output_elements() == 0) {
    ZeroBytes(dx, w.input_elements(), dtype_);
    return absl::OkStatus();
  }
  if (backward_.valid()) {
    auto* s = static_cast<PoolState*>(state);
    if (forward_.valid()) {
      RETURN_IF_ERROR(forward_.Run(*s->forward, {x, s->y.raw_data(), s->workspace.raw_data()}));
      return backward_.Run(*s->backward, {dy, s->workspace.raw_data(), dx});
    }
    return backward_.Run(*s->backward, {dy, dx});
  }
  plain::VisitPlain(dtype_, [&]<typename T>() {
    plain::Pool2DBackward(w, kind_, static_cast<const T*>(x), static_cast<const T*>(dy),
                          static_cast<T*>(dx));
  });
  return absl::OkStatus();
}

absl::Status Pool2DBackward::ForwardWithWorkspace(KernelState* state, const void* x, void* y,
                                                  void* workspace) const {
  if (!has_workspace()) {
    return absl::FailedPreconditionError("this pooling gradient has no workspace path");
  }
  return forward_.Run(*static_cast<PoolState*>(state)->forward, {x, y, workspace});
}

absl::Status Pool2DBackward::BackwardWithWorkspace(KernelState* state, const void* workspace,
                                                   const void* dy, void* dx) const {
  if (!has_workspace()) {
    return absl::FailedPreconditionError("this pooling gradient has no workspace path");
  }
  return backward_.Run(*static_cast<PoolState*>(state)->backward, {dy, workspace, dx});
}

std::string Pool2DBackward::impl_name() const { return ImplName(backward_); }

// ---------------------------------------------------------------------------
// Batch normalisation.

absl::StatusOr<std::unique_ptr<BatchNormBackward>> BatchNormBackward::Create(
    const Shape& x, DataFormat format, float epsilon, bool training, DType dtype) {
  RETURN_IF_ERROR(CheckDType(dtype, false, "batch-norm gradient"));
  if (x.rank() != 4 || !x.IsFullyDefined()) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch norm needs a fully known 4-D input, got ", x.ToString()));
  }
  std::unique_ptr<BatchNormBackward> b(new BatchNormBackward());
  b->epsilon_ = epsilon;
  b->training_ = training;
  b->dtype_ = dtype;
  const bool nhwc = format == DataFormat::kNhwc;
  const int64_t n = x.dim(0), c = nhwc ? x.dim(3) : x.dim(1);
  const int64_t spatial = nhwc ? x.dim(1) * x.dim(2) : x.dim(2) * x.dim(3);
  b->layout_ = nhwc ? plain::ChannelLayout{n * spatial, c, 1} : plain::ChannelLayout{n, c, spatial};
  const int64_t elements = n * c * spatial;
  if (elements == 0 || plain::UsePlain(dtype, elements, plain::kBatchNormElements)) return b;
  absl::Status status = CatchDnnl("batch-norm gradient", [&] {
    const dnnl::memory::desc data(
        DnnlDims(nhwc ? Shape{n, c, x.dim(1), x.dim(2)} : Shape{n, c, x.dim(2), x.dim(3)}),
        dnnl::memory::data_type::f32, nhwc ? tag::nhwc : tag::nchw);
    dnnl::normalization_flags flags =
        dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
    if (!training) flags = flags | dnnl::normalization_flags::use_global_stats;
    dnnl::batch_normalization_forward::primitive_desc hint(
        dnnl::batch_normalization_forward::desc(prop_kind::forward_training, data, epsilon, flags),
        UserScratchpad(), CpuEngine());
    dnnl::batch_normalization_backward::primitive_desc pd(
        dnnl::batch_normalization_backward::desc(prop_kind::backward, data, data, epsilon, flags),
        UserScratchpad(), CpuEngine(), hint);
    auto p = ReorderingPrimitive::Create(
        pd, {{DNNL_ARG_SRC, data},
             {DNNL_ARG_DIFF_DST, data},
             {DNNL_ARG_SCALE, {}},
             {DNNL_ARG_SHIFT, {}},  // unused by the math, but oneDNN 2.6 requires it
             {DNNL_ARG_MEAN, {}},
             {DNNL_ARG_VARIANCE, {}},
             {DNNL_ARG_DIFF_SRC, data, true},
             {DNNL_ARG_DIFF_SCALE, {}, true},
             {DNNL_ARG_DIFF_SHIFT, {}, true}});
    if (p.ok()) b->primitive_ = *std::move(p);
  });
  return b;  // f32 falls back to the plain loops if oneDNN declined
}

std::unique_ptr<KernelState> BatchNormBackward::CreateState() const {
  return primitive_.valid() ? primitive_.NewState() : nullptr;
}

absl::Status BatchNormBackward::Run(KernelState* state, const void* x, const void* dy,
                                    const void* scale, const void* mean, const void* variance,
                                    void* dx, void* dscale, void* doffset) const {
  if (layout_.count() == 0) {
    // No elements: the sums are empty.
    ZeroBytes(dscale, layout_.channels, dtype_);
    ZeroBytes(doffset, layout_.channels, dtype_);
    return absl::OkStatus();
  }
  if (primitive_.valid()) {
    return primitive_.Run(*static_cast<ReorderingPrimitive::State*>(state),
                          {x, dy, scale, scale, mean, variance, dx, dscale, doffset});
  }
  plain::VisitPlain(dtype_, [&]<typename T>() {
    plain::BatchNormBackward(
        layout_, static_cast<const T*>(x), static_cast<const T*>(dy), static_cast<const T*>(scale),
        static_cast<const T*>(mean), static_cast<const T*>(variance), epsilon_, training_,
        static_cast<T*>(dx), static_cast<T*>(dscale), static_cast<T*>(doffset));
  });
  return absl::OkStatus();
}

std::string BatchNormBackward::impl_name() const { return ImplName(primitive_); }

// ---------------------------------------------------------------------------
// Activations.

absl::StatusOr<std::unique_ptr<EltwiseBackward>> EltwiseBackward::Create(plain::EltwiseKind kind,
                                                                         int64_t num_elements,
                                                                         DType dtype) {
  RETURN_IF_ERROR(CheckDType(dtype, true, "activation gradient"));
  std::unique_ptr<EltwiseBackward> b(new EltwiseBackward(kind, num_elements, dtype));
  // f32 and f64 always take the plain loops (see cpu/nn_plain.h).
  if (num_elements == 0 || dtype != DType::kBF16) return b;
  const dnnl::memory::data_type type = *DnnlDataType(dtype);
  absl::Status status = CatchDnnl("activation gradient", [&] {
    algorithm alg = algorithm::eltwise_relu;
    float alpha = 0;
    int value_arg = DNNL_ARG_DST;
    switch (kind) {
      case plain::EltwiseKind::kRelu:
        value_arg = DNNL_ARG_SRC;
        break;
      case plain::EltwiseKind::kElu:
        alg = algorithm::eltwise_elu_use_dst_for_bwd;
        alpha = 1;
        break;
      case plain::EltwiseKind::kTanh:
        alg = algorithm::eltwise_tanh_use_dst_for_bwd;
        break;
      case plain::EltwiseKind::kSigmoid:
        alg = algorithm::eltwise_logistic_use_dst_for_bwd;
        break;
    }
    const dnnl::memory::desc data({num_elements}, type, tag::a);
    dnnl::eltwise_forward::primitive_desc hint(
        dnnl::eltwise_forward::desc(prop_kind::forward_training, alg, data, alpha),
        UserScratchpad(), CpuEngine());
    dnnl::eltwise_backward::primitive_desc pd(dnnl::eltwise_backward::desc(alg, data, data, alpha),
                                              UserScratchpad(), CpuEngine(), hint);
    auto p = ReorderingPrimitive::Create(
        pd, {{DNNL_ARG_DIFF_DST, data}, {value_arg, data}, {DNNL_ARG_DIFF_SRC, data, true}});
    if (p.ok()) b->primitive_ = *std::move(p);
  });
  if (!b->primitive_.valid() && dtype == DType::kBF16) {
    return NoPrimitive(status, dtype, "activation gradient");
  }
  return b;
}

std::unique_ptr<KernelState> EltwiseBackward::CreateState() const {
  return primitive_.valid() ? primitive_.NewState() : nullptr;
}

absl::Status EltwiseBackward::Run(KernelState* state, const void* dy, const void* value,
                                  void* dx) const {
  if (num_elements_ == 0) return absl::OkStatus();
  if (primitive_.valid()) {
    return primitive_.Run(*static_cast<ReorderingPrimitive::State*>(state), {dy, value, dx});
  }
  plain::VisitPlain(dtype_, [&]<typename T>() {
    plain::EltwiseBackward(kind_, num_elements_, static_cast<const T*>(dy),
                           static_cast<const T*>(value), static_cast<T*>(dx));
  });
  return absl::OkStatus();
}

std::string EltwiseBackward::impl_name() const { return ImplName(primitive_); }

// ---------------------------------------------------------------------------
// Softmax.

absl::StatusOr<std::unique_ptr<SoftmaxBackward>> SoftmaxBackward::Create(int64_t rows, int64_t cols,
                                                                         bool log, DType dtype) {
  RETURN_IF_ERROR(CheckDType(dtype, true, "softmax gradient"));
  std::unique_ptr<SoftmaxBackward> b(new SoftmaxBackward(rows, cols, log, dtype));
  if (rows * cols == 0 || plain::UsePlain(dtype, rows * cols, plain::kSoftmaxElements)) return b;
  const dnnl::memory::data_type type = *DnnlDataType(dtype);
  absl::Status status = CatchDnnl("softmax gradient", [&] {
    const algorithm alg = log ? algorithm::softmax_log : algorithm::softmax_accurate;
    const dnnl::memory::desc data({rows, cols}, type, tag::ab);
    dnnl::softmax_v2_forward::primitive_desc hint(
        dnnl::softmax_v2_forward::desc(prop_kind::forward_training, alg, data, data, 1),
        UserScratchpad(), CpuEngine());
    dnnl::softmax_v2_backward::primitive_desc pd(
        dnnl::softmax_v2_backward::desc(alg, data, data, data, 1), UserScratchpad(), CpuEngine(),
        hint);
    auto p = ReorderingPrimitive::Create(
        pd, {{DNNL_ARG_DST, data}, {DNNL_ARG_DIFF_DST, data}, {DNNL_ARG_DIFF_SRC, data, true}});
    if (p.ok()) b->primitive_ = *std::move(p);
  });
  if (!b->primitive_.valid() && dtype == DType::kBF16) {
    return NoPrimitive(status, dtype, "softmax gradient");
  }
  return b;
}

std::unique_ptr<KernelState> SoftmaxBackward::CreateState() const {
  return primitive_.valid() ? primitive_.NewState() : nullptr;
}

absl::Status SoftmaxBackward::Run(KernelState* state, const void* y, const void* dy,
                                  void* dx) const {
  if (rows_ * cols_ == 0) return absl::OkStatus();
  if (primitive_.valid()) {
    return primitive_.Run(*static_cast<ReorderingPrimitive::State*>(state), {y, dy, dx});
  }
  plain::VisitPlain(dtype_, [&]<typename T>() {
    plain::SoftmaxBackward(rows_, cols_, log_, static_cast<const T*>(y), static_cast<const T*>(dy),
                           static_cast<T*>(dx));
  });
  return absl::OkStatus();
}

std::string SoftmaxBackward::impl_name() const { return ImplName(primitive_); }

}  // namespace sluice::cpu
