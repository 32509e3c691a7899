#include "kernels/window_params.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

// Index of the H, W and C dims in a 4-D shape of `format`.
struct DimIndex {
  int h, w, c;
};
DimIndex IndexOf(DataFormat format) {
  return format == DataFormat::kNhwc ? DimIndex{1, 2, 3} : DimIndex{2, 3, 1};
}

Shape MakeShape(DataFormat format, int64_t n, int64_t h, int64_t w, int64_t c) {
  return format == DataFormat::kNhwc ? Shape{n, h, w, c} : Shape{n, c, h, w};
}

std::vector<int64_t> IntsAttr(const Node& node, absl::string_view name,
                              std::vector<int64_t> fallback) {
  const AttrValue* value = node.FindAttr(name);
  if (value == nullptr || value->type() != AttrType::kIntList) return fallback;
  return value->ints();
}

std::string StringAttr(const Node& node, absl::string_view name, std::string fallback) {
  const AttrValue* value = node.FindAttr(name);
  if (value == nullptr || value->type() != AttrType::kString) return fallback;
  return value->s();
}

// One spatial dim under TensorFlow's padding rules. `effective_k` is the
// dilated window extent.
struct SpatialDim {
  int64_t out = 0, pad_before = 0, pad_after = 0;
};

absl::StatusOr<SpatialDim> ComputeSpatialDim(absl::string_view dim_name, int64_t in,
                                             int64_t effective_k, int64_t stride,
                                             absl::string_view padding, int64_t explicit_before,
                                             int64_t explicit_after) {
  SpatialDim d;
  if (padding == "SAME") {
    d.out = (in + stride - 1) / stride;
    const int64_t total = std::max<int64_t>((d.out - 1) * stride + effective_k - in, 0);
    d.pad_before = total / 2;
    d.pad_after = total - d.pad_before;
    return d;
  }
  if (padding == "EXPLICIT") {
    if (explicit_before < 0 || explicit_after < 0) {
      return absl::InvalidArgumentError(absl::StrCat("explicit padding of ", dim_name,
                                                     " must be >= 0, got [", explicit_before, ", ",
                                                     explicit_after, "]"));
    }
    d.pad_before = explicit_before;
    d.pad_after = explicit_after;
  } else if (padding != "VALID") {
    return absl::InvalidArgumentError(
        absl::StrCat("padding must be SAME, VALID or EXPLICIT, got '", padding, "'"));
  }
  const int64_t padded = in + d.pad_before + d.pad_after;
  // As TensorFlow: a window larger than the padded input gives an empty
  // output while the difference is less than one stride.
  if (padded - effective_k + stride < 0) {
    return absl::InvalidArgumentError(absl::StrCat("window of ", effective_k, " (dilated) in ",
                                                   dim_name, " exceeds the padded input size ",
                                                   padded));
  }
  d.out = (padded - effective_k + stride) / stride;
  return d;
}

// The output size and padding of `h` and `wd` into `w`.
void SetOutput(const SpatialDim& h, const SpatialDim& wd, Window2D* w) {
  w->out_h = h.out;
  w->pad_top = h.pad_before;
  w->pad_bottom = h.pad_after;
  w->out_w = wd.out;
  w->pad_left = wd.pad_before;
  w->pad_right = wd.pad_after;
}

// Reads a 4-element per-dim attr and checks the batch and depth entries.
absl::StatusOr<std::array<int64_t, 2>> SpatialPair(const std::vector<int64_t>& values,
                                                   absl::string_view name, DataFormat format,
                                                   absl::string_view what_nc) {
  if (values.size() != 4) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must have 4 elements, got [", absl::StrJoin(values, ","), "]"));
  }
  const DimIndex idx = IndexOf(format);
  if (values[0] != 1 || values[idx.c] != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " [", absl::StrJoin(values, ","), "]: ", what_nc));
  }
  if (values[idx.h] < 1 || values[idx.w] < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " must be >= 1, got [", absl::StrJoin(values, ","), "]"));
  }
  return std::array<int64_t, 2>{values[idx.h], values[idx.w]};
}

absl::Status CheckInput(const Shape& input, absl::string_view role) {
  if (input.rank() != 4 || !input.IsFullyDefined()) {
    return absl::InvalidArgumentError(
        absl::StrCat(role, " must be a fully known 4-D shape, got ", input.ToString()));
  }
  return absl::OkStatus();
}

}  // namespace

Shape Window2D::InputShape() const { return MakeShape(format, batch, in_h, in_w, in_c); }
Shape Window2D::OutputShape() const { return MakeShape(format, batch, out_h, out_w, out_c); }
Shape Window2D::FilterShape() const { return Shape{k_h, k_w, in_c, out_c}; }

std::string Window2D::ToString() const {
  return absl::StrCat(InputShape().ToString(), " -> ", OutputShape().ToString(), " k", k_h, "x",
                      k_w, " s", stride_h, "x", stride_w, " d", dilation_h, "x", dilation_w,
                      " pad t", pad_top, " b", pad_bottom, " l", pad_left, " r", pad_right);
}

absl::StatusOr<DataFormat> ParseDataFormat(absl::string_view format) {
  if (format == "NHWC") return DataFormat::kNhwc;
  if (format == "NCHW") return DataFormat::kNchw;
  return absl::InvalidArgumentError(
      absl::StrCat("data_format must be NHWC or NCHW, got '", format, "'"));
}

namespace {

// A window over the 4-D `input` in node's data_format, its input sizes set.
absl::StatusOr<Window2D> WindowOver(const Shape& input, const Node& node) {
  Window2D w;
  ASSIGN_OR_RETURN(w.format, ParseDataFormat(StringAttr(node, "data_format", "NHWC")));
  const DimIndex idx = IndexOf(w.format);
  w.batch = input.dim(0);
  w.in_h = input.dim(idx.h);
  w.in_w = input.dim(idx.w);
  w.in_c = input.dim(idx.c);
  return w;
}

}  // namespace

absl::StatusOr<Window2D> Conv2DWindow(const Shape& input, const Shape& filter, const Node& node) {
  RETURN_IF_ERROR(CheckInput(input, "input"));
  RETURN_IF_ERROR(CheckInput(filter, "filter"));
  ASSIGN_OR_RETURN(Window2D w, WindowOver(input, node));
  const DimIndex idx = IndexOf(w.format);
  w.k_h = filter.dim(0);
  w.k_w = filter.dim(1);
  w.out_c = filter.dim(3);
  if (w.k_h < 1 || w.k_w < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("filter height and width must be >= 1, got filter ", filter.ToString()));
  }
  if (filter.dim(2) != w.in_c) {
    return absl::InvalidArgumentError(
        absl::StrCat("input depth ", w.in_c, " differs from the filter's in-depth ", filter.dim(2),
                     ": input ", input.ToString(), ", filter ", filter.ToString(),
                     " (grouped convolution is not supported)"));
  }
  ASSIGN_OR_RETURN(auto strides,
                   SpatialPair(IntsAttr(node, "strides", {1, 1, 1, 1}), "strides", w.format,
                               "strides in the batch and depth dimensions must be 1"));
  ASSIGN_OR_RETURN(auto dilations,
                   SpatialPair(IntsAttr(node, "dilations", {1, 1, 1, 1}), "dilations", w.format,
                               "dilations in the batch and depth dimensions must be 1"));
  w.stride_h = strides[0];
  w.stride_w = strides[1];
  w.dilation_h = dilations[0];
  w.dilation_w = dilations[1];
  const std::string padding = StringAttr(node, "padding", "VALID");
  std::vector<int64_t> explicit_paddings = IntsAttr(node, "explicit_paddings", {});
  if (padding == "EXPLICIT") {
    if (explicit_paddings.size() != 8) {
      return absl::InvalidArgumentError(
          absl::StrCat("explicit_paddings must have 8 elements with EXPLICIT padding, got [",
                       absl::StrJoin(explicit_paddings, ","), "]"));
    }
  } else {
    explicit_paddings.assign(8, 0);
  }
  ASSIGN_OR_RETURN(
      SpatialDim h,
      ComputeSpatialDim("height", w.in_h, (w.k_h - 1) * w.dilation_h + 1, w.stride_h, padding,
                        explicit_paddings[2 * idx.h], explicit_paddings[2 * idx.h + 1]));
  ASSIGN_OR_RETURN(
      SpatialDim wd,
      ComputeSpatialDim("width", w.in_w, (w.k_w - 1) * w.dilation_w + 1, w.stride_w, padding,
                        explicit_paddings[2 * idx.w], explicit_paddings[2 * idx.w + 1]));
  SetOutput(h, wd, &w);
  return w;
}

absl::StatusOr<Window2D> Pool2DWindow(const Shape& input, const Node& node) {
  RETURN_IF_ERROR(CheckInput(input, "input"));
  ASSIGN_OR_RETURN(Window2D w, WindowOver(input, node));
  w.out_c = w.in_c;
  ASSIGN_OR_RETURN(auto ksize,
                   SpatialPair(IntsAttr(node, "ksize", {1, 1, 1, 1}), "ksize", w.format,
                               "pooling over the batch or depth dimensions is not supported"));
  ASSIGN_OR_RETURN(auto strides,
                   SpatialPair(IntsAttr(node, "strides", {1, 1, 1, 1}), "strides", w.format,
                               "strides in the batch and depth dimensions must be 1"));
  w.k_h = ksize[0];
  w.k_w = ksize[1];
  w.stride_h = strides[0];
  w.stride_w = strides[1];
  const std::string padding = StringAttr(node, "padding", "VALID");
  if (padding != "SAME" && padding != "VALID") {
    return absl::InvalidArgumentError(
        absl::StrCat("pooling padding must be SAME or VALID, got '", padding, "'"));
  }
  ASSIGN_OR_RETURN(SpatialDim h,
                   ComputeSpatialDim("height", w.in_h, w.k_h, w.stride_h, padding, 0, 0));
  ASSIGN_OR_RETURN(SpatialDim wd,
                   ComputeSpatialDim("width", w.in_w, w.k_w, w.stride_w, padding, 0, 0));
  SetOutput(h, wd, &w);
  return w;
}

}  // namespace sluice
