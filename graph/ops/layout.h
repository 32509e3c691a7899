// The layout family: blocked activations and the convolution and pooling
// ops that read and write them. The layout pass (passes/layout.h) rewrites
// convolution regions into these ops; users do not build them.
//
// A blocked activation is an ordinary tensor of shape [N, C/b, H, W, b]:
// channel c of pixel (n, h, w) lives at [n, c / b, h, w, c % b] (oneDNN's
// nChw{b}c, TensorFlow's NCHW_VECT_C idea). Since the shape says it all,
// shape inference, the memory planner and every pass handle blocked tensors
// without knowing about layouts. C must be a multiple of b: there is never
// padding to keep at zero.
//
// None of them is differentiable: the layout pass runs on compiled plans,
// after gradients were built from the plain ops.
#ifndef SLUICE_GRAPH_OPS_LAYOUT_H_
#define SLUICE_GRAPH_OPS_LAYOUT_H_

#include <string>
#include <vector>

#include "graph/ops/fused.h"
#include "graph/ops/nn.h"
#include "graph/scope.h"

namespace sluice {

// The blocked shape [N, C/block, H, W, block] of an NHWC shape [N, H, W, C]
// (unknown dims stay unknown). C must be a multiple of block when known.
Shape BlockedShape(const Shape& nhwc, int64_t block);
// The NHWC shape [N, H, W, C] of a blocked shape [N, C/b, H, W, b].
Shape NhwcShapeOfBlocked(const Shape& blocked);

// `input` [N, H, W, C] in blocks of `block` channels: [N, C/block, H, W, block].
Output ToBlocked(const Scope& scope, Output input, int64_t block);
// The inverse: [N, C/b, H, W, b] back to [N, H, W, C].
Output FromBlocked(const Scope& scope, Output input);

struct BlockedConv2DOptions {
  // strides, padding, explicit_paddings and dilations as Conv2D's, in NHWC
  // order; data_format is ignored (the layouts are fixed).
  Conv2DOptions conv;
  int64_t block = 16;
  // Whether `input` is blocked; false: NHWC (a network's first convolution,
  // with 1 or 3 input channels, reads its input plain).
  bool blocked_input = true;
  // Empty, or an epilogue as _FusedConv2D's: "BiasAdd", optionally "Add"
  // (args[1]: a residual of the blocked output's shape), optionally an
  // activation of FusedActivations().
  std::vector<std::string> fused_ops;
  float leakyrelu_alpha = 0.2f;
};
// A convolution writing a blocked output [N, OC/block, OH, OW, block], from
// a blocked or NHWC input and an HWIO filter.
Output BlockedConv2D(const Scope& scope, Output input, Output filter,
                     const std::vector<Output>& args, const BlockedConv2DOptions& options);

// MaxPool / AvgPool over a blocked input; `options` in NHWC order
// (data_format is ignored).
Output BlockedMaxPool(const Scope& scope, Output input, const PoolOptions& options = {});
Output BlockedAvgPool(const Scope& scope, Output input, const PoolOptions& options = {});

}  // namespace sluice

#endif  // SLUICE_GRAPH_OPS_LAYOUT_H_
