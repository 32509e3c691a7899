// Neural-network CPU kernels and the gradient building blocks of
// cpu/onednn_backward.h against naive references written here.
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpu/onednn_backward.h"
#include "tests/kernel_test_util.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;
using cpu::DataFormat;
using cpu::Window2D;
using testing::CompareTensors;
using testing::RandomTensor;
using testing::RunCpuKernel;

// ---------------------------------------------------------------------------
// Layout helpers.

// A 4-D tensor's logical (n, c, h, w) sizes and the offset of an element.
struct Image {
  DataFormat format;
  int64_t n, c, h, w;
  Shape shape() const {
    return format == DataFormat::kNhwc ? Shape{n, h, w, c} : Shape{n, c, h, w};
  }
  int64_t at(int64_t in, int64_t ic, int64_t ih, int64_t iw) const {
    return format == DataFormat::kNhwc ? ((in * h + ih) * w + iw) * c + ic
                                       : ((in * c + ic) * h + ih) * w + iw;
  }
};

const char* FormatName(DataFormat f) { return f == DataFormat::kNhwc ? "NHWC" : "NCHW"; }

// Sets element i of a floating tensor from a double.
void SetElement(Tensor& t, int64_t i, double v) {
  switch (t.dtype()) {
    case DType::kF32:
      t.data<float>()[i] = static_cast<float>(v);
      break;
    case DType::kF64:
      t.data<double>()[i] = v;
      break;
    case DType::kBF16:
      t.data<BFloat16>()[i] = FloatToBFloat16(static_cast<float>(v));
      break;
    default:
      FAIL("SetElement: unsupported dtype");
  }
}

Tensor ZerosLike(DType dtype, const Shape& shape) { return Tensor::Zeros(dtype, shape); }

// Converts a floating tensor to another floating dtype.
Tensor Converted(const Tensor& t, DType dtype) {
  Tensor out(dtype, t.shape());
  for (int64_t i = 0; i < t.num_elements(); ++i) SetElement(out, i, t.ElementAsDouble(i));
  return out;
}

// The window of a convolution or pooling, with TensorFlow's padding rules
// written out again here (not shared with the kernels).
Window2D MakeWindow(DataFormat format, int64_t n, int64_t h, int64_t w, int64_t c, int64_t o,
                    int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                    const std::string& padding, std::array<int64_t, 4> explicit_pads = {}) {
  Window2D win;
  win.format = format;
  win.batch = n;
  win.in_h = h;
  win.in_w = w;
  win.in_c = c;
  win.out_c = o;
  win.k_h = kh;
  win.k_w = kw;
  win.stride_h = sh;
  win.stride_w = sw;
  win.dilation_h = dh;
  win.dilation_w = dw;
  auto dim = [&](int64_t in, int64_t k, int64_t s, int64_t d, int64_t eb, int64_t ea, int64_t* out,
                 int64_t* before, int64_t* after) {
    const int64_t eff = (k - 1) * d + 1;
    if (padding == "SAME") {
      *out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>((*out - 1) * s + eff - in, 0);
      *before = total / 2;
      *after = total - total / 2;
    } else {
      *before = padding == "EXPLICIT" ? eb : 0;
      *after = padding == "EXPLICIT" ? ea : 0;
      *out = (in + *before + *after - eff) / s + 1;
    }
  };
  dim(h, kh, sh, dh, explicit_pads[0], explicit_pads[1], &win.out_h, &win.pad_top, &win.pad_bottom);
  dim(w, kw, sw, dw, explicit_pads[2], explicit_pads[3], &win.out_w, &win.pad_left, &win.pad_right);
  return win;
}

Image InputImage(const Window2D& w) { return {w.format, w.batch, w.in_c, w.in_h, w.in_w}; }
Image OutputImage(const Window2D& w) { return {w.format, w.batch, w.out_c, w.out_h, w.out_w}; }

// Calls fn(n, oh, ow, kh, kw, ih, iw) for every window tap inside the input.
void ForEachTap(
    const Window2D& w,
    const std::function<void(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t)>& fn) {
  for (int64_t n = 0; n < w.batch; ++n) {
    for (int64_t oh = 0; oh < w.out_h; ++oh) {
      for (int64_t ow = 0; ow < w.out_w; ++ow) {
        for (int64_t kh = 0; kh < w.k_h; ++kh) {
          for (int64_t kw = 0; kw < w.k_w; ++kw) {
            const int64_t ih = oh * w.stride_h - w.pad_top + kh * w.dilation_h;
            const int64_t iw = ow * w.stride_w - w.pad_left + kw * w.dilation_w;
            if (ih < 0 || ih >= w.in_h || iw < 0 || iw >= w.in_w) continue;
            fn(n, oh, ow, kh, kw, ih, iw);
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Convolution references: y = conv(x, f), dx and df given dy, all in double.

struct ConvReference {
  Tensor y, dx, df;
};

ConvReference ReferenceConv(const Window2D& w, const Tensor& x, const Tensor& f, const Tensor* dy,
                            DType dtype) {
  const Image in = InputImage(w), out = OutputImage(w);
  const int64_t C = w.in_c, O = w.out_c;
  std::vector<double> y(out.n * out.c * out.h * out.w, 0.0), dx(x.num_elements(), 0.0),
      df(f.num_elements(), 0.0);
  ForEachTap(
      w, [&](int64_t n, int64_t oh, int64_t ow, int64_t kh, int64_t kw, int64_t ih, int64_t iw) {
        for (int64_t c = 0; c < C; ++c) {
          const double xv = x.ElementAsDouble(in.at(n, c, ih, iw));
          for (int64_t o = 0; o < O; ++o) {
            const int64_t fi = ((kh * w.k_w + kw) * C + c) * O + o;
            const int64_t yi = out.at(n, o, oh, ow);
            y[yi] += xv * f.ElementAsDouble(fi);
            if (dy != nullptr) {
              const double g = dy->ElementAsDouble(yi);
              dx[in.at(n, c, ih, iw)] += g * f.ElementAsDouble(fi);
              df[fi] += g * xv;
            }
          }
        }
      });
  ConvReference r{Tensor(dtype, out.shape()), Tensor(dtype, x.shape()), Tensor(dtype, f.shape())};
  for (size_t i = 0; i < y.size(); ++i) SetElement(r.y, i, y[i]);
  for (size_t i = 0; i < dx.size(); ++i) SetElement(r.dx, i, dx[i]);
  for (size_t i = 0; i < df.size(); ++i) SetElement(r.df, i, df[i]);
  return r;
}

struct ConvCase {
  int64_t n, h, w, c, kh, kw, o, sh, sw, dh, dw;
  std::string padding;
  std::array<int64_t, 4> pads = {};  // top, bottom, left, right for EXPLICIT
};

// Small cases run the plain loops, large ones oneDNN (f32).
const std::vector<ConvCase>& ConvCases() {
  static const std::vector<ConvCase> cases = {
      {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "VALID"},
      {1, 5, 5, 1, 3, 3, 1, 1, 1, 1, 1, "VALID"},
      {2, 7, 7, 3, 3, 3, 5, 1, 1, 1, 1, "SAME"},
      {3, 9, 8, 3, 3, 2, 4, 2, 2, 1, 1, "SAME"},
      {1, 9, 9, 2, 3, 3, 3, 1, 1, 2, 2, "SAME"},
      {2, 10, 9, 4, 3, 3, 6, 2, 1, 1, 2, "VALID"},
      {1, 6, 7, 3, 2, 3, 2, 1, 1, 1, 1, "EXPLICIT", {1, 2, 0, 3}},
      {4, 14, 14, 16, 5, 5, 32, 1, 1, 1, 1, "SAME"},
      {2, 15, 13, 3, 3, 3, 33, 2, 2, 1, 1, "VALID"},
      {2, 17, 17, 8, 3, 3, 16, 2, 2, 2, 2, "SAME"},
      {2, 12, 11, 17, 3, 3, 7, 1, 1, 1, 1, "EXPLICIT", {2, 1, 1, 0}},
      {1, 33, 7, 1, 5, 1, 3, 3, 1, 1, 1, "SAME"},
  };
  return cases;
}

Window2D WindowOf(const ConvCase& k, DataFormat format) {
  return MakeWindow(format, k.n, k.h, k.w, k.c, k.o, k.kh, k.kw, k.sh, k.sw, k.dh, k.dw, k.padding,
                    k.pads);
}

AttrMap ConvAttrs(const ConvCase& k, DataFormat format) {
  const bool nhwc = format == DataFormat::kNhwc;
  AttrMap attrs = {{"strides", nhwc ? std::vector<int64_t>{1, k.sh, k.sw, 1}
                                    : std::vector<int64_t>{1, 1, k.sh, k.sw}},
                   {"dilations", nhwc ? std::vector<int64_t>{1, k.dh, k.dw, 1}
                                      : std::vector<int64_t>{1, 1, k.dh, k.dw}},
                   {"padding", k.padding},
                   {"data_format", FormatName(format)}};
  if (k.padding == "EXPLICIT") {
    attrs["explicit_paddings"] =
        nhwc ? std::vector<int64_t>{0, 0, k.pads[0], k.pads[1], k.pads[2], k.pads[3], 0, 0}
             : std::vector<int64_t>{0, 0, 0, 0, k.pads[0], k.pads[1], k.pads[2], k.pads[3]};
  }
  return attrs;
}

std::string Describe(const Window2D& w) {
  return absl::StrCat(FormatName(w.format), " ", w.ToString());
}

TEST_CASE("Conv2D matches the reference in both layouts, all paddings") {
  for (const ConvCase& k : ConvCases()) {
    for (DataFormat format : {DataFormat::kNhwc, DataFormat::kNchw}) {
      const Window2D w = WindowOf(k, format);
      INFO(Describe(w));
      const Tensor x = RandomTensor(DType::kF32, w.InputShape(), 1);
      const Tensor f = RandomTensor(DType::kF32, w.FilterShape(), 2);
      auto out = RunCpuKernel("Conv2D", {x, f}, ConvAttrs(k, format));
      REQUIRE(out.ok());
      REQUIRE((*out)[0].shape() == w.OutputShape());
      const Tensor expected = ReferenceConv(w, x, f, nullptr, DType::kF32).y;
      CHECK(CompareTensors((*out)[0], expected, 1e-4, 1e-4) == "");
    }
  }
}

TEST_CASE("Conv2D in f64 and bf16") {
  for (size_t i : {2, 3, 9}) {
    const ConvCase& k = ConvCases()[i];
    for (DataFormat format : {DataFormat::kNhwc, DataFormat::kNchw}) {
      const Window2D w = WindowOf(k, format);
      INFO(Describe(w));
      for (DType dtype : {DType::kF64, DType::kBF16}) {
        const Tensor x = RandomTensor(dtype, w.InputShape(), 3);
        const Tensor f = RandomTensor(dtype, w.FilterShape(), 4);
        auto out = RunCpuKernel("Conv2D", {x, f}, ConvAttrs(k, format));
        REQUIRE(out.ok());
        const double tol = dtype == DType::kF64 ? 1e-12 : 5e-2;
        CHECK(CompareTensors((*out)[0], ReferenceConv(w, x, f, nullptr, dtype).y, tol, tol) == "");
      }
    }
  }
}

TEST_CASE("Conv2D with zero-sized dims") {
  const ConvCase k{0, 7, 7, 3, 3, 3, 4, 1, 1, 1, 1, "SAME"};
  for (DataFormat format : {DataFormat::kNhwc, DataFormat::kNchw}) {
    const Window2D w = WindowOf(k, format);
    auto empty_batch = RunCpuKernel(
        "Conv2D",
        {Tensor(DType::kF32, w.InputShape()), RandomTensor(DType::kF32, w.FilterShape(), 1)},
        ConvAttrs(k, format));
    REQUIRE(empty_batch.ok());
    CHECK((*empty_batch)[0].shape() == w.OutputShape());

    // No input channels: every output is an empty sum.
    const ConvCase no_depth{2, 9, 9, 0, 3, 3, 40, 1, 1, 1, 1, "SAME"};
    const Window2D wd = WindowOf(no_depth, format);
    auto zeros = RunCpuKernel(
        "Conv2D", {Tensor(DType::kF32, wd.InputShape()), Tensor(DType::kF32, wd.FilterShape())},
        ConvAttrs(no_depth, format));
    REQUIRE(zeros.ok());
    CHECK(CompareTensors((*zeros)[0], ZerosLike(DType::kF32, wd.OutputShape()), 0, 0) == "");
  }
}

// ---------------------------------------------------------------------------
// Pooling.

struct PoolCase {
  int64_t n, h, w, c, kh, kw, sh, sw;
  std::string padding;
};

const std::vector<PoolCase>& PoolCases() {
  static const std::vector<PoolCase> cases = {
      {1, 1, 1, 1, 1, 1, 1, 1, "VALID"},    {1, 4, 4, 1, 2, 2, 2, 2, "VALID"},
      {2, 7, 7, 3, 3, 3, 2, 2, "SAME"},     {3, 9, 8, 5, 3, 2, 1, 2, "SAME"},
      {1, 5, 5, 2, 5, 5, 1, 1, "VALID"},    {2, 5, 6, 3, 2, 2, 3, 3, "SAME"},
      {4, 28, 28, 32, 2, 2, 2, 2, "SAME"},  {2, 33, 31, 17, 3, 3, 2, 2, "SAME"},
      {2, 15, 15, 16, 3, 3, 1, 1, "VALID"}, {1, 64, 65, 3, 4, 3, 3, 2, "SAME"},
  };
  return cases;
}

Window2D WindowOf(const PoolCase& k, DataFormat format) {
  return MakeWindow(format, k.n, k.h, k.w, k.c, k.c, k.kh, k.kw, k.sh, k.sw, 1, 1, k.padding);
}

AttrMap PoolAttrs(const PoolCase& k, DataFormat format) {
  const bool nhwc = format == DataFormat::kNhwc;
  return {{"ksize",
           nhwc ? std::vector<int64_t>{1, k.kh, k.kw, 1} : std::vector<int64_t>{1, 1, k.kh, k.kw}},
          {"strides",
           nhwc ? std::vector<int64_t>{1, k.sh, k.sw, 1} : std::vector<int64_t>{1, 1, k.sh, k.sw}},
          {"padding", k.padding},
          {"data_format", FormatName(format)}};
}

// Max pooling takes the largest input in the window (padding ignored); average
// pooling divides by the number of inputs in the window. The gradient sends
// dy to the first maximum, or spreads it evenly.
struct PoolReference {
  Tensor y, dx;
};

PoolReference ReferencePool(const Window2D& w, bool is_max, const Tensor& x, const Tensor* dy,
                            DType dtype) {
  const Image in = InputImage(w), out = OutputImage(w);
  std::vector<double> y(out.n * out.c * out.h * out.w), dx(x.num_elements(), 0.0);
  for (int64_t n = 0; n < w.batch; ++n) {
    for (int64_t c = 0; c < w.in_c; ++c) {
      for (int64_t oh = 0; oh < w.out_h; ++oh) {
        for (int64_t ow = 0; ow < w.out_w; ++ow) {
          std::vector<int64_t> taps;
          for (int64_t kh = 0; kh < w.k_h; ++kh) {
            for (int64_t kw = 0; kw < w.k_w; ++kw) {
              const int64_t ih = oh * w.stride_h - w.pad_top + kh;
              const int64_t iw = ow * w.stride_w - w.pad_left + kw;
              if (ih >= 0 && ih < w.in_h && iw >= 0 && iw < w.in_w) {
                taps.push_back(in.at(n, c, ih, iw));
              }
            }
          }
          const int64_t yi = out.at(n, c, oh, ow);
          const double g = dy != nullptr ? dy->ElementAsDouble(yi) : 0.0;
          if (is_max) {
            int64_t best = taps[0];
            for (int64_t t : taps) {
              if (x.ElementAsDouble(t) > x.ElementAsDouble(best)) best = t;
            }
            y[yi] = x.ElementAsDouble(best);
            dx[best] += g;
          } else {
            double sum = 0;
            for (int64_t t : taps) sum += x.ElementAsDouble(t);
            y[yi] = sum / static_cast<double>(taps.size());
            for (int64_t t : taps) dx[t] += g / static_cast<double>(taps.size());
          }
        }
      }
    }
  }
  PoolReference r{Tensor(dtype, out.shape()), Tensor(dtype, x.shape())};
  for (size_t i = 0; i < y.size(); ++i) SetElement(r.y, i, y[i]);
  for (size_t i = 0; i < dx.size(); ++i) SetElement(r.dx, i, dx[i]);
  return r;
}

TEST_CASE("MaxPool and AvgPool match the reference in both layouts") {
  for (const PoolCase& k : PoolCases()) {
    for (DataFormat format : {DataFormat::kNhwc, DataFormat::kNchw}) {
      const Window2D w = WindowOf(k, format);
      for (bool is_max : {true, false}) {
        for (DType dtype : {DType::kF32, DType::kF64}) {
          INFO(absl::StrCat(is_max ? "MaxPool " : "AvgPool ", DTypeName(dtype), " ", Describe(w)));
          const Tensor x = RandomTensor(dtype, w.InputShape(), 5, -4, 4);
          auto out = RunCpuKernel(is_max ? "MaxPool" : "AvgPool", {x}, PoolAttrs(k, format));
          REQUIRE(out.ok());
          REQUIRE((*out)[0].shape() == w.OutputShape());
          const double tol = dtype == DType::kF32 ? 1e-5 : 1e-12;
          CHECK(CompareTensors((*out)[0], ReferencePool(w, is_max, x, nullptr, dtype).y, tol,
                               tol) == "");
        }
      }
    }
  }
}

TEST_CASE("MaxPool of integers") {
  for (const PoolCase& k : {PoolCases()[2], PoolCases()[5], PoolCases()[7]}) {
    for (DataFormat format : {DataFormat::kNhwc, DataFormat::kNchw}) {
      const Window2D w = WindowOf(k, format);
      for (DType dtype : {DType::kI8, DType::kU8, DType::kI32, DType::kI64}) {
        INFO(absl::StrCat(DTypeName(dtype), " ", Describe(w)));
        const double lo = dtype == DType::kU8 ? 0 : dtype == DType::kI8 ? -128 : -1e9;
        const double hi = dtype == DType::kU8 ? 256 : dtype == DType::kI8 ? 128 : 1e9;
        const Tensor x = RandomTensor(dtype, w.InputShape(), 36, lo, hi);
        auto out = RunCpuKernel("MaxPool", {x}, PoolAttrs(k, format));
        REQUIRE(out.ok());
        const PoolReference ref = ReferencePool(w, true, x, nullptr, DType::kF64);
        CHECK(CompareTensors(Converted((*out)[0], DType::kF64), ref.y, 0, 0) == "");
      }
    }
  }
}

TEST_CASE("Pooling in bf16 and with an empty batch") {
  const PoolCase k = PoolCases()[7];
  for (DataFormat format : {DataFormat::kNhwc, DataFormat::kNchw}) {
    const Window2D w = WindowOf(k, format);
    const Tensor x = RandomTensor(DType::kBF16, w.InputShape(), 6);
    for (bool is_max : {true, false}) {
      auto out = RunCpuKernel(is_max ? "MaxPool" : "AvgPool", {x}, PoolAttrs(k, format));
      REQUIRE(out.ok());
      CHECK(CompareTensors((*out)[0], ReferencePool(w, is_max, x, nullptr, DType::kBF16).y, 1e-2,
                           1e-2) == "");
    }
    const PoolCase empty{0, 6, 6, 3, 2, 2, 2, 2, "SAME"};
    const Window2D we = WindowOf(empty, format);
    auto out =
        RunCpuKernel("MaxPool", {Tensor(DType::kF32, we.InputShape())}, PoolAttrs(empty, format));
    REQUIRE(out.ok());
    CHECK((*out)[0].shape() == we.OutputShape());
  }
}

// ---------------------------------------------------------------------------
// FusedBatchNorm.

struct BatchNormReference {
  Tensor y, batch_mean, batch_variance, saved_mean, saved_variance;
};

BatchNormReference ReferenceBatchNorm(const Image& im, const Tensor& x, const Tensor& scale,
                                      const Tensor& offset, const Tensor& mean,
                                      const Tensor& variance, double epsilon, double factor,
                                      bool training) {
  const DType dtype = x.dtype();
  const int64_t C = im.c, count = im.n * im.h * im.w;
  BatchNormReference r{Tensor(dtype, x.shape()), Tensor(dtype, Shape{C}), Tensor(dtype, Shape{C}),
                       Tensor(dtype, Shape{C}), Tensor(dtype, Shape{C})};
  for (int64_t c = 0; c < C; ++c) {
    double m = mean.num_elements() > 0 ? mean.ElementAsDouble(c) : 0.0;
    double v = variance.num_elements() > 0 ? variance.ElementAsDouble(c) : 0.0;
    if (training) {
      double sum = 0, sq = 0;
      for (int64_t n = 0; n < im.n; ++n)
        for (int64_t h = 0; h < im.h; ++h)
          for (int64_t w = 0; w < im.w; ++w) sum += x.ElementAsDouble(im.at(n, c, h, w));
      const double bm = sum / count;
      for (int64_t n = 0; n < im.n; ++n)
        for (int64_t h = 0; h < im.h; ++h)
          for (int64_t w = 0; w < im.w; ++w) {
            const double d = x.ElementAsDouble(im.at(n, c, h, w)) - bm;
            sq += d * d;
          }
      const double bv = sq / count;
      const double unbiased = count > 1 ? sq / (count - 1) : bv;
      SetElement(r.batch_mean, c, (1 - factor) * m + factor * bm);
      SetElement(r.batch_variance, c, (1 - factor) * v + factor * unbiased);
      SetElement(r.saved_mean, c, bm);
      SetElement(r.saved_variance, c, bv);
      m = bm;
      v = bv;
    } else {
      SetElement(r.batch_mean, c, m);
      SetElement(r.batch_variance, c, v);
      SetElement(r.saved_mean, c, m);
      SetElement(r.saved_variance, c, v);
    }
    const double inv = 1 / std::sqrt(v + epsilon);
    for (int64_t n = 0; n < im.n; ++n)
      for (int64_t h = 0; h < im.h; ++h)
        for (int64_t w = 0; w < im.w; ++w) {
          const int64_t i = im.at(n, c, h, w);
          SetElement(r.y, i,
                     (x.ElementAsDouble(i) - m) * inv * scale.ElementAsDouble(c) +
                         offset.ElementAsDouble(c));
        }
  }
  return r;
}

TEST_CASE("FusedBatchNorm matches the reference in training and inference") {
  const std::vector<std::array<int64_t, 4>> sizes = {// n, h, w, c
                                                     {1, 1, 1, 3},
                                                     {2, 3, 5, 4},
                                                     {3, 1, 7, 1},
                                                     {4, 9, 9, 33},
                                                     {8, 16, 16, 16}};
  for (const auto& s : sizes) {
    for (DataFormat format : {DataFormat::kNhwc, DataFormat::kNchw}) {
      const Image im{format, s[0], s[3], s[1], s[2]};
      for (DType dtype : {DType::kF32, DType::kF64}) {
        const Tensor x = RandomTensor(dtype, im.shape(), 7, -2, 3);
        const Tensor scale = RandomTensor(dtype, Shape{im.c}, 8, 0.5, 2);
        const Tensor offset = RandomTensor(dtype, Shape{im.c}, 9);
        const Tensor mean = RandomTensor(dtype, Shape{im.c}, 10);
        const Tensor variance = RandomTensor(dtype, Shape{im.c}, 11, 0.5, 2);
        for (bool training : {true, false}) {
          for (double factor : {1.0, 0.25}) {
            INFO(absl::StrCat(DTypeName(dtype), " ", im.shape().ToString(), " ", FormatName(format),
                              " training=", training, " factor=", factor));
            auto out = RunCpuKernel("FusedBatchNorm", {x, scale, offset, mean, variance},
                                    {{"epsilon", 0.001f},
                                     {"exponential_avg_factor", static_cast<float>(factor)},
                                     {"data_format", FormatName(format)},
                                     {"is_training", training}});
            REQUIRE(out.ok());
            REQUIRE(out->size() >= 5);
            const BatchNormReference ref =
                ReferenceBatchNorm(im, x, scale, offset, mean, variance, 0.001, factor, training);
            const double tol = dtype == DType::kF32 ? 1e-4 : 1e-10;
            CHECK(CompareTensors((*out)[0], ref.y, tol, tol) == "");
            CHECK(CompareTensors((*out)[1], ref.batch_mean, tol, tol) == "");
            CHECK(CompareTensors((*out)[2], ref.batch_variance, tol, tol) == "");
            CHECK(CompareTensors((*out)[3], ref.saved_mean, tol, tol) == "");
            CHECK(CompareTensors((*out)[4], ref.saved_variance, tol, tol) == "");
          }
        }
      }
    }
  }
}

TEST_CASE("FusedBatchNorm returns the unbiased variance and NaN for an empty batch") {
  // Channel values 1 and 3: mean 2, biased variance 1, unbiased variance 2.
  const Tensor x = *Tensor::FromVector<float>({1, 3}, Shape{2, 1, 1, 1});
  const Tensor one = *Tensor::FromVector<float>({1}, Shape{1});
  const Tensor zero = *Tensor::FromVector<float>({0}, Shape{1});
  auto out = RunCpuKernel("FusedBatchNorm", {x, one, zero, zero, one},
                          {{"epsilon", 0.0f}, {"is_training", true}});
  REQUIRE(out.ok());
  CHECK((*out)[0].ToVector<float>() == std::vector<float>{-1, 1});
  CHECK((*out)[1].ToVector<float>() == std::vector<float>{2});
  CHECK((*out)[2].ToVector<float>() == std::vector<float>{2});
  CHECK((*out)[4].ToVector<float>() == std::vector<float>{1});

  auto empty =
      RunCpuKernel("FusedBatchNorm", {Tensor(DType::kF32, Shape{0, 2, 2, 1}), one, zero, zero, one},
                   {{"is_training", true}});
  REQUIRE(empty.ok());
  CHECK((*empty)[0].shape() == Shape{0, 2, 2, 1});
  CHECK(std::isnan((*empty)[1].data<float>()[0]));
  CHECK(std::isnan((*empty)[2].data<float>()[0]));
}

// ---------------------------------------------------------------------------
// Softmax and the losses.

Tensor ReferenceSoftmax(const Tensor& x, bool log) {
  const int64_t cols = x.shape().dim(x.shape().rank() - 1);
  const int64_t rows = cols == 0 ? 0 : x.num_elements() / cols;
  Tensor y(x.dtype(), x.shape());
  for (int64_t r = 0; r < rows; ++r) {
    double max = -std::numeric_limits<double>::infinity(), sum = 0;
    for (int64_t j = 0; j < cols; ++j) max = std::max(max, x.ElementAsDouble(r * cols + j));
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(x.ElementAsDouble(r * cols + j) - max);
    for (int64_t j = 0; j < cols; ++j) {
      const double shifted = x.ElementAsDouble(r * cols + j) - max;
      SetElement(y, r * cols + j, log ? shifted - std::log(sum) : std::exp(shifted) / sum);
    }
  }
  return y;
}

TEST_CASE("Softmax and LogSoftmax match the reference") {
  const std::vector<Shape> shapes = {Shape{1, 1},     Shape{3, 7},     Shape{5},    Shape{2, 3, 5},
                                     Shape{33, 1000}, Shape{64, 1000}, Shape{0, 5}, Shape{5, 0}};
  for (const Shape& shape : shapes) {
    for (bool log : {false, true}) {
      for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16}) {
        INFO(absl::StrCat(log ? "LogSoftmax " : "Softmax ", DTypeName(dtype), shape.ToString()));
        const Tensor x = RandomTensor(dtype, shape, 12, -10, 10);
        auto out = RunCpuKernel(log ? "LogSoftmax" : "Softmax", {x});
        REQUIRE(out.ok());
        REQUIRE((*out)[0].shape() == shape);
        const double tol = dtype == DType::kF32 ? 1e-5 : dtype == DType::kF64 ? 1e-12 : 2e-2;
        // Log-softmax values reach -20; compare them relatively.
        CHECK(CompareTensors((*out)[0], ReferenceSoftmax(x, log), tol, log ? 1e-4 : tol) == "");
      }
    }
  }
}

TEST_CASE("Softmax is stable for huge logits") {
  const Tensor x = *Tensor::FromVector<float>({1000, 1000, -1000}, Shape{1, 3});
  auto out = RunCpuKernel("Softmax", {x});
  REQUIRE(out.ok());
  CHECK((*out)[0].ToVector<float>() == std::vector<float>{0.5f, 0.5f, 0.0f});
}

// loss[r] = -sum_j labels[r,j] * log_softmax(x)[r,j]; backprop = softmax - labels.
void ReferenceXent(const Tensor& features, const Tensor& labels, Tensor* loss, Tensor* backprop) {
  const int64_t rows = features.shape().dim(0), cols = features.shape().dim(1);
  for (int64_t r = 0; r < rows; ++r) {
    auto f = [&](int64_t j) { return features.ElementAsDouble(r * cols + j); };
    auto l = [&](int64_t j) { return labels.ElementAsDouble(r * cols + j); };
    double max = -std::numeric_limits<double>::infinity(), sum = 0, total = 0;
    for (int64_t j = 0; j < cols; ++j) max = std::max(max, f(j));
    for (int64_t j = 0; j < cols; ++j) sum += std::exp(f(j) - max);
    for (int64_t j = 0; j < cols; ++j) {
      total -= l(j) * (f(j) - max - std::log(sum));
      SetElement(*backprop, r * cols + j, std::exp(f(j) - max) / sum - l(j));
    }
    SetElement(*loss, r, total);
  }
}

TEST_CASE("SoftmaxCrossEntropyWithLogits matches the reference") {
  const std::vector<Shape> shapes = {Shape{4, 10}, Shape{1, 1}, Shape{33, 7}, Shape{200, 1000},
                                     Shape{0, 10}};
  for (const Shape& shape : shapes) {
    for (DType dtype : {DType::kF32, DType::kF64}) {
      INFO(absl::StrCat(DTypeName(dtype), shape.ToString()));
      const Tensor features = RandomTensor(dtype, shape, 13, -20, 20);
      const Tensor labels = RandomTensor(dtype, shape, 14, 0, 1);
      auto out = RunCpuKernel("SoftmaxCrossEntropyWithLogits", {features, labels});
      REQUIRE(out.ok());
      Tensor loss(dtype, Shape{shape.dim(0)}), backprop(dtype, shape);
      ReferenceXent(features, labels, &loss, &backprop);
      const double tol = dtype == DType::kF32 ? 1e-4 : 1e-10;
      CHECK(CompareTensors((*out)[0], loss, tol, tol) == "");
      CHECK(CompareTensors((*out)[1], backprop, tol, tol) == "");
    }
  }
}

TEST_CASE("Cross-entropy is stable for huge logits") {
  const Tensor features = *Tensor::FromVector<float>({1000, -1000}, Shape{1, 2});
  auto out = RunCpuKernel("SoftmaxCrossEntropyWithLogits",
                          {features, *Tensor::FromVector<float>({0, 1}, Shape{1, 2})});
  REQUIRE(out.ok());
  CHECK((*out)[0].ToVector<float>() == std::vector<float>{2000});
  CHECK((*out)[1].ToVector<float>() == std::vector<float>{1, -1});
}

TEST_CASE("SparseSoftmaxCrossEntropyWithLogits matches the one-hot reference") {
  for (DType label_type : {DType::kI32, DType::kI64}) {
    for (int64_t rows : {1, 7, 300}) {
      const int64_t cols = rows == 7 ? 1 : 10;
      const Tensor features = RandomTensor(DType::kF32, Shape{rows, cols}, 15, -30, 30);
      const Tensor labels = RandomTensor(label_type, Shape{rows}, 16, 0, static_cast<double>(cols));
      Tensor one_hot = Tensor::Zeros(DType::kF32, Shape{rows, cols});
      for (int64_t r = 0; r < rows; ++r) {
        one_hot.data<float>()[r * cols + static_cast<int64_t>(labels.ElementAsDouble(r))] = 1;
      }
      auto out = RunCpuKernel("SparseSoftmaxCrossEntropyWithLogits", {features, labels});
      REQUIRE(out.ok());
      Tensor loss(DType::kF32, Shape{rows}), backprop(DType::kF32, Shape{rows, cols});
      ReferenceXent(features, one_hot, &loss, &backprop);
      CHECK(CompareTensors((*out)[0], loss, 1e-4, 1e-4) == "");
      CHECK(CompareTensors((*out)[1], backprop, 1e-4, 1e-5) == "");
    }
  }
}

TEST_CASE("SparseSoftmaxCrossEntropyWithLogits rejects labels out of range") {
  const Tensor features = RandomTensor(DType::kF32, Shape{5, 10}, 17);
  auto high = RunCpuKernel("SparseSoftmaxCrossEntropyWithLogits",
                           {features, *Tensor::FromVector<int32_t>({0, 1, 2, 12, 4}, Shape{5})});
  REQUIRE_FALSE(high.ok());
  CHECK(high.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(high.status().message()), Contains("labels[3] = 12 is not in [0, 10)"));
  auto negative =
      RunCpuKernel("SparseSoftmaxCrossEntropyWithLogits",
                   {features, *Tensor::FromVector<int64_t>({0, -1, 2, 3, 4}, Shape{5})});
  REQUIRE_FALSE(negative.ok());
  CHECK_THAT(std::string(negative.status().message()),
             Contains("labels[1] = -1 is not in [0, 10)"));
}

// ---------------------------------------------------------------------------
// Gradient building blocks.

TEST_CASE("Conv2D backward data and filter match the naive backward") {
  for (const ConvCase& k : ConvCases()) {
    for (DataFormat format : {DataFormat::kNhwc, DataFormat::kNchw}) {
      const Window2D w = WindowOf(k, format);
      for (DType dtype : {DType::kF32, DType::kF64}) {
        INFO(absl::StrCat(DTypeName(dtype), " ", Describe(w)));
        const Tensor x = RandomTensor(dtype, w.InputShape(), 18);
        const Tensor f = RandomTensor(dtype, w.FilterShape(), 19);
        const Tensor dy = RandomTensor(dtype, w.OutputShape(), 20);
        const ConvReference ref = ReferenceConv(w, x, f, &dy, dtype);
        const double tol = dtype == DType::kF32 ? 1e-4 : 1e-11;

        auto data = cpu::Conv2DBackwardData::Create(w, dtype);
        REQUIRE(data.ok());
        auto data_state = (*data)->CreateState();
        // The second run moves every buffer: the state must follow.
        for (int run = 0; run < 2; ++run) {
          const Tensor dy_run = run == 0 ? dy : dy.Clone();
          const Tensor f_run = run == 0 ? f : f.Clone();
          Tensor dx(dtype, w.InputShape());
          REQUIRE((*data)
                      ->Run(data_state.get(), f_run.raw_data(), dy_run.raw_data(), dx.raw_data())
                      .ok());
          CHECK(CompareTensors(dx, ref.dx, tol, tol) == "");
        }

        auto filter = cpu::Conv2DBackwardFilter::Create(w, dtype);
        REQUIRE(filter.ok());
        auto filter_state = (*filter)->CreateState();
        Tensor df(dtype, w.FilterShape());
        REQUIRE(
            (*filter)->Run(filter_state.get(), x.raw_data(), dy.raw_data(), df.raw_data()).ok());
        CHECK(CompareTensors(df, ref.df, tol, tol) == "");
      }
    }
  }
}

TEST_CASE("Conv2D backward blocks with an empty batch give empty sums") {
  const ConvCase k{0, 5, 5, 3, 3, 3, 4, 1, 1, 1, 1, "SAME"};
  const Window2D w = WindowOf(k, DataFormat::kNhwc);
  auto filter = cpu::Conv2DBackwardFilter::Create(w, DType::kF32);
  REQUIRE(filter.ok());
  Tensor df(DType::kF32, w.FilterShape());
  auto state = (*filter)->CreateState();
  REQUIRE((*filter)->Run(state.get(), nullptr, nullptr, df.raw_data()).ok());
  CHECK(CompareTensors(df, ZerosLike(DType::kF32, w.FilterShape()), 0, 0) == "");
}

TEST_CASE("Pooling backward matches the naive backward, with and without workspace") {
  for (const PoolCase& k : PoolCases()) {
    for (DataFormat format : {DataFormat::kNhwc, DataFormat::kNchw}) {
      const Window2D w = WindowOf(k, format);
      for (bool is_max : {true, false}) {
        for (DType dtype : {DType::kF32, DType::kF64}) {
          INFO(absl::StrCat(is_max ? "max " : "avg ", DTypeName(dtype), " ", Describe(w)));
          const Tensor x = RandomTensor(dtype, w.InputShape(), 21, -4, 4);
          const Tensor dy = RandomTensor(dtype, w.OutputShape(), 22);
          const PoolReference ref = ReferencePool(w, is_max, x, &dy, dtype);
          const double tol = dtype == DType::kF32 ? 1e-5 : 1e-12;
          auto block = cpu::Pool2DBackward::Create(
              w, is_max ? cpu::plain::PoolKind::kMax : cpu::plain::PoolKind::kAvg, dtype);
          REQUIRE(block.ok());
          auto state = (*block)->CreateState();
          Tensor dx(dtype, w.InputShape());
          REQUIRE((*block)->Run(state.get(), x.raw_data(), dy.raw_data(), dx.raw_data()).ok());
          CHECK(CompareTensors(dx, ref.dx, tol, tol) == "");
          CHECK((*block)->has_workspace() == (is_max && dtype == DType::kF32 &&
                                              cpu::plain::PoolWork(w) > cpu::plain::kPoolWork));
          if ((*block)->has_workspace()) {
            Tensor y(dtype, w.OutputShape());
            Tensor workspace(DType::kU8, Shape{(*block)->workspace_bytes()});
            Tensor dx2(dtype, w.InputShape());
            REQUIRE((*block)
                        ->ForwardWithWorkspace(state.get(), x.raw_data(), y.raw_data(),
                                               workspace.raw_data())
                        .ok());
            CHECK(CompareTensors(y, ref.y, tol, tol) == "");
            REQUIRE((*block)
                        ->BackwardWithWorkspace(state.get(), workspace.raw_data(), dy.raw_data(),
                                                dx2.raw_data())
                        .ok());
            CHECK(CompareTensors(dx2, ref.dx, tol, tol) == "");
          }
        }
      }
    }
  }
}

// Runs the f64 batch-norm forward of the test's reference on (x, scale,
// offset) and returns sum(dy * y), the scalar whose gradient the backward
// block computes.
double BatchNormObjective(const Image& im, const Tensor& x, const Tensor& scale,
                          const Tensor& offset, const Tensor& mean, const Tensor& variance,
                          const Tensor& dy, bool training) {
  const BatchNormReference r =
      ReferenceBatchNorm(im, x, scale, offset, mean, variance, 0.001, 1.0, training);
  double total = 0;
  for (int64_t i = 0; i < dy.num_elements(); ++i) {
    total += dy.ElementAsDouble(i) * r.y.ElementAsDouble(i);
  }
  return total;
}

// Central differences of `objective` with respect to each element of `t`.
Tensor NumericGradient(Tensor t, const std::function<double(const Tensor&)>& objective) {
  const double h = 1e-6;
  Tensor grad(DType::kF64, t.shape());
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const double v = t.data<double>()[i];
    t.data<double>()[i] = v + h;
    const double up = objective(t);
    t.data<double>()[i] = v - h;
    const double down = objective(t);
    t.data<double>()[i] = v;
    grad.data<double>()[i] = (up - down) / (2 * h);
  }
  return grad;
}

TEST_CASE("Batch-norm backward matches finite differences (f64) and f32 matches f64") {
  for (DataFormat format : {DataFormat::kNhwc, DataFormat::kNchw}) {
    for (bool training : {true, false}) {
      INFO(absl::StrCat(FormatName(format), " training=", training));
      const Image im{format, 2, 3, 3, 2};  // n, c, h, w
      const Tensor x = RandomTensor(DType::kF64, im.shape(), 23, -2, 2);
      const Tensor scale = RandomTensor(DType::kF64, Shape{3}, 24, 0.5, 2);
      const Tensor offset = RandomTensor(DType::kF64, Shape{3}, 25);
      const Tensor dy = RandomTensor(DType::kF64, im.shape(), 26);
      Tensor mean = RandomTensor(DType::kF64, Shape{3}, 27);
      Tensor variance = RandomTensor(DType::kF64, Shape{3}, 28, 0.5, 2);
      if (training) {
        const BatchNormReference r =
            ReferenceBatchNorm(im, x, scale, offset, mean, variance, 0.001, 1.0, true);
        mean = r.saved_mean;
        variance = r.saved_variance;
      }
      auto block =
          cpu::BatchNormBackward::Create(im.shape(), format, 0.001f, training, DType::kF64);
      REQUIRE(block.ok());
      Tensor dx(DType::kF64, im.shape()), dscale(DType::kF64, Shape{3}),
          doffset(DType::kF64, Shape{3});
      auto state = (*block)->CreateState();
      REQUIRE((*block)
                  ->Run(state.get(), x.raw_data(), dy.raw_data(), scale.raw_data(), mean.raw_data(),
                        variance.raw_data(), dx.raw_data(), dscale.raw_data(), doffset.raw_data())
                  .ok());
      // In inference the statistics are constants, so they stay fixed.
      const Tensor num_dx = NumericGradient(x, [&](const Tensor& v) {
        return BatchNormObjective(im, v, scale, offset, mean, variance, dy, training);
      });
      const Tensor num_dscale = NumericGradient(scale, [&](const Tensor& v) {
        return BatchNormObjective(im, x, v, offset, mean, variance, dy, training);
      });
      const Tensor num_doffset = NumericGradient(offset, [&](const Tensor& v) {
        return BatchNormObjective(im, x, scale, v, mean, variance, dy, training);
      });
      CHECK(CompareTensors(dx, num_dx, 1e-6, 1e-6) == "");
      CHECK(CompareTensors(dscale, num_dscale, 1e-6, 1e-6) == "");
      CHECK(CompareTensors(doffset, num_doffset, 1e-6, 1e-6) == "");
    }
  }
  // Big enough for oneDNN in f32; checked against the f64 block.
  for (DataFormat format : {DataFormat::kNhwc, DataFormat::kNchw}) {
    for (bool training : {true, false}) {
      const Image im{format, 4, 16, 9, 9};
      const Tensor x = RandomTensor(DType::kF64, im.shape(), 29, -2, 2);
      const Tensor dy = RandomTensor(DType::kF64, im.shape(), 30);
      const Tensor scale = RandomTensor(DType::kF64, Shape{16}, 31, 0.5, 2);
      const Tensor offset = Tensor::Zeros(DType::kF64, Shape{16});
      const BatchNormReference r =
          ReferenceBatchNorm(im, x, scale, offset, scale, scale, 0.001, 1.0, true);
      std::vector<Tensor> grads[2];
      for (DType dtype : {DType::kF64, DType::kF32}) {
        auto block = cpu::BatchNormBackward::Create(im.shape(), format, 0.001f, training, dtype);
        REQUIRE(block.ok());
        const Tensor xs = Converted(x, dtype), dys = Converted(dy, dtype),
                     scales = Converted(scale, dtype), means = Converted(r.saved_mean, dtype),
                     variances = Converted(r.saved_variance, dtype);
        Tensor dx(dtype, im.shape()), dscale(dtype, Shape{16}), doffset(dtype, Shape{16});
        auto state = (*block)->CreateState();
        REQUIRE((*block)
                    ->Run(state.get(), xs.raw_data(), dys.raw_data(), scales.raw_data(),
                          means.raw_data(), variances.raw_data(), dx.raw_data(), dscale.raw_data(),
                          doffset.raw_data())
                    .ok());
        grads[dtype == DType::kF32] = {Converted(dx, DType::kF64), Converted(dscale, DType::kF64),
                                       Converted(doffset, DType::kF64)};
      }
      INFO(absl::StrCat(FormatName(format), " training=", training));
      for (int i = 0; i < 3; ++i) CHECK(CompareTensors(grads[1][i], grads[0][i], 1e-4, 1e-4) == "");
    }
  }
}

TEST_CASE("Activation gradients match their formulas") {
  struct Case {
    cpu::plain::EltwiseKind kind;
    const char* name;
    std::function<double(double)> forward;       // value the block receives, from x
    std::function<double(double, double)> grad;  // (dy, value) -> dx
  };
  const std::vector<Case> cases = {
      {cpu::plain::EltwiseKind::kRelu, "relu", [](double x) { return x; },
       [](double g, double x) { return x > 0 ? g : 0.0; }},
      {cpu::plain::EltwiseKind::kElu, "elu", [](double x) { return x > 0 ? x : std::expm1(x); },
       [](double g, double y) { return y > 0 ? g : g * (y + 1); }},
      {cpu::plain::EltwiseKind::kTanh, "tanh", [](double x) { return std::tanh(x); },
       [](double g, double y) { return g * (1 - y * y); }},
      {cpu::plain::EltwiseKind::kSigmoid, "sigmoid",
       [](double x) { return 1 / (1 + std::exp(-x)); },
       [](double g, double y) { return g * y * (1 - y); }},
  };
  for (const Case& c : cases) {
    for (int64_t n : {1, 7, 1000, 100000}) {
      for (DType dtype : {DType::kF32, DType::kF64, DType::kBF16}) {
        INFO(absl::StrCat(c.name, " ", DTypeName(dtype), " n=", n));
        Tensor value = RandomTensor(dtype, Shape{n}, 32, -3, 3);
        for (int64_t i = 0; i < n; ++i) SetElement(value, i, c.forward(value.ElementAsDouble(i)));
        const Tensor dy = RandomTensor(dtype, Shape{n}, 33);
        Tensor expected(dtype, Shape{n});
        for (int64_t i = 0; i < n; ++i) {
          SetElement(expected, i, c.grad(dy.ElementAsDouble(i), value.ElementAsDouble(i)));
        }
        auto block = cpu::EltwiseBackward::Create(c.kind, n, dtype);
        REQUIRE(block.ok());
        auto state = (*block)->CreateState();
        Tensor dx(dtype, Shape{n});
        REQUIRE((*block)->Run(state.get(), dy.raw_data(), value.raw_data(), dx.raw_data()).ok());
        const double tol = dtype == DType::kF32 ? 1e-6 : dtype == DType::kF64 ? 1e-14 : 1e-2;
        CHECK(CompareTensors(dx, expected, tol, tol) == "");
      }
    }
  }
}

TEST_CASE("Softmax backward matches finite differences (f64) and f32 matches f64") {
  for (bool log : {false, true}) {
    for (const std::array<int64_t, 2>& rc :
         {std::array<int64_t, 2>{3, 5}, std::array<int64_t, 2>{1, 1},
          std::array<int64_t, 2>{64, 1000}}) {
      const int64_t rows = rc[0], cols = rc[1];
      INFO(absl::StrCat(log ? "log " : "", rows, "x", cols));
      const Tensor x = RandomTensor(DType::kF64, Shape{rows, cols}, 34, -3, 3);
      const Tensor dy = RandomTensor(DType::kF64, Shape{rows, cols}, 35);
      const Tensor y = ReferenceSoftmax(x, log);
      std::vector<Tensor> dxs;
      for (DType dtype : {DType::kF64, DType::kF32}) {
        auto block = cpu::SoftmaxBackward::Create(rows, cols, log, dtype);
        REQUIRE(block.ok());
        auto state = (*block)->CreateState();
        const Tensor ys = Converted(y, dtype), dys = Converted(dy, dtype);
        Tensor dx(dtype, Shape{rows, cols});
        REQUIRE((*block)->Run(state.get(), ys.raw_data(), dys.raw_data(), dx.raw_data()).ok());
        dxs.push_back(Converted(dx, DType::kF64));
      }
      CHECK(CompareTensors(dxs[1], dxs[0], 1e-4, 1e-5) == "");
      if (rows * cols <= 16) {
        const Tensor numeric = NumericGradient(x, [&](const Tensor& v) {
          const Tensor yv = ReferenceSoftmax(v, log);
          double total = 0;
          for (int64_t i = 0; i < yv.num_elements(); ++i) {
            total += dy.ElementAsDouble(i) * yv.ElementAsDouble(i);
          }
          return total;
        });
        CHECK(CompareTensors(dxs[0], numeric, 1e-6, 1e-7) == "");
      }
    }
  }
}

}  // namespace
}  // namespace sluice
