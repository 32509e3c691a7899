// The nn family: activations, softmax, BiasAdd, convolution, pooling, batch
// normalisation, the cross-entropy losses, and the backward ops of their
// gradients.
#include "graph/ops/nn.h"

#include <optional>
#include <string>
#include <vector>

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
absl::Status CheckWindowList(const InferenceContext& c, const char* name, const Layout& layout) {
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

// The output shape of a Conv2D with the node's attrs over `input` (rank 4 or
// unknown rank) and `filter` (HWIO, rank 4 or unknown rank). Shared by Conv2D
// and its two backprop ops, which check out_backprop against it.
absl::StatusOr<Shape> ConvOutputShape(const InferenceContext& c, const Shape& input,
                                      const Shape& filter) {
  const std::string& format = c.GetString("data_format");
  const Layout layout = LayoutOf(format);
  RETURN_IF_ERROR(CheckWindowList(c, "strides", layout));
  RETURN_IF_ERROR(CheckWindowList(c, "dilations", layout));
  RETURN_IF_ERROR(CheckExplicitPaddings(c, layout));

  const int64_t filter_height = DimOrUnknown(filter, 0);
  const int64_t filter_width = DimOrUnknown(filter, 1);
  const int64_t filter_in = DimOrUnknown(filter, 2);
  if (filter_height == 0 || filter_width == 0) {
    return c.Error("filter ", filter.ToString(), " has an empty window");
  }
  Shape output = Shape::Unknown(4);
  output.set_dim(layout.c, DimOrUnknown(filter, 3));
  if (input.unknown_rank()) return output;
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
  return output;
}

absl::Status Conv2DShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 4));
  RETURN_IF_ERROR(c.CheckRank(1, 4));
  ASSIGN_OR_RETURN(Shape output, ConvOutputShape(c, c.input_shape(0), c.input_shape(1)));
  c.set_output(0, std::move(output));
  return absl::OkStatus();
}

// The output shape of a MaxPool/AvgPool with the node's attrs over `input`
// (rank 4 or unknown rank): the batch and channel dims pass through.
absl::StatusOr<Shape> PoolOutputShape(const InferenceContext& c, const Shape& input) {
  const Layout layout = LayoutOf(c.GetString("data_format"));
  RETURN_IF_ERROR(CheckWindowList(c, "ksize", layout));
  RETURN_IF_ERROR(CheckWindowList(c, "strides", layout));
  if (input.unknown_rank()) return Shape::Unknown(4);
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
  return output;
}

absl::Status PoolShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 4));
  ASSIGN_OR_RETURN(Shape output, PoolOutputShape(c, c.input_shape(0)));
  c.set_output(0, std::move(output));
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Shape functions of the backward ops.

// The two inputs of an activation gradient have one shape, the output's.
absl::Status ActivationGradShape(InferenceContext& c) {
  const Shape& a = c.input_shape(0);
  const Shape& b = c.input_shape(1);
  absl::StatusOr<Shape> merged = a.Merge(b);
  if (!merged.ok()) {
    return c.Error(c.InputName(0), " ", a.ToString(), " and ", c.InputName(1), " ", b.ToString(),
                   " must have the same shape");
  }
  c.set_output(0, *std::move(merged));
  return absl::OkStatus();
}

absl::Status BiasAddGradShape(InferenceContext& c) {
  const std::string& format = c.GetString("data_format");
  RETURN_IF_ERROR(c.CheckRankAtLeast(0, format == "NCHW" ? 3 : 1));
  const Shape& value = c.input_shape(0);
  if (value.unknown_rank()) {
    c.set_output(0, Shape::Unknown(1));
    return absl::OkStatus();
  }
  c.set_output(0, Shape{value.dim(format == "NCHW" ? 1 : value.rank() - 1)});
  return absl::OkStatus();
}

// The 4-D shape held by input i (input_sizes, filter_sizes,
// orig_input_shape): its values when known, else unknown dims.
absl::StatusOr<Shape> ShapeOfSizesInput(const InferenceContext& c, int i) {
  ASSIGN_OR_RETURN(Shape shape, c.ShapeFromInput(i));
  const std::optional<std::vector<int64_t>> values = c.IntValuesOfInput(i);
  if (shape.unknown_rank()) return Shape::Unknown(4);
  if (shape.rank() != 4) {
    return c.Error(c.InputName(i), " must have 4 entries, got ",
                   values ? ListString(*values)
                          : absl::StrCat("a tensor of shape ", c.input_shape(i).ToString()));
  }
  if (values) {
    for (int64_t v : *values) {
      if (v < 0) return c.Error(c.InputName(i), " must be >= 0, got ", ListString(*values));
    }
  }
  return shape;
}

// Input i must be compatible with `expected`, the forward op's output shape;
// `origin` says how that shape came about, for the message.
absl::Status CheckForwardOutput(const InferenceContext& c, int i, const Shape& expected,
                                const std::string& origin) {
  if (c.input_shape(i).Merge(expected).ok()) return absl::OkStatus();
  return c.Error(c.InputName(i), " ", c.input_shape(i).ToString(), " does not match ",
                 expected.ToString(), ", the ", origin);
}

// Fills the unknown dim `dim` of a rank-4 `shape` with `value`.
void FillDim(Shape& shape, int dim, int64_t value) {
  if (shape.dim(dim) < 0) shape.set_dim(dim, value);
}

// Conv2DBackpropInput(input_sizes, filter, out_backprop) -> input's shape.
absl::Status Conv2DBackpropInputShape(InferenceContext& c) {
  ASSIGN_OR_RETURN(Shape input, ShapeOfSizesInput(c, 0));
  RETURN_IF_ERROR(c.CheckRank(1, 4));
  RETURN_IF_ERROR(c.CheckRank(2, 4));
  const Shape& filter = c.input_shape(1);
  ASSIGN_OR_RETURN(Shape forward, ConvOutputShape(c, input, filter));
  RETURN_IF_ERROR(CheckForwardOutput(c, 2, forward,
                                     absl::StrCat("Conv2D output for input ", input.ToString(),
                                                  " and filter ", filter.ToString())));
  const Layout layout = LayoutOf(c.GetString("data_format"));
  FillDim(input, layout.n, DimOrUnknown(c.input_shape(2), layout.n));
  FillDim(input, layout.c, DimOrUnknown(filter, 2));
  c.set_output(0, std::move(input));
  return absl::OkStatus();
}

// Conv2DBackpropFilter(input, filter_sizes, out_backprop) -> the filter's
// shape.
absl::Status Conv2DBackpropFilterShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 4));
  ASSIGN_OR_RETURN(Shape filter, ShapeOfSizesInput(c, 1));
  RETURN_IF_ERROR(c.CheckRank(2, 4));
  const Shape& input = c.input_shape(0);
  ASSIGN_OR_RETURN(Shape forward, ConvOutputShape(c, input, filter));
  RETURN_IF_ERROR(CheckForwardOutput(c, 2, forward,
                                     absl::StrCat("Conv2D output for input ", input.ToString(),
                                                  " and filter ", filter.ToString())));
  const Layout layout = LayoutOf(c.GetString("data_format"));
  FillDim(filter, 2, DimOrUnknown(input, layout.c));
  FillDim(filter, 3, DimOrUnknown(c.input_shape(2), layout.c));
  c.set_output(0, std::move(filter));
  return absl::OkStatus();
}

// MaxPoolGrad(orig_input, orig_output, grad) -> orig_input's shape.
absl::Status MaxPoolGradShape(InferenceContext& c) {
  for (int i = 0; i < 3; ++i) RETURN_IF_ERROR(c.CheckRank(i, 4));
  const Shape& input = c.input_shape(0);
  ASSIGN_OR_RETURN(Shape forward, PoolOutputShape(c, input));
  const std::string origin = absl::StrCat("MaxPool output for orig_input ", input.ToString());
  RETURN_IF_ERROR(CheckForwardOutput(c, 1, forward, origin));
  RETURN_IF_ERROR(CheckForwardOutput(c, 2, forward, origin));
  c.set_output(0, input.unknown_rank() ? Shape::Unknown(4) : input);
  return absl::OkStatus();
}

// AvgPoolGrad(orig_input_shape, grad) -> the shape orig_input_shape holds.
absl::Status AvgPoolGradShape(InferenceContext& c) {
  ASSIGN_OR_RETURN(Shape input, ShapeOfSizesInput(c, 0));
  RETURN_IF_ERROR(c.CheckRank(1, 4));
  ASSIGN_OR_RETURN(Shape forward, PoolOutputShape(c, input));
  RETURN_IF_ERROR(CheckForwardOutput(
      c, 1, forward, absl::StrCat("AvgPool output for an input of shape ", input.ToString())));
  const Layout layout = LayoutOf(c.GetString("data_format"));
  FillDim(input, layout.n, DimOrUnknown(c.input_shape(1), layout.n));
  FillDim(input, layout.c, DimOrUnknown(c.input_shape(1), layout.c));
  c.set_output(0, std::move(input));
  return absl::OkStatus();
}

// FusedBatchNormGrad(y_backprop, x, scale, reserve_space_1, reserve_space_2)
//   -> x_backprop (x's shape), scale_backprop and offset_backprop ([C]), and
//   two empty reserve spaces ([0]).
absl::Status FusedBatchNormGradShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 4));
  RETURN_IF_ERROR(c.CheckRank(1, 4));
  for (int i = 2; i < 5; ++i) RETURN_IF_ERROR(c.CheckRank(i, 1));
  const std::string& format = c.GetString("data_format");
  const Layout layout = LayoutOf(format);
  const Shape& dy = c.input_shape(0);
  const Shape& x_shape = c.input_shape(1);
  absl::StatusOr<Shape> merged = x_shape.Merge(dy);
  if (!merged.ok()) {
    return c.Error("y_backprop ", dy.ToString(), " and x ", x_shape.ToString(),
                   " must have the same shape");
  }
  Shape x = merged->unknown_rank() ? Shape::Unknown(4) : *std::move(merged);
  int64_t channels = x.dim(layout.c);
  int channels_from = 1;  // the input that fixed `channels`
  for (int i = 2; i < 5; ++i) {
    const Shape& v = c.input_shape(i);
    const int64_t size = DimOrUnknown(v, 0);
    if (size < 0) continue;
    if (channels < 0) {
      channels = size;
      channels_from = i;
      continue;
    }
    if (size == channels) continue;
    const std::string reference =
        channels_from == 1
            ? absl::StrCat("x ", x.ToString(), ", which has ", channels, " channels (", format, ")")
            : absl::StrCat(c.InputName(channels_from), " ",
                           c.input_shape(channels_from).ToString());
    return c.Error(c.InputName(i), " ", v.ToString(), " does not match ", reference,
                   ": it needs one entry per channel");
  }
  x.set_dim(layout.c, channels);
  c.set_output(0, std::move(x));
  c.set_output(1, Shape{channels});
  c.set_output(2, Shape{channels});
  c.set_output(3, Shape{0});
  c.set_output(4, Shape{0});
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

// An activation gradient: two same-shaped inputs, one output. Not
// differentiable (no second derivatives).
void RegisterActivationGrad(OpRegistry& registry, const char* name, const char* input_0,
                            const char* input_1, const char* output, const char* summary,
                            const char* extra_attr = nullptr) {
  OpDefBuilder builder(name);
  builder.Input(absl::StrCat(input_0, ": T"))
      .Input(absl::StrCat(input_1, ": T"))
      .Output(absl::StrCat(output, ": T"))
      .Attr("T: {floating}")
      .SetShapeFn(ActivationGradShape)
      .Doc(summary);
  if (extra_attr != nullptr) builder.Attr(extra_attr);
  registry.Register(builder);
}

// The backward ops of the nn family.
void RegisterNnGradOps(OpRegistry& registry) {
  RegisterActivationGrad(registry, "ReluGrad", "gradients", "features", "backprops",
                         "The gradient of Relu.");
  RegisterActivationGrad(registry, "Relu6Grad", "gradients", "features", "backprops",
                         "The gradient of Relu6.");
  RegisterActivationGrad(registry, "EluGrad", "gradients", "outputs", "backprops",
                         "The gradient of Elu, from its outputs.");
  RegisterActivationGrad(registry, "SoftplusGrad", "gradients", "features", "backprops",
                         "The gradient of Softplus.");
  RegisterActivationGrad(registry, "LeakyReluGrad", "gradients", "features", "backprops",
                         "The gradient of LeakyRelu.", "alpha: float = 0.2");
  RegisterActivationGrad(registry, "GeluGrad", "gradients", "features", "backprops",
                         "The gradient of Gelu.", "approximate: bool = false");
  RegisterActivationGrad(registry, "SigmoidGrad", "y", "dy", "z",
                         "The gradient of Sigmoid, from its output y.");
  RegisterActivationGrad(registry, "TanhGrad", "y", "dy", "z",
                         "The gradient of Tanh, from its output y.");
  registry.Register(OpDefBuilder("BiasAddGrad")
                        .Input("out_backprop: T")
                        .Output("output: T")
                        .Attr("T: {floating}")
                        .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                        .SetShapeFn(BiasAddGradShape)
                        .Doc("The gradient of BiasAdd w.r.t. the bias: a sum per channel."));
  registry.Register(OpDefBuilder("Conv2DBackpropInput")
                        .Input("input_sizes: i32")
                        .Input("filter: T")
                        .Input("out_backprop: T")
                        .Output("output: T")
                        .Attr("T: {floating}")
                        .Attr("strides: list(int)")
                        .Attr("padding: {'SAME', 'VALID', 'EXPLICIT'}")
                        .Attr("explicit_paddings: list(int) = []")
                        .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                        .Attr("dilations: list(int) = [1, 1, 1, 1]")
                        .SetShapeFn(Conv2DBackpropInputShape)
                        .Doc("The gradient of Conv2D w.r.t. its input."));
  registry.Register(OpDefBuilder("Conv2DBackpropFilter")
                        .Input("input: T")
                        .Input("filter_sizes: i32")
                        .Input("out_backprop: T")
                        .Output("output: T")
                        .Attr("T: {floating}")
                        .Attr("strides: list(int)")
                        .Attr("padding: {'SAME', 'VALID', 'EXPLICIT'}")
                        .Attr("explicit_paddings: list(int) = []")
                        .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                        .Attr("dilations: list(int) = [1, 1, 1, 1]")
                        .SetShapeFn(Conv2DBackpropFilterShape)
                        .Doc("The gradient of Conv2D w.r.t. its HWIO filter."));
  registry.Register(OpDefBuilder("MaxPoolGrad")
                        .Input("orig_input: T")
                        .Input("orig_output: T")
                        .Input("grad: T")
                        .Output("output: T")
                        .Attr("ksize: list(int)")
                        .Attr("strides: list(int)")
                        .Attr("padding: {'SAME', 'VALID'}")
                        .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                        .Attr("T: {floating} = f32")
                        .SetShapeFn(MaxPoolGradShape)
                        .Doc("The gradient of MaxPool: to the first maximum of each window."));
  registry.Register(OpDefBuilder("AvgPoolGrad")
                        .Input("orig_input_shape: i32")
                        .Input("grad: T")
                        .Output("output: T")
                        .Attr("ksize: list(int)")
                        .Attr("strides: list(int)")
                        .Attr("padding: {'SAME', 'VALID'}")
                        .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                        .Attr("T: {floating}")
                        .SetShapeFn(AvgPoolGradShape)
                        .Doc("The gradient of AvgPool, padding excluded."));
  registry.Register(OpDefBuilder("FusedBatchNormGrad")
                        .Input("y_backprop: T")
                        .Input("x: T")
                        .Input("scale: T")
                        .Input("reserve_space_1: T")
                        .Input("reserve_space_2: T")
                        .Output("x_backprop: T")
                        .Output("scale_backprop: T")
                        .Output("offset_backprop: T")
                        .Output("reserve_space_3: T")
                        .Output("reserve_space_4: T")
                        .Attr("T: {floating}")
                        .Attr("epsilon: float = 0.0001")
                        .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
                        .Attr("is_training: bool = true")
                        .SetShapeFn(FusedBatchNormGradShape)
                        .Doc("The gradient of FusedBatchNorm w.r.t. x, scale and offset."));
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
  RegisterNnGradOps(registry);
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

namespace {
AttrMap ConvAttrs(const Conv2DOptions& options) {
  return {{"strides", options.strides},
          {"padding", options.padding},
          {"explicit_paddings", options.explicit_paddings},
          {"data_format", options.data_format},
          {"dilations", options.dilations}};
}
}  // namespace

Output Conv2D(const Scope& scope, Output input, Output filter, const Conv2DOptions& options) {
  return AddOp(scope, "Conv2D", {input, filter}, ConvAttrs(options));
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

Output ReluGrad(const Scope& scope, Output gradients, Output features) {
  return AddOp(scope, "ReluGrad", {gradients, features});
}
Output Relu6Grad(const Scope& scope, Output gradients, Output features) {
  return AddOp(scope, "Relu6Grad", {gradients, features});
}
Output EluGrad(const Scope& scope, Output gradients, Output outputs) {
  return AddOp(scope, "EluGrad", {gradients, outputs});
}
Output SoftplusGrad(const Scope& scope, Output gradients, Output features) {
  return AddOp(scope, "SoftplusGrad", {gradients, features});
}
Output LeakyReluGrad(const Scope& scope, Output gradients, Output features,
                     const LeakyReluOptions& options) {
  return AddOp(scope, "LeakyReluGrad", {gradients, features}, {{"alpha", options.alpha}});
}
Output GeluGrad(const Scope& scope, Output gradients, Output features, const GeluOptions& options) {
  return AddOp(scope, "GeluGrad", {gradients, features}, {{"approximate", options.approximate}});
}
Output SigmoidGrad(const Scope& scope, Output y, Output dy) {
  return AddOp(scope, "SigmoidGrad", {y, dy});
}
Output TanhGrad(const Scope& scope, Output y, Output dy) {
  return AddOp(scope, "TanhGrad", {y, dy});
}

Output BiasAddGrad(const Scope& scope, Output out_backprop, const BiasAddOptions& options) {
  return AddOp(scope, "BiasAddGrad", {out_backprop}, {{"data_format", options.data_format}});
}

Output Conv2DBackpropInput(const Scope& scope, Output input_sizes, Output filter,
                           Output out_backprop, const Conv2DOptions& options) {
  return AddOp(scope, "Conv2DBackpropInput", {input_sizes, filter, out_backprop},
               ConvAttrs(options));
}

Output Conv2DBackpropFilter(const Scope& scope, Output input, Output filter_sizes,
                            Output out_backprop, const Conv2DOptions& options) {
  return AddOp(scope, "Conv2DBackpropFilter", {input, filter_sizes, out_backprop},
               ConvAttrs(options));
}

Output MaxPoolGrad(const Scope& scope, Output orig_input, Output orig_output, Output grad,
                   const PoolOptions& options) {
  return AddOp(scope, "MaxPoolGrad", {orig_input, orig_output, grad}, PoolAttrs(options));
}

Output AvgPoolGrad(const Scope& scope, Output orig_input_shape, Output grad,
                   const PoolOptions& options) {
  return AddOp(scope, "AvgPoolGrad", {orig_input_shape, grad}, PoolAttrs(options));
}

FusedBatchNormGradOutputs FusedBatchNormGrad(const Scope& scope, Output y_backprop, Output x,
                                             Output scale, Output reserve_space_1,
                                             Output reserve_space_2,
                                             const FusedBatchNormGradOptions& options) {
  std::vector<Output> outputs = AddOpOutputs(
      scope, "FusedBatchNormGrad", {y_backprop, x, scale, reserve_space_1, reserve_space_2},
      {{"epsilon", options.epsilon},
       {"data_format", options.data_format},
       {"is_training", options.is_training}});
  if (outputs.size() != 5) return {};
  return {outputs[0], outputs[1], outputs[2]};
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
