// Builders for activations, convolution, pooling, normalisation and losses.
#ifndef SLUICE_GRAPH_OPS_NN_H_
#define SLUICE_GRAPH_OPS_NN_H_

#include <string>
#include <vector>

#include "graph/scope.h"

namespace sluice {

Output Relu(const Scope& scope, Output features);
Output Relu6(const Scope& scope, Output features);
Output Elu(const Scope& scope, Output features);
Output Softplus(const Scope& scope, Output features);
Output Sigmoid(const Scope& scope, Output x);
Output Tanh(const Scope& scope, Output x);
Output LeakyRelu(const Scope& scope, Output features, float alpha = 0.2f);
Output Gelu(const Scope& scope, Output features, bool approximate = false);
// Over the last axis.
Output Softmax(const Scope& scope, Output logits);
Output LogSoftmax(const Scope& scope, Output logits);

// Adds `bias` [C] along the channel dim: the last for NHWC, dim 1 for NCHW.
Output BiasAdd(const Scope& scope, Output value, Output bias,
               const std::string& data_format = "NHWC");

struct Conv2DOptions {
  std::vector<int64_t> strides = {1, 1, 1, 1};
  // "SAME", "VALID" or "EXPLICIT" (then explicit_paddings holds 8 values,
  // before/after per dim in data_format order).
  std::string padding = "SAME";
  std::vector<int64_t> explicit_paddings = {};
  std::string data_format = "NHWC";
  std::vector<int64_t> dilations = {1, 1, 1, 1};
};
// `filter` is [height, width, in_channels, out_channels].
Output Conv2D(const Scope& scope, Output input, Output filter, const Conv2DOptions& options = {});

struct PoolOptions {
  std::vector<int64_t> ksize = {1, 2, 2, 1};
  std::vector<int64_t> strides = {1, 2, 2, 1};
  std::string padding = "VALID";
  std::string data_format = "NHWC";
};
Output MaxPool(const Scope& scope, Output input, const PoolOptions& options = {});
Output AvgPool(const Scope& scope, Output value, const PoolOptions& options = {});

struct FusedBatchNormOptions {
  float epsilon = 0.0001f;
  float exponential_avg_factor = 1.0f;
  std::string data_format = "NHWC";
  bool is_training = true;
};
struct FusedBatchNormOutputs {
  Output y;
  Output batch_mean;
  Output batch_variance;
  Output reserve_space_1;
  Output reserve_space_2;
};
FusedBatchNormOutputs FusedBatchNorm(const Scope& scope, Output x, Output scale, Output offset,
                                     Output mean, Output variance,
                                     const FusedBatchNormOptions& options = {});

struct CrossEntropyOutputs {
  Output loss;      // [batch]
  Output backprop;  // [batch, classes]: the gradient of loss with respect to the logits
};
// `labels` are probabilities [batch, classes].
CrossEntropyOutputs SoftmaxCrossEntropyWithLogits(const Scope& scope, Output features,
                                                  Output labels);
// `labels` are class indices [batch] (i32 or i64).
CrossEntropyOutputs SparseSoftmaxCrossEntropyWithLogits(const Scope& scope, Output features,
                                                        Output labels);

}  // namespace sluice

#endif  // SLUICE_GRAPH_OPS_NN_H_
