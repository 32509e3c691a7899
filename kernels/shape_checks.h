// Checks every device's kernel factories make on the static shapes of a
// node, with the messages the tests expect from each of them.
#ifndef SLUICE_KERNELS_SHAPE_CHECKS_H_
#define SLUICE_KERNELS_SHAPE_CHECKS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "graph/shape.h"
#include "graph/tensor.h"
#include "kernels/kernel.h"

namespace sluice {

// Internal when output `index` of init's node does not have the shape
// `expected` that the kernel computes: the shape functions and the kernel
// disagree, which is a bug in Sluice, not in the graph.
absl::Status CheckOutputShape(const KernelInit& init, int index, const Shape& expected);

// InvalidArgument naming both inputs when inputs 0 and 1 of init's node
// differ in shape (the activation gradients read them element by element).
absl::Status CheckSameInputShapes(const KernelInit& init);

// InvalidArgument when input `i` of init's node does not have the shape
// `expected` (e.g. the shape the forward op produced); `origin` says where
// `expected` comes from.
absl::Status CheckInputShape(const KernelInit& init, int i, const Shape& expected,
                             absl::string_view origin);

// InvalidArgument when the sizes input `sizes_input` (input_sizes,
// filter_sizes, orig_input_shape), whose value is `shape`, is not fully
// known when the plan is compiled: kernels have static shapes.
absl::Status RequireKnownSizes(const KernelInit& init, const Shape& shape, int sizes_input);

// InvalidArgument when the sizes held by the 1-D integer tensor `sizes`
// (the input called `name`) are not the static shape `expected` the output
// was planned with: a kernel cannot change its output's size on a run.
absl::Status CheckSizesValue(const Tensor& sizes, const Shape& expected, absl::string_view name);

}  // namespace sluice

#endif  // SLUICE_KERNELS_SHAPE_CHECKS_H_
