// The nn family: activations, softmax, BiasAdd, convolution, pooling, batch
// normalisation and the cross-entropy losses.
#include "graph/ops/nn.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/op_def.h"
#include "graph/ops/op_families.h"
#include "graph/shape_inference.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

// Positions of the batch, channel and two spatial dims in a rank-4 layout.
struct Layout {
  int n, c, h, w;
};
Layout LayoutOf(const std::string& data_format) {
  return data_format == "NCHW" ? Layout{0, 1, 2, 3} : Layout{0, 3, 1, 2};
}

absl::Status SoftmaxShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRankAtLeast(0, 1));
  c.set_output(0, c.input_shape(0));
  return absl::OkStatus();
}

absl::Status BiasAddShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(1, 1));
  const Shape& value = c.input_shape(0);
  const Shape& bias = c.input_shape(1);
  const bool nchw = c.GetString("data_format") == "NCHW";
  RETURN_IF_ERROR(c.CheckRankAtLeast(0, nchw ? 3 : 1));
  if (!value.unknown_rank() && !bias.unknown_rank()) {
    const int64_t channels = value.dim(nchw ? 1 : value.rank() - 1);
    if (channels >= 0 && bias.dim(0) >= 0 && channels != bias.dim(0)) {
      return c.Error("bias has ", bias.dim(0), " elements but value ", value.ToString(), " has ",
                     channels, " channels (", c.GetString("data_format"), ")");
    }
  }
  c.set_output(0, value);
  return absl::OkStatus();
}

// Checks a 4-entry stride/ksize/dilation list whose batch and channel entries
// must be 1.
absl::Status CheckWindowList(InferenceContext& c, const char* name, const Layout& layout) {
  const std::vector<int64_t>& v = c.GetInts(name);
  if (v.size() != 4) {
    return c.Error(name, " must have 4 entries, got [", absl::StrJoin(v, ","), "]");
  }
  for (int64_t x : v) {
    if (x < 1) return c.Error(name, " must be positive, got [", absl::StrJoin(v, ","), "]");
  }
  if (v[layout.n] != 1 || v[layout.c] != 1) {
    return c.Error(name, " must be 1 in the batch and channel dims, got [", absl::StrJoin(v, ","),
                   "]");
  }
  return absl::OkStatus();
}

// The output size of one spatial dim, or an error when the window does not
// fit. Unknown input sizes give unknown outputs.
absl::StatusOr<int64_t> WindowOutputSize(InferenceContext& c, const char* dim_name, int64_t in,
                                         int64_t k, int64_t stride, int64_t dilation,
                                         const std::string& padding, int64_t pad_before,
                                         int64_t pad_after) {
  if (in < 0 || k < 0) return kUnknownDim;
  const int64_t effective = (k - 1) * dilation + 1;
  if (padding == "SAME") return (in + stride - 1) / stride;
  const int64_t padded = padding == "EXPLICIT" ? in + pad_before + pad_after : in;
  if (padded < effective) {
    return c.Error("the ", dim_name, " window (", effective, " with dilation) is larger than the ",
                   padding == "EXPLICIT" ? "padded " : "", "input (", padded, ")");
  }
  return (padded - effective) / stride + 1;
}

absl::Status Conv2DShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 4));
  RETURN_IF_ERROR(c.CheckRank(1, 4));
  const std::string& format = c.GetString("data_format");
  const Layout layout = LayoutOf(format);
  RETURN_IF_ERROR(CheckWindowList(c, "strides", layout));
  RETURN_IF_ERROR(CheckWindowList(c, "dilations", layout));
  const std::string& padding = c.GetString("padding");
  const std::vector<int64_t>& pads = c.GetInts("explicit_paddings");
  if (padding == "EXPLICIT") {
    if (pads.size() != 8) {
      return c.Error("explicit_paddings must have 8 entries with padding EXPLICIT, got [",
                     absl::StrJoin(pads, ","), "]");
    }
    for (int64_t p : pads) {
      if (p < 0) return c.Error("explicit_paddings must be >= 0, got [", absl::StrJoin(pads, ","), "]");
    }
    if (pads[2 * layout.n] || pads[2 * layout.n + 1] || pads[2 * layout.c] ||
        pads[2 * layout.c + 1]) {
      return c.Error("explicit_paddings must be 0 in the batch and channel dims, got [",
                     absl::StrJoin(pads, ","), "]");
    }
  } else if (!pads.empty()) {
    return c.Error("explicit_paddings is only allowed with padding EXPLICIT, got padding ",
                   padding);
  }
  const Shape& in = c.input_shape(0);
  const Shape& filter = c.input_shape(1);
  const int64_t filter_out = filter.unknown_rank() ? kUnknownDim : filter.dim(3);
  if (in.unknown_rank()) {
    c.set_output(0, Shape::Unknown(4));
    return absl::OkStatus();
  }
  const int64_t kh = filter.unknown_rank() ? kUnknownDim : filter.dim(0);
  const int64_t kw = filter.unknown_rank() ? kUnknownDim : filter.dim(1);
  const int64_t fin = filter.unknown_rank() ? kUnknownDim : filter.dim(2);
  const int64_t channels = in.dim(layout.c);
  if (channels >= 0 && fin >= 0 && channels != fin) {
    return c.Error("input ", in.ToString(), " has ", channels, " channels (", format,
                   ") but filter ", filter.ToString(), " expects ", fin);
  }
  const std::vector<int64_t>& s = c.GetInts("strides");
  const std::vector<int64_t>& d = c.GetInts("dilations");
  auto pad = [&](int dim, int side) -> int64_t {
    return padding == "EXPLICIT" ? pads[2 * dim + side] : 0;
  };
  ASSIGN_OR_RETURN(int64_t oh, WindowOutputSize(c, "height", in.dim(layout.h), kh, s[layout.h],
                                                d[layout.h], padding, pad(layout.h, 0),
                                                pad(layout.h, 1)));
  ASSIGN_OR_RETURN(int64_t ow, WindowOutputSize(c, "width", in.dim(layout.w), kw, s[layout.w],
                                                d[layout.w], padding, pad(layout.w, 0),
                                                pad(layout.w, 1)));
  Shape out = Shape::Unknown(4);
  out.set_dim(layout.n, in.dim(layout.n));
  out.set_dim(layout.c, filter_out);
  out.set_dim(layout.h, oh);
  out.set_dim(layout.w, ow);
  c.set_output(0, out);
  return absl::OkStatus();
}

absl::Status PoolShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 4));
  const Layout layout = LayoutOf(c.GetString("data_format"));
  RETURN_IF_ERROR(CheckWindowList(c, "ksize", layout));
  RETURN_IF_ERROR(CheckWindowList(c, "strides", layout));
  const Shape& in = c.input_shape(0);
  if (in.unknown_rank()) {
    c.set_output(0, Shape::Unknown(4));
    return absl::OkStatus();
  }
  const std::vector<int64_t>& k = c.GetInts("ksize");
  const std::vector<int64_t>& s = c.GetInts("strides");
  const std::string& padding = c.GetString("padding");
  ASSIGN_OR_RETURN(int64_t oh, WindowOutputSize(c, "height", in.dim(layout.h), k[layout.h],
                                                s[layout.h], 1, padding, 0, 0));
  ASSIGN_OR_RETURN(int64_t ow, WindowOutputSize(c, "width", in.dim(layout.w), k[layout.w],
                                                s[layout.w], 1, padding, 0, 0));
  Shape out = in;
  out.set_dim(layout.h, oh);
  out.set_dim(layout.w, ow);
  c.set_output(0, out);
  return absl::OkStatus();
}

absl::Status FusedBatchNormShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 4));
  const Layout layout = LayoutOf(c.GetString("data_format"));
  const Shape& x = c.input_shape(0);
  int64_t channels = x.unknown_rank() ? kUnknownDim : x.dim(layout.c);
  const bool training = c.GetBool("is_training");
  for (int i = 1; i < 5; ++i) {
    RETURN_IF_ERROR(c.CheckRank(i, 1));
    const Shape& s = c.input_shape(i);
    if (s.unknown_rank() || s.dim(0) < 0) continue;
    if (training && i >= 3 && s.dim(0) == 0) continue;  // TF allows empty stats in training
    if (channels >= 0 && s.dim(0) != channels) {
      return c.Error(c.InputName(i), " has shape ", s.ToString(), " but x ", x.ToString(),
                     " has ", channels, " channels");
    }
    channels = s.dim(0);
  }
  c.set_output(0, x);
  for (int i = 1; i < 5; ++i) c.set_output(i, Shape{channels});
  return absl::OkStatus();
}

absl::Status CrossEntropyShape(InferenceContext& c, bool sparse) {
  RETURN_IF_ERROR(c.CheckRank(0, 2));
  RETURN_IF_ERROR(c.CheckRank(1, sparse ? 1 : 2));
  Shape features = c.input_shape(0).unknown_rank() ? Shape::Unknown(2) : c.input_shape(0);
  const Shape& labels = c.input_shape(1);
  if (!labels.unknown_rank()) {
    Shape want = sparse ? Shape{features.dim(0)} : features;
    auto merged = want.Merge(labels);
    if (!merged.ok()) {
      return c.Error("labels ", labels.ToString(), " do not match logits ",
                     c.input_shape(0).ToString());
    }
    features.set_dim(0, (*merged).dim(0));
    if (!sparse) features = *merged;
  }
  c.set_output(0, Shape{features.dim(0)});
  c.set_output(1, features);
  return absl::OkStatus();
}

void RegisterActivation(OpRegistry& r, const char* name, const char* in, const char* out,
                        const char* extra_attr = nullptr) {
  OpDefBuilder b(name);
  b.Input(absl::StrCat(in, ": T")).Output(absl::StrCat(out, ": T")).Attr("T: {floating}");
  if (extra_attr != nullptr) b.Attr(extra_attr);
  r.Register(b.SetShapeFn(shape_fns::Unchanged).Differentiable());
}

}  // namespace

void RegisterNnOps(OpRegistry& r) {
  for (const char* name : {"Relu", "Relu6", "Elu", "Softplus"}) {
    RegisterActivation(r, name, "features", "activations");
  }
  RegisterActivation(r, "Sigmoid", "x", "y");
  RegisterActivation(r, "Tanh", "x", "y");
  RegisterActivation(r, "LeakyRelu", "features", "activations", "alpha: float = 0.2");
  RegisterActivation(r, "Gelu", "features", "activations", "approximate: bool = false");
  r.Register(OpDefBuilder("Softmax")
                 .Input("logits: T")
                 .Output("softmax: T")
                 .Attr("T: {floating}")
                 .SetShapeFn(SoftmaxShape)
                 .Differentiable());
  r.Register(OpDefBuilder("LogSoftmax")
                 .Input("logits: T")
                 .Output("logsoftmax: T")
                 .Attr("T: {floating}")
                 .SetShapeFn(SoftmaxShape)
                 .Differentiable());
  r.Register(OpDefBuilder("BiasAdd")
                 .Input("value: T")
                 .Input("bias: T")
                 .Output("output: T")
                 .Attr("T: {numeric}")
                 .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                 .SetShapeFn(BiasAddShape)
                 .Differentiable());
  r.Register(OpDefBuilder("Conv2D")
                 .Input("input: T")
                 .Input("filter: T")
                 .Output("output: T")
                 .Attr("T: {floating}")
                 .Attr("strides: list(int)")
                 .Attr("padding: {'SAME', 'VALID', 'EXPLICIT'}")
                 .Attr("explicit_paddings: list(int) = []")
                 .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                 .Attr("dilations: list(int) = [1, 1, 1, 1]")
                 .SetShapeFn(Conv2DShape)
                 .Differentiable());
  r.Register(OpDefBuilder("MaxPool")
                 .Input("input: T")
                 .Output("output: T")
                 .Attr("T: {floating, i8, u8, i32, i64} = f32")
                 .Attr("ksize: list(int)")
                 .Attr("strides: list(int)")
                 .Attr("padding: {'SAME', 'VALID'}")
                 .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                 .SetShapeFn(PoolShape)
                 .Differentiable());
  r.Register(OpDefBuilder("AvgPool")
                 .Input("value: T")
                 .Output("output: T")
                 .Attr("T: {floating}")
                 .Attr("ksize: list(int)")
                 .Attr("strides: list(int)")
                 .Attr("padding: {'SAME', 'VALID'}")
                 .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                 .SetShapeFn(PoolShape)
                 .Differentiable());
  r.Register(OpDefBuilder("FusedBatchNorm")
                 .Input("x: T")
                 .Input("scale: T")
                 .Input("offset: T")
                 .Input("mean: T")
                 .Input("variance: T")
                 .Output("y: T")
                 .Output("batch_mean: T")
                 .Output("batch_variance: T")
                 .Output("reserve_space_1: T")
                 .Output("reserve_space_2: T")
                 .Attr("T: {floating}")
                 .Attr("epsilon: float = 0.0001")
                 .Attr("exponential_avg_factor: float = 1.0")
                 .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                 .Attr("is_training: bool = true")
                 .SetShapeFn(FusedBatchNormShape)
                 .Differentiable());
  r.Register(OpDefBuilder("SoftmaxCrossEntropyWithLogits")
                 .Input("features: T")
                 .Input("labels: T")
                 .Output("loss: T")
                 .Output("backprop: T")
                 .Attr("T: {floating}")
                 .SetShapeFn([](InferenceContext& c) { return CrossEntropyShape(c, false); })
                 .Differentiable());
  r.Register(OpDefBuilder("SparseSoftmaxCrossEntropyWithLogits")
                 .Input("features: T")
                 .Input("labels: Tlabels")
                 .Output("loss: T")
                 .Output("backprop: T")
                 .Attr("T: {floating}")
                 .Attr("Tlabels: {index} = i64")
                 .SetShapeFn([](InferenceContext& c) { return CrossEntropyShape(c, true); })
                 .Differentiable());
}

#define SLUICE_UNARY_BUILDER(Name) \
  Output Name(const Scope& scope, Output x) { return AddOp(scope, #Name, {x}); }
SLUICE_UNARY_BUILDER(Relu)
SLUICE_UNARY_BUILDER(Relu6)
SLUICE_UNARY_BUILDER(Elu)
SLUICE_UNARY_BUILDER(Softplus)
SLUICE_UNARY_BUILDER(Sigmoid)
SLUICE_UNARY_BUILDER(Tanh)
SLUICE_UNARY_BUILDER(Softmax)
SLUICE_UNARY_BUILDER(LogSoftmax)
#undef SLUICE_UNARY_BUILDER

Output LeakyRelu(const Scope& scope, Output features, float alpha) {
  return AddOp(scope, "LeakyRelu", {features}, {{"alpha", alpha}});
}
Output Gelu(const Scope& scope, Output features, bool approximate) {
  return AddOp(scope, "Gelu", {features}, {{"approximate", approximate}});
}
Output BiasAdd(const Scope& scope, Output value, Output bias, const std::string& data_format) {
  return AddOp(scope, "BiasAdd", {value, bias}, {{"data_format", data_format}});
}
Output Conv2D(const Scope& scope, Output input, Output filter, const Conv2DOptions& o) {
  return AddOp(scope, "Conv2D", {input, filter},
               {{"strides", o.strides},
                {"padding", o.padding},
                {"explicit_paddings", o.explicit_paddings},
                {"data_format", o.data_format},
                {"dilations", o.dilations}});
}
namespace {
AttrMap PoolAttrs(const PoolOptions& o) {
  return {{"ksize", o.ksize},
          {"strides", o.strides},
          {"padding", o.padding},
          {"data_format", o.data_format}};
}
}  // namespace
Output MaxPool(const Scope& scope, Output input, const PoolOptions& options) {
  return AddOp(scope, "MaxPool", {input}, PoolAttrs(options));
}
Output AvgPool(const Scope& scope, Output value, const PoolOptions& options) {
  return AddOp(scope, "AvgPool", {value}, PoolAttrs(options));
}

FusedBatchNormOutputs FusedBatchNorm(const Scope& scope, Output x, Output scale, Output offset,
                                     Output mean, Output variance,
                                     const FusedBatchNormOptions& o) {
  std::vector<Output> out = AddOpOutputs(scope, "FusedBatchNorm", {x, scale, offset, mean, variance},
                                         {{"epsilon", o.epsilon},
                                          {"exponential_avg_factor", o.exponential_avg_factor},
                                          {"data_format", o.data_format},
                                          {"is_training", o.is_training}});
  if (out.size() != 5) return {};
  return {out[0], out[1], out[2], out[3], out[4]};
}

CrossEntropyOutputs SoftmaxCrossEntropyWithLogits(const Scope& scope, Output features,
                                                  Output labels) {
  std::vector<Output> out = AddOpOutputs(scope, "SoftmaxCrossEntropyWithLogits", {features, labels});
  if (out.size() != 2) return {};
  return {out[0], out[1]};
}

CrossEntropyOutputs SparseSoftmaxCrossEntropyWithLogits(const Scope& scope, Output features,
                                                        Output labels) {
  std::vector<Output> out =
      AddOpOutputs(scope, "SparseSoftmaxCrossEntropyWithLogits", {features, labels});
  if (out.size() != 2) return {};
  return {out[0], out[1]};
}

}  // namespace sluice
