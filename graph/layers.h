// Layers in the style of tf.layers / Keras, built from the op builders.
//
// A layer is an object configured by an options struct and applied to an
// Output with operator(); the first call creates its variables (under the
// layer's own name scope: "dense/kernel", "dense/bias", and "dense_1/..." for
// the next Dense) and later calls reuse them, building their ops in a fresh
// unique name scope of the same graph (the next free "dense_N"). After the
// first call the layer exposes its name and variables:
//
//   Scope root = Scope::NewRootScope();
//   Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 784});
//   Output training = layers::TrainingFlag(root);
//   layers::Dense hidden({.units = 256, .activation = Relu});
//   layers::Dropout dropout({.rate = 0.2, .seed = 1});
//   layers::Dense out({.units = 10});
//   Output logits = out(root, dropout(root, hidden(root, x), training));
//   std::vector<Output> params = hidden.trainable_variables();  // dense/kernel, dense/bias
//
// Errors follow the builder convention: they are recorded in the scope,
// prefixed with the layer's name scope, and the call returns a null Output.
// Every layer accepts an unknown batch dim.
//
// Graphs have no control flow, so the layers that behave differently in
// training (BatchNormalization, Dropout) compute both behaviours and pick one
// with Select on the `training` flag, a bool scalar usually made once by
// TrainingFlag and fed true for training steps.
#ifndef SLUICE_GRAPH_LAYERS_H_
#define SLUICE_GRAPH_LAYERS_H_

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "graph/initializers.h"
#include "graph/scope.h"

namespace sluice::layers {

// Applied to a layer's affine output; any builder of this form works
// (Relu, Sigmoid, Tanh, Softmax, Elu, ...). Empty means none.
using Activation = std::function<Output(const Scope& scope, Output x)>;

// A bool scalar PlaceholderWithDefault named "training" (made unique) that
// yields `default_value` unless fed. Pass it to every layer that needs one.
Output TrainingFlag(const Scope& scope, bool default_value = false);

// What every layer shares: its name and its variables.
class Layer {
 public:
  virtual ~Layer() = default;

  // The name scope of the first call ("dense", "dense_1", ...); empty before.
  const std::string& name() const { return name_; }
  // Every variable the layer created, in creation order; empty before the
  // first call and for layers without variables.
  const std::vector<Output>& variables() const { return variables_; }
  // The variables whose trainable attr is set (what an optimizer updates).
  std::vector<Output> trainable_variables() const;
  // Whether the first call has created the variables.
  bool built() const { return built_; }

 protected:
  explicit Layer(std::string default_name) : default_name_(std::move(default_name)) {}

  // Starts a call: checks the scope and inputs (returns nullopt, doing
  // nothing, after an earlier error or on a null input), checks that a built
  // layer is used in the graph it was built in, and opens the call's unique
  // name scope, which the first call makes the layer's name.
  std::optional<Scope> BeginCall(const Scope& scope, const std::vector<Output>& inputs);
  // Creates a variable `name` in `layer_scope` and records it.
  Output AddVariable(const Scope& layer_scope, const std::string& name, const Shape& shape,
                     DType dtype, const initializers::Initializer& init, bool trainable);
  // Marks the variables as created.
  void SetBuilt() { built_ = true; }

 private:
  std::string default_name_;
  std::string name_;
  std::vector<Output> variables_;
  Graph* graph_ = nullptr;
  bool built_ = false;
};

struct DenseOptions {
  // The output width (> 0).
  int64_t units = 0;
  Activation activation = nullptr;
  bool use_bias = true;
  initializers::Initializer kernel_initializer = initializers::GlorotUniform();
  initializers::Initializer bias_initializer = initializers::Zeros();
};
// activation(x · kernel + bias) for x [batch, in] (floating, `in` known);
// kernel is [in, units], bias [units].
class Dense : public Layer {
 public:
  explicit Dense(DenseOptions options) : Layer("dense"), options_(std::move(options)) {}
  Output operator()(const Scope& scope, Output x);
  // Null before the first call; bias() also without use_bias.
  Output kernel() const { return kernel_; }
  Output bias() const { return bias_; }

 private:
  DenseOptions options_;
  Output kernel_;
  Output bias_;
};

struct Conv2DOptions {
  // Output channels (> 0).
  int64_t filters = 0;
  // Window height and width (> 0).
  std::array<int64_t, 2> kernel_size = {0, 0};
  // Vertical and horizontal strides (> 0).
  std::array<int64_t, 2> strides = {1, 1};
  // "SAME" or "VALID".
  std::string padding = "VALID";
  // "NHWC" or "NCHW".
  std::string data_format = "NHWC";
  Activation activation = nullptr;
  bool use_bias = true;
  initializers::Initializer kernel_initializer = initializers::GlorotUniform();
  initializers::Initializer bias_initializer = initializers::Zeros();
};
// activation(conv2d(x, kernel) + bias) for x of rank 4 in data_format with a
// known channel count C; kernel is HWIO [kh, kw, C, filters], bias [filters].
class Conv2D : public Layer {
 public:
  explicit Conv2D(Conv2DOptions options) : Layer("conv2d"), options_(std::move(options)) {}
  Output operator()(const Scope& scope, Output x);
  Output kernel() const { return kernel_; }
  Output bias() const { return bias_; }

 private:
  Conv2DOptions options_;
  Output kernel_;
  Output bias_;
};

struct Pool2DOptions {
  // Window height and width (> 0).
  std::array<int64_t, 2> pool_size = {2, 2};
  // Vertical and horizontal strides; {0, 0} means pool_size (as in Keras).
  std::array<int64_t, 2> strides = {0, 0};
  // "SAME" or "VALID".
  std::string padding = "VALID";
  // "NHWC" or "NCHW".
  std::string data_format = "NHWC";
};
// The maximum over each window of x (rank 4).
class MaxPool2D : public Layer {
 public:
  explicit MaxPool2D(Pool2DOptions options = {})
      : Layer("max_pooling2d"), options_(std::move(options)) {}
  Output operator()(const Scope& scope, Output x);

 private:
  Pool2DOptions options_;
};
// The mean over each window of x (rank 4), counting only elements inside x.
class AvgPool2D : public Layer {
 public:
  explicit AvgPool2D(Pool2DOptions options = {})
      : Layer("average_pooling2d"), options_(std::move(options)) {}
  Output operator()(const Scope& scope, Output x);

 private:
  Pool2DOptions options_;
};

// x [batch, d1, d2, ...] (known rank >= 1) reshaped to [batch, d1 * d2 * ...];
// an unknown batch dim stays unknown, and unknown inner dims are read from
// x's shape at run time.
class Flatten : public Layer {
 public:
  Flatten() : Layer("flatten") {}
  Output operator()(const Scope& scope, Output x);
};

struct BatchNormalizationOptions {
  // The channel axis; the last one (-1 or rank - 1) is supported.
  int axis = -1;
  // moving = moving * momentum + batch * (1 - momentum) in training.
  double momentum = 0.99;
  // Added to the variance before its square root (> 0).
  double epsilon = 0.001;
  // Whether to add the variable beta; without it the offset is 0.
  bool center = true;
  // Whether to multiply by the variable gamma; without it the scale is 1.
  bool scale = true;
  initializers::Initializer beta_initializer = initializers::Zeros();
  initializers::Initializer gamma_initializer = initializers::Ones();
  initializers::Initializer moving_mean_initializer = initializers::Zeros();
  initializers::Initializer moving_variance_initializer = initializers::Ones();
};
// Batch normalisation of x (rank 2 [batch, C] or rank 4 NHWC, C known,
// floating) per channel. When `training` is true the output uses the batch's
// mean and biased variance, and the run also updates the non-trainable
// moving_mean and moving_variance (with the unbiased batch variance, as TF):
//   moving -= (moving - batch) * (1 - momentum)
// The updates are control inputs of the output, so any run of it in
// training mode applies them; in inference mode (training false) the output
// uses the moving statistics and the update subtracts 0.
class BatchNormalization : public Layer {
 public:
  explicit BatchNormalization(BatchNormalizationOptions options = {})
      : Layer("batch_normalization"), options_(std::move(options)) {}
  // `training` is a bool scalar (see TrainingFlag).
  Output operator()(const Scope& scope, Output x, Output training);
  // Null before the first call; gamma() without scale, beta() without center.
  Output gamma() const { return gamma_; }
  Output beta() const { return beta_; }
  Output moving_mean() const { return moving_mean_; }
  Output moving_variance() const { return moving_variance_; }

 private:
  BatchNormalizationOptions options_;
  Output gamma_;
  Output beta_;
  Output moving_mean_;
  Output moving_variance_;
};

struct DropoutOptions {
  // The fraction of elements zeroed in training, in [0, 1).
  double rate = 0.5;
  // 0 lets the session choose; any other seed makes the sequence of masks
  // (one per run) the same in every new session.
  int64_t seed = 0;
};
// When `training` is true, each element of x (floating) is zeroed with
// probability `rate` and the others are scaled by 1 / (1 - rate), so the
// expected value is unchanged; otherwise x passes through unchanged.
class Dropout : public Layer {
 public:
  explicit Dropout(DropoutOptions options = {}) : Layer("dropout"), options_(options) {}
  // `training` is a bool scalar (see TrainingFlag).
  Output operator()(const Scope& scope, Output x, Output training);

 private:
  DropoutOptions options_;
};

}  // namespace sluice::layers

#endif  // SLUICE_GRAPH_LAYERS_H_
