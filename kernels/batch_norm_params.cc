#include "kernels/batch_norm_params.h"

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/shape_checks.h"

namespace sluice {
namespace {

absl::Status CheckFourD(const Shape& x) {
  if (x.rank() != 4) {
    return absl::InvalidArgumentError(absl::StrCat("x must be 4-D, got ", x.ToString()));
  }
  return absl::OkStatus();
}

BatchNormParams SizesOf(const Shape& x, DataFormat format) {
  BatchNormParams p;
  p.format = format;
  const bool nhwc = format == DataFormat::kNhwc;
  p.n = x.dim(0);
  p.c = nhwc ? x.dim(3) : x.dim(1);
  p.h = nhwc ? x.dim(1) : x.dim(2);
  p.w = nhwc ? x.dim(2) : x.dim(3);
  return p;
}

// Input `i` must be a vector of the `c` channels of x.
absl::Status CheckChannelInput(const KernelInit& init, int i, int64_t c, const Shape& x) {
  if (init.input_shape(i) != Shape{c}) {
    return absl::InvalidArgumentError(
        absl::StrCat(init.node.op_def().inputs()[i].name, " must have shape [", c,
                     "] for x of shape ", x.ToString(), ", got ", init.input_shape(i).ToString()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BatchNormParams> FusedBatchNormParams(const KernelInit& init) {
  const Shape& x = init.input_shape(0);
  RETURN_IF_ERROR(CheckFourD(x));
  const AttrValue* format_attr = init.node.FindAttr("data_format");
  ASSIGN_OR_RETURN(const DataFormat format,
                   ParseDataFormat(format_attr != nullptr ? format_attr->s() : "NHWC"));
  BatchNormParams p = SizesOf(x, format);
  p.epsilon = init.attr("epsilon").f();
  const AttrValue* factor = init.node.FindAttr("exponential_avg_factor");
  p.factor = factor != nullptr ? factor->f() : 1.0f;
  p.training = init.attr("is_training").b();
  const bool reads_stats = !p.training || p.factor != 1.0f;
  for (int i = 1; i <= 4; ++i) {
    if (i >= 3 && !reads_stats) continue;
    RETURN_IF_ERROR(CheckChannelInput(init, i, p.c, x));
  }
  for (int i = 1; i <= 4; ++i) RETURN_IF_ERROR(CheckOutputShape(init, i, Shape{p.c}));
  RETURN_IF_ERROR(CheckOutputShape(init, 0, x));
  return p;
}

absl::StatusOr<BatchNormParams> FusedBatchNormGradParams(const KernelInit& init) {
  const Shape& x = init.input_shape(1);
  RETURN_IF_ERROR(CheckFourD(x));
  if (init.input_shape(0) != x) {
    return absl::InvalidArgumentError(absl::StrCat("y_backprop ", init.input_shape(0).ToString(),
                                                   " and x ", x.ToString(),
                                                   " must have the same shape"));
  }
  ASSIGN_OR_RETURN(const DataFormat format, ParseDataFormat(init.attr("data_format").s()));
  BatchNormParams p = SizesOf(x, format);
  for (int i = 2; i <= 4; ++i) RETURN_IF_ERROR(CheckChannelInput(init, i, p.c, x));
  RETURN_IF_ERROR(CheckOutputShape(init, 0, x));
  for (int i = 1; i <= 2; ++i) RETURN_IF_ERROR(CheckOutputShape(init, i, Shape{p.c}));
  for (int i = 3; i <= 4; ++i) RETURN_IF_ERROR(CheckOutputShape(init, i, Shape{0}));
  p.epsilon = init.attr("epsilon").f();
  p.training = init.attr("is_training").b();
  return p;
}

}  // namespace sluice
