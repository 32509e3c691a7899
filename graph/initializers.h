// Variable initializers in the style of tf.initializers / tf.keras.initializers,
// and MakeVariable, which creates a variable initialised by one of them.
//
//   Output w = initializers::MakeVariable(dense, "kernel", Shape{784, 256}, DType::kF32,
//                                         initializers::GlorotUniform(/*seed=*/1));
//   // nodes: dense/kernel (Variable), dense/kernel/Assign,
//   //        dense/kernel/Initializer/random_uniform/...
//
// They live in their own namespace because sluice::RandomUniform and friends
// are the op builders.
#ifndef SLUICE_GRAPH_INITIALIZERS_H_
#define SLUICE_GRAPH_INITIALIZERS_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "graph/scope.h"

namespace sluice::initializers {

// Builds, with `scope`, the nodes that compute an initial value of `shape`
// (fully defined) and `dtype`, and returns that value. Errors (a bad dtype or
// shape, bad parameters) are recorded in `scope` and yield a null Output.
using Initializer = std::function<Output(const Scope& scope, const Shape& shape, DType dtype)>;

// Every element 0, 1 or `value` (any numeric dtype; `value` must be exactly
// representable in an integer dtype).
Initializer Zeros();
Initializer Ones();
Initializer Constant(double value);

// Uniform in [minval, maxval) (minval < maxval), floating dtypes only. A
// `seed` of 0 leaves the choice to the session's seed and the node's name;
// any other seed gives the same values whatever the node is called.
Initializer RandomUniform(double minval, double maxval, int64_t seed = 0);
// Normal with `mean` and standard deviation `stddev` (>= 0).
Initializer RandomNormal(double mean, double stddev, int64_t seed = 0);
// Like RandomNormal, with draws beyond two standard deviations redrawn.
Initializer TruncatedNormal(double mean, double stddev, int64_t seed = 0);

// The variance-scaling family, with fan_in and fan_out from ComputeFans:
//   GlorotUniform: uniform in [-l, l], l = sqrt(6 / (fan_in + fan_out))
//   GlorotNormal:  truncated normal, stddev = sqrt(2 / (fan_in + fan_out)) / 0.8796...
//   HeUniform:     uniform in [-l, l], l = sqrt(6 / fan_in)
//   HeNormal:      truncated normal, stddev = sqrt(2 / fan_in) / 0.8796...
// 0.87962566103423978 is the standard deviation of a standard normal truncated
// to two standard deviations, so the drawn values have the intended variance.
Initializer GlorotUniform(int64_t seed = 0);
Initializer GlorotNormal(int64_t seed = 0);
Initializer HeUniform(int64_t seed = 0);
Initializer HeNormal(int64_t seed = 0);

struct Fans {
  double fan_in = 1;
  double fan_out = 1;
};
// fan_in and fan_out of a weight of `shape` as Keras computes them: a scalar
// has 1 and 1; a vector [n] has n and n; a matrix [in, out] has in and out; a
// convolution filter [..spatial.., in, out] (HWIO) has in * r and out * r with
// r the product of the spatial dims. `shape` must be fully defined.
Fans ComputeFans(const Shape& shape);

// A scalar Const of `dtype` (numeric, not bool) holding `value`, rounded to
// the nearest value of a floating dtype. For an integer dtype `value` must be
// a whole number in range; otherwise the error is recorded in `scope`.
Output ScalarConst(const Scope& scope, double value, DType dtype);

// Creates a Variable named `name` in `scope`'s name scope (made unique, like
// every node name) of `shape` (fully defined) and `dtype`, whose initializer
// `<variable>/Assign` writes the value that `init` builds under
// `<variable>/Initializer/`. `trainable` sets the variable's trainable attr,
// which optimizers read. Returns the variable's value, or a null Output with
// the error recorded in `scope`.
Output MakeVariable(const Scope& scope, const std::string& name, const Shape& shape, DType dtype,
                    const Initializer& init, bool trainable = true);

}  // namespace sluice::initializers

#endif  // SLUICE_GRAPH_INITIALIZERS_H_
