#include "kernels/shape_checks.h"

#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sluice {

absl::Status CheckOutputShape(const KernelInit& init, int index, const Shape& expected) {
  if (init.output_shape(index) != expected) {
    return absl::InternalError(absl::StrCat("output ", index, " has shape ",
                                            init.output_shape(index).ToString(),
                                            " but the kernel computes ", expected.ToString()));
  }
  return absl::OkStatus();
}

absl::Status CheckSameInputShapes(const KernelInit& init) {
  const Shape& a = init.input_shape(0);
  const Shape& b = init.input_shape(1);
  if (a != b) {
    const auto& inputs = init.node.op_def().inputs();
    return absl::InvalidArgumentError(absl::StrCat(inputs[0].name, " ", a.ToString(), " and ",
                                                   inputs[1].name, " ", b.ToString(),
                                                   " must have the same shape"));
  }
  return absl::OkStatus();
}

absl::Status CheckInputShape(const KernelInit& init, int i, const Shape& expected,
                             absl::string_view origin) {
  if (init.input_shape(i) == expected) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(init.node.op_def().inputs()[i].name, " ",
                                                 init.input_shape(i).ToString(), " does not match ",
                                                 expected.ToString(), ", the ", origin));
}

absl::Status RequireKnownSizes(const KernelInit& init, const Shape& shape, int sizes_input) {
  if (shape.IsFullyDefined()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      init.node.op_def().inputs()[sizes_input].name,
      " must be known when the plan is compiled (a constant or a shape computed from known "
      "shapes), but only ",
      shape.ToString(), " is known"));
}

absl::Status CheckSizesValue(const Tensor& sizes, const Shape& expected, absl::string_view name) {
  bool same = sizes.num_elements() == expected.rank();
  for (int i = 0; same && i < expected.rank(); ++i) {
    same = IndexValueAt(sizes, i) == expected.dim(i);
  }
  if (same) return absl::OkStatus();
  std::vector<int64_t> values(sizes.num_elements());
  for (int64_t i = 0; i < sizes.num_elements(); ++i) values[i] = IndexValueAt(sizes, i);
  return absl::InvalidArgumentError(absl::StrCat(name, " holds [", absl::StrJoin(values, ","),
                                                 "] but the output was planned as ",
                                                 expected.ToString()));
}

}  // namespace sluice
