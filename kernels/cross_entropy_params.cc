#include "kernels/cross_entropy_params.h"

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/shape_checks.h"

namespace sluice {

absl::StatusOr<CrossEntropyShape> SoftmaxCrossEntropyShape(const KernelInit& init) {
  const Shape& f = init.input_shape(0);
  const Shape& l = init.input_shape(1);
  if (f.rank() != 2 || l != f) {
    return absl::InvalidArgumentError(absl::StrCat(
        "logits and labels must be 2-D of one shape, got ", f.ToString(), " and ", l.ToString()));
  }
  RETURN_IF_ERROR(CheckOutputShape(init, 0, Shape{f.dim(0)}));
  RETURN_IF_ERROR(CheckOutputShape(init, 1, f));
  return CrossEntropyShape{f.dim(0), f.dim(1), false};
}

absl::StatusOr<CrossEntropyShape> SparseSoftmaxCrossEntropyShape(const KernelInit& init) {
  const Shape& f = init.input_shape(0);
  const Shape& l = init.input_shape(1);
  if (f.rank() != 2 || l.rank() != 1 || l.dim(0) != f.dim(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("logits must be 2-D and labels 1-D with the same first dim, got ",
                     f.ToString(), " and ", l.ToString()));
  }
  const DType label_type = init.input_dtype(1);
  if (label_type != DType::kI32 && label_type != DType::kI64) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels must be i32 or i64, got ", DTypeName(label_type)));
  }
  RETURN_IF_ERROR(CheckOutputShape(init, 0, Shape{f.dim(0)}));
  RETURN_IF_ERROR(CheckOutputShape(init, 1, f));
  return CrossEntropyShape{f.dim(0), f.dim(1), label_type == DType::kI64};
}

}  // namespace sluice
