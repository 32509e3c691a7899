#include "cpu/onednn.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"

namespace sluice::cpu {

const dnnl::engine& CpuEngine() {
  static const dnnl::engine* const engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

dnnl::stream& CpuStream() {
  thread_local dnnl::stream stream(CpuEngine());
  return stream;
}

std::optional<dnnl::memory::data_type> DnnlDataType(DType dtype) {
  using dt = dnnl::memory::data_type;
  switch (dtype) {
    case DType::kF32:
      return dt::f32;
    case DType::kBF16:
      return dt::bf16;
    case DType::kI32:
      return dt::s32;
    case DType::kI8:
      return dt::s8;
    case DType::kU8:
      return dt::u8;
    // oneDNN 2.6 has f16 descriptors but no CPU primitive for them on the
    // machines we target; f64, i64 and bool do not exist in oneDNN at all.
    default:
      return std::nullopt;
  }
}

dnnl::memory::dims DnnlDims(const Shape& shape) {
  return dnnl::memory::dims(shape.dims().begin(), shape.dims().end());
}

dnnl::memory::desc DenseDesc(const dnnl::memory::dims& dims, dnnl::memory::data_type type) {
  dnnl::memory::dims strides(dims.size());
  int64_t stride = 1;
  for (int i = static_cast<int>(dims.size()) - 1; i >= 0; --i) {
    strides[i] = stride;
    stride *= std::max<int64_t>(dims[i], 1);
  }
  return dnnl::memory::desc(dims, type, strides);
}

dnnl::memory::desc StridedDesc(const dnnl::memory::dims& dims, dnnl::memory::data_type type,
                               const dnnl::memory::dims& strides) {
  return dnnl::memory::desc(dims, type, strides);
}

dnnl::primitive_attr UserScratchpad() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

absl::Status DnnlError(absl::string_view what, const dnnl::error& e) {
  return absl::UnimplementedError(absl::StrCat("oneDNN cannot run ", what, ": ", e.what()));
}

int64_t DescBytes(const dnnl::memory::desc& desc) { return static_cast<int64_t>(desc.get_size()); }

absl::StatusOr<DnnlPrimitive> DnnlPrimitive::Create(const dnnl::primitive_desc_base& pd,
                                                    std::vector<int> args) {
  DnnlPrimitive p;
  try {
    p.primitive_ = dnnl::primitive(pd.get());
    for (int arg : args) p.descs_.push_back(pd.query_md(dnnl::query::exec_arg_md, arg));
    p.scratchpad_desc_ = pd.scratchpad_desc();
    p.impl_name_ = pd.impl_info_str();
  } catch (const dnnl::error& e) {
    return DnnlError("a primitive", e);
  }
  p.args_ = std::move(args);
  return p;
}

absl::StatusOr<DnnlPrimitive> DnnlPrimitive::Reorder(const dnnl::memory::desc& from,
                                                     const dnnl::memory::desc& to) {
  try {
    dnnl::reorder::primitive_desc pd(CpuEngine(), from, CpuEngine(), to, UserScratchpad());
    return Create(pd, {DNNL_ARG_FROM, DNNL_ARG_TO});
  } catch (const dnnl::error& e) {
    return DnnlError("a reorder", e);
  }
}

const dnnl::memory::desc& DnnlPrimitive::arg_desc(int arg) const {
  for (size_t i = 0; i < args_.size(); ++i) {
    if (args_[i] == arg) return descs_[i];
  }
  static const dnnl::memory::desc* const kEmpty = new dnnl::memory::desc();
  return *kEmpty;
}

DnnlPrimitive::Bindings DnnlPrimitive::Bind() const {
  Bindings b;
  for (size_t i = 0; i < args_.size(); ++i) {
    dnnl::memory m(descs_[i], CpuEngine(), DNNL_MEMORY_NONE);
    b.memories_.push_back(m);
    b.handles_.push_back(nullptr);
    b.args_.emplace(args_[i], m);
  }
  const int64_t scratch_bytes = DescBytes(scratchpad_desc_);
  if (scratch_bytes > 0) {
    b.scratchpad_ = Tensor(DType::kU8, Shape{scratch_bytes});
    b.args_.emplace(DNNL_ARG_SCRATCHPAD,
                    dnnl::memory(scratchpad_desc_, CpuEngine(), b.scratchpad_.raw_data()));
  }
  return b;
}

absl::Status DnnlPrimitive::Run(Bindings& bindings, absl::Span<const void* const> ptrs) const {
  try {
    for (size_t i = 0; i < ptrs.size(); ++i) {
      void* handle = const_cast<void*>(ptrs[i]);
      if (bindings.handles_[i] != handle) {
        bindings.memories_[i].set_data_handle(handle);
        bindings.handles_[i] = handle;
      }
    }
    primitive_.execute(CpuStream(), bindings.args_);
  } catch (const dnnl::error& e) {
    return absl::InternalError(absl::StrCat("oneDNN execution failed: ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<ReorderingPrimitive> ReorderingPrimitive::Create(const dnnl::primitive_desc_base& pd,
                                                                std::vector<Arg> args) {
  if (args.size() > kMaxArgs) return absl::InternalError("too many primitive arguments");
  ReorderingPrimitive p;
  std::vector<int> ids;
  for (const Arg& a : args) ids.push_back(a.id);
  ASSIGN_OR_RETURN(p.main_, DnnlPrimitive::Create(pd, std::move(ids)));
  for (Arg& a : args) {
    const dnnl::memory::desc& chosen = p.main_.arg_desc(a.id);
    if (a.user.is_zero() || a.user == chosen) {
      a.user = chosen;
      p.reorders_.emplace_back();
      continue;
    }
    ASSIGN_OR_RETURN(DnnlPrimitive reorder, a.is_output ? DnnlPrimitive::Reorder(chosen, a.user)
                                                        : DnnlPrimitive::Reorder(a.user, chosen));
    p.reorders_.push_back(std::move(reorder));
  }
  p.args_ = std::move(args);
  return p;
}

namespace {

std::string ArgName(int arg) {
  switch (arg) {
    case DNNL_ARG_SRC:
      return "src";
    case DNNL_ARG_DST:
      return "dst";
    case DNNL_ARG_WEIGHTS:
      return "weights";
    case DNNL_ARG_DIFF_SRC:
      return "diff_src";
    case DNNL_ARG_DIFF_DST:
      return "diff_dst";
    case DNNL_ARG_DIFF_WEIGHTS:
      return "diff_weights";
    default:
      return absl::StrCat("arg ", arg);
  }
}

}  // namespace

std::string ReorderingPrimitive::impl_name() const {
  std::string name = main_.impl_name();
  for (size_t i = 0; i < args_.size(); ++i) {
    if (reorders_[i].valid()) absl::StrAppend(&name, "+reorder(", ArgName(args_[i].id), ")");
  }
  return name;
}

std::unique_ptr<ReorderingPrimitive::State> ReorderingPrimitive::NewState() const {
  auto state = std::make_unique<State>();
  state->main_ = main_.Bind();
  for (size_t i = 0; i < args_.size(); ++i) {
    if (reorders_[i].valid()) {
      state->reorders_.push_back(reorders_[i].Bind());
      const int64_t bytes = DescBytes(main_.arg_desc(args_[i].id));
      state->buffers_.push_back(Tensor(DType::kU8, Shape{std::max<int64_t>(bytes, 1)}));
    } else {
      state->reorders_.emplace_back();
      state->buffers_.emplace_back();
    }
  }
  return state;
}

absl::Status ReorderingPrimitive::Run(State& state, absl::Span<const void* const> ptrs) const {
  const void* main_ptrs[kMaxArgs];
  for (size_t i = 0; i < args_.size(); ++i) {
    if (!reorders_[i].valid()) {
      main_ptrs[i] = ptrs[i];
      continue;
    }
    main_ptrs[i] = state.buffers_[i].raw_data();
    if (!args_[i].is_output) {
      RETURN_IF_ERROR(reorders_[i].Run(state.reorders_[i], {ptrs[i], main_ptrs[i]}));
    }
  }
  RETURN_IF_ERROR(main_.Run(state.main_, absl::MakeConstSpan(main_ptrs, args_.size())));
  for (size_t i = 0; i < args_.size(); ++i) {
    if (reorders_[i].valid() && args_[i].is_output) {
      RETURN_IF_ERROR(reorders_[i].Run(state.reorders_[i], {main_ptrs[i], ptrs[i]}));
    }
  }
  return absl::OkStatus();
}

DnnlWindow ToDnnlWindow(const Window2D& w) {
  DnnlWindow d;
  d.src = {w.batch, w.in_c, w.in_h, w.in_w};
  d.dst = {w.batch, w.out_c, w.out_h, w.out_w};
  d.weights = {w.out_c, w.in_c, w.k_h, w.k_w};
  d.strides = {w.stride_h, w.stride_w};
  d.kernel = {w.k_h, w.k_w};
  d.dilates = {w.dilation_h - 1, w.dilation_w - 1};
  d.pad_l = {w.pad_top, w.pad_left};
  d.pad_r = {w.pad_bottom, w.pad_right};
  d.layout = w.format == DataFormat::kNhwc ? dnnl::memory::format_tag::nhwc
                                           : dnnl::memory::format_tag::nchw;
  return d;
}

ConvDescs MakeConvDescs(const Window2D& w, dnnl::memory::data_type type) {
  using tag = dnnl::memory::format_tag;
  ConvDescs d;
  d.window = ToDnnlWindow(w);
  const DnnlWindow& dw = d.window;
  d.user_src = dnnl::memory::desc(dw.src, type, dw.layout);
  d.user_dst = dnnl::memory::desc(dw.dst, type, dw.layout);
  d.user_weights = dnnl::memory::desc(dw.weights, type, tag::hwio);
  // Measured (2 cores, 5x5 filters, batch 64): NCHW 14x14x32->64 takes 11.2
  // ms on plain activations (gemm) vs 6.1 ms blocked with reorders; with a
  // single input channel, 0.80 ms plain vs 1.17 ms blocked.
  const bool blocked = w.format == DataFormat::kNchw && w.in_c >= 16;
  d.src = blocked ? dnnl::memory::desc(dw.src, type, tag::any) : d.user_src;
  d.dst = blocked ? dnnl::memory::desc(dw.dst, type, tag::any) : d.user_dst;
  d.weights = dnnl::memory::desc(dw.weights, type, tag::any);
  return d;
}

}  // namespace sluice::cpu
