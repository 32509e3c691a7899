#include "graph/layers.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/random.h"
#include "graph/ops/state.h"

namespace sluice::layers {
namespace {

using initializers::ScalarConst;

// Records an InvalidArgument error prefixed with the call's name scope.
Output Fail(const Scope& scope, absl::string_view message) {
  scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(scope.name_scope(), ": ", message)));
  return Output();
}

// "x (f32[?,784])", how messages refer to an input.
std::string Describe(Output x) {
  return absl::StrCat(x.name(), " (", DTypeName(x.dtype()), x.shape().ToString(), ")");
}

bool CheckFloatingInput(const Scope& s, Output x) {
  if (IsFloating(x.dtype())) return true;
  Fail(s, absl::StrCat("input ", Describe(x), " must have a floating dtype"));
  return false;
}

// The input must have `rank` and a known dim `channel_axis` (whose size the
// variables need).
bool CheckRankAndChannels(const Scope& s, Output x, int rank, int channel_axis,
                          absl::string_view layout) {
  const Shape& shape = x.shape();
  if (shape.rank() != rank || shape.dim(channel_axis) == kUnknownDim) {
    Fail(s, absl::StrCat("input ", Describe(x), " must be ", layout, " with a known channel dim ",
                         channel_axis));
    return false;
  }
  return true;
}

bool CheckTrainingFlag(const Scope& s, Output training) {
  if (training.dtype() == DType::kBool && training.shape().IsCompatibleWith(Shape{})) return true;
  Fail(s, absl::StrCat("training flag ", Describe(training), " must be a bool scalar"));
  return false;
}

bool CheckPadding(const Scope& s, const std::string& padding) {
  if (padding == "SAME" || padding == "VALID") return true;
  Fail(s, absl::StrCat("padding '", padding, "' must be \"SAME\" or \"VALID\""));
  return false;
}

bool CheckDataFormat(const Scope& s, const std::string& data_format) {
  if (data_format == "NHWC" || data_format == "NCHW") return true;
  Fail(s, absl::StrCat("data_format '", data_format, "' must be \"NHWC\" or \"NCHW\""));
  return false;
}

bool CheckPositivePair(const Scope& s, absl::string_view what, const std::array<int64_t, 2>& v) {
  if (v[0] > 0 && v[1] > 0) return true;
  Fail(s, absl::StrCat(what, " [", v[0], ",", v[1], "] must be positive"));
  return false;
}

// A 4-entry window or stride list in data_format order.
std::vector<int64_t> Spatial4(const std::array<int64_t, 2>& hw, const std::string& data_format) {
  if (data_format == "NCHW") return {1, 1, hw[0], hw[1]};
  return {1, hw[0], hw[1], 1};
}

// Adds the bias and applies the activation, the tail of Dense and Conv2D.
Output BiasAndActivation(const Scope& s, Output y, Output bias, const Activation& activation,
                         const std::string& data_format) {
  if (bias.valid()) y = BiasAdd(s, y, bias, {.data_format = data_format});
  if (activation) y = activation(s, y);
  return y;
}

// The shared body of MaxPool2D and AvgPool2D.
Output Pool(const Scope& s, Output x, const Pool2DOptions& options, bool max) {
  if (!CheckPositivePair(s, "pool_size", options.pool_size) || !CheckPadding(s, options.padding) ||
      !CheckDataFormat(s, options.data_format)) {
    return Output();
  }
  const std::array<int64_t, 2> strides =
      options.strides == std::array<int64_t, 2>{0, 0} ? options.pool_size : options.strides;
  if (!CheckPositivePair(s, "strides", strides)) return Output();
  if (!x.shape().unknown_rank() && x.shape().rank() != 4) {
    return Fail(
        s, absl::StrCat("input ", Describe(x), " must have rank 4 (", options.data_format, ")"));
  }
  const PoolOptions pool{.ksize = Spatial4(options.pool_size, options.data_format),
                         .strides = Spatial4(strides, options.data_format),
                         .padding = options.padding,
                         .data_format = options.data_format};
  return max ? MaxPool(s, x, pool) : AvgPool(s, x, pool);
}

}  // namespace

Output TrainingFlag(const Scope& scope, bool default_value) {
  Output value = Const(scope.WithOpName("training/default"), default_value);
  return PlaceholderWithDefault(scope.WithOpName("training"), value, Shape{});
}

std::vector<Output> Layer::trainable_variables() const {
  std::vector<Output> out;
  for (const Output& v : variables_) {
    if (v.node->attr("trainable").b()) out.push_back(v);
  }
  return out;
}

std::optional<Scope> Layer::BeginCall(const Scope& scope, const std::vector<Output>& inputs) {
  if (!scope.ok()) return std::nullopt;
  for (const Output& x : inputs) {
    if (!x.valid()) return std::nullopt;
  }
  if (graph_ != nullptr && graph_ != scope.graph()) {
    // The variables are nodes of the first graph and cannot feed another.
    scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(
        "layer '", name_, "' was built in another graph; make a new layer for this one")));
    return std::nullopt;
  }
  Scope s = scope.NewSubScope(default_name_);
  if (graph_ == nullptr) {
    graph_ = scope.graph();
    name_ = s.name_scope();
  }
  return s;
}

Output Layer::AddVariable(const Scope& layer_scope, const std::string& name, const Shape& shape,
                          DType dtype, const initializers::Initializer& init, bool trainable) {
  Output v = initializers::MakeVariable(layer_scope, name, shape, dtype, init, trainable);
  if (v.valid()) variables_.push_back(v);
  return v;
}

Output Dense::operator()(const Scope& scope, Output x) {
  std::optional<Scope> s = BeginCall(scope, {x});
  if (!s) return Output();
  if (options_.units <= 0) {
    return Fail(*s, absl::StrCat("units must be positive, got ", options_.units));
  }
  if (!CheckFloatingInput(*s, x) || !CheckRankAndChannels(*s, x, 2, 1, "[batch, features]")) {
    return Output();
  }
  const int64_t in = x.shape().dim(1);
  if (!built()) {
    kernel_ = AddVariable(*s, "kernel", Shape{in, options_.units}, x.dtype(),
                          options_.kernel_initializer, true);
    if (options_.use_bias) {
      bias_ = AddVariable(*s, "bias", Shape{options_.units}, x.dtype(), options_.bias_initializer,
                          true);
    }
    if (!s->ok()) return Output();
    SetBuilt();
  } else if (kernel_.shape().dim(0) != in || kernel_.dtype() != x.dtype()) {
    return Fail(*s, absl::StrCat("input ", Describe(x), " does not fit the kernel ",
                                 Describe(kernel_), " made by the first call"));
  }
  Output y = MatMul(*s, x, kernel_);
  return BiasAndActivation(*s, y, bias_, options_.activation, "NHWC");
}

Output Conv2D::operator()(const Scope& scope, Output x) {
  std::optional<Scope> s = BeginCall(scope, {x});
  if (!s) return Output();
  const Conv2DOptions& o = options_;
  if (o.filters <= 0) return Fail(*s, absl::StrCat("filters must be positive, got ", o.filters));
  if (!CheckPositivePair(*s, "kernel_size", o.kernel_size) ||
      !CheckPositivePair(*s, "strides", o.strides) || !CheckPadding(*s, o.padding) ||
      !CheckDataFormat(*s, o.data_format) || !CheckFloatingInput(*s, x)) {
    return Output();
  }
  const int channel_axis = o.data_format == "NCHW" ? 1 : 3;
  if (!CheckRankAndChannels(*s, x, 4, channel_axis, o.data_format)) return Output();
  const int64_t in = x.shape().dim(channel_axis);
  if (!built()) {
    kernel_ = AddVariable(*s, "kernel", Shape{o.kernel_size[0], o.kernel_size[1], in, o.filters},
                          x.dtype(), o.kernel_initializer, true);
    if (o.use_bias) {
      bias_ = AddVariable(*s, "bias", Shape{o.filters}, x.dtype(), o.bias_initializer, true);
    }
    if (!s->ok()) return Output();
    SetBuilt();
  } else if (kernel_.shape().dim(2) != in || kernel_.dtype() != x.dtype()) {
    return Fail(*s, absl::StrCat("input ", Describe(x), " does not fit the kernel ",
                                 Describe(kernel_), " made by the first call"));
  }
  // The op builder, not this class.
  Output y = ::sluice::Conv2D(*s, x, kernel_,
                              {.strides = Spatial4(o.strides, o.data_format),
                               .padding = o.padding,
                               .data_format = o.data_format});
  return BiasAndActivation(*s, y, bias_, o.activation, o.data_format);
}

Output MaxPool2D::operator()(const Scope& scope, Output x) {
  std::optional<Scope> s = BeginCall(scope, {x});
  if (!s) return Output();
  SetBuilt();
  return Pool(*s, x, options_, /*max=*/true);
}

Output AvgPool2D::operator()(const Scope& scope, Output x) {
  std::optional<Scope> s = BeginCall(scope, {x});
  if (!s) return Output();
  SetBuilt();
  return Pool(*s, x, options_, /*max=*/false);
}

Output Flatten::operator()(const Scope& scope, Output x) {
  std::optional<Scope> s = BeginCall(scope, {x});
  if (!s) return Output();
  SetBuilt();
  const Shape& shape = x.shape();
  if (shape.rank() < 1) {
    return Fail(*s, absl::StrCat("input ", Describe(x), " must have a known rank >= 1"));
  }
  int64_t inner = 1;
  bool inner_known = true;
  for (int i = 1; i < shape.rank(); ++i) {
    if (shape.dim(i) == kUnknownDim) inner_known = false;
    if (inner_known) inner *= shape.dim(i);
  }
  // With the inner dims known a constant target shape keeps the result's
  // shape static; -1 stands for the batch, which may be unknown. (An empty
  // inner product makes -1 ambiguous, so that case reads the batch instead.)
  if (inner_known && inner > 0) return Reshape(*s, x, {-1, inner});
  if (inner_known && shape.dim(0) != kUnknownDim) return Reshape(*s, x, {shape.dim(0), inner});
  Output dims = ShapeOf(*s, x);
  Output batch = StridedSlice(s->WithOpName("batch"), dims, {0}, {1}, {1});
  Output target = Concat(s->WithOpName("target_shape"),
                         {batch, Const(s->WithOpName("rest"), std::vector<int32_t>{-1})}, 0);
  return Reshape(*s, x, target);
}

Output BatchNormalization::operator()(const Scope& scope, Output x, Output training) {
  std::optional<Scope> s = BeginCall(scope, {x, training});
  if (!s) return Output();
  const BatchNormalizationOptions& o = options_;
  if (!CheckFloatingInput(*s, x) || !CheckTrainingFlag(*s, training)) return Output();
  const int rank = x.shape().rank();
  if (rank != 2 && rank != 4) {
    return Fail(*s, absl::StrCat("input ", Describe(x), " must have rank 2 or 4"));
  }
  if (o.axis != -1 && o.axis != rank - 1) {
    return Fail(*s, absl::StrCat("axis ", o.axis, " is not supported for input ", Describe(x),
                                 "; only the last axis is"));
  }
  if (!CheckRankAndChannels(*s, x, rank, rank - 1, rank == 2 ? "[batch, channels]" : "NHWC")) {
    return Output();
  }
  if (!(o.momentum >= 0 && o.momentum <= 1)) {
    return Fail(*s, absl::StrCat("momentum ", o.momentum, " must be in [0, 1]"));
  }
  if (!(o.epsilon > 0)) return Fail(*s, absl::StrCat("epsilon ", o.epsilon, " must be > 0"));
  const DType dtype = x.dtype();
  const int64_t channels = x.shape().dim(rank - 1);
  const Shape stat_shape{channels};
  if (!built()) {
    if (o.scale) gamma_ = AddVariable(*s, "gamma", stat_shape, dtype, o.gamma_initializer, true);
    if (o.center) beta_ = AddVariable(*s, "beta", stat_shape, dtype, o.beta_initializer, true);
    moving_mean_ = AddVariable(*s, "moving_mean", stat_shape, dtype, o.moving_mean_initializer,
                               /*trainable=*/false);
    moving_variance_ = AddVariable(*s, "moving_variance", stat_shape, dtype,
                                   o.moving_variance_initializer, /*trainable=*/false);
    if (!s->ok()) return Output();
    SetBuilt();
  } else if (moving_mean_.shape().dim(0) != channels || moving_mean_.dtype() != dtype) {
    return Fail(*s, absl::StrCat("input ", Describe(x), " does not fit the statistics ",
                                 Describe(moving_mean_), " made by the first call"));
  }
  // FusedBatchNorm needs a scale and an offset; without the variables they
  // are the identity.
  Output gamma =
      o.scale ? gamma_ : Fill(s->WithOpName("ones"), {channels}, ScalarConst(*s, 1, dtype));
  Output beta =
      o.center ? beta_ : Fill(s->WithOpName("zeros"), {channels}, ScalarConst(*s, 0, dtype));

  // FusedBatchNorm is rank 4; a [batch, C] input is viewed as [batch, 1, 1, C].
  Output x4 = rank == 4 ? x : Reshape(s->WithOpName("to_4d"), x, {-1, 1, 1, channels});
  const float epsilon = static_cast<float>(o.epsilon);
  FusedBatchNormOutputs train =
      FusedBatchNorm(s->NewSubScope("training"), x4, gamma, beta, moving_mean_, moving_variance_,
                     {.epsilon = epsilon, .is_training = true});
  FusedBatchNormOutputs infer =
      FusedBatchNorm(s->NewSubScope("inference"), x4, gamma, beta, moving_mean_, moving_variance_,
                     {.epsilon = epsilon, .is_training = false});
  Output y = Select(s->WithOpName("select"), training, train.y, infer.y);
  if (rank == 2) y = Reshape(s->WithOpName("to_2d"), y, {-1, channels});

  // moving -= training ? (moving - batch) * (1 - momentum) : 0. Graphs have
  // no control flow, so the update always runs, subtracting zero outside
  // training; with the flag left at its default the optimisation pipeline
  // folds the Select, drops the zero update and with it the training branch.
  Scope update = s->NewSubScope("update");
  Output rate = ScalarConst(update.WithOpName("rate"), 1 - o.momentum, dtype);
  auto gated = [&](Output delta) {
    return Select(update, training, delta, ZerosLike(update, delta));
  };
  Output mean_delta = gated(Mul(update, Sub(update, moving_mean_, train.batch_mean), rate));
  Output variance_delta =
      gated(Mul(update, Sub(update, moving_variance_, train.batch_variance), rate));
  Output new_mean = AssignSub(update.WithOpName("moving_mean"), moving_mean_, mean_delta);
  Output new_variance =
      AssignSub(update.WithOpName("moving_variance"), moving_variance_, variance_delta);
  // Running the output runs the updates.
  return Identity(s->WithOpName("output").WithControlDependencies({new_mean, new_variance}), y);
}

Output Dropout::operator()(const Scope& scope, Output x, Output training) {
  std::optional<Scope> s = BeginCall(scope, {x, training});
  if (!s) return Output();
  SetBuilt();
  const double rate = options_.rate;
  if (!(rate >= 0 && rate < 1)) {
    return Fail(*s, absl::StrCat("rate ", rate, " must be in [0, 1)"));
  }
  if (!CheckFloatingInput(*s, x) || !CheckTrainingFlag(*s, training)) return Output();
  const DType dtype = x.dtype();
  // U[0, 1) >= rate holds with probability 1 - rate: the kept elements.
  Output uniform = sluice::RandomUniform(*s, ShapeOf(*s, x), dtype, {.seed = options_.seed});
  Output keep = GreaterEqual(*s, uniform, ScalarConst(s->WithOpName("rate"), rate, dtype));
  Output mask = Cast(s->WithOpName("mask"), keep, dtype);
  Output kept = Mul(*s, x, mask);
  Output scaled = Mul(s->WithOpName("scaled"), kept,
                      ScalarConst(s->WithOpName("scale"), 1 / (1 - rate), dtype));
  return Select(s->WithOpName("output"), training, scaled, x);
}

}  // namespace sluice::layers
