// Geometry of 2-D convolution and pooling windows, with TensorFlow's padding
// rules (SAME, VALID, EXPLICIT), shared by the forward kernels and the
// gradient building blocks so both compute exactly the same padding.
#ifndef SLUICE_CPU_WINDOW_H_
#define SLUICE_CPU_WINDOW_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/shape.h"

namespace sluice::cpu {

enum class DataFormat { kNhwc, kNchw };

// A window sliding over the spatial dims of a 4-D tensor. Sizes are logical
// (independent of the layout); strides of each layout come from the helpers.
struct Window2D {
  DataFormat format = DataFormat::kNhwc;
  int64_t batch = 0;
  int64_t in_h = 0, in_w = 0, in_c = 0;
  int64_t out_h = 0, out_w = 0, out_c = 0;  // out_c == in_c for pooling
  int64_t k_h = 1, k_w = 1;                 // filter or pooling window size
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;  // TensorFlow's convention: 1 is dense
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;

  Shape InputShape() const;   // in `format`
  Shape OutputShape() const;  // in `format`
  Shape FilterShape() const;  // HWIO: [k_h, k_w, in_c, out_c]
  // Element strides of the logical (n, c, h, w) dims of the dense input and
  // output in `format`.
  std::array<int64_t, 4> InputStrides() const;
  std::array<int64_t, 4> OutputStrides() const;
  int64_t input_elements() const { return batch * in_h * in_w * in_c; }
  int64_t output_elements() const { return batch * out_h * out_w * out_c; }
  // `[n,h,w,c] -> [n,h,w,c] k3x3 s1x1 d1x1 pad t0 b0 l0 r0`, for messages.
  std::string ToString() const;
};

// Parses a data_format attr: "NHWC" or "NCHW".
absl::StatusOr<DataFormat> ParseDataFormat(absl::string_view format);

// The window of Conv2D-style attrs on `node` (strides, padding,
// explicit_paddings, data_format, dilations; those absent take TensorFlow's
// defaults) over `input` (in data_format) with an HWIO `filter`. Errors for
// strides or dilations on the batch or depth dims, a filter depth different
// from the input depth, and paddings that leave no valid output size.
absl::StatusOr<Window2D> Conv2DWindow(const Shape& input, const Shape& filter, const Node& node);

// The window of MaxPool/AvgPool-style attrs on `node` (ksize, strides,
// padding, data_format) over `input`. Pooling over the batch or depth dims is
// rejected.
absl::StatusOr<Window2D> Pool2DWindow(const Shape& input, const Node& node);

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_WINDOW_H_
