// Builders for activations, softmax, BiasAdd, convolution, pooling, batch
// normalisation and the softmax cross-entropy losses, and the backward ops
// their gradients are made of. Every forward op here is differentiable; T is
// a floating dtype unless a builder says otherwise.
//
// Layouts follow TensorFlow: data_format "NHWC" (the default) or "NCHW" for
// activations, and HWIO ([height, width, in_channels, out_channels]) for
// convolution filters. Stride, window and dilation lists have 4 entries in
// data_format order whose batch and channel entries are 1.
#ifndef SLUICE_GRAPH_OPS_NN_H_
#define SLUICE_GRAPH_OPS_NN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "graph/scope.h"

namespace sluice {

// Element-wise activations; the output has the input's shape and dtype.
Output Relu(const Scope& scope, Output features);
// min(max(x, 0), 6).
Output Relu6(const Scope& scope, Output features);
// x for x > 0, exp(x) - 1 otherwise.
Output Elu(const Scope& scope, Output features);
// log(1 + exp(x)).
Output Softplus(const Scope& scope, Output features);
Output Sigmoid(const Scope& scope, Output x);
Output Tanh(const Scope& scope, Output x);

struct LeakyReluOptions {
  // The slope for negative inputs.
  float alpha = 0.2f;
};
Output LeakyRelu(const Scope& scope, Output features, const LeakyReluOptions& options = {});

struct GeluOptions {
  // Use the tanh approximation instead of the exact erf form.
  bool approximate = false;
};
Output Gelu(const Scope& scope, Output features, const GeluOptions& options = {});

// Softmax and its logarithm over the last axis of `logits` (rank >= 1).
Output Softmax(const Scope& scope, Output logits);
Output LogSoftmax(const Scope& scope, Output logits);

struct BiasAddOptions {
  // "NHWC": the bias aligns with the last dim of `value`; "NCHW": with dim 1
  // (then `value` needs rank >= 3).
  std::string data_format = "NHWC";
};
// value + bias, where `bias` is 1-D with one entry per channel of `value`.
Output BiasAdd(const Scope& scope, Output value, Output bias, const BiasAddOptions& options = {});

struct Conv2DOptions {
  std::vector<int64_t> strides = {1, 1, 1, 1};
  // "SAME", "VALID" or "EXPLICIT"; with "EXPLICIT", explicit_paddings holds
  // 8 values, a (before, after) pair per dim in data_format order, zero for
  // the batch and channel dims. It must be empty otherwise.
  std::string padding = "SAME";
  std::vector<int64_t> explicit_paddings = {};
  std::string data_format = "NHWC";
  std::vector<int64_t> dilations = {1, 1, 1, 1};
};
// 2-D convolution of `input` (rank 4, in data_format) with `filter`
// [height, width, in_channels, out_channels]; in_channels must equal the
// input's channel count. The output has out_channels channels and spatial
// sizes as in TensorFlow: SAME ceil(in / stride), VALID
// ceil((in - (k - 1) * dilation) / stride).
Output Conv2D(const Scope& scope, Output input, Output filter, const Conv2DOptions& options = {});

struct PoolOptions {
  std::vector<int64_t> ksize = {1, 2, 2, 1};
  std::vector<int64_t> strides = {1, 2, 2, 1};
  // "SAME" or "VALID".
  std::string padding = "VALID";
  std::string data_format = "NHWC";
};
// The maximum over each window of `input` (rank 4). T may also be i8, u8,
// i32 or i64.
Output MaxPool(const Scope& scope, Output input, const PoolOptions& options = {});
// The mean over each window of `value` (rank 4), counting only the elements
// inside the input.
Output AvgPool(const Scope& scope, Output value, const PoolOptions& options = {});

struct FusedBatchNormOptions {
  float epsilon = 0.0001f;
  // With is_training, batch_mean/batch_variance are
  // (1 - factor) * mean + factor * (batch statistic); 1 ignores `mean` and
  // `variance`, which may then be empty.
  float exponential_avg_factor = 1.0f;
  std::string data_format = "NHWC";
  // Normalise with the batch statistics (true) or with `mean`/`variance`.
  bool is_training = true;
};
struct FusedBatchNormOutputs {
  Output y;                // x's shape
  Output batch_mean;       // [C]
  Output batch_variance;   // [C]
  Output reserve_space_1;  // [C], for the gradient
  Output reserve_space_2;  // [C], for the gradient
};
// Batch normalisation of `x` (rank 4) per channel C: scale, offset, mean and
// variance are [C] (mean and variance may be [0] when training with
// exponential_avg_factor 1). All outputs are null on error.
FusedBatchNormOutputs FusedBatchNorm(const Scope& scope, Output x, Output scale, Output offset,
                                     Output mean, Output variance,
                                     const FusedBatchNormOptions& options = {});

struct CrossEntropyOutputs {
  Output loss;      // [batch]
  Output backprop;  // [batch, classes]: the gradient of loss with respect to the logits
};
// Softmax cross-entropy of `features` (logits [batch, classes]) against
// `labels`, probabilities of the same shape. Both outputs are null on error.
CrossEntropyOutputs SoftmaxCrossEntropyWithLogits(const Scope& scope, Output features,
                                                  Output labels);
// Like SoftmaxCrossEntropyWithLogits with `labels` as class indices [batch]
// (i32 or i64).
CrossEntropyOutputs SparseSoftmaxCrossEntropyWithLogits(const Scope& scope, Output features,
                                                        Output labels);

// ---------------------------------------------------------------------------
// Backward ops: what the gradients of the ops above are built from. They
// have TensorFlow's names, inputs, outputs and attributes, and are not
// themselves differentiable.

// Activation gradients: `gradients` is the gradient of the loss with respect
// to the activation's output, `features` its input (`outputs` for Elu); both
// must have the same shape, which the result has.
// gradients where features > 0, else 0.
Output ReluGrad(const Scope& scope, Output gradients, Output features);
// gradients where 0 < features < 6, else 0.
Output Relu6Grad(const Scope& scope, Output gradients, Output features);
// From Elu's output: gradients where outputs > 0, else gradients * (outputs + 1).
Output EluGrad(const Scope& scope, Output gradients, Output outputs);
// gradients * sigmoid(features).
Output SoftplusGrad(const Scope& scope, Output gradients, Output features);
// gradients where features > 0, else gradients * alpha.
Output LeakyReluGrad(const Scope& scope, Output gradients, Output features,
                     const LeakyReluOptions& options = {});
// gradients * Gelu'(features), of the erf form or (approximate) of the tanh
// approximation, whichever the forward Gelu used.
Output GeluGrad(const Scope& scope, Output gradients, Output features,
                const GeluOptions& options = {});
// From the forward output y (TensorFlow's order: y first): dy * y * (1 - y).
Output SigmoidGrad(const Scope& scope, Output y, Output dy);
// From the forward output y: dy * (1 - y^2).
Output TanhGrad(const Scope& scope, Output y, Output dy);

// The gradient of BiasAdd with respect to its bias: `out_backprop` summed
// over every dim but the channel one (the last for NHWC, dim 1 for NCHW);
// the result is [C].
Output BiasAddGrad(const Scope& scope, Output out_backprop, const BiasAddOptions& options = {});

// The gradient of Conv2D with respect to its input. `input_sizes` is a 1-D
// i32 tensor of 4 entries, the input's shape in data_format; `filter` is
// HWIO; `out_backprop` has the shape of Conv2D's output for that input. The
// result has the shape `input_sizes` holds (unknown dims of rank 4 when its
// value is not known while building). Options are the forward Conv2D's.
Output Conv2DBackpropInput(const Scope& scope, Output input_sizes, Output filter,
                           Output out_backprop, const Conv2DOptions& options = {});
// The gradient of Conv2D with respect to its filter: `filter_sizes` is a 1-D
// i32 tensor of 4 entries, the HWIO filter shape, which the result has.
Output Conv2DBackpropFilter(const Scope& scope, Output input, Output filter_sizes,
                            Output out_backprop, const Conv2DOptions& options = {});

// The gradient of MaxPool: `grad` (the shape of `orig_output`, MaxPool's
// output for `orig_input`) goes to the first maximum of each window (in
// row-major window order). The result has orig_input's shape.
Output MaxPoolGrad(const Scope& scope, Output orig_input, Output orig_output, Output grad,
                   const PoolOptions& options = {});
// The gradient of AvgPool: each `grad` entry is shared equally by the input
// elements of its window (padding excluded, as in AvgPool).
// `orig_input_shape` is a 1-D i32 tensor of 4 entries, the result's shape.
Output AvgPoolGrad(const Scope& scope, Output orig_input_shape, Output grad,
                   const PoolOptions& options = {});

struct FusedBatchNormGradOptions {
  // The forward op's.
  float epsilon = 0.0001f;
  std::string data_format = "NHWC";
  // Whether the forward op normalised with the batch statistics (so they
  // depend on x) or with given constants.
  bool is_training = true;
};
struct FusedBatchNormGradOutputs {
  Output x_backprop;       // x's shape
  Output scale_backprop;   // [C]
  Output offset_backprop;  // [C]
};
// The gradient of FusedBatchNorm. `y_backprop` and `x` are 4-D of one shape;
// `scale` is [C]. In training, reserve_space_1 and reserve_space_2 are the
// forward op's outputs of those names (the batch mean and biased variance);
// in inference they are the mean and variance the forward op was given. The
// op also has TensorFlow's two empty outputs reserve_space_3 and
// reserve_space_4 ([0]), which the builder does not return. All outputs are
// null on error.
FusedBatchNormGradOutputs FusedBatchNormGrad(const Scope& scope, Output y_backprop, Output x,
                                             Output scale, Output reserve_space_1,
                                             Output reserve_space_2,
                                             const FusedBatchNormGradOptions& options = {});

}  // namespace sluice

#endif  // SLUICE_GRAPH_OPS_NN_H_
