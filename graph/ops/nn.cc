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
Layout LayoutOf(absl::string_view data_format) {
  return data_format == "NCHW" ? Layout{0, 1, 2, 3} : Layout{0, 3, 1, 2};
}

// Dim i of a shape that is known to have rank > i unless its rank is unknown.
int64_t DimOrUnknown(const Shape& shape, int i) {
  return shape.unknown_rank() ? kUnknownDim : shape.dim(i);
}

std::string ListString(const std::vector<int64_t>& values) {
  return absl::StrCat("[", absl::StrJoin(values, ","), "]");
}

// ceil(a / b) for a >= 0 and b >= 1, without overflow.
int64_t CeilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0 ? 1 : 0); }

absl::Status SoftmaxShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRankAtLeast(0, 1));
  c.set_output(0, c.input_shape(0));
  return absl::OkStatus();
}

absl::Status BiasAddShape(InferenceContext& c) {
  const std::string& format = c.GetString("data_format");
  RETURN_IF_ERROR(c.CheckRankAtLeast(0, format == "NCHW" ? 3 : 1));
  RETURN_IF_ERROR(c.CheckRank(1, 1));
  const Shape& value = c.input_shape(0);
  const Shape& bias = c.input_shape(1);
  if (value.unknown_rank()) {
    c.set_output(0, value);
    return absl::OkStatus();
  }
  const int channel_dim = format == "NCHW" ? 1 : value.rank() - 1;
  const int64_t channels = value.dim(channel_dim);
  const int64_t bias_size = DimOrUnknown(bias, 0);
  if (channels >= 0 && bias_size >= 0 && channels != bias_size) {
    return c.Error("bias ", bias.ToString(), " does not match value ", value.ToString(),
                   ": it needs one entry per channel, and value has ", channels,
                   " channels in dim ", channel_dim, " (", format, ")");
  }
  Shape output = value;
  if (channels < 0) output.set_dim(channel_dim, bias_size);
  c.set_output(0, std::move(output));
  return absl::OkStatus();
}

// Checks a 4-entry strides/ksize/dilations list: positive entries, 1 in the
// batch and channel dims.
absl::Status CheckWindowList(InferenceContext& c, const char* name, const Layout& layout) {
  const std::vector<int64_t>& values = c.GetInts(name);
  if (values.size() != 4) {
    return c.Error(name, " must have 4 entries, got ", ListString(values));
  }
  for (int64_t v : values) {
    if (v < 1) return c.Error(name, " must be positive, got ", ListString(values));
  }
  if (values[layout.n] != 1 || values[layout.c] != 1) {
    return c.Error(name, " must be 1 in the batch and channel dims, got ", ListString(values));
  }
  return absl::OkStatus();
}

// One spatial dim of a convolution or pooling window.
struct WindowDim {
  const char* name;  // "height" or "width"
  int64_t input;     // the input size, possibly unknown
  int64_t window;    // the filter or ksize size, possibly unknown
  int64_t stride;
  int64_t dilation;
  int64_t pad_before;  // EXPLICIT padding only
  int64_t pad_after;
};

// The output size of one spatial dim (TensorFlow's formulas), unknown when
// the sizes it needs are unknown, or an error when the window does not fit.
// `window_kind` ("filter" or "window") is for the message.
absl::StatusOr<int64_t> WindowOutputSize(const InferenceContext& c, const WindowDim& d,
                                         const std::string& padding, const char* window_kind) {
  if (padding == "SAME") return d.input < 0 ? kUnknownDim : CeilDiv(d.input, d.stride);
  if (d.input < 0 || d.window < 0) return kUnknownDim;
  int64_t span = 0;
  int64_t padded = 0;
  if (__builtin_mul_overflow(d.window - 1, d.dilation, &span) ||
      __builtin_add_overflow(span, 1, &span) ||
      __builtin_add_overflow(d.input, d.pad_before, &padded) ||
      __builtin_add_overflow(padded, d.pad_after, &padded)) {
    return c.Error("the ", d.name, " sizes overflow: input ", d.input, ", ", window_kind, " ",
                   d.window, ", dilation ", d.dilation, ", padding ", d.pad_before, " + ",
                   d.pad_after);
  }
  if (padded < span) {
    const std::string window =
        d.dilation == 1 ? absl::StrCat("the ", window_kind, " ", d.name, " ", d.window)
                        : absl::StrCat("the ", window_kind, " ", d.name, " ", d.window,
                                       " with dilation ", d.dilation, " (spanning ", span, ")");
    const std::string input =
        padding == "EXPLICIT"
            ? absl::StrCat("the padded input ", d.name, " ", padded, " (", d.input, " + ",
                           d.pad_before, " + ", d.pad_after, ")")
            : absl::StrCat("the input ", d.name, " ", d.input, " with ", padding, " padding");
    return c.Error(window, " is larger than ", input);
  }
  return (padded - span) / d.stride + 1;
}

// explicit_paddings holds a (before, after) pair per dim in data_format order
// with padding EXPLICIT, and nothing otherwise.
absl::Status CheckExplicitPaddings(const InferenceContext& c, const Layout& layout) {
  const std::string& padding = c.GetString("padding");
  const std::vector<int64_t>& pads = c.GetInts("explicit_paddings");
  if (padding != "EXPLICIT") {
    if (pads.empty()) return absl::OkStatus();
    return c.Error("explicit_paddings must be empty unless padding is EXPLICIT, got ",
                   ListString(pads), " with padding ", padding);
  }
  if (pads.size() != 8) {
    return c.Error("explicit_paddings must have 8 entries with padding EXPLICIT, got ",
                   ListString(pads));
  }
  for (int64_t p : pads) {
    if (p < 0) return c.Error("explicit_paddings must be >= 0, got ", ListString(pads));
  }
  if (pads[2 * layout.n] != 0 || pads[2 * layout.n + 1] != 0 || pads[2 * layout.c] != 0 ||
      pads[2 * layout.c + 1] != 0) {
    return c.Error("explicit_paddings must be 0 in the batch and channel dims, got ",
                   ListString(pads));
  }
  return absl::OkStatus();
}

absl::Status Conv2DShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 4));
  RETURN_IF_ERROR(c.CheckRank(1, 4));
  const std::string& format = c.GetString("data_format");
  const Layout layout = LayoutOf(format);
  RETURN_IF_ERROR(CheckWindowList(c, "strides", layout));
  RETURN_IF_ERROR(CheckWindowList(c, "dilations", layout));
  RETURN_IF_ERROR(CheckExplicitPaddings(c, layout));

  const Shape& input = c.input_shape(0);
  const Shape& filter = c.input_shape(1);
  const int64_t filter_height = DimOrUnknown(filter, 0);
  const int64_t filter_width = DimOrUnknown(filter, 1);
  const int64_t filter_in = DimOrUnknown(filter, 2);
  if (filter_height == 0 || filter_width == 0) {
    return c.Error("filter ", filter.ToString(), " has an empty window");
  }
  Shape output = Shape::Unknown(4);
  output.set_dim(layout.c, DimOrUnknown(filter, 3));
  if (input.unknown_rank()) {
    c.set_output(0, std::move(output));
    return absl::OkStatus();
  }
  const int64_t channels = input.dim(layout.c);
  if (channels >= 0 && filter_in >= 0 && channels != filter_in) {
    return c.Error("input ", input.ToString(), " has ", channels, " channels (", format,
                   ") but filter ", filter.ToString(), " expects ", filter_in);
  }

  const std::string& padding = c.GetString("padding");
  const std::vector<int64_t>& strides = c.GetInts("strides");
  const std::vector<int64_t>& dilations = c.GetInts("dilations");
  const std::vector<int64_t>& pads = c.GetInts("explicit_paddings");
  auto spatial = [&](const char* name, int dim, int64_t window) {
    const bool explicit_padding = padding == "EXPLICIT";
    return WindowDim{.name = name,
                     .input = input.dim(dim),
                     .window = window,
                     .stride = strides[dim],
                     .dilation = dilations[dim],
                     .pad_before = explicit_padding ? pads[2 * dim] : 0,
                     .pad_after = explicit_padding ? pads[2 * dim + 1] : 0};
  };
  ASSIGN_OR_RETURN(int64_t height, WindowOutputSize(c, spatial("height", layout.h, filter_height),
                                                    padding, "filter"));
  ASSIGN_OR_RETURN(int64_t width, WindowOutputSize(c, spatial("width", layout.w, filter_width),
                                                   padding, "filter"));
  output.set_dim(layout.n, input.dim(layout.n));
  output.set_dim(layout.h, height);
  output.set_dim(layout.w, width);
  c.set_output(0, std::move(output));
  return absl::OkStatus();
}

// MaxPool and AvgPool: the batch and channel dims pass through.
absl::Status PoolShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 4));
  const Layout layout = LayoutOf(c.GetString("data_format"));
  RETURN_IF_ERROR(CheckWindowList(c, "ksize", layout));
  RETURN_IF_ERROR(CheckWindowList(c, "strides", layout));
  const Shape& input = c.input_shape(0);
  if (input.unknown_rank()) {
    c.set_output(0, Shape::Unknown(4));
    return absl::OkStatus();
  }
  const std::vector<int64_t>& ksize = c.GetInts("ksize");
  const std::vector<int64_t>& strides = c.GetInts("strides");
  const std::string& padding = c.GetString("padding");
  auto spatial = [&](const char* name, int dim) {
    return WindowDim{.name = name,
                     .input = input.dim(dim),
                     .window = ksize[dim],
                     .stride = strides[dim],
                     .dilation = 1,
                     .pad_before = 0,
                     .pad_after = 0};
  };
  ASSIGN_OR_RETURN(int64_t height,
                   WindowOutputSize(c, spatial("height", layout.h), padding, "window"));
  ASSIGN_OR_RETURN(int64_t width,
                   WindowOutputSize(c, spatial("width", layout.w), padding, "window"));
  Shape output = input;
  output.set_dim(layout.h, height);
  output.set_dim(layout.w, width);
  c.set_output(0, std::move(output));
  return absl::OkStatus();
}

absl::Status FusedBatchNormShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 4));
  for (int i = 1; i < 5; ++i) RETURN_IF_ERROR(c.CheckRank(i, 1));
  const std::string& format = c.GetString("data_format");
  const Layout layout = LayoutOf(format);
  // Training with factor 1 ignores the given statistics, so (as in
  // TensorFlow) they may be empty.
  const bool stats_unused = c.GetBool("is_training") && c.GetFloat("exponential_avg_factor") == 1;
  const Shape& x = c.input_shape(0);
  int64_t channels = DimOrUnknown(x, layout.c);
  int channels_from = 0;  // the input that fixed `channels`
  for (int i = 1; i < 5; ++i) {
    const Shape& stat = c.input_shape(i);
    const int64_t size = DimOrUnknown(stat, 0);
    const bool is_statistic = i >= 3;
    if (size < 0 || (is_statistic && size == 0 && stats_unused)) continue;
    if (channels < 0) {
      channels = size;
      channels_from = i;
      continue;
    }
    if (size == channels) continue;
    const std::string reference =
        channels_from == 0
            ? absl::StrCat("x ", x.ToString(), ", which has ", channels, " channels (", format, ")")
            : absl::StrCat(c.InputName(channels_from), " ",
                           c.input_shape(channels_from).ToString());
    const char* hint = is_statistic && size == 0
                           ? "; only training with exponential_avg_factor 1 allows empty "
                             "statistics"
                           : "";
    return c.Error(c.InputName(i), " ", stat.ToString(), " does not match ", reference,
                   ": it needs one entry per channel", hint);
  }
  Shape y = x.unknown_rank() ? Shape::Unknown(4) : x;
  y.set_dim(layout.c, channels);
  c.set_output(0, std::move(y));
  for (int i = 1; i < 5; ++i) c.set_output(i, Shape{channels});
  return absl::OkStatus();
}

// features [B, C] with labels [B, C] (dense) or [B] (sparse) -> loss [B],
// backprop [B, C].
absl::Status CrossEntropyShape(InferenceContext& c, bool sparse) {
  RETURN_IF_ERROR(c.CheckRank(0, 2));
  RETURN_IF_ERROR(c.CheckRank(1, sparse ? 1 : 2));
  const Shape& labels = c.input_shape(1);
  Shape features = c.input_shape(0).unknown_rank() ? Shape::Unknown(2) : c.input_shape(0);
  if (!labels.unknown_rank()) {
    const Shape expected = sparse ? Shape{features.dim(0)} : features;
    absl::StatusOr<Shape> merged = expected.Merge(labels);
    if (!merged.ok()) {
      return c.Error("labels ", labels.ToString(), " do not match features ",
                     c.input_shape(0).ToString(),
                     sparse ? ": labels are one class index per example, [batch]"
                            : ": both are [batch, classes]");
    }
    if (sparse) {
      features.set_dim(0, merged->dim(0));
    } else {
      features = *std::move(merged);
    }
  }
  c.set_output(0, Shape{features.dim(0)});
  c.set_output(1, std::move(features));
  return absl::OkStatus();
}

void RegisterActivation(OpRegistry& registry, const char* name, const char* input,
                        const char* output, const char* extra_attr = nullptr) {
  OpDefBuilder builder(name);
  builder.Input(absl::StrCat(input, ": T"))
      .Output(absl::StrCat(output, ": T"))
      .Attr("T: {floating}")
      .SetShapeFn(shape_fns::Unchanged)
      .Differentiable();
  if (extra_attr != nullptr) builder.Attr(extra_attr);
  registry.Register(builder);
}

}  // namespace

void RegisterNnOps(OpRegistry& registry) {
  for (const char* name : {"Relu", "Relu6", "Elu", "Softplus"}) {
    RegisterActivation(registry, name, "features", "activations");
  }
  RegisterActivation(registry, "Sigmoid", "x", "y");
  RegisterActivation(registry, "Tanh", "x", "y");
  RegisterActivation(registry, "LeakyRelu", "features", "activations", "alpha: float = 0.2");
  RegisterActivation(registry, "Gelu", "features", "activations", "approximate: bool = false");
  registry.Register(OpDefBuilder("Softmax")
                        .Input("logits: T")
                        .Output("softmax: T")
                        .Attr("T: {floating}")
                        .SetShapeFn(SoftmaxShape)
                        .Differentiable()
                        .Doc("Softmax over the last axis."));
  registry.Register(OpDefBuilder("LogSoftmax")
                        .Input("logits: T")
                        .Output("logsoftmax: T")
                        .Attr("T: {floating}")
                        .SetShapeFn(SoftmaxShape)
                        .Differentiable()
                        .Doc("Log of the softmax over the last axis."));
  registry.Register(OpDefBuilder("BiasAdd")
                        .Input("value: T")
                        .Input("bias: T")
                        .Output("output: T")
                        .Attr("T: {floating}")
                        .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                        .SetShapeFn(BiasAddShape)
                        .Differentiable()
                        .Doc("Adds a 1-D bias along the channel dim."));
  registry.Register(OpDefBuilder("Conv2D")
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
                        .Differentiable()
                        .Doc("2-D convolution with an HWIO filter."));
  registry.Register(OpDefBuilder("MaxPool")
                        .Input("input: T")
                        .Output("output: T")
                        .Attr("T: {floating, i8, u8, i32, i64} = f32")
                        .Attr("ksize: list(int)")
                        .Attr("strides: list(int)")
                        .Attr("padding: {'SAME', 'VALID'}")
                        .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                        .SetShapeFn(PoolShape)
                        .Differentiable()
                        .Doc("The maximum over each window."));
  registry.Register(OpDefBuilder("AvgPool")
                        .Input("value: T")
                        .Output("output: T")
                        .Attr("T: {floating}")
                        .Attr("ksize: list(int)")
                        .Attr("strides: list(int)")
                        .Attr("padding: {'SAME', 'VALID'}")
                        .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                        .SetShapeFn(PoolShape)
                        .Differentiable()
                        .Doc("The mean over each window, padding excluded."));
  registry.Register(OpDefBuilder("FusedBatchNorm")
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
                        .Differentiable()
                        .Doc("Batch normalisation per channel of a 4-D x."));
  registry.Register(
      OpDefBuilder("SoftmaxCrossEntropyWithLogits")
          .Input("features: T")
          .Input("labels: T")
          .Output("loss: T")
          .Output("backprop: T")
          .Attr("T: {floating}")
          .SetShapeFn([](InferenceContext& c) { return CrossEntropyShape(c, /*sparse=*/false); })
          .Differentiable()
          .Doc("Cross-entropy of softmax(features) against label probabilities."));
  registry.Register(
      OpDefBuilder("SparseSoftmaxCrossEntropyWithLogits")
          .Input("features: T")
          .Input("labels: Tlabels")
          .Output("loss: T")
          .Output("backprop: T")
          .Attr("T: {floating}")
          .Attr("Tlabels: {index} = i64")
          .SetShapeFn([](InferenceContext& c) { return CrossEntropyShape(c, /*sparse=*/true); })
          .Differentiable()
          .Doc("Cross-entropy of softmax(features) against class indices."));
}

Output Relu(const Scope& scope, Output features) { return AddOp(scope, "Relu", {features}); }
Output Relu6(const Scope& scope, Output features) { return AddOp(scope, "Relu6", {features}); }
Output Elu(const Scope& scope, Output features) { return AddOp(scope, "Elu", {features}); }
Output Softplus(const Scope& scope, Output features) {
  return AddOp(scope, "Softplus", {features});
}
Output Sigmoid(const Scope& scope, Output x) { return AddOp(scope, "Sigmoid", {x}); }
Output Tanh(const Scope& scope, Output x) { return AddOp(scope, "Tanh", {x}); }

Output LeakyRelu(const Scope& scope, Output features, const LeakyReluOptions& options) {
  return AddOp(scope, "LeakyRelu", {features}, {{"alpha", options.alpha}});
}

Output Gelu(const Scope& scope, Output features, const GeluOptions& options) {
  return AddOp(scope, "Gelu", {features}, {{"approximate", options.approximate}});
}

Output Softmax(const Scope& scope, Output logits) { return AddOp(scope, "Softmax", {logits}); }
Output LogSoftmax(const Scope& scope, Output logits) {
  return AddOp(scope, "LogSoftmax", {logits});
}

Output BiasAdd(const Scope& scope, Output value, Output bias, const BiasAddOptions& options) {
  return AddOp(scope, "BiasAdd", {value, bias}, {{"data_format", options.data_format}});
}

Output Conv2D(const Scope& scope, Output input, Output filter, const Conv2DOptions& options) {
  return AddOp(scope, "Conv2D", {input, filter},
               {{"strides", options.strides},
                {"padding", options.padding},
                {"explicit_paddings", options.explicit_paddings},
                {"data_format", options.data_format},
                {"dilations", options.dilations}});
}

namespace {
AttrMap PoolAttrs(const PoolOptions& options) {
  return {{"ksize", options.ksize},
          {"strides", options.strides},
          {"padding", options.padding},
          {"data_format", options.data_format}};
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
                                     const FusedBatchNormOptions& options) {
  std::vector<Output> outputs =
      AddOpOutputs(scope, "FusedBatchNorm", {x, scale, offset, mean, variance},
                   {{"epsilon", options.epsilon},
                    {"exponential_avg_factor", options.exponential_avg_factor},
                    {"data_format", options.data_format},
                    {"is_training", options.is_training}});
  if (outputs.size() != 5) return {};
  return {outputs[0], outputs[1], outputs[2], outputs[3], outputs[4]};
}

CrossEntropyOutputs SoftmaxCrossEntropyWithLogits(const Scope& scope, Output features,
                                                  Output labels) {
  std::vector<Output> outputs =
      AddOpOutputs(scope, "SoftmaxCrossEntropyWithLogits", {features, labels});
  if (outputs.size() != 2) return {};
  return {outputs[0], outputs[1]};
}

CrossEntropyOutputs SparseSoftmaxCrossEntropyWithLogits(const Scope& scope, Output features,
                                                        Output labels) {
  std::vector<Output> outputs =
      AddOpOutputs(scope, "SparseSoftmaxCrossEntropyWithLogits", {features, labels});
  if (outputs.size() != 2) return {};
  return {outputs[0], outputs[1]};
}

}  // namespace sluice
