// The CPU's view of 2-D convolution and pooling windows: the geometry and
// padding rules shared with every device (kernels/window_params.h), plus the
// element strides of the dense layouts that the plain loops walk.
#ifndef SLUICE_CPU_WINDOW_H_
#define SLUICE_CPU_WINDOW_H_

#include <array>
#include <cstdint>

#include "kernels/window_params.h"

namespace sluice::cpu {

using ::sluice::Conv2DWindow;
using ::sluice::DataFormat;
using ::sluice::ParseDataFormat;
using ::sluice::Pool2DWindow;
using ::sluice::Window2D;

// Element strides of the logical (n, c, h, w) dims of the window's dense
// input and output in its format.
std::array<int64_t, 4> InputStrides(const Window2D& w);
std::array<int64_t, 4> OutputStrides(const Window2D& w);

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_WINDOW_H_
