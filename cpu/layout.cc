// Kernels of the layout family (graph/ops/layout.h): conversions between
// NHWC and blocked activations, and convolution and pooling on blocked ones.
//
// A blocked tensor [N, C/b, H, W, b] is exactly oneDNN's nChw{b}c of the
// logical (N, C, H, W), so every kernel here is one oneDNN primitive with
// that format declared: the conversions are reorders, and the convolution
// and pooling primitives read and write the caller's buffers directly. Only
// the filter goes through a reorder on every run, from HWIO to the format
// the convolution chose (filters may be variables, so they stay HWIO
// tensors).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cpu/cpu_kernels.h"
#include "cpu/epilogue.h"
#include "cpu/onednn.h"
#include "cpu/window.h"
#include "graph/ops/layout.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"

namespace sluice::cpu {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;
using dnnl::algorithm;
using dnnl::prop_kind;
using tag = dnnl::memory::format_tag;

// oneDNN's format of blocks of `block` channels over logical (n, c, h, w).
absl::StatusOr<tag> BlockedTag(int64_t block) {
  switch (block) {
    case 4: return tag::nChw4c;
    case 8: return tag::nChw8c;
    case 16: return tag::nChw16c;
    default:
      return absl::UnimplementedError(
          absl::StrCat("blocks of ", block, " channels are not supported on the CPU (4, 8, 16)"));
  }
}

// oneDNN's logical (n, c, h, w) dims of an NHWC shape.
dnnl::memory::dims NchwDims(const Shape& nhwc) {
  return {nhwc.dim(0), nhwc.dim(3), nhwc.dim(1), nhwc.dim(2)};
}

// The kernel state of a DnnlPrimitive: its bindings.
class BindingsState final : public KernelState {
 public:
  DnnlPrimitive::Bindings bindings;
};

// A kernel that is one oneDNN primitive from input 0 to output 0 (none for
// an empty tensor): the reorders and the blocked poolings.
class SourceToDestinationKernel : public OpKernel {
 public:
  std::unique_ptr<KernelState> CreateState() const override {
    if (!primitive_.valid()) return nullptr;
    auto state = std::make_unique<BindingsState>();
    state->bindings = primitive_.Bind();
    return state;
  }

  absl::Status Compute(const KernelContext& ctx) override {
    if (!primitive_.valid()) return absl::OkStatus();  // empty
    return primitive_.Run(static_cast<BindingsState*>(ctx.state)->bindings,
                          {ctx.input(0).raw_data(), ctx.output(0).raw_data()});
  }

 protected:
  DnnlPrimitive primitive_;
};

// ---------------------------------------------------------------------------
// _ToBlocked(input; block) and _FromBlocked(input): one reorder each.

class ReorderKernel final : public SourceToDestinationKernel {
 public:
  static KernelOr Create(const KernelInit& init, bool to_blocked) {
    const Shape& nhwc = to_blocked ? init.input_shape(0) : init.output_shape(0);
    const Shape& blocked = to_blocked ? init.output_shape(0) : init.input_shape(0);
    if (nhwc.rank() != 4 || blocked.rank() != 5 || blocked != BlockedShape(nhwc, blocked.dim(4))) {
      return absl::InvalidArgumentError(absl::StrCat("cannot convert between ", nhwc.ToString(),
                                                     " and blocked ", blocked.ToString()));
    }
    auto kernel = std::make_unique<ReorderKernel>();
    if (nhwc.num_elements() == 0) return kernel;
    ASSIGN_OR_RETURN(const tag blocked_tag, BlockedTag(blocked.dim(4)));
    const dnnl::memory::dims dims = NchwDims(nhwc);
    const dnnl::memory::desc plain(dims, dnnl::memory::data_type::f32, tag::nhwc);
    const dnnl::memory::desc block(dims, dnnl::memory::data_type::f32, blocked_tag);
    ASSIGN_OR_RETURN(kernel->primitive_, to_blocked ? DnnlPrimitive::Reorder(plain, block)
                                                    : DnnlPrimitive::Reorder(block, plain));
    return kernel;
  }
};

// ---------------------------------------------------------------------------
// _BlockedConv2D(input, filter[, bias[, residual]]; block, blocked_input,
// fused_ops, Conv2D's window attributes).

class BlockedConv2DKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    const int64_t block = init.attr("block").i();
    const bool blocked_input = init.attr("blocked_input").b();
    const bool has_epilogue = !init.attr("fused_ops").strings().empty();
    Epilogue e;
    if (has_epilogue) {
      ASSIGN_OR_RETURN(e, ParseEpilogue(init));
    }
    const Shape& in = init.input_shape(0);
    if (blocked_input && in.rank() != 5) {
      return absl::InvalidArgumentError(
          absl::StrCat("blocked input must have rank 5, got ", in.ToString()));
    }
    const Shape input = blocked_input ? NhwcShapeOfBlocked(in) : in;
    ASSIGN_OR_RETURN(Window2D w, Conv2DWindow(input, init.input_shape(1), init.node));
    if (init.output_shape(0) != BlockedShape(w.OutputShape(), block)) {
      return absl::InternalError(absl::StrCat("output shape ", init.output_shape(0).ToString(),
                                              " differs from the blocked convolution's ",
                                              BlockedShape(w.OutputShape(), block).ToString()));
    }
    const int64_t macs = w.output_elements() * w.k_h * w.k_w * w.in_c;
    if (macs == 0) {
      return absl::UnimplementedError(
          absl::StrCat("empty blocked convolution ", w.ToString(), " (the layout pass leaves "
                       "empty tensors in NHWC)"));
    }
    ASSIGN_OR_RETURN(const tag blocked_tag, BlockedTag(block));
    auto kernel = std::unique_ptr<BlockedConv2DKernel>(new BlockedConv2DKernel(e, has_epilogue));
    absl::Status status = CatchDnnl("_BlockedConv2D", [&] {
      using dt = dnnl::memory::data_type;
      const DnnlWindow dw = ToDnnlWindow(w);
      // A plain source with one channel is the same bytes in nchw, the
      // format oneDNN's direct kernels for a first convolution read.
      const tag plain_tag = w.in_c == 1 ? tag::nchw : tag::nhwc;
      const dnnl::memory::desc user_src(dw.src, dt::f32, blocked_input ? blocked_tag : plain_tag);
      const dnnl::memory::desc dst(dw.dst, dt::f32, blocked_tag);
      const dnnl::memory::desc weights(dw.weights, dt::f32, tag::any);
      const dnnl::memory::desc user_weights(dw.weights, dt::f32, tag::hwio);
      const dnnl::memory::desc bias({w.out_c}, dt::f32, tag::a);
      const dnnl::primitive_attr attr = has_epilogue ? EpilogueAttr(e) : UserScratchpad();
      auto make_pd = [&](const dnnl::memory::desc& src) {
        return has_epilogue
                   ? dnnl::convolution_forward::primitive_desc(
                         dnnl::convolution_forward::desc(
                             prop_kind::forward_inference, algorithm::convolution_direct, src,
                             weights, bias, dst, dw.strides, dw.dilates, dw.pad_l, dw.pad_r),
                         attr, CpuEngine())
                   : dnnl::convolution_forward::primitive_desc(
                         dnnl::convolution_forward::desc(
                             prop_kind::forward_inference, algorithm::convolution_direct, src,
                             weights, dst, dw.strides, dw.dilates, dw.pad_l, dw.pad_r),
                         attr, CpuEngine());
      };
      dnnl::convolution_forward::primitive_desc pd = make_pd(user_src);
      // Where only the reference implementation reads the plain source
      // as it is, letting oneDNN choose the source format and reordering
      // into it is much faster.
      if (!blocked_input && absl::StartsWith(pd.impl_info_str(), "ref")) {
        pd = make_pd(dnnl::memory::desc(dw.src, dt::f32, tag::any));
      }
      std::vector<ReorderingPrimitive::Arg> args = {{DNNL_ARG_SRC, user_src},
                                                    {DNNL_ARG_WEIGHTS, user_weights}};
      if (has_epilogue) args.push_back({DNNL_ARG_BIAS, bias});
      args.push_back({DNNL_ARG_DST, dst, true});
      auto p = ReorderingPrimitive::Create(pd, std::move(args));
      if (p.ok()) kernel->primitive_ = *std::move(p);
    });
    if (!kernel->primitive_.valid()) {
      return status.ok() ? absl::UnimplementedError(absl::StrCat(
                               "no oneDNN convolution for blocked ", w.ToString()))
                         : status;
    }
    return kernel;
  }

  std::unique_ptr<KernelState> CreateState() const override { return primitive_.NewState(); }

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& y = ctx.output(0);
    auto* state = static_cast<ReorderingPrimitive::State*>(ctx.state);
    if (!has_epilogue_) {
      return primitive_.Run(*state, {ctx.input(0).raw_data(), ctx.input(1).raw_data(),
                                     y.raw_data()});
    }
    PrepareResidual(epilogue_, ctx, 3);
    return primitive_.Run(*state, {ctx.input(0).raw_data(), ctx.input(1).raw_data(),
                                   ctx.input(2).raw_data(), y.raw_data()});
  }

  // For tests and dumps: the implementation oneDNN chose.
  std::string impl_name() const { return primitive_.impl_name(); }

 private:
  BlockedConv2DKernel(const Epilogue& e, bool has_epilogue)
      : epilogue_(e), has_epilogue_(has_epilogue) {}
  const Epilogue epilogue_;
  const bool has_epilogue_;
  ReorderingPrimitive primitive_;
};

// ---------------------------------------------------------------------------
// _BlockedMaxPool / _BlockedAvgPool(input; ksize, strides, padding, block).

class BlockedPoolKernel final : public SourceToDestinationKernel {
 public:
  static KernelOr Create(const KernelInit& init, algorithm kind) {
    const Shape& in = init.input_shape(0);
    if (in.rank() != 5) {
      return absl::InvalidArgumentError(
          absl::StrCat("blocked input must have rank 5, got ", in.ToString()));
    }
    const int64_t block = in.dim(4);
    ASSIGN_OR_RETURN(Window2D w, Pool2DWindow(NhwcShapeOfBlocked(in), init.node));
    if (init.output_shape(0) != BlockedShape(w.OutputShape(), block)) {
      return absl::InternalError(absl::StrCat("output shape ", init.output_shape(0).ToString(),
                                              " differs from the blocked pooling's ",
                                              BlockedShape(w.OutputShape(), block).ToString()));
    }
    auto kernel = std::make_unique<BlockedPoolKernel>();
    if (w.output_elements() == 0) return kernel;
    ASSIGN_OR_RETURN(const tag blocked_tag, BlockedTag(block));
    absl::Status status = CatchDnnl("blocked pooling", [&] {
      const DnnlWindow dw = ToDnnlWindow(w);
      const dnnl::memory::desc src(dw.src, dnnl::memory::data_type::f32, blocked_tag);
      const dnnl::memory::desc dst(dw.dst, dnnl::memory::data_type::f32, blocked_tag);
      dnnl::pooling_forward::primitive_desc pd(
          dnnl::pooling_forward::desc(prop_kind::forward_inference, kind, src, dst, dw.strides,
                                      dw.kernel, dw.pad_l, dw.pad_r),
          UserScratchpad(), CpuEngine());
      auto p = DnnlPrimitive::Create(pd, {DNNL_ARG_SRC, DNNL_ARG_DST});
      if (p.ok()) kernel->primitive_ = *std::move(p);
    });
    RETURN_IF_ERROR(status);
    if (!kernel->primitive_.valid()) {
      return absl::UnimplementedError(absl::StrCat("no oneDNN pooling for blocked ", w.ToString()));
    }
    return kernel;
  }
};

// Blocks of 16 channels fill an AVX-512 register, 8 an AVX2 one; below AVX2
// oneDNN has no fast blocked kernels, so the layout pass stays off.
int64_t PreferredChannelBlock() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx512_core:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
      return 16;
    case dnnl::cpu_isa::avx2:
    case dnnl::cpu_isa::avx2_vnni:
      return 8;
    default:
      return 0;
  }
}

}  // namespace

void RegisterLayoutKernels(KernelRegistry& r) {
  r.Register("_ToBlocked", DeviceType::kCpu, {DType::kF32},
             [](const KernelInit& init) { return ReorderKernel::Create(init, true); });
  r.Register("_FromBlocked", DeviceType::kCpu, {DType::kF32},
             [](const KernelInit& init) { return ReorderKernel::Create(init, false); });
  r.Register("_BlockedConv2D", DeviceType::kCpu, {DType::kF32}, BlockedConv2DKernel::Create);
  r.Register("_BlockedMaxPool", DeviceType::kCpu, {DType::kF32}, [](const KernelInit& init) {
    return BlockedPoolKernel::Create(init, algorithm::pooling_max);
  });
  r.Register("_BlockedAvgPool", DeviceType::kCpu, {DType::kF32}, [](const KernelInit& init) {
    return BlockedPoolKernel::Create(init, algorithm::pooling_avg_exclude_padding);
  });
  r.set_channel_block(DeviceType::kCpu, PreferredChannelBlock());
}

}  // namespace sluice::cpu
