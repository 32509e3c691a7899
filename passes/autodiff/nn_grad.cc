// Gradients of the neural-network family. Most use the backward ops of
// graph/ops/nn.h, which run on oneDNN's backward primitives; g is the
// gradient of the op's (first) output.
#include "absl/strings/str_cat.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/status_macros.h"
#include "passes/autodiff/grad_util.h"
#include "passes/autodiff/gradient_registry.h"

namespace sluice {
namespace {

// z = relu(x): dx = g [x > 0].
absl::Status ReluGradFn(GradContext& c) {
  c.grad_inputs[0] = ReluGrad(c.scope, c.grad_outputs[0], c.input(0));
  return absl::OkStatus();
}

// z = min(max(x, 0), 6): dx = g [0 < x < 6].
absl::Status Relu6GradFn(GradContext& c) {
  c.grad_inputs[0] = Relu6Grad(c.scope, c.grad_outputs[0], c.input(0));
  return absl::OkStatus();
}

// z = x > 0 ? x : e^x - 1: dx = g where z > 0, else g (z + 1).
absl::Status EluGradFn(GradContext& c) {
  c.grad_inputs[0] = EluGrad(c.scope, c.grad_outputs[0], c.output(0));
  return absl::OkStatus();
}

// z = log(1 + e^x): dx = g sigmoid(x).
absl::Status SoftplusGradFn(GradContext& c) {
  c.grad_inputs[0] = SoftplusGrad(c.scope, c.grad_outputs[0], c.input(0));
  return absl::OkStatus();
}

// z = x > 0 ? x : alpha x: dx = g where x > 0, else alpha g.
absl::Status LeakyReluGradFn(GradContext& c) {
  c.grad_inputs[0] = LeakyReluGrad(c.scope, c.grad_outputs[0], c.input(0),
                                   {.alpha = c.attr("alpha").f()});
  return absl::OkStatus();
}

// z = x Phi(x) (or its tanh approximation): dx = g z'(x).
absl::Status GeluGradFn(GradContext& c) {
  c.grad_inputs[0] = GeluGrad(c.scope, c.grad_outputs[0], c.input(0),
                              {.approximate = c.attr("approximate").b()});
  return absl::OkStatus();
}

// z = 1 / (1 + e^-x): dx = g z (1 - z).
absl::Status SigmoidGradFn(GradContext& c) {
  c.grad_inputs[0] = SigmoidGrad(c.scope, c.output(0), c.grad_outputs[0]);
  return absl::OkStatus();
}

// z = tanh(x): dx = g (1 - z^2).
absl::Status TanhGradFn(GradContext& c) {
  c.grad_inputs[0] = TanhGrad(c.scope, c.output(0), c.grad_outputs[0]);
  return absl::OkStatus();
}

// z = softmax(x) over the last axis: dx = (g - sum(g z, last)) z.
absl::Status SoftmaxGradFn(GradContext& c) {
  const Output g = c.grad_outputs[0], z = c.output(0);
  const Output dot = Sum(c.scope, Mul(c.scope, g, z), {-1}, {.keep_dims = true});
  c.grad_inputs[0] = Mul(c.scope, Sub(c.scope, g, dot), z);
  return absl::OkStatus();
}

// z = log_softmax(x) over the last axis: dx = g - e^z sum(g, last).
absl::Status LogSoftmaxGradFn(GradContext& c) {
  const Output g = c.grad_outputs[0], z = c.output(0);
  const Output total = Sum(c.scope, g, {-1}, {.keep_dims = true});
  c.grad_inputs[0] = Sub(c.scope, g, Mul(c.scope, Exp(c.scope, z), total));
  return absl::OkStatus();
}

// z = x + b (b along the channel dim): dx = g, db = g summed over all other
// dims.
absl::Status BiasAddGradFn(GradContext& c) {
  c.grad_inputs[0] = c.grad_outputs[0];
  c.grad_inputs[1] = BiasAddGrad(c.scope, c.grad_outputs[0],
                                 {.data_format = c.attr("data_format").s()});
  return absl::OkStatus();
}

Conv2DOptions ConvOptionsOf(const Node& node) {
  return {.strides = node.attr("strides").ints(),
          .padding = node.attr("padding").s(),
          .explicit_paddings = node.attr("explicit_paddings").ints(),
          .data_format = node.attr("data_format").s(),
          .dilations = node.attr("dilations").ints()};
}

PoolOptions PoolOptionsOf(const Node& node) {
  return {.ksize = node.attr("ksize").ints(),
          .strides = node.attr("strides").ints(),
          .padding = node.attr("padding").s(),
          .data_format = node.attr("data_format").s()};
}

// z = conv2d(x, w): dx is the transposed convolution of g with w, dw the
// correlation of x with g.
absl::Status Conv2DGradFn(GradContext& c) {
  const Conv2DOptions options = ConvOptionsOf(c.node);
  const Output x = c.input(0), w = c.input(1), g = c.grad_outputs[0];
  c.grad_inputs[0] = Conv2DBackpropInput(c.scope, ShapeOf(c.scope, x), w, g, options);
  c.grad_inputs[1] = Conv2DBackpropFilter(c.scope, x, ShapeOf(c.scope, w), g, options);
  return absl::OkStatus();
}

// z = maxpool(x): each window's g goes to the window's (first) maximum.
absl::Status MaxPoolGradFn(GradContext& c) {
  c.grad_inputs[0] =
      MaxPoolGrad(c.scope, c.input(0), c.output(0), c.grad_outputs[0], PoolOptionsOf(c.node));
  return absl::OkStatus();
}

// z = avgpool(x): each window's g is shared equally by its elements.
absl::Status AvgPoolGradFn(GradContext& c) {
  c.grad_inputs[0] = AvgPoolGrad(c.scope, ShapeOf(c.scope, c.input(0)), c.grad_outputs[0],
                                 PoolOptionsOf(c.node));
  return absl::OkStatus();
}

// y = scale (x - mean) / sqrt(var + eps) + offset, per channel; in training
// mean and var are the batch's own statistics and so depend on x. Only y
// carries a gradient (the statistics outputs feed moving averages); the
// mean and variance inputs get none, as in TensorFlow.
absl::Status FusedBatchNormGradFn(GradContext& c) {
  if (!c.grad_outputs[0].valid()) return absl::OkStatus();
  const bool training = c.attr("is_training").b();
  const Output saved_mean = training ? c.output(3) : c.input(3);
  const Output saved_var = training ? c.output(4) : c.input(4);
  FusedBatchNormGradOutputs g = FusedBatchNormGrad(
      c.scope, c.grad_outputs[0], c.input(0), c.input(1), saved_mean, saved_var,
      {.epsilon = c.attr("epsilon").f(),
       .data_format = c.attr("data_format").s(),
       .is_training = training});
  c.grad_inputs[0] = g.x_backprop;
  c.grad_inputs[1] = g.scale_backprop;
  c.grad_inputs[2] = g.offset_backprop;
  return absl::OkStatus();
}

absl::Status CheckNoBackpropGradient(const GradContext& c) {
  if (c.grad_outputs[1].valid()) {
    return absl::UnimplementedError(
        "output 1 (backprop) is itself a gradient and cannot be differentiated");
  }
  return absl::OkStatus();
}

// loss_b = -sum_c labels_bc log softmax(x)_bc: dx = g_b (softmax(x) -
// labels) (the op's backprop output), dlabels = -g_b log softmax(x).
absl::Status SoftmaxCrossEntropyGradFn(GradContext& c) {
  RETURN_IF_ERROR(CheckNoBackpropGradient(c));
  const Output g = ExpandDims(c.scope, c.grad_outputs[0], -1);
  c.grad_inputs[0] = Mul(c.scope, g, c.output(1));
  c.grad_inputs[1] = Mul(c.scope, g, Neg(c.scope, LogSoftmax(c.scope, c.input(0))));
  return absl::OkStatus();
}

// The same with class indices as labels, which have no gradient.
absl::Status SparseSoftmaxCrossEntropyGradFn(GradContext& c) {
  RETURN_IF_ERROR(CheckNoBackpropGradient(c));
  c.grad_inputs[0] = Mul(c.scope, ExpandDims(c.scope, c.grad_outputs[0], -1), c.output(1));
  return absl::OkStatus();
}

}  // namespace

void RegisterNnGradients(GradientRegistry& r) {
  r.Register("Relu", ReluGradFn);
  r.Register("Relu6", Relu6GradFn);
  r.Register("Elu", EluGradFn);
  r.Register("Softplus", SoftplusGradFn);
  r.Register("LeakyRelu", LeakyReluGradFn);
  r.Register("Gelu", GeluGradFn);
  r.Register("Sigmoid", SigmoidGradFn);
  r.Register("Tanh", TanhGradFn);
  r.Register("Softmax", SoftmaxGradFn);
  r.Register("LogSoftmax", LogSoftmaxGradFn);
  r.Register("BiasAdd", BiasAddGradFn);
  r.Register("Conv2D", Conv2DGradFn);
  r.Register("MaxPool", MaxPoolGradFn);
  r.Register("AvgPool", AvgPoolGradFn);
  r.Register("FusedBatchNorm", FusedBatchNormGradFn);
  r.Register("SoftmaxCrossEntropyWithLogits", SoftmaxCrossEntropyGradFn);
  r.Register("SparseSoftmaxCrossEntropyWithLogits", SparseSoftmaxCrossEntropyGradFn);
}

}  // namespace sluice
