// Kernels of the fused ops (graph/ops/fused.h).
//
// _FusedMatMul and _FusedConv2D run one oneDNN matmul / convolution
// primitive with the bias built in and the rest of the epilogue as post-ops:
// a sum post-op for the residual Add (the residual is copied into the output
// first, and the primitive accumulates onto it) and an eltwise post-op for
// the activation. Every oneDNN eltwise algorithm used here computes the same
// function as our unfused activation kernel, within float rounding. Tiny
// convolutions take the plain loops of cpu/nn_plain.h plus an epilogue loop,
// as Conv2D does.
//
// _FusedElementwise evaluates its chain per block of kBlock elements: every
// step is one vectorisable loop over the block, which stays in L1, so the
// intermediate values never reach memory.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpu/cpu_kernels.h"
#include "cpu/epilogue.h"
#include "cpu/gemv.h"
#include "cpu/nn_plain.h"
#include "cpu/onednn.h"
#include "cpu/parallel.h"
#include "cpu/window.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"

namespace sluice::cpu {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;
using dnnl::algorithm;
using dnnl::prop_kind;

// The activations exactly as the unfused kernels compute them.
inline float Activate(Activation a, float alpha, float x) {
  switch (a) {
    case Activation::kNone: return x;
    case Activation::kRelu: return x > 0.0f ? x : 0.0f;
    case Activation::kRelu6: return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x);
    case Activation::kElu: return x > 0.0f ? x : std::expm1(x);
    case Activation::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
    case Activation::kTanh: return std::tanh(x);
    case Activation::kLeakyRelu: return x > 0.0f ? x : alpha * x;
  }
  return x;
}

// y = act(y + bias[c] + residual) over `outer` blocks of `channels` channels
// of `inner` contiguous elements each (NHWC and matrices: inner 1). A null
// residual adds nothing.
void ApplyEpilogue(const Epilogue& e, int64_t outer, int64_t channels, int64_t inner,
                   const float* bias, const float* residual, float* y) {
  ParallelFor(outer, channels * inner, [&](int64_t begin, int64_t end) {
    for (int64_t o = begin; o < end; ++o) {
      for (int64_t c = 0; c < channels; ++c) {
        const int64_t base = (o * channels + c) * inner;
        float* __restrict row = y + base;
        const float b = bias[c];
        for (int64_t i = 0; i < inner; ++i) {
          float v = row[i] + b;
          if (residual != nullptr) v += residual[base + i];
          row[i] = Activate(e.activation, e.alpha, v);
        }
      }
    }
  });
}

// ---------------------------------------------------------------------------
// _FusedMatMul(a, b, bias[, residual]).

class FusedMatMulState final : public KernelState {
 public:
  DnnlPrimitive::Bindings bindings;
};

class FusedMatMulKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(Epilogue e, ParseEpilogue(init));
    const Shape& a = init.input_shape(0);
    const Shape& b = init.input_shape(1);
    if (a.rank() != 2 || b.rank() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("needs 2-D inputs, got ", a.ToString(), " and ", b.ToString()));
    }
    const bool ta = init.attr("transpose_a").b(), tb = init.attr("transpose_b").b();
    auto kernel = std::unique_ptr<FusedMatMulKernel>(new FusedMatMulKernel(e));
    kernel->m_ = ta ? a.dim(1) : a.dim(0);
    kernel->k_ = ta ? a.dim(0) : a.dim(1);
    kernel->n_ = tb ? b.dim(0) : b.dim(1);
    if ((tb ? b.dim(1) : b.dim(0)) != kernel->k_) {
      return absl::InvalidArgumentError(
          absl::StrCat("inner dimensions differ: ", a.ToString(), " vs ", b.ToString()));
    }
    const int64_t m = kernel->m_, k = kernel->k_, n = kernel->n_;
    if (init.output_shape(0) != Shape{m, n}) {
      return absl::InternalError(absl::StrCat("output shape ", init.output_shape(0).ToString(),
                                              " differs from the product's [", m, ",", n, "]"));
    }
    if (m == 0 || n == 0 || k == 0) return kernel;  // never reaches oneDNN
    if (UseStreamingGemv(m, k, n, ta, tb)) {
      kernel->streaming_gemv_ = true;
      return kernel;
    }
    using dt = dnnl::memory::data_type;
    RETURN_IF_ERROR(CatchDnnl("_FusedMatMul", [&] {
      dnnl::matmul::desc desc(StridedDesc({m, k}, dt::f32, {ta ? 1 : k, ta ? m : 1}),
                              StridedDesc({k, n}, dt::f32, {tb ? 1 : n, tb ? k : 1}),
                              DenseDesc({1, n}, dt::f32), DenseDesc({m, n}, dt::f32));
      dnnl::matmul::primitive_desc pd(desc, EpilogueAttr(e), CpuEngine());
      auto prim = DnnlPrimitive::Create(
          pd, {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST});
      if (prim.ok()) kernel->primitive_ = *std::move(prim);
    }));
    if (!kernel->primitive_.valid()) {
      return absl::UnimplementedError("no oneDNN matmul with these post-ops on this CPU");
    }
    return kernel;
  }

  std::unique_ptr<KernelState> CreateState() const override {
    if (!primitive_.valid()) return nullptr;
    auto state = std::make_unique<FusedMatMulState>();
    state->bindings = primitive_.Bind();
    return state;
  }

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& y = ctx.output(0);
    if (m_ == 0 || n_ == 0) return absl::OkStatus();
    const float* bias = ctx.input(2).data<float>();
    if (k_ == 0) {  // an empty product: the epilogue of zeros
      std::memset(y.raw_data(), 0, y.num_bytes());
      ApplyEpilogue(epilogue_, m_, n_, 1, bias,
                    epilogue_.add ? ctx.input(3).data<float>() : nullptr, y.data<float>());
      return absl::OkStatus();
    }
    if (streaming_gemv_) {
      StreamingGemv(ctx.input(0).data<float>(), ctx.input(1).data<float>(), y.data<float>(), m_,
                    k_, n_);
      ApplyEpilogue(epilogue_, m_, n_, 1, bias,
                    epilogue_.add ? ctx.input(3).data<float>() : nullptr, y.data<float>());
      return absl::OkStatus();
    }
    PrepareResidual(epilogue_, ctx, 3);
    auto* state = static_cast<FusedMatMulState*>(ctx.state);
    return primitive_.Run(state->bindings,
                          {ctx.input(0).raw_data(), ctx.input(1).raw_data(), bias, y.raw_data()});
  }

 private:
  explicit FusedMatMulKernel(const Epilogue& e) : epilogue_(e) {}
  const Epilogue epilogue_;
  int64_t m_ = 0, k_ = 0, n_ = 0;
  bool streaming_gemv_ = false;
  DnnlPrimitive primitive_;
};

// ---------------------------------------------------------------------------
// _FusedConv2D(input, filter, bias[, residual]).

class FusedConv2DKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(Epilogue e, ParseEpilogue(init));
    ASSIGN_OR_RETURN(Window2D w, Conv2DWindow(init.input_shape(0), init.input_shape(1), init.node));
    if (init.output_shape(0) != w.OutputShape()) {
      return absl::InternalError(absl::StrCat("output shape ", init.output_shape(0).ToString(),
                                              " differs from the convolution's ",
                                              w.OutputShape().ToString()));
    }
    auto kernel = std::unique_ptr<FusedConv2DKernel>(new FusedConv2DKernel(w, e));
    const int64_t macs = w.output_elements() * w.k_h * w.k_w * w.in_c;
    if (w.output_elements() == 0 || macs == 0 ||
        plain::UsePlain(DType::kF32, macs, plain::kConvMacs)) {
      return kernel;
    }
    absl::Status status = CatchDnnl("_FusedConv2D", [&] {
      ConvDescs d = MakeConvDescs(w, dnnl::memory::data_type::f32);
      // The sum post-op accumulates onto the output's current contents, so
      // the primitive must write the caller's buffer directly.
      if (e.add) d.dst = d.user_dst;
      const DnnlWindow& dw = d.window;
      const dnnl::memory::desc bias({w.out_c}, dnnl::memory::data_type::f32,
                                    dnnl::memory::format_tag::a);
      dnnl::convolution_forward::primitive_desc pd(
          dnnl::convolution_forward::desc(prop_kind::forward_inference,
                                          algorithm::convolution_direct, d.src, d.weights, bias,
                                          d.dst, dw.strides, dw.dilates, dw.pad_l, dw.pad_r),
          EpilogueAttr(e), CpuEngine());
      auto p = ReorderingPrimitive::Create(pd, {{DNNL_ARG_SRC, d.user_src},
                                                {DNNL_ARG_WEIGHTS, d.user_weights},
                                                {DNNL_ARG_BIAS, bias},
                                                {DNNL_ARG_DST, d.user_dst, true}});
      if (p.ok()) kernel->primitive_ = *std::move(p);
    });
    (void)status;  // without a primitive, the plain loops compute it
    return kernel;
  }

  std::unique_ptr<KernelState> CreateState() const override {
    return primitive_.valid() ? primitive_.NewState() : nullptr;
  }

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& y = ctx.output(0);
    if (y.num_elements() == 0) return absl::OkStatus();
    const float* bias = ctx.input(2).data<float>();
    if (primitive_.valid()) {
      PrepareResidual(epilogue_, ctx, 3);
      return primitive_.Run(*static_cast<ReorderingPrimitive::State*>(ctx.state),
                            {ctx.input(0).raw_data(), ctx.input(1).raw_data(), bias,
                             y.raw_data()});
    }
    float* out = y.data<float>();
    if (window_.input_elements() == 0 || ctx.input(1).num_elements() == 0) {
      std::memset(out, 0, y.num_bytes());  // an empty sum
    } else {
      plain::Conv2D(window_, ctx.input(0).data<float>(), ctx.input(1).data<float>(), out);
    }
    const Window2D& w = window_;
    const bool nhwc = w.format == DataFormat::kNhwc;
    const int64_t spatial = w.out_h * w.out_w;
    ApplyEpilogue(epilogue_, nhwc ? w.batch * spatial : w.batch, w.out_c, nhwc ? 1 : spatial, bias,
                  epilogue_.add ? ctx.input(3).data<float>() : nullptr, out);
    return absl::OkStatus();
  }

 private:
  FusedConv2DKernel(const Window2D& w, const Epilogue& e) : window_(w), epilogue_(e) {}
  const Window2D window_;
  const Epilogue epilogue_;
  ReorderingPrimitive primitive_;
};

// ---------------------------------------------------------------------------
// _FusedElementwise(x, args...; fused_ops, operands, reversed, alphas).

enum class StepOp {
  kNeg, kSquare, kAbs, kSqrt, kRsqrt, kExp, kLog, kRelu, kRelu6, kElu, kSigmoid, kTanh,
  kSoftplus, kLeakyRelu, kAdd, kSub, kMul, kDiv, kMaximum, kMinimum, kPow
};

absl::StatusOr<StepOp> ParseStepOp(absl::string_view op) {
  static constexpr std::pair<absl::string_view, StepOp> kOps[] = {
      {"Neg", StepOp::kNeg},         {"Square", StepOp::kSquare},
      {"Abs", StepOp::kAbs},         {"Sqrt", StepOp::kSqrt},
      {"Rsqrt", StepOp::kRsqrt},     {"Exp", StepOp::kExp},
      {"Log", StepOp::kLog},         {"Relu", StepOp::kRelu},
      {"Relu6", StepOp::kRelu6},     {"Elu", StepOp::kElu},
      {"Sigmoid", StepOp::kSigmoid}, {"Tanh", StepOp::kTanh},
      {"Softplus", StepOp::kSoftplus}, {"LeakyRelu", StepOp::kLeakyRelu},
      {"Add", StepOp::kAdd},         {"Sub", StepOp::kSub},
      {"Mul", StepOp::kMul},         {"Div", StepOp::kDiv},
      {"Maximum", StepOp::kMaximum}, {"Minimum", StepOp::kMinimum},
      {"Pow", StepOp::kPow}};
  for (const auto& [name, code] : kOps) {
    if (name == op) return code;
  }
  return absl::UnimplementedError(absl::StrCat("no fused element-wise step for ", op));
}

struct Step {
  StepOp op;
  int operand = -1;      // input index (1 + args index), -1 for unary steps
  bool scalar = false;   // the operand is one element, broadcast
  bool reversed = false;
  float alpha = 0;
};

// v[i] = f(src[i]) over one block; src may be v itself (every step after
// the first), so neither pointer is declared restrict.
template <typename F>
inline void MapUnary(const float* src, float* v, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) v[i] = f(src[i]);
}

// v[i] = f(src[i], operand) or f(operand, src[i]) over one block, the
// operand a broadcast scalar or a stream.
template <typename F>
inline void MapBinary(const float* src, const float* operand, bool scalar, bool reversed,
                      float* v, int64_t n, F f) {
  if (scalar) {
    const float s = operand[0];
    if (reversed) {
      for (int64_t i = 0; i < n; ++i) v[i] = f(s, src[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) v[i] = f(src[i], s);
    }
    return;
  }
  if (reversed) {
    for (int64_t i = 0; i < n; ++i) v[i] = f(operand[i], src[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) v[i] = f(src[i], operand[i]);
  }
}

// One step over a block; `src` is x for the first step and `v` afterwards.
// Each formula is the unfused kernel's (cpu/elementwise.cc).
void RunStep(const Step& s, const float* src, const float* operand, float* v, int64_t n) {
  switch (s.op) {
    case StepOp::kNeg: return MapUnary(src, v, n, [](float x) { return -x; });
    case StepOp::kSquare: return MapUnary(src, v, n, [](float x) { return x * x; });
    case StepOp::kAbs: return MapUnary(src, v, n, [](float x) { return x < 0.0f ? -x : x; });
    case StepOp::kSqrt: return MapUnary(src, v, n, [](float x) { return std::sqrt(x); });
    case StepOp::kRsqrt:
      return MapUnary(src, v, n, [](float x) { return 1.0f / std::sqrt(x); });
    case StepOp::kExp: return MapUnary(src, v, n, [](float x) { return std::exp(x); });
    case StepOp::kLog: return MapUnary(src, v, n, [](float x) { return std::log(x); });
    case StepOp::kRelu: return MapUnary(src, v, n, [](float x) { return x > 0.0f ? x : 0.0f; });
    case StepOp::kRelu6:
      return MapUnary(src, v, n,
                      [](float x) { return x < 0.0f ? 0.0f : (x > 6.0f ? 6.0f : x); });
    case StepOp::kElu:
      return MapUnary(src, v, n, [](float x) { return x > 0.0f ? x : std::expm1(x); });
    case StepOp::kSigmoid:
      return MapUnary(src, v, n, [](float x) { return 1.0f / (1.0f + std::exp(-x)); });
    case StepOp::kTanh: return MapUnary(src, v, n, [](float x) { return std::tanh(x); });
    case StepOp::kSoftplus:
      return MapUnary(src, v, n, [](float x) {
        return (x > 0.0f ? x : 0.0f) + std::log1p(std::exp(-std::fabs(x)));
      });
    case StepOp::kLeakyRelu: {
      const float alpha = s.alpha;
      return MapUnary(src, v, n, [alpha](float x) { return x > 0.0f ? x : alpha * x; });
    }
    case StepOp::kAdd:
      return MapBinary(src, operand, s.scalar, s.reversed, v, n,
                       [](float a, float b) { return a + b; });
    case StepOp::kSub:
      return MapBinary(src, operand, s.scalar, s.reversed, v, n,
                       [](float a, float b) { return a - b; });
    case StepOp::kMul:
      return MapBinary(src, operand, s.scalar, s.reversed, v, n,
                       [](float a, float b) { return a * b; });
    case StepOp::kDiv:
      return MapBinary(src, operand, s.scalar, s.reversed, v, n,
                       [](float a, float b) { return a / b; });
    case StepOp::kMaximum:
      return MapBinary(src, operand, s.scalar, s.reversed, v, n, [](float a, float b) {
        return std::isnan(a) ? a : (a > b ? a : b);
      });
    case StepOp::kMinimum:
      return MapBinary(src, operand, s.scalar, s.reversed, v, n, [](float a, float b) {
        return std::isnan(a) ? a : (a < b ? a : b);
      });
    case StepOp::kPow:
      return MapBinary(src, operand, s.scalar, s.reversed, v, n,
                       [](float a, float b) { return std::pow(a, b); });
  }
}

class FusedElementwiseKernel final : public OpKernel {
 public:
  // 2048 floats (8 KiB) per block: the block and a streamed operand stay in
  // L1 across all steps.
  static constexpr int64_t kBlock = 2048;

  static KernelOr Create(const KernelInit& init) {
    const std::vector<std::string>& ops = init.attr("fused_ops").strings();
    const std::vector<int64_t>& operands = init.attr("operands").ints();
    const std::vector<bool>& reversed = init.attr("reversed").bools();
    const std::vector<float>& alphas = init.attr("alphas").floats();
    if (operands.size() != ops.size() || reversed.size() != ops.size() ||
        alphas.size() != ops.size()) {
      return absl::InvalidArgumentError("fused_ops, operands, reversed and alphas differ in length");
    }
    const int64_t n = init.output_shape(0).num_elements();
    auto kernel = std::unique_ptr<FusedElementwiseKernel>(new FusedElementwiseKernel());
    for (size_t i = 0; i < ops.size(); ++i) {
      Step s;
      ASSIGN_OR_RETURN(s.op, ParseStepOp(ops[i]));
      s.reversed = reversed[i];
      s.alpha = alphas[i];
      if (operands[i] >= 0) {
        s.operand = static_cast<int>(operands[i]) + 1;
        if (s.operand >= init.num_inputs()) {
          return absl::InvalidArgumentError(absl::StrCat("step ", i, ": no operand ", operands[i]));
        }
        const int64_t count = init.input_shape(s.operand).num_elements();
        s.scalar = count == 1;
        if (!s.scalar && count != n) {
          return absl::InvalidArgumentError(
              absl::StrCat("step ", i, ": operand ", init.input_shape(s.operand).ToString(),
                           " is neither one element nor the output's size"));
        }
      }
      kernel->steps_.push_back(s);
    }
    if (init.input_shape(0).num_elements() != n) {
      return absl::InvalidArgumentError("x and the output differ in size");
    }
    return kernel;
  }

  absl::Status Compute(const KernelContext& ctx) override {
    const float* x = ctx.input(0).data<float>();
    float* y = ctx.output(0).data<float>();
    const int64_t n = ctx.output(0).num_elements();
    const int64_t blocks = (n + kBlock - 1) / kBlock;
    const int64_t cost = kBlock * static_cast<int64_t>(steps_.size());
    ParallelFor(blocks, cost, [&](int64_t begin, int64_t end) {
      for (int64_t blk = begin; blk < end; ++blk) {
        const int64_t start = blk * kBlock;
        const int64_t len = std::min(kBlock, n - start);
        float* v = y + start;
        const float* src = x + start;
        for (const Step& s : steps_) {
          const float* operand = nullptr;
          if (s.operand >= 0) {
            operand = ctx.input(s.operand).data<float>() + (s.scalar ? 0 : start);
          }
          RunStep(s, src, operand, v, len);
          src = v;
        }
      }
    });
    return absl::OkStatus();
  }

 private:
  FusedElementwiseKernel() = default;
  std::vector<Step> steps_;
};

}  // namespace

void RegisterFusedKernels(KernelRegistry& r) {
  r.Register("_FusedMatMul", DeviceType::kCpu, {DType::kF32}, FusedMatMulKernel::Create);
  r.Register("_FusedConv2D", DeviceType::kCpu, {DType::kF32}, FusedConv2DKernel::Create);
  r.Register("_FusedElementwise", DeviceType::kCpu, {DType::kF32},
             FusedElementwiseKernel::Create);
}

}  // namespace sluice::cpu
