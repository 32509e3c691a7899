#include "graph/initializers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/random.h"
#include "graph/ops/state.h"

namespace sluice::initializers {
namespace {

// The standard deviation of a standard normal truncated to [-2, 2]; dividing
// by it makes a truncated normal draw have the requested variance.
constexpr double kTruncatedNormalStddev = 0.87962566103423978;

// Records an InvalidArgument error that names what was being built.
Output Fail(const Scope& scope, absl::string_view what, absl::string_view message) {
  const std::string where =
      scope.name_scope().empty() ? std::string(what) : absl::StrCat(scope.name_scope(), ": ", what);
  scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(where, ": ", message)));
  return Output();
}

// Checks what every initializer needs: a fully defined shape and, for the
// random ones, a floating dtype.
bool CheckRequest(const Scope& scope, absl::string_view what, const Shape& shape, DType dtype,
                  bool floating_only) {
  if (!scope.ok()) return false;
  if (!shape.IsFullyDefined()) {
    Fail(scope, what, absl::StrCat("needs a fully defined shape, got ", shape.ToString()));
    return false;
  }
  if (floating_only ? !IsFloating(dtype) : (dtype == DType::kBool || dtype == DType::kInvalid)) {
    Fail(scope, what,
         absl::StrCat("cannot initialise a tensor of dtype ", DTypeName(dtype),
                      floating_only ? " (a floating dtype is needed)" : ""));
    return false;
  }
  return true;
}

std::vector<int64_t> DimsOf(const Shape& shape) {
  return std::vector<int64_t>(shape.dims().begin(), shape.dims().end());
}

// A tensor of `shape` filled with `value`: a Fill of one scalar, so a large
// tensor costs no space in the graph.
Initializer Filled(double value, const char* name) {
  return [value, name](const Scope& scope, const Shape& shape, DType dtype) -> Output {
    if (!CheckRequest(scope, name, shape, dtype, /*floating_only=*/false)) return Output();
    if (shape.rank() == 0) return ScalarConst(scope.WithOpName(name), value, dtype);
    Output scalar = ScalarConst(scope.WithOpName(absl::StrCat(name, "/value")), value, dtype);
    return Fill(scope.WithOpName(name), DimsOf(shape), scalar);
  };
}

// minval + (maxval - minval) * U[0, 1).
Output Uniform(const Scope& scope, const Shape& shape, DType dtype, double minval, double maxval,
               int64_t seed) {
  Scope s = scope.NewSubScope("random_uniform");
  Output u = sluice::RandomUniform(s, DimsOf(shape), dtype, {.seed = seed});
  Output scaled =
      Mul(s.WithOpName("mul"), u, ScalarConst(s.WithOpName("range"), maxval - minval, dtype));
  return Add(s.WithOpName("add"), scaled, ScalarConst(s.WithOpName("min"), minval, dtype));
}

// mean + stddev * N(0, 1), truncated at two standard deviations or not.
Output Normal(const Scope& scope, const Shape& shape, DType dtype, double mean, double stddev,
              int64_t seed, bool truncated) {
  Scope s = scope.NewSubScope(truncated ? "truncated_normal" : "random_normal");
  const RandomOptions options{.seed = seed};
  Output n = truncated ? sluice::TruncatedNormal(s, DimsOf(shape), dtype, options)
                       : sluice::RandomNormal(s, DimsOf(shape), dtype, options);
  Output scaled = Mul(s.WithOpName("mul"), n, ScalarConst(s.WithOpName("stddev"), stddev, dtype));
  return Add(s.WithOpName("add"), scaled, ScalarConst(s.WithOpName("mean"), mean, dtype));
}

enum class FanMode { kFanIn, kFanAvg };

// Keras's VarianceScaling with the given scale and mode: uniform in [-l, l]
// with l = sqrt(3 * scale / n), or a truncated normal with stddev
// sqrt(scale / n) / 0.8796..., where n is fan_in or (fan_in + fan_out) / 2.
Initializer VarianceScaling(const char* name, double scale, FanMode mode, bool uniform,
                            int64_t seed) {
  return [=](const Scope& scope, const Shape& shape, DType dtype) -> Output {
    if (!CheckRequest(scope, name, shape, dtype, /*floating_only=*/true)) return Output();
    const Fans fans = ComputeFans(shape);
    double n = mode == FanMode::kFanIn ? fans.fan_in : (fans.fan_in + fans.fan_out) / 2;
    // A shape with a zero dim has no elements to draw; avoid dividing by 0.
    n = std::max(n, 1.0);
    if (uniform) {
      const double limit = std::sqrt(3.0 * scale / n);
      return Uniform(scope, shape, dtype, -limit, limit, seed);
    }
    const double stddev = std::sqrt(scale / n) / kTruncatedNormalStddev;
    return Normal(scope, shape, dtype, 0.0, stddev, seed, /*truncated=*/true);
  };
}

}  // namespace

Initializer Zeros() { return Filled(0.0, "zeros"); }
Initializer Ones() { return Filled(1.0, "ones"); }
Initializer Constant(double value) { return Filled(value, "constant"); }

Initializer RandomUniform(double minval, double maxval, int64_t seed) {
  return [=](const Scope& scope, const Shape& shape, DType dtype) -> Output {
    if (!CheckRequest(scope, "RandomUniform", shape, dtype, /*floating_only=*/true)) {
      return Output();
    }
    if (!(minval < maxval)) {
      return Fail(scope, "RandomUniform",
                  absl::StrCat("minval ", minval, " must be less than maxval ", maxval));
    }
    return Uniform(scope, shape, dtype, minval, maxval, seed);
  };
}

Initializer RandomNormal(double mean, double stddev, int64_t seed) {
  return [=](const Scope& scope, const Shape& shape, DType dtype) -> Output {
    if (!CheckRequest(scope, "RandomNormal", shape, dtype, /*floating_only=*/true)) {
      return Output();
    }
    if (!(stddev >= 0)) {
      return Fail(scope, "RandomNormal", absl::StrCat("stddev ", stddev, " must be >= 0"));
    }
    return Normal(scope, shape, dtype, mean, stddev, seed, /*truncated=*/false);
  };
}

Initializer TruncatedNormal(double mean, double stddev, int64_t seed) {
  return [=](const Scope& scope, const Shape& shape, DType dtype) -> Output {
    if (!CheckRequest(scope, "TruncatedNormal", shape, dtype, /*floating_only=*/true)) {
      return Output();
    }
    if (!(stddev >= 0)) {
      return Fail(scope, "TruncatedNormal", absl::StrCat("stddev ", stddev, " must be >= 0"));
    }
    return Normal(scope, shape, dtype, mean, stddev, seed, /*truncated=*/true);
  };
}

Initializer GlorotUniform(int64_t seed) {
  return VarianceScaling("GlorotUniform", 1.0, FanMode::kFanAvg, /*uniform=*/true, seed);
}
Initializer GlorotNormal(int64_t seed) {
  return VarianceScaling("GlorotNormal", 1.0, FanMode::kFanAvg, /*uniform=*/false, seed);
}
Initializer HeUniform(int64_t seed) {
  return VarianceScaling("HeUniform", 2.0, FanMode::kFanIn, /*uniform=*/true, seed);
}
Initializer HeNormal(int64_t seed) {
  return VarianceScaling("HeNormal", 2.0, FanMode::kFanIn, /*uniform=*/false, seed);
}

Fans ComputeFans(const Shape& shape) {
  const int rank = shape.rank();
  if (rank < 1) return Fans{1, 1};
  if (rank == 1) return Fans{static_cast<double>(shape.dim(0)), static_cast<double>(shape.dim(0))};
  double receptive_field = 1;
  for (int i = 0; i < rank - 2; ++i) receptive_field *= static_cast<double>(shape.dim(i));
  return Fans{static_cast<double>(shape.dim(rank - 2)) * receptive_field,
              static_cast<double>(shape.dim(rank - 1)) * receptive_field};
}

Output ScalarConst(const Scope& scope, double value, DType dtype) {
  if (!scope.ok()) return Output();
  if (dtype == DType::kBool || dtype == DType::kInvalid) {
    return Fail(scope, "ScalarConst", absl::StrCat("dtype ", DTypeName(dtype), " is not numeric"));
  }
  Tensor t(dtype, Shape{});
  const bool exact = VisitDType(dtype, [&]<typename T>() {
    if constexpr (std::is_same_v<T, Half>) {
      t.data<T>()[0] = FloatToHalf(static_cast<float>(value));
    } else if constexpr (std::is_same_v<T, BFloat16>) {
      t.data<T>()[0] = FloatToBFloat16(static_cast<float>(value));
    } else if constexpr (std::is_floating_point_v<T>) {
      t.data<T>()[0] = static_cast<T>(value);
    } else {
      if (value != std::trunc(value) ||
          value < static_cast<double>(std::numeric_limits<T>::lowest()) ||
          value > static_cast<double>(std::numeric_limits<T>::max())) {
        return false;
      }
      t.data<T>()[0] = static_cast<T>(value);
    }
    return true;
  });
  if (!exact) {
    return Fail(scope, "ScalarConst",
                absl::StrCat(value, " is not exactly representable as ", DTypeName(dtype)));
  }
  return Const(scope, t);
}

Output MakeVariable(const Scope& scope, const std::string& name, const Shape& shape, DType dtype,
                    const Initializer& init, bool trainable) {
  if (!scope.ok()) return Output();
  const std::string what = absl::StrCat("variable '", name, "'");
  if (!init) return Fail(scope, what, "has no initializer");
  if (!shape.IsFullyDefined()) {
    return Fail(scope, what, absl::StrCat("needs a fully defined shape, got ", shape.ToString()));
  }
  Graph* g = scope.graph();
  // The name is reserved first so that the initializer's nodes can live under
  // it; Variable() would build the initializer before knowing the name.
  const std::string var_name = scope.WithOpName(name).GetUniqueNameForOp("Variable");
  // Initializer nodes run once, at initialisation, so they take the device
  // but not the control dependencies of `scope` (like TF's init_scope).
  Scope init_scope =
      Scope::ForGraph(g).WithDevice(scope.device()).NewSubScope(var_name + "/Initializer");
  Output value = init(init_scope, shape, dtype);
  if (!scope.ok()) return Output();
  if (!value.valid()) {
    return Fail(scope, var_name, "the initializer returned no value");
  }
  if (value.dtype() != dtype || !value.shape().IsCompatibleWith(shape)) {
    return Fail(scope, var_name,
                absl::StrCat("initializer value ", value.name(), " is ", DTypeName(value.dtype()),
                             value.shape().ToString(), " but the variable is ", DTypeName(dtype),
                             shape.ToString()));
  }
  const std::string assign_name = g->UniqueName(var_name + "/Assign");
  NodeSpec var_spec;
  var_spec.name = var_name;
  var_spec.op = "Variable";
  var_spec.attrs = {
      {"shape", shape}, {"dtype", dtype}, {"trainable", trainable}, {"initializer", assign_name}};
  var_spec.device = scope.device();
  var_spec.control_inputs = scope.control_dependencies();
  auto var = g->AddNode(std::move(var_spec));
  if (!var.ok()) {
    scope.UpdateStatus(var.status());
    return Output();
  }
  NodeSpec assign_spec;
  assign_spec.name = assign_name;
  assign_spec.op = "Assign";
  assign_spec.inputs = {Output(*var, 0), value};
  assign_spec.device = scope.device();
  auto assign = g->AddNode(std::move(assign_spec));
  if (!assign.ok()) {
    scope.UpdateStatus(assign.status());
    return Output();
  }
  return Output(*var, 0);
}

}  // namespace sluice::initializers
