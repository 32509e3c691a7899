// Every differentiable op's gradient against central differences, in f64.
// The table below is the list of checked ops: a test fails when an op the
// registry flags as differentiable is missing from it.
#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>
#include <random>
#include <set>

#include "graph/op_def.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "passes/autodiff/gradient_registry.h"
#include "tests/gradient_checker.h"

namespace sluice {
namespace {

using testing::CheckGradients;
using testing::GradientCheckOptions;

// Uniform values in [lo, hi).
Tensor Uniform(const Shape& shape, double lo, double hi, uint64_t seed) {
  Tensor t(DType::kF64, shape);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  for (int64_t i = 0; i < t.num_elements(); ++i) t.data<double>()[i] = dist(rng);
  return t;
}

// Values of magnitude in [0.2, 1.2) with random signs: away from the kinks
// of Relu, Abs and the like at 0.
Tensor AwayFromZero(const Shape& shape, uint64_t seed) {
  Tensor t = Uniform(shape, 0.2, 1.2, seed);
  std::mt19937_64 rng(seed + 1);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if (rng() % 2) t.data<double>()[i] = -t.data<double>()[i];
  }
  return t;
}

// Distinct values 0.1 apart in random order: maxima stay unique under the
// checker's small steps.
Tensor Distinct(const Shape& shape, uint64_t seed) {
  Tensor t(DType::kF64, shape);
  std::vector<int64_t> order(t.num_elements());
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(seed));
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    t.data<double>()[i] = 0.1 * static_cast<double>(order[i]) - 1.0;
  }
  return t;
}

Tensor Ints(const std::vector<int32_t>& values, const Shape& shape) {
  Tensor t(DType::kI32, shape);
  std::copy(values.begin(), values.end(), t.data<int32_t>());
  return t;
}

Tensor Bools(const std::vector<bool>& values, const Shape& shape) {
  Tensor t(DType::kBool, shape);
  for (size_t i = 0; i < values.size(); ++i) t.data<bool>()[i] = values[i];
  return t;
}

using Xs = const std::vector<Output>&;
using Ys = std::vector<Output>;

struct GradCase {
  // The op whose gradient this checks (the coverage test reads it).
  std::string op;
  std::string variant;
  std::vector<Tensor> inputs;
  testing::GradientCheckBuilder build;
  GradientCheckOptions options = {};
  double tolerance = 1e-6;
};

std::vector<GradCase> Cases() {
  const Shape m{3, 4};
  std::vector<GradCase> cases;
  auto unary = [&](const std::string& op, Tensor x,
                   std::function<Output(const Scope&, Output)> f) {
    cases.push_back({op, "", {x}, [f](const Scope& s, Xs x) { return Ys{f(s, x[0])}; }});
  };
  auto binary = [&](const std::string& op, Tensor a, Tensor b,
                    std::function<Output(const Scope&, Output, Output)> f,
                    const std::string& variant = "", bool dynamic = false) {
    GradCase c{op, variant, {a, b}, [f](const Scope& s, Xs x) { return Ys{f(s, x[0], x[1])}; }};
    c.options.unknown_leading_dim = dynamic;
    cases.push_back(c);
  };

  // Math: element-wise, with broadcasting in both directions.
  using BinaryFn = Output (*)(const Scope&, Output, Output);
  const std::vector<std::pair<std::string, BinaryFn>> binaries = {
      {"Add", Add}, {"Sub", Sub}, {"Mul", Mul}, {"Div", Div},
      {"Maximum", Maximum}, {"Minimum", Minimum}};
  for (const auto& [name, fn] : binaries) {
    BinaryFn f = fn;
    const bool extremum = name == "Maximum" || name == "Minimum";
    Tensor a = extremum ? Distinct(m, 1) : AwayFromZero(m, 1);
    Tensor b = extremum ? Uniform(Shape{4}, -0.95, 0.95, 2) : AwayFromZero(Shape{4}, 2);
    binary(name, a, AwayFromZero(m, 3), f, "same shape");
    binary(name, a, b, f, "row broadcast");
    binary(name, AwayFromZero(Shape{3, 1}, 4), b, f, "outer broadcast");
    binary(name, a, b, f, "unknown batch", true);
  }
  binary("Pow", Uniform(m, 0.5, 2.0, 5), Uniform(m, -1.5, 1.5, 6), Pow);
  binary("Pow", Uniform(m, 0.5, 2.0, 5), Uniform(Shape{}, 0.5, 2.0, 7), Pow, "scalar exponent");
  cases.push_back({"AddN", "", {AwayFromZero(m, 8), AwayFromZero(m, 9), AwayFromZero(m, 10)},
                   [](const Scope& s, Xs x) { return Ys{AddN(s, {x[0], x[1], x[2], x[0]})}; }});
  unary("Neg", AwayFromZero(m, 11), Neg);
  unary("Square", AwayFromZero(m, 12), Square);
  unary("Abs", AwayFromZero(m, 13), Abs);
  unary("Sign", AwayFromZero(m, 14), Sign);
  unary("Sqrt", Uniform(m, 0.5, 3, 15), Sqrt);
  unary("Rsqrt", Uniform(m, 0.5, 3, 16), Rsqrt);
  unary("Exp", Uniform(m, -2, 2, 17), Exp);
  unary("Log", Uniform(m, 0.5, 3, 18), Log);
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const Shape a = ta ? Shape{4, 3} : Shape{3, 4};
      const Shape b = tb ? Shape{5, 4} : Shape{4, 5};
      binary("MatMul", Uniform(a, -1, 1, 19), Uniform(b, -1, 1, 20),
             [ta, tb](const Scope& s, Output x, Output y) {
               return MatMul(s, x, y, {.transpose_a = ta, .transpose_b = tb});
             },
             std::string("transpose ") + (ta ? "a" : "-") + (tb ? "b" : "-"));
    }
  }
  binary("MatMul", Uniform(m, -1, 1, 21), Uniform(Shape{4, 2}, -1, 1, 22),
         [](const Scope& s, Output x, Output y) { return MatMul(s, x, y); }, "unknown batch",
         true);
  for (bool ax : {false, true}) {
    for (bool ay : {false, true}) {
      const Shape x = ax ? Shape{2, 4, 3} : Shape{2, 3, 4};
      const Shape y = ay ? Shape{2, 5, 4} : Shape{2, 4, 5};
      binary("BatchMatMul", Uniform(x, -1, 1, 23), Uniform(y, -1, 1, 24),
             [ax, ay](const Scope& s, Output a, Output b) {
               return BatchMatMul(s, a, b, {.adj_x = ax, .adj_y = ay});
             },
             std::string("adjoint ") + (ax ? "x" : "-") + (ay ? "y" : "-"));
    }
  }
  binary("BatchMatMul", Uniform(Shape{2, 3, 4}, -1, 1, 25), Uniform(Shape{4, 2}, -1, 1, 26),
         [](const Scope& s, Output a, Output b) { return BatchMatMul(s, a, b); },
         "broadcast batch");

  // Reductions, over one axis, several, negative ones, with keep_dims.
  using ReduceFn = Output (*)(const Scope&, Output, IntsArg, const ReduceOptions&);
  const std::vector<std::pair<std::string, ReduceFn>> reductions = {
      {"Sum", Sum}, {"Mean", Mean}, {"Max", Max}, {"Min", Min}, {"Prod", Prod}};
  for (const auto& [name, fn] : reductions) {
    ReduceFn f = fn;
    const Shape cube{2, 3, 4};
    Tensor x = name == "Prod" ? AwayFromZero(cube, 27) : Distinct(cube, 27);
    for (std::vector<int64_t> axes : {std::vector<int64_t>{1}, {0, 2}, {-1}, {0, 1, 2}}) {
      for (bool keep : {false, true}) {
        GradCase c{name, "axes", {x}, [f, axes, keep](const Scope& s, Xs in) {
                     return Ys{f(s, in[0], axes, {.keep_dims = keep})};
                   }};
        c.variant = "axes " + std::to_string(axes.size()) + (keep ? " keep" : "");
        cases.push_back(c);
      }
    }
    GradCase dynamic{name, "unknown batch", {x}, [f](const Scope& s, Xs in) {
                       return Ys{f(s, in[0], {1}, {})};
                     }};
    dynamic.options.unknown_leading_dim = true;
    cases.push_back(dynamic);
  }
  // Prod with zeros in a group: one zero (its gradient is the product of the
  // others) and two zeros (all zero).
  {
    Tensor x = AwayFromZero(Shape{3, 3}, 28);
    x.data<double>()[1] = 0;  // row 0: one zero
    x.data<double>()[3] = 0;  // row 1: two zeros
    x.data<double>()[5] = 0;
    GradCase c{"Prod", "zeros", {x}, [](const Scope& s, Xs in) {
                 return Ys{Prod(s, in[0], {1}, {})};
               }};
    c.options.delta = 1e-7;
    cases.push_back(c);
  }
  cases.push_back({"Select", "",
                   {Bools({true, false, true, false, false, true, true, true, false, true, false,
                           false},
                          m),
                    AwayFromZero(m, 29), AwayFromZero(m, 30)},
                   [](const Scope& s, Xs x) { return Ys{Select(s, x[0], x[1], x[2])}; }});
  unary("Cast", AwayFromZero(m, 31), [](const Scope& s, Output x) {
    return Cast(s, Mul(s, Cast(s, x, DType::kF32), Cast(s, x, DType::kF32)), DType::kF64);
  });
  cases.back().tolerance = 1e-3;  // the detour through f32 rounds
  cases.back().options.delta = 1e-3;

  // Neural-network ops.
  unary("Relu", AwayFromZero(m, 32), Relu);
  unary("Relu6", Uniform(m, -3, 9, 33), Relu6);
  unary("Elu", AwayFromZero(m, 34), Elu);
  unary("Softplus", Uniform(m, -3, 3, 35), Softplus);
  unary("Sigmoid", Uniform(m, -3, 3, 36), Sigmoid);
  unary("Tanh", Uniform(m, -2, 2, 37), Tanh);
  unary("LeakyRelu", AwayFromZero(m, 38),
        [](const Scope& s, Output x) { return LeakyRelu(s, x, {.alpha = 0.3f}); });
  unary("Gelu", Uniform(m, -3, 3, 39), [](const Scope& s, Output x) { return Gelu(s, x); });
  unary("Gelu", Uniform(m, -3, 3, 40),
        [](const Scope& s, Output x) { return Gelu(s, x, {.approximate = true}); });
  unary("Softmax", Uniform(m, -2, 2, 41), Softmax);
  unary("LogSoftmax", Uniform(m, -2, 2, 42), LogSoftmax);
  binary("BiasAdd", Uniform(Shape{2, 3, 3, 4}, -1, 1, 43), Uniform(Shape{4}, -1, 1, 44),
         [](const Scope& s, Output v, Output b) { return BiasAdd(s, v, b); }, "NHWC");
  binary("BiasAdd", Uniform(Shape{2, 4, 3, 3}, -1, 1, 45), Uniform(Shape{4}, -1, 1, 46),
         [](const Scope& s, Output v, Output b) {
           return BiasAdd(s, v, b, {.data_format = "NCHW"});
         },
         "NCHW");
  binary("BiasAdd", Uniform(Shape{3, 4}, -1, 1, 47), Uniform(Shape{4}, -1, 1, 48),
         [](const Scope& s, Output v, Output b) { return BiasAdd(s, v, b); }, "unknown batch",
         true);
  const std::vector<std::pair<std::string, Conv2DOptions>> convs = {
      {"SAME", {}},
      {"VALID stride 2", {.strides = {1, 2, 2, 1}, .padding = "VALID"}},
      {"SAME stride 2", {.strides = {1, 2, 2, 1}}},
      {"EXPLICIT dilated", {.padding = "EXPLICIT",
                            .explicit_paddings = {0, 0, 1, 0, 0, 2, 0, 0},
                            .dilations = {1, 2, 1, 1}}},
  };
  for (const auto& [variant, options] : convs) {
    const Conv2DOptions o = options;
    binary("Conv2D", Uniform(Shape{2, 5, 6, 3}, -1, 1, 49), Uniform(Shape{3, 2, 3, 4}, -1, 1, 50),
           [o](const Scope& s, Output x, Output w) { return Conv2D(s, x, w, o); }, variant);
  }
  binary("Conv2D", Uniform(Shape{1, 3, 5, 4}, -1, 1, 51), Uniform(Shape{2, 2, 3, 2}, -1, 1, 52),
         [](const Scope& s, Output x, Output w) {
           return Conv2D(s, x, w, {.strides = {1, 1, 2, 1}, .data_format = "NCHW"});
         },
         "NCHW");
  binary("Conv2D", Uniform(Shape{2, 5, 5, 2}, -1, 1, 53), Uniform(Shape{3, 3, 2, 2}, -1, 1, 54),
         [](const Scope& s, Output x, Output w) { return Conv2D(s, x, w); }, "unknown batch",
         true);
  const std::vector<std::pair<std::string, PoolOptions>> pools = {
      {"VALID 2x2", {}},
      {"SAME 3x3 stride 2", {.ksize = {1, 3, 3, 1}, .strides = {1, 2, 2, 1}, .padding = "SAME"}},
      {"NCHW", {.ksize = {1, 1, 2, 2}, .strides = {1, 1, 1, 1}, .data_format = "NCHW"}},
  };
  for (const auto& [variant, options] : pools) {
    const PoolOptions o = options;
    unary("MaxPool", Distinct(Shape{2, 5, 5, 3}, 55),
          [o](const Scope& s, Output x) { return MaxPool(s, x, o); });
    cases.back().variant = variant;
    unary("AvgPool", Uniform(Shape{2, 5, 5, 3}, -1, 1, 56),
          [o](const Scope& s, Output x) { return AvgPool(s, x, o); });
    cases.back().variant = variant;
  }
  for (bool training : {true, false}) {
    for (const char* format : {"NHWC", "NCHW"}) {
      const std::string f = format;
      GradCase c{"FusedBatchNorm",
                 std::string(training ? "training " : "inference ") + format,
                 {Uniform(Shape{2, 3, 3, 3}, -1, 1, 57), Uniform(Shape{3}, 0.5, 1.5, 58),
                  Uniform(Shape{3}, -1, 1, 59), Uniform(Shape{3}, -0.5, 0.5, 60),
                  Uniform(Shape{3}, 0.5, 1.5, 61)},
                 [training, f](const Scope& s, Xs x) {
                   FusedBatchNormOutputs bn =
                       FusedBatchNorm(s, x[0], x[1], x[2], x[3], x[4],
                                      {.epsilon = 0.01f, .data_format = f, .is_training = training});
                   return Ys{bn.y};
                 }};
      c.options.checked_inputs = {0, 1, 2};
      cases.push_back(c);
    }
  }
  // Labels are probabilities: each row sums to 1.
  Tensor labels = Uniform(m, 0.1, 1, 63);
  for (int r = 0; r < 3; ++r) {
    double* row = labels.data<double>() + 4 * r;
    const double total = row[0] + row[1] + row[2] + row[3];
    for (int k = 0; k < 4; ++k) row[k] /= total;
  }
  cases.push_back({"SoftmaxCrossEntropyWithLogits", "",
                   {Uniform(m, -2, 2, 62), labels},
                   [](const Scope& s, Xs x) {
                     return Ys{SoftmaxCrossEntropyWithLogits(s, x[0], x[1]).loss};
                   }});
  cases.push_back({"SparseSoftmaxCrossEntropyWithLogits", "",
                   {Uniform(m, -2, 2, 64), Ints({3, 0, 2}, Shape{3})},
                   [](const Scope& s, Xs x) {
                     return Ys{SparseSoftmaxCrossEntropyWithLogits(s, x[0], x[1]).loss};
                   }});
  cases.back().options.unknown_leading_dim = true;

  // Array ops.
  unary("Reshape", Uniform(m, -1, 1, 65),
        [](const Scope& s, Output x) { return Reshape(s, Square(s, x), {2, 6}); });
  cases.push_back({"Reshape", "unknown batch", {Uniform(m, -1, 1, 66)},
                   [](const Scope& s, Xs x) { return Ys{Reshape(s, x[0], {-1, 2})}; }});
  cases.back().options.unknown_leading_dim = true;
  unary("Transpose", Uniform(Shape{2, 3, 4}, -1, 1, 67),
        [](const Scope& s, Output x) { return Transpose(s, x, {2, 0, 1}); });
  cases.push_back({"Concat", "", {Uniform(m, -1, 1, 68), Uniform(Shape{3, 2}, -1, 1, 69)},
                   [](const Scope& s, Xs x) { return Ys{Concat(s, {x[0], x[1], x[0]}, 1)}; }});
  cases.push_back({"Concat", "unknown batch",
                   {Uniform(m, -1, 1, 70), Uniform(Shape{2, 4}, -1, 1, 71)},
                   [](const Scope& s, Xs x) { return Ys{Concat(s, {x[0], x[1]}, 0)}; }});
  cases.back().options.unknown_leading_dim = true;
  cases.push_back({"Split", "", {Uniform(Shape{3, 6}, -1, 1, 72)}, [](const Scope& s, Xs x) {
                     std::vector<Output> parts = Split(s, 1, x[0], 3);
                     return Ys{parts[0], parts[2]};  // part 1 gets no gradient
                   }});
  unary("Slice", Uniform(Shape{4, 5}, -1, 1, 73),
        [](const Scope& s, Output x) { return Slice(s, x, {1, 2}, {2, -1}); });
  cases.push_back({"Slice", "unknown batch", {Uniform(Shape{4, 5}, -1, 1, 74)},
                   [](const Scope& s, Xs x) { return Ys{Slice(s, x[0], {1, 1}, {2, 3})}; }});
  cases.back().options.unknown_leading_dim = true;
  unary("StridedSlice", Uniform(Shape{5, 6}, -1, 1, 75), [](const Scope& s, Output x) {
    return StridedSlice(s, x, {4, 1}, {0, 6}, {-2, 2});
  });
  cases.push_back({"StridedSlice", "shrink", {Uniform(Shape{5, 6}, -1, 1, 76)},
                   [](const Scope& s, Xs x) {
                     return Ys{StridedSlice(s, x[0], {0, 2}, {0, 3}, {1, 1},
                                            {.begin_mask = 1, .end_mask = 1,
                                             .shrink_axis_mask = 2})};
                   }});
  cases.back().options.unknown_leading_dim = true;
  unary("Squeeze", Uniform(Shape{3, 1, 4}, -1, 1, 77),
        [](const Scope& s, Output x) { return Squeeze(s, x); });
  unary("ExpandDims", Uniform(m, -1, 1, 78),
        [](const Scope& s, Output x) { return ExpandDims(s, x, 1); });
  unary("Pad", Uniform(m, -1, 1, 79),
        [](const Scope& s, Output x) { return Pad(s, x, {{1, 0}, {2, 3}}); });
  cases.push_back({"Pad", "unknown batch", {Uniform(m, -1, 1, 80)}, [](const Scope& s, Xs x) {
                     return Ys{Pad(s, x[0], {{0, 2}, {1, 1}})};
                   }});
  cases.back().options.unknown_leading_dim = true;
  unary("Tile", Uniform(Shape{2, 3}, -1, 1, 81),
        [](const Scope& s, Output x) { return Tile(s, x, {2, 3}); });
  unary("BroadcastTo", Uniform(Shape{3, 1}, -1, 1, 82),
        [](const Scope& s, Output x) { return BroadcastTo(s, x, {2, 3, 4}); });
  cases.push_back({"Gather", "axis 0 with repeats", {Uniform(Shape{4, 3}, -1, 1, 83),
                                                     Ints({2, 0, 2, 3, 2, 1}, Shape{2, 3})},
                   [](const Scope& s, Xs x) { return Ys{Gather(s, x[0], x[1], 0)}; }});
  cases.push_back({"Gather", "axis 1", {Uniform(Shape{2, 4, 3}, -1, 1, 84),
                                        Ints({3, 3, 0}, Shape{3})},
                   [](const Scope& s, Xs x) { return Ys{Gather(s, x[0], x[1], 1)}; }});
  unary("Identity", Uniform(m, -1, 1, 85), Identity);
  cases.push_back({"PlaceholderWithDefault", "", {Uniform(m, -1, 1, 86)},
                   [](const Scope& s, Xs x) {
                     return Ys{Square(s, PlaceholderWithDefault(s, x[0], Shape{3, 4}))};
                   }});
  return cases;
}

TEST_CASE("Every gradient matches central differences") {
  for (const GradCase& c : Cases()) {
    DYNAMIC_SECTION(c.op << " " << c.variant) {
      absl::StatusOr<testing::GradientCheckResult> result =
          CheckGradients(c.inputs, c.build, c.options);
      INFO(c.op << " " << c.variant);
      REQUIRE(result.ok());
      INFO(result->worst);
      CHECK(result->max_error < c.tolerance);
    }
  }
}

TEST_CASE("Every op flagged differentiable has a gradient check and a gradient") {
  std::set<std::string> checked;
  for (const GradCase& c : Cases()) checked.insert(c.op);
  const GradientRegistry& registry = GradientRegistry::Global();
  for (const OpDef* op : OpRegistry::Global().ListOps()) {
    if (!op->is_differentiable()) continue;
    INFO(op->name());
    CHECK(checked.count(op->name()) == 1);
    CHECK(registry.Find(op->name()) != nullptr);
  }
  // And nothing with a gradient function escapes the check.
  for (const std::string& op : registry.OpsWithGradients()) {
    INFO(op);
    CHECK(checked.count(op) == 1);
  }
}

TEST_CASE("The checker notices a wrong gradient") {
  // StopGradient hides a real dependence: numerically d/dx (x * x) = 2x,
  // while the symbolic gradient sees only the first factor and gives x.
  absl::StatusOr<testing::GradientCheckResult> result =
      CheckGradients({Uniform(Shape{3}, 1, 2, 87)}, [](const Scope& s, Xs x) {
        return Ys{Mul(s, x[0], StopGradient(s, x[0]))};
      });
  REQUIRE(result.ok());
  CHECK(result->max_error > 0.3);
}

}  // namespace
}  // namespace sluice
