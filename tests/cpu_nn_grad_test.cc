// CPU kernels of the nn backward ops (cpu/nn_grad.cc) against references
// written here: plain loops in double, finite differences of the forward
// kernels, and hand-computed values.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/kernel_test_util.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;
using testing::CompareTensors;
using testing::RandomTensor;
using testing::RunCpuKernel;
using testing::RunWithFedInputs;

// A floating tensor of `dtype` from doubles.
Tensor FromDoubles(DType dtype, const Shape& shape, const std::vector<double>& values) {
  Tensor t(dtype, shape);
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if (dtype == DType::kF64) {
      t.data<double>()[i] = values[i];
    } else if (dtype == DType::kF32) {
      t.data<float>()[i] = static_cast<float>(values[i]);
    } else {
      t.data<BFloat16>()[i] = FloatToBFloat16(static_cast<float>(values[i]));
    }
  }
  return t;
}

std::vector<double> ToDoubles(const Tensor& t) {
  std::vector<double> out(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) out[i] = t.ElementAsDouble(i);
  return out;
}

Tensor Converted(const Tensor& t, DType dtype) {
  return FromDoubles(dtype, t.shape(), ToDoubles(t));
}

Tensor I32(const std::vector<int32_t>& values) { return Tensor::FromVector(values); }

// A shape as an i32 sizes tensor (input_sizes, filter_sizes, ...).
Tensor SizesOf(const Shape& shape) {
  std::vector<int32_t> values;
  for (int64_t d : shape.dims()) values.push_back(static_cast<int32_t>(d));
  return I32(values);
}

// Runs `op` and returns its outputs, failing the test on an error.
std::vector<Tensor> Run(const std::string& op, const std::vector<Tensor>& inputs,
                        const AttrMap& attrs = {}) {
  auto out = RunCpuKernel(op, inputs, attrs);
  INFO(op << ": " << out.status().message());
  REQUIRE(out.ok());
  return *std::move(out);
}

// The tolerance a result of `dtype` is compared with against a double
// reference.
double Tolerance(DType dtype) {
  switch (dtype) {
    case DType::kF64:
      return 1e-12;
    case DType::kF32:
      return 1e-5;
    default:
      return 2e-2;  // bf16
  }
}

// ---------------------------------------------------------------------------
// Activation gradients.

struct ActivationCase {
  const char* grad_op;
  const char* forward_op;
  bool takes_output;  // the gradient reads the forward output, not the input
  bool y_first;       // TensorFlow's (y, dy) order
  AttrMap attrs;
};

std::vector<ActivationCase> ActivationCases() {
  return {
      {"ReluGrad", "Relu", false, false, {}},
      {"Relu6Grad", "Relu6", false, false, {}},
      {"EluGrad", "Elu", true, false, {}},
      {"SoftplusGrad", "Softplus", false, false, {}},
      {"LeakyReluGrad", "LeakyRelu", false, false, {{"alpha", 0.3f}}},
      {"GeluGrad", "Gelu", false, false, {{"approximate", false}}},
      {"GeluGrad", "Gelu", false, false, {{"approximate", true}}},
      {"SigmoidGrad", "Sigmoid", true, true, {}},
      {"TanhGrad", "Tanh", true, true, {}},
  };
}

// The gradient op's inputs for gradient `g` at forward input `x`.
std::vector<Tensor> GradInputs(const ActivationCase& a, const Tensor& g, const Tensor& x) {
  const Tensor value = a.takes_output ? Run(a.forward_op, {x}, a.attrs)[0] : x;
  return a.y_first ? std::vector<Tensor>{value, g} : std::vector<Tensor>{g, value};
}

TEST_CASE("Activation gradients match finite differences of the forward kernels (f64)") {
  for (const ActivationCase& a : ActivationCases()) {
    for (const Shape& shape : {Shape{1}, Shape{7}, Shape{3, 5}, Shape{2, 3, 4, 5}}) {
      INFO(a.grad_op << " " << shape.ToString());
      Tensor x = RandomTensor(DType::kF64, shape, 11, -8.0, 8.0);
      // Keep away from the kinks of Relu, Relu6, LeakyRelu and Elu, where
      // the difference quotient straddles two slopes.
      for (int64_t i = 0; i < x.num_elements(); ++i) {
        double& v = x.data<double>()[i];
        if (std::fabs(v) < 1e-3 || std::fabs(v - 6) < 1e-3) v += 0.01;
      }
      const Tensor g = RandomTensor(DType::kF64, shape, 12, -2.0, 2.0);
      const Tensor backprop = Run(a.grad_op, GradInputs(a, g, x), a.attrs)[0];
      const double h = 1e-6;
      std::vector<double> plus = ToDoubles(x), minus = ToDoubles(x);
      for (double& v : plus) v += h;
      for (double& v : minus) v -= h;
      const Tensor y_plus = Run(a.forward_op, {FromDoubles(DType::kF64, shape, plus)}, a.attrs)[0];
      const Tensor y_minus =
          Run(a.forward_op, {FromDoubles(DType::kF64, shape, minus)}, a.attrs)[0];
      std::vector<double> expected(x.num_elements());
      for (int64_t i = 0; i < x.num_elements(); ++i) {
        expected[i] =
            g.data<double>()[i] * (y_plus.data<double>()[i] - y_minus.data<double>()[i]) / (2 * h);
      }
      const std::string diff =
          CompareTensors(backprop, FromDoubles(DType::kF64, shape, expected), 1e-6, 1e-8);
      INFO(diff);
      CHECK(diff.empty());
    }
  }
}

TEST_CASE("Activation gradients in f32 match f64 and are empty for empty inputs") {
  for (const ActivationCase& a : ActivationCases()) {
    for (const Shape& shape : {Shape{0}, Shape{5, 9}, Shape{70000}}) {
      INFO(a.grad_op << " " << shape.ToString());
      const Tensor x = RandomTensor(DType::kF64, shape, 21, -7.0, 7.0);
      const Tensor g = RandomTensor(DType::kF64, shape, 22, -1.0, 1.0);
      const Tensor expected = Run(a.grad_op, GradInputs(a, g, x), a.attrs)[0];
      std::vector<Tensor> inputs = GradInputs(a, g, x);
      for (Tensor& t : inputs) t = Converted(t, DType::kF32);
      const Tensor actual = Run(a.grad_op, inputs, a.attrs)[0];
      REQUIRE(actual.dtype() == DType::kF32);
      REQUIRE(actual.shape() == shape);
      const std::string diff = CompareTensors(Converted(actual, DType::kF64), expected, 1e-5, 1e-6);
      INFO(diff);
      CHECK(diff.empty());
    }
  }
}

TEST_CASE("Activation gradients at hand-computed points") {
  auto run = [](const std::string& op, std::vector<double> a, std::vector<double> b,
                const AttrMap& attrs = {}) {
    const Shape shape{static_cast<int64_t>(a.size())};
    return ToDoubles(Run(
        op, {FromDoubles(DType::kF32, shape, a), FromDoubles(DType::kF32, shape, b)}, attrs)[0]);
  };
  using V = std::vector<double>;
  // Relu passes the gradient where x > 0 (not at 0); Relu6 also not at 6.
  CHECK(run("ReluGrad", {5, 5, 5}, {-1, 0, 2}) == V{0, 0, 5});
  CHECK(run("Relu6Grad", {5, 5, 5, 5, 5}, {-1, 0, 3, 6, 7}) == V{0, 0, 5, 0, 0});
  // Elu from its outputs: y = -0.5 means exp(x) = 0.5.
  CHECK(run("EluGrad", {2, 2}, {-0.5, 3}) == V{1, 2});
  // sigmoid(0) = 1/2.
  CHECK(run("SoftplusGrad", {3}, {0}) == V{1.5});
  CHECK(run("LeakyReluGrad", {2, 2}, {-1, 1}, {{"alpha", 0.5f}}) == V{1, 2});
  CHECK(run("LeakyReluGrad", {10}, {-1})[0] == Approx(2.0));  // alpha defaults to 0.2
  // Gelu'(0) = 1/2 in both forms; exact Gelu'(1) = Phi(1) + phi(1).
  CHECK(run("GeluGrad", {2}, {0}) == V{1});
  CHECK(run("GeluGrad", {2}, {0}, {{"approximate", true}}) == V{1});
  CHECK(run("GeluGrad", {1}, {1})[0] == Approx(0.8413447460685429 + 0.24197072451914337));
  // y first: dy * y * (1 - y) and dy * (1 - y^2).
  CHECK(run("SigmoidGrad", {0.25}, {4}) == V{0.75});
  CHECK(run("TanhGrad", {0.5}, {2}) == V{1.5});
}

TEST_CASE("Activation gradients reject mismatched shapes, naming both") {
  auto status = RunCpuKernel("ReluGrad", {Tensor::Zeros(DType::kF32, Shape{2, 3}),
                                          Tensor::Zeros(DType::kF32, Shape{3, 2})});
  REQUIRE_FALSE(status.ok());
  CHECK(status.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.status().message()),
             Contains("gradients [2,3] and features [3,2] must have the same shape"));
  auto mixed = RunCpuKernel(
      "TanhGrad", {Tensor::Zeros(DType::kF32, Shape{4}), Tensor::Zeros(DType::kF64, Shape{4})});
  CHECK_FALSE(mixed.ok());
}

// ---------------------------------------------------------------------------
// BiasAddGrad.

TEST_CASE("BiasAddGrad sums every dim but the channel one") {
  struct Case {
    Shape shape;
    const char* format;
    int channel_dim;
  };
  const std::vector<Case> cases = {
      {Shape{7}, "NHWC", 0},
      {Shape{3, 5}, "NHWC", 1},
      {Shape{2, 3, 4, 5}, "NHWC", 3},
      {Shape{1, 1, 1, 1}, "NHWC", 3},
      {Shape{64, 32, 32, 8}, "NHWC", 3},
      {Shape{300, 1000}, "NHWC", 1},
      {Shape{2, 3, 4, 5}, "NCHW", 1},
      {Shape{4, 3, 10}, "NCHW", 1},
      {Shape{1, 16, 33, 33}, "NCHW", 1},
      {Shape{0, 3}, "NHWC", 1},
      {Shape{2, 4, 0, 5}, "NCHW", 1},
  };
  for (const Case& c : cases) {
    for (DType dtype : {DType::kF32, DType::kF64}) {
      INFO(c.shape.ToString() << " " << c.format << " " << DTypeName(dtype));
      const Tensor x = RandomTensor(dtype, c.shape, 5);
      const int64_t channels = c.shape.dim(c.channel_dim);
      int64_t inner = 1;
      for (int d = c.channel_dim + 1; d < c.shape.rank(); ++d) inner *= c.shape.dim(d);
      std::vector<double> expected(channels, 0.0);
      for (int64_t i = 0; i < x.num_elements(); ++i) {
        expected[(i / inner) % channels] += x.ElementAsDouble(i);
      }
      const Tensor out = Run("BiasAddGrad", {x}, {{"data_format", c.format}})[0];
      REQUIRE(out.shape() == Shape{channels});
      // f32 sums of up to 65536 values in [-1, 1].
      const double atol = dtype == DType::kF32 ? 2e-3 : 1e-9;
      const std::string diff =
          CompareTensors(out, FromDoubles(dtype, Shape{channels}, expected), 1e-5, atol);
      INFO(diff);
      CHECK(diff.empty());
    }
  }
  // Hand-computed: NHWC [2, 2] rows {1, 2} and {3, 4}; NCHW [1, 2, 2].
  CHECK(
      ToDoubles(Run("BiasAddGrad",
                    {Tensor::FromVector<float>({1, 2, 3, 4}).Reshaped(Shape{2, 2}).value()})[0]) ==
      std::vector<double>{4, 6});
}

// ---------------------------------------------------------------------------
// Convolution and pooling geometry, written out again here.

struct Geometry {
  bool nchw = false;
  int64_t n = 1, h = 1, w = 1, c = 1, o = 1;  // o: conv out channels
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1;
  std::string padding = "VALID";
  std::array<int64_t, 4> pads = {};  // EXPLICIT: top, bottom, left, right
  // Derived.
  int64_t oh = 0, ow = 0, pad_top = 0, pad_left = 0;

  void Derive() {
    auto dim = [&](int64_t in, int64_t k, int64_t s, int64_t d, int64_t before, int64_t after,
                   int64_t* out, int64_t* pad) {
      const int64_t span = (k - 1) * d + 1;
      if (padding == "SAME") {
        *out = (in + s - 1) / s;
        *pad = std::max<int64_t>((*out - 1) * s + span - in, 0) / 2;
      } else {
        const bool explicit_padding = padding == "EXPLICIT";
        *pad = explicit_padding ? before : 0;
        *out = (in + (explicit_padding ? before + after : 0) - span) / s + 1;
      }
    };
    dim(h, kh, sh, dh, pads[0], pads[1], &oh, &pad_top);
    dim(w, kw, sw, dw, pads[2], pads[3], &ow, &pad_left);
  }
  Shape Image(int64_t channels, int64_t height, int64_t width) const {
    return nchw ? Shape{n, channels, height, width} : Shape{n, height, width, channels};
  }
  Shape In() const { return Image(c, h, w); }
  Shape Out(int64_t channels) const { return Image(channels, oh, ow); }
  int64_t At(int64_t channels, int64_t height, int64_t width, int64_t in, int64_t ic, int64_t ih,
             int64_t iw) const {
    return nchw ? ((in * channels + ic) * height + ih) * width + iw
                : ((in * height + ih) * width + iw) * channels + ic;
  }
  std::vector<int64_t> List(int64_t a, int64_t b) const {
    return nchw ? std::vector<int64_t>{1, 1, a, b} : std::vector<int64_t>{1, a, b, 1};
  }
  AttrMap ConvAttrs() const {
    std::vector<int64_t> explicit_paddings;
    if (padding == "EXPLICIT") {
      explicit_paddings =
          nchw ? std::vector<int64_t>{0, 0, 0, 0, pads[0], pads[1], pads[2], pads[3]}
               : std::vector<int64_t>{0, 0, pads[0], pads[1], pads[2], pads[3], 0, 0};
    }
    return {{"strides", List(sh, sw)},
            {"padding", padding},
            {"explicit_paddings", explicit_paddings},
            {"data_format", nchw ? "NCHW" : "NHWC"},
            {"dilations", List(dh, dw)}};
  }
  AttrMap PoolAttrs() const {
    return {{"ksize", List(kh, kw)},
            {"strides", List(sh, sw)},
            {"padding", padding},
            {"data_format", nchw ? "NCHW" : "NHWC"}};
  }
  std::string ToString() const {
    return absl::StrCat(nchw ? "NCHW " : "NHWC ", In().ToString(), " k", kh, "x", kw, " s", sh, "x",
                        sw, " d", dh, "x", dw, " o", o, " ", padding);
  }
  // Calls fn(n, oh, ow, kh, kw, ih, iw) for every window tap inside the input.
  template <typename Fn>
  void ForEachTap(Fn&& fn) const {
    for (int64_t b = 0; b < n; ++b)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t x = 0; x < ow; ++x)
          for (int64_t i = 0; i < kh; ++i)
            for (int64_t j = 0; j < kw; ++j) {
              const int64_t ih = y * sh - pad_top + i * dh, iw = x * sw - pad_left + j * dw;
              if (ih >= 0 && ih < h && iw >= 0 && iw < w) fn(b, y, x, i, j, ih, iw);
            }
  }
};

Geometry Geo(bool nchw, int64_t n, int64_t h, int64_t w, int64_t c, int64_t o, int64_t k, int64_t s,
             int64_t d, const std::string& padding) {
  Geometry g;
  g.nchw = nchw;
  g.n = n;
  g.h = h;
  g.w = w;
  g.c = c;
  g.o = o;
  g.kh = g.kw = k;
  g.sh = g.sw = s;
  g.dh = g.dw = d;
  g.padding = padding;
  g.Derive();
  return g;
}

std::vector<Geometry> ConvGeometries() {
  std::vector<Geometry> out;
  for (bool nchw : {false, true}) {
    out.push_back(Geo(nchw, 1, 5, 5, 1, 1, 3, 1, 1, "VALID"));
    out.push_back(Geo(nchw, 2, 7, 9, 3, 4, 3, 2, 1, "SAME"));
    out.push_back(Geo(nchw, 1, 8, 8, 2, 3, 2, 2, 1, "SAME"));  // even window: pad after
    out.push_back(Geo(nchw, 2, 9, 7, 3, 5, 3, 2, 1, "VALID"));
    out.push_back(Geo(nchw, 1, 9, 9, 2, 3, 3, 1, 2, "SAME"));  // dilated
    Geometry e = Geo(nchw, 1, 6, 5, 2, 2, 3, 1, 1, "EXPLICIT");
    e.pads = {1, 2, 0, 1};
    e.Derive();
    out.push_back(e);
    // Large enough for oneDNN in f32 (well over 8192 multiply-adds).
    out.push_back(Geo(nchw, 2, 15, 13, 8, 16, 3, 2, 1, "SAME"));
    out.push_back(Geo(nchw, 1, 16, 16, 16, 8, 3, 1, 1, "VALID"));
  }
  return out;
}

TEST_CASE("Conv2DBackpropInput and Conv2DBackpropFilter match a direct reference") {
  for (const Geometry& g : ConvGeometries()) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16}) {
      INFO(g.ToString() << " " << DTypeName(dtype));
      const Shape filter_shape{g.kh, g.kw, g.c, g.o};
      const Tensor x = RandomTensor(DType::kF64, g.In(), 31);
      const Tensor f = RandomTensor(DType::kF64, filter_shape, 32);
      const Tensor dy = RandomTensor(DType::kF64, g.Out(g.o), 33);
      // The inputs as the kernel sees them, so bf16 rounding is in the
      // reference too.
      const Tensor xt = Converted(x, dtype), ft = Converted(f, dtype), dyt = Converted(dy, dtype);
      const std::vector<double> xv = ToDoubles(xt), fv = ToDoubles(ft), dyv = ToDoubles(dyt);
      std::vector<double> dx(xv.size(), 0.0), df(fv.size(), 0.0);
      g.ForEachTap(
          [&](int64_t b, int64_t y, int64_t x_, int64_t i, int64_t j, int64_t ih, int64_t iw) {
            for (int64_t c = 0; c < g.c; ++c) {
              for (int64_t o = 0; o < g.o; ++o) {
                const int64_t xi = g.At(g.c, g.h, g.w, b, c, ih, iw);
                const int64_t fi = ((i * g.kw + j) * g.c + c) * g.o + o;
                const int64_t yi = g.At(g.o, g.oh, g.ow, b, o, y, x_);
                dx[xi] += fv[fi] * dyv[yi];
                df[fi] += xv[xi] * dyv[yi];
              }
            }
          });
      auto input_grad =
          RunCpuKernel("Conv2DBackpropInput", {SizesOf(g.In()), ft, dyt}, g.ConvAttrs());
      auto filter_grad =
          RunCpuKernel("Conv2DBackpropFilter", {xt, SizesOf(filter_shape), dyt}, g.ConvAttrs());
      INFO(input_grad.status().message() << " " << filter_grad.status().message());
      REQUIRE(input_grad.ok());
      REQUIRE(filter_grad.ok());
      const double tol = Tolerance(dtype);
      const std::string dx_diff = CompareTensors(Converted((*input_grad)[0], DType::kF64),
                                                 FromDoubles(DType::kF64, g.In(), dx), tol, tol);
      const std::string df_diff =
          CompareTensors(Converted((*filter_grad)[0], DType::kF64),
                         FromDoubles(DType::kF64, filter_shape, df), tol, tol * 10);
      INFO(dx_diff << " " << df_diff);
      CHECK(dx_diff.empty());
      CHECK(df_diff.empty());
    }
  }
}

TEST_CASE("Conv2D backprop kernels need their sizes when the plan is compiled") {
  const Geometry g = Geo(false, 1, 4, 4, 2, 3, 3, 1, 1, "SAME");
  const Tensor f = RandomTensor(DType::kF32, Shape{3, 3, 2, 3}, 1);
  const Tensor dy = RandomTensor(DType::kF32, g.Out(3), 2);
  auto input = RunWithFedInputs("Conv2DBackpropInput", {I32({1, 4, 4, 2}), f, dy}, {0},
                                g.ConvAttrs(), {g.In()});
  REQUIRE_FALSE(input.ok());
  CHECK(input.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(input.status().message()),
             Contains("input_sizes must be known when the plan is compiled"));
  auto filter = RunWithFedInputs("Conv2DBackpropFilter",
                                 {RandomTensor(DType::kF32, g.In(), 3), I32({3, 3, 2, 3}), dy}, {1},
                                 g.ConvAttrs(), {Shape{3, 3, 2, 3}});
  REQUIRE_FALSE(filter.ok());
  CHECK_THAT(std::string(filter.status().message()),
             Contains("filter_sizes must be known when the plan is compiled"));
  // Inconsistent shapes are caught while building, naming the shapes.
  auto bad = RunCpuKernel("Conv2DBackpropInput",
                          {I32({1, 4, 4, 2}), f, RandomTensor(DType::kF32, Shape{1, 3, 4, 3}, 4)},
                          g.ConvAttrs());
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Contains("out_backprop [1,3,4,3] does not match [1,4,4,3]"));
}

// ---------------------------------------------------------------------------
// Pooling gradients.

std::vector<Geometry> PoolGeometries() {
  std::vector<Geometry> out;
  for (bool nchw : {false, true}) {
    out.push_back(Geo(nchw, 1, 4, 4, 1, 1, 2, 2, 1, "VALID"));
    out.push_back(Geo(nchw, 2, 7, 9, 3, 3, 3, 2, 1, "SAME"));
    out.push_back(Geo(nchw, 2, 9, 7, 3, 3, 3, 2, 1, "VALID"));
    out.push_back(Geo(nchw, 1, 5, 6, 2, 2, 3, 1, 1, "SAME"));  // overlapping windows
    Geometry rect = Geo(nchw, 1, 8, 7, 2, 2, 2, 1, 1, "SAME");
    rect.kw = 3;
    rect.sh = 3;
    rect.Derive();
    out.push_back(rect);
    // Large enough for oneDNN in f32 (over 2048 window taps).
    out.push_back(Geo(nchw, 2, 16, 16, 8, 8, 3, 2, 1, "SAME"));
    out.push_back(Geo(nchw, 1, 24, 24, 16, 16, 2, 2, 1, "VALID"));
  }
  return out;
}

TEST_CASE("MaxPoolGrad sends each gradient to the first maximum of its window") {
  for (const Geometry& g : PoolGeometries()) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16}) {
      // Whole numbers in [0, 4) make ties common.
      for (double range : {1.0, 4.0}) {
        INFO(g.ToString() << " " << DTypeName(dtype) << " range " << range);
        Tensor x = RandomTensor(DType::kF64, g.In(), 41, 0.0, range);
        if (range > 1) {
          for (int64_t i = 0; i < x.num_elements(); ++i) {
            x.data<double>()[i] = std::floor(x.data<double>()[i]);
          }
        }
        // Gradients that are exact in bf16, so sums compare exactly.
        Tensor dy = RandomTensor(DType::kF64, g.Out(g.c), 42, 1.0, 9.0);
        for (int64_t i = 0; i < dy.num_elements(); ++i) {
          dy.data<double>()[i] = std::floor(dy.data<double>()[i]) / 4;
        }
        const Tensor xt = Converted(x, dtype), dyt = Converted(dy, dtype);
        const std::vector<double> xv = ToDoubles(xt), dyv = ToDoubles(dyt);
        std::vector<double> y(dyv.size(), 0.0), dx(xv.size(), 0.0);
        std::vector<int64_t> best(dyv.size(), -1);
        g.ForEachTap(
            [&](int64_t b, int64_t oy, int64_t ox, int64_t, int64_t, int64_t ih, int64_t iw) {
              for (int64_t c = 0; c < g.c; ++c) {
                const int64_t yi = g.At(g.c, g.oh, g.ow, b, c, oy, ox);
                const int64_t xi = g.At(g.c, g.h, g.w, b, c, ih, iw);
                if (best[yi] < 0 || xv[xi] > xv[best[yi]]) best[yi] = xi;  // strictly greater
              }
            });
        for (size_t i = 0; i < best.size(); ++i) {
          y[i] = xv[best[i]];
          dx[best[i]] += dyv[i];
        }
        const Tensor yt = FromDoubles(dtype, g.Out(g.c), y);
        const Tensor out = Run("MaxPoolGrad", {xt, yt, dyt}, g.PoolAttrs())[0];
        REQUIRE(out.dtype() == dtype);
        const std::string diff =
            CompareTensors(Converted(out, DType::kF64), FromDoubles(DType::kF64, g.In(), dx), 0, 0);
        INFO(diff);
        CHECK(diff.empty());
      }
    }
  }
}

TEST_CASE("AvgPoolGrad shares each gradient among the window's input elements") {
  for (const Geometry& g : PoolGeometries()) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16}) {
      INFO(g.ToString() << " " << DTypeName(dtype));
      const Tensor dyt = Converted(RandomTensor(DType::kF64, g.Out(g.c), 51), dtype);
      const std::vector<double> dyv = ToDoubles(dyt);
      // Padding is excluded: divide by the taps inside the input.
      std::vector<double> count(dyv.size(), 0.0), dx(g.In().num_elements(), 0.0);
      g.ForEachTap([&](int64_t b, int64_t oy, int64_t ox, int64_t, int64_t, int64_t, int64_t) {
        for (int64_t c = 0; c < g.c; ++c) count[g.At(g.c, g.oh, g.ow, b, c, oy, ox)] += 1;
      });
      g.ForEachTap(
          [&](int64_t b, int64_t oy, int64_t ox, int64_t, int64_t, int64_t ih, int64_t iw) {
            for (int64_t c = 0; c < g.c; ++c) {
              const int64_t yi = g.At(g.c, g.oh, g.ow, b, c, oy, ox);
              dx[g.At(g.c, g.h, g.w, b, c, ih, iw)] += dyv[yi] / count[yi];
            }
          });
      const Tensor out = Run("AvgPoolGrad", {SizesOf(g.In()), dyt}, g.PoolAttrs())[0];
      const std::string diff =
          CompareTensors(Converted(out, DType::kF64), FromDoubles(DType::kF64, g.In(), dx),
                         Tolerance(dtype), Tolerance(dtype));
      INFO(diff);
      CHECK(diff.empty());
    }
  }
  // Hand-computed: a 2x2 input, 2x2 window SAME stride 1: the corner (1, 1)
  // window holds one element, so it gets all of its gradient.
  Geometry g = Geo(false, 1, 2, 2, 1, 1, 2, 1, 1, "SAME");
  const Tensor dy = Tensor::FromVector<float>({4, 8, 12, 16}).Reshaped(Shape{1, 2, 2, 1}).value();
  CHECK(ToDoubles(Run("AvgPoolGrad", {I32({1, 2, 2, 1}), dy}, g.PoolAttrs())[0]) ==
        std::vector<double>{1, 1 + 4, 1 + 6, 1 + 4 + 6 + 16});
}

TEST_CASE("AvgPoolGrad needs orig_input_shape when the plan is compiled") {
  const Geometry g = Geo(false, 1, 4, 4, 1, 1, 2, 2, 1, "VALID");
  auto out =
      RunWithFedInputs("AvgPoolGrad", {I32({1, 4, 4, 1}), RandomTensor(DType::kF32, g.Out(1), 1)},
                       {0}, g.PoolAttrs(), {g.In()});
  REQUIRE_FALSE(out.ok());
  CHECK(out.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(out.status().message()),
             Contains("orig_input_shape must be known when the plan is compiled"));
}

// ---------------------------------------------------------------------------
// FusedBatchNormGrad.

struct BnCase {
  Shape x;
  const char* format;
};

// sum(dy * FusedBatchNorm(x, scale, offset).y) in f64.
double BnLoss(const Tensor& x, const Tensor& scale, const Tensor& offset, const Tensor& mean,
              const Tensor& variance, const Tensor& dy, const AttrMap& attrs) {
  const Tensor y = Run("FusedBatchNorm", {x, scale, offset, mean, variance}, attrs)[0];
  double loss = 0;
  for (int64_t i = 0; i < y.num_elements(); ++i) loss += y.data<double>()[i] * dy.data<double>()[i];
  return loss;
}

TEST_CASE("FusedBatchNormGrad is the gradient of FusedBatchNorm (finite differences, f64)") {
  for (const BnCase& c : {BnCase{Shape{2, 3, 3, 2}, "NHWC"}, BnCase{Shape{2, 2, 3, 3}, "NCHW"},
                          BnCase{Shape{1, 2, 1, 3}, "NHWC"}}) {
    for (bool training : {true, false}) {
      INFO(c.x.ToString() << " " << c.format << (training ? " training" : " inference"));
      const int64_t channels = std::string(c.format) == "NHWC" ? c.x.dim(3) : c.x.dim(1);
      const Shape cs{channels};
      const Tensor x = RandomTensor(DType::kF64, c.x, 61, -2.0, 2.0);
      const Tensor dy = RandomTensor(DType::kF64, c.x, 62);
      const Tensor scale = RandomTensor(DType::kF64, cs, 63, 0.5, 1.5);
      const Tensor offset = RandomTensor(DType::kF64, cs, 64);
      const Tensor pop_mean = RandomTensor(DType::kF64, cs, 65);
      const Tensor pop_variance = RandomTensor(DType::kF64, cs, 66, 0.5, 2.0);
      const AttrMap attrs = {
          {"epsilon", 0.001f}, {"data_format", c.format}, {"is_training", training}};
      const Tensor mean_in = training ? Tensor::Zeros(DType::kF64, Shape{0}) : pop_mean;
      const Tensor var_in = training ? Tensor::Zeros(DType::kF64, Shape{0}) : pop_variance;
      const std::vector<Tensor> fwd =
          Run("FusedBatchNorm", {x, scale, offset, mean_in, var_in}, attrs);
      const std::vector<Tensor> grad =
          Run("FusedBatchNormGrad", {dy, x, scale, fwd[3], fwd[4]}, attrs);
      REQUIRE(grad.size() == 5);
      CHECK(grad[3].shape() == Shape{0});
      CHECK(grad[4].shape() == Shape{0});

      // Central differences of the loss in each input element.
      const double h = 1e-5;
      auto numeric = [&](const Tensor& wrt, int which) {
        std::vector<double> out(wrt.num_elements());
        for (int64_t i = 0; i < wrt.num_elements(); ++i) {
          Tensor plus = Converted(wrt, DType::kF64), minus = Converted(wrt, DType::kF64);
          plus.data<double>()[i] += h;
          minus.data<double>()[i] -= h;
          auto loss = [&](const Tensor& t) {
            return BnLoss(which == 0 ? t : x, which == 1 ? t : scale, which == 2 ? t : offset,
                          mean_in, var_in, dy, attrs);
          };
          out[i] = (loss(plus) - loss(minus)) / (2 * h);
        }
        return FromDoubles(DType::kF64, wrt.shape(), out);
      };
      for (int which = 0; which < 3; ++which) {
        const Tensor& wrt = which == 0 ? x : which == 1 ? scale : offset;
        const std::string diff = CompareTensors(grad[which], numeric(wrt, which), 1e-6, 1e-7);
        INFO("input " << which << ": " << diff);
        CHECK(diff.empty());
      }
    }
  }
}

// The batch-norm gradient in double, written out:
//   xhat = (x - mean) / sqrt(var + eps), dscale = sum(dy * xhat),
//   doffset = sum(dy), dx = scale / sqrt(var + eps) * (dy - [training]
//   (doffset + xhat * dscale) / count).
std::vector<std::vector<double>> ReferenceBnGrad(const Tensor& dy, const Tensor& x,
                                                 const Tensor& scale, const Tensor& mean,
                                                 const Tensor& variance, bool nchw, bool training,
                                                 double epsilon) {
  const Shape& s = x.shape();
  const int64_t C = nchw ? s.dim(1) : s.dim(3);
  const int64_t inner = nchw ? s.dim(2) * s.dim(3) : 1;
  auto channel = [&](int64_t i) { return (i / inner) % C; };
  const double count = static_cast<double>(x.num_elements() / C);
  std::vector<double> dscale(C, 0.0), doffset(C, 0.0), dx(x.num_elements());
  auto inv = [&](int64_t c) { return 1 / std::sqrt(variance.ElementAsDouble(c) + epsilon); };
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const int64_t c = channel(i);
    const double xhat = (x.ElementAsDouble(i) - mean.ElementAsDouble(c)) * inv(c);
    dscale[c] += dy.ElementAsDouble(i) * xhat;
    doffset[c] += dy.ElementAsDouble(i);
  }
  for (int64_t i = 0; i < x.num_elements(); ++i) {
    const int64_t c = channel(i);
    const double xhat = (x.ElementAsDouble(i) - mean.ElementAsDouble(c)) * inv(c);
    double g = dy.ElementAsDouble(i);
    if (training) g -= (doffset[c] + xhat * dscale[c]) / count;
    dx[i] = scale.ElementAsDouble(c) * inv(c) * g;
  }
  return {dx, dscale, doffset};
}

TEST_CASE("FusedBatchNormGrad in f32 matches the written-out formula") {
  for (const BnCase& c : {BnCase{Shape{4, 8, 8, 16}, "NHWC"}, BnCase{Shape{4, 16, 8, 8}, "NCHW"},
                          BnCase{Shape{1, 3, 3, 5}, "NHWC"}, BnCase{Shape{2, 5, 3, 3}, "NCHW"}}) {
    for (bool training : {true, false}) {
      INFO(c.x.ToString() << " " << c.format << (training ? " training" : " inference"));
      const bool nchw = std::string(c.format) == "NCHW";
      const Shape cs{nchw ? c.x.dim(1) : c.x.dim(3)};
      const Tensor x = RandomTensor(DType::kF32, c.x, 71, -2.0, 3.0);
      const Tensor dy = RandomTensor(DType::kF32, c.x, 72);
      const Tensor scale = RandomTensor(DType::kF32, cs, 73, 0.5, 1.5);
      const AttrMap attrs = {
          {"epsilon", 0.001f}, {"data_format", c.format}, {"is_training", training}};
      Tensor mean = RandomTensor(DType::kF32, cs, 74);
      Tensor variance = RandomTensor(DType::kF32, cs, 75, 0.5, 2.0);
      if (training) {
        const std::vector<Tensor> fwd =
            Run("FusedBatchNorm",
                {x, scale, RandomTensor(DType::kF32, cs, 76), Tensor::Zeros(DType::kF32, Shape{0}),
                 Tensor::Zeros(DType::kF32, Shape{0})},
                attrs);
        mean = fwd[3];
        variance = fwd[4];
      }
      const std::vector<Tensor> grad =
          Run("FusedBatchNormGrad", {dy, x, scale, mean, variance}, attrs);
      const auto expected = ReferenceBnGrad(dy, x, scale, mean, variance, nchw, training, 0.001);
      const std::vector<Shape> shapes = {c.x, cs, cs};
      for (int k = 0; k < 3; ++k) {
        const std::string diff =
            CompareTensors(Converted(grad[k], DType::kF64),
                           FromDoubles(DType::kF64, shapes[k], expected[k]), 1e-4, 1e-4);
        INFO("output " << k << ": " << diff);
        CHECK(diff.empty());
      }
    }
  }
}

TEST_CASE("FusedBatchNormGrad rejects mismatched inputs, naming them") {
  const Tensor x = RandomTensor(DType::kF32, Shape{2, 3, 3, 4}, 1);
  const Tensor c4 = RandomTensor(DType::kF32, Shape{4}, 2);
  auto run = [&](const Tensor& dy, const Tensor& scale, const Tensor& rs1) {
    auto out = RunCpuKernel("FusedBatchNormGrad", {dy, x, scale, rs1, c4});
    REQUIRE_FALSE(out.ok());
    CHECK(out.status().code() == absl::StatusCode::kInvalidArgument);
    return std::string(out.status().message());
  };
  CHECK_THAT(run(RandomTensor(DType::kF32, Shape{2, 3, 3, 5}, 3), c4, c4),
             Contains("y_backprop [2,3,3,5] and x [2,3,3,4] must have the same shape"));
  CHECK_THAT(run(x, RandomTensor(DType::kF32, Shape{3}, 4), c4),
             Contains("scale [3] does not match x [2,3,3,4], which has 4 channels (NHWC)"));
  CHECK_THAT(run(x, c4, RandomTensor(DType::kF32, Shape{5}, 5)),
             Contains("reserve_space_1 [5] does not match x [2,3,3,4]"));
}

}  // namespace
}  // namespace sluice
