// Geometry of 2-D convolution and pooling windows, with TensorFlow's padding
// rules (SAME, VALID, EXPLICIT). Every device's forward and gradient kernels
// take their windows from here, so all of them compute the same output sizes
// and padding and fail with the same messages.
#ifndef SLUICE_KERNELS_WINDOW_PARAMS_H_
#define SLUICE_KERNELS_WINDOW_PARAMS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"
#include "graph/shape.h"

namespace sluice {

enum class DataFormat { kNhwc, kNchw };

// A window sliding over the spatial dims of a 4-D tensor. Sizes are logical
// (independent of the layout); pad_top/pad_left come before the input,
// pad_bottom/pad_right after it.
struct Window2D {
  DataFormat format = DataFormat::kNhwc;
  int64_t batch = 0;
  int64_t in_h = 0, in_w = 0, in_c = 0;
  int64_t out_h = 0, out_w = 0, out_c = 0;  // out_c == in_c for pooling
  int64_t k_h = 1, k_w = 1;                 // filter or pooling window size
  int64_t stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1;  // TensorFlow's convention: 1 is dense
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;

  bool nhwc() const { return format == DataFormat::kNhwc; }
  Shape InputShape() const;   // in `format`
  Shape OutputShape() const;  // in `format`
  Shape FilterShape() const;  // HWIO: [k_h, k_w, in_c, out_c]
  int64_t input_elements() const { return batch * in_h * in_w * in_c; }
  int64_t output_elements() const { return batch * out_h * out_w * out_c; }
  int64_t filter_elements() const { return k_h * k_w * in_c * out_c; }
  bool symmetric() const { return pad_top == pad_bottom && pad_left == pad_right; }
  int64_t padded_h() const { return in_h + pad_top + pad_bottom; }
  int64_t padded_w() const { return in_w + pad_left + pad_right; }
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

}  // namespace sluice

#endif  // SLUICE_KERNELS_WINDOW_PARAMS_H_
