// CUDA kernels of the nn_grad family against the CPU ones:
// Conv2DBackpropInput, Conv2DBackpropFilter, MaxPoolGrad, AvgPoolGrad and
// FusedBatchNormGrad.
//
// f16 and bf16 kernels are compared with the CPU's f32 kernel run on the
// same (rounded) values.
#include <array>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tests/cuda_test_util.h"
#include "tests/kernel_test_util.h"

namespace sluice::testing {
namespace {

// `t` converted element-wise (through f32) to `dtype` (f32, f16 or bf16).
Tensor Converted(const Tensor& t, DType dtype) {
  Tensor out(dtype, t.shape());
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const float v = static_cast<float>(t.ElementAsDouble(i));
    switch (dtype) {
      case DType::kF32:
        out.data<float>()[i] = v;
        break;
      case DType::kF16:
        out.data<Half>()[i] = FloatToHalf(v);
        break;
      case DType::kBF16:
        out.data<BFloat16>()[i] = FloatToBFloat16(v);
        break;
      default:
        FAIL("Converted: unsupported dtype");
        break;
    }
  }
  return out;
}

// Like CompareCudaWithCpu, for a CUDA kernel on `dtype`: f32 inputs are
// rounded to `dtype` for the CUDA kernel and the CPU's f32 kernel gets the
// rounded values in f32; other inputs (sizes) pass unchanged.
std::string CompareInDType(const std::string& op, const std::vector<Tensor>& inputs,
                           const AttrMap& attrs, DType dtype, double rtol, double atol) {
  if (dtype == DType::kF32) return CompareCudaWithCpu(op, inputs, attrs, rtol, atol);
  std::vector<Tensor> narrow, wide;
  for (const Tensor& t : inputs) {
    if (t.dtype() != DType::kF32) {
      narrow.push_back(t);
      wide.push_back(t);
      continue;
    }
    narrow.push_back(Converted(t, dtype));
    wide.push_back(Converted(narrow.back(), DType::kF32));
  }
  absl::StatusOr<std::vector<Tensor>> cpu = RunCpuKernel(op, wide, attrs);
  if (!cpu.ok()) return absl::StrCat("CPU kernel: ", cpu.status().ToString());
  absl::StatusOr<std::vector<Tensor>> gpu = RunCudaKernel(op, narrow, attrs);
  if (!gpu.ok()) return absl::StrCat("CUDA kernel: ", gpu.status().ToString());
  if (cpu->size() != gpu->size()) return "different numbers of outputs";
  for (size_t i = 0; i < cpu->size(); ++i) {
    if ((*gpu)[i].dtype() != dtype) {
      return absl::StrCat(op, " output ", i, " is ", DTypeName((*gpu)[i].dtype()));
    }
    const std::string mismatch =
        CompareTensors(Converted((*gpu)[i], DType::kF32), (*cpu)[i], rtol, atol);
    if (!mismatch.empty()) return absl::StrCat(op, " output ", i, ": ", mismatch);
  }
  return "";
}

double SumRtol(DType dtype) {
  switch (dtype) {
    case DType::kF16:
      return 5e-3;
    case DType::kBF16:
      return 2e-2;
    default:
      return 1e-4;
  }
}

const std::vector<DType> kTypes = {DType::kF32, DType::kF16, DType::kBF16};

Tensor Sizes(const Shape& shape) {
  std::vector<int32_t> values;
  for (int i = 0; i < shape.rank(); ++i) values.push_back(static_cast<int32_t>(shape.dim(i)));
  return Tensor::FromVector(values);
}

// ---------------------------------------------------------------------------
// Convolution gradients.

struct ConvCase {
  int64_t n, h, w, c, kh, kw, o;
  int64_t sh, sw;
  int64_t dh, dw;
  std::string padding;
  std::vector<int64_t> pads = {};  // top, bottom, left, right for EXPLICIT
};

std::vector<ConvCase> ConvCases() {
  return {
      {2, 7, 7, 3, 3, 3, 5, 1, 1, 1, 1, "SAME"},
      {2, 8, 8, 3, 3, 3, 5, 2, 2, 1, 1, "SAME"},  // asymmetric padding
      {2, 8, 7, 3, 5, 5, 5, 2, 2, 1, 1, "SAME"},  // asymmetric in h only
      {2, 9, 9, 3, 3, 3, 5, 2, 2, 1, 1, "VALID"},
      {2, 10, 9, 3, 3, 3, 5, 2, 2, 1, 1, "VALID"},  // a row left over
      {2, 7, 7, 3, 1, 1, 5, 1, 1, 1, 1, "VALID"},
      {2, 7, 9, 3, 1, 1, 5, 2, 2, 1, 1, "SAME"},
      {2, 7, 7, 3, 3, 3, 5, 1, 1, 1, 1, "EXPLICIT", {1, 2, 0, 3}},
      {2, 9, 9, 3, 5, 5, 5, 2, 2, 1, 1, "EXPLICIT", {2, 2, 1, 1}},
      {2, 9, 9, 3, 3, 3, 5, 1, 1, 2, 2, "SAME"},
      {2, 8, 9, 3, 3, 3, 5, 2, 1, 2, 1, "SAME"},
      {4, 16, 16, 32, 3, 3, 64, 1, 1, 1, 1, "SAME"},
  };
}

// Same window rules as the CPU (cpu/window.cc), for the output shape.
int64_t OutSize(int64_t in, int64_t k, int64_t s, int64_t d, const std::string& padding,
                int64_t before, int64_t after) {
  const int64_t eff = (k - 1) * d + 1;
  if (padding == "SAME") return (in + s - 1) / s;
  if (padding == "VALID") before = after = 0;
  return (in + before + after - eff + s) / s;
}

struct ConvShapes {
  Shape input, filter, output;
};

ConvShapes ShapesOf(const ConvCase& k, bool nhwc) {
  const int64_t pt = k.pads.empty() ? 0 : k.pads[0], pb = k.pads.empty() ? 0 : k.pads[1];
  const int64_t pl = k.pads.empty() ? 0 : k.pads[2], pr = k.pads.empty() ? 0 : k.pads[3];
  const int64_t oh = OutSize(k.h, k.kh, k.sh, k.dh, k.padding, pt, pb);
  const int64_t ow = OutSize(k.w, k.kw, k.sw, k.dw, k.padding, pl, pr);
  return {nhwc ? Shape{k.n, k.h, k.w, k.c} : Shape{k.n, k.c, k.h, k.w}, Shape{k.kh, k.kw, k.c, k.o},
          nhwc ? Shape{k.n, oh, ow, k.o} : Shape{k.n, k.o, oh, ow}};
}

AttrMap ConvAttrs(const ConvCase& k, bool nhwc) {
  AttrMap attrs = {{"strides", nhwc ? std::vector<int64_t>{1, k.sh, k.sw, 1}
                                    : std::vector<int64_t>{1, 1, k.sh, k.sw}},
                   {"dilations", nhwc ? std::vector<int64_t>{1, k.dh, k.dw, 1}
                                      : std::vector<int64_t>{1, 1, k.dh, k.dw}},
                   {"padding", k.padding},
                   {"data_format", nhwc ? "NHWC" : "NCHW"}};
  if (k.padding == "EXPLICIT") {
    attrs["explicit_paddings"] =
        nhwc ? std::vector<int64_t>{0, 0, k.pads[0], k.pads[1], k.pads[2], k.pads[3], 0, 0}
             : std::vector<int64_t>{0, 0, 0, 0, k.pads[0], k.pads[1], k.pads[2], k.pads[3]};
  }
  return attrs;
}

TEST_CASE("CUDA Conv2DBackpropInput and Conv2DBackpropFilter match the CPU") {
  uint64_t seed = 1;
  for (const ConvCase& k : ConvCases()) {
    for (bool nhwc : {true, false}) {
      const ConvShapes s = ShapesOf(k, nhwc);
      // The expected output shape agrees with the CPU's forward op.
      const Tensor x = RandomTensor(DType::kF32, s.input, seed++);
      const Tensor f = RandomTensor(DType::kF32, s.filter, seed++);
      auto y = RunCpuKernel("Conv2D", {x, f}, ConvAttrs(k, nhwc));
      REQUIRE(y.ok());
      REQUIRE((*y)[0].shape() == s.output);
      const Tensor dy = RandomTensor(DType::kF32, s.output, seed++);
      for (DType dtype : kTypes) {
        INFO((nhwc ? "NHWC " : "NCHW ") << s.input.ToString() << " k" << k.kh << "x" << k.kw << "->"
                                        << k.o << " s" << k.sh << "x" << k.sw << " d" << k.dh << "x"
                                        << k.dw << " " << k.padding << " " << DTypeName(dtype));
        const double tol = SumRtol(dtype);
        CHECK(CompareInDType("Conv2DBackpropInput", {Sizes(s.input), f, dy}, ConvAttrs(k, nhwc),
                             dtype, tol, tol) == "");
        // Filter gradients sum over the batch and the image: more terms.
        CHECK(CompareInDType("Conv2DBackpropFilter", {x, Sizes(s.filter), dy}, ConvAttrs(k, nhwc),
                             dtype, tol, 4 * tol) == "");
      }
    }
  }
}

TEST_CASE("CUDA convolution gradients with empty dims give zeros") {
  const ConvCase k{0, 5, 5, 3, 3, 3, 4, 1, 1, 1, 1, "SAME"};
  for (bool nhwc : {true, false}) {
    INFO((nhwc ? "NHWC" : "NCHW"));
    const ConvShapes s = ShapesOf(k, nhwc);
    const Tensor x(DType::kF32, s.input);
    const Tensor f = RandomTensor(DType::kF32, s.filter, 1);
    const Tensor dy(DType::kF32, s.output);
    // No batch: the filter gradient is an empty sum.
    auto df = RunCudaKernel("Conv2DBackpropFilter", {x, Sizes(s.filter), dy}, ConvAttrs(k, nhwc));
    REQUIRE(df.ok());
    REQUIRE((*df)[0].shape() == s.filter);
    for (float v : (*df)[0].ToVector<float>()) CHECK(v == 0.0f);
    CHECK(CompareCudaWithCpu("Conv2DBackpropInput", {Sizes(s.input), f, dy}, ConvAttrs(k, nhwc), 0,
                             0) == "");
  }
}

TEST_CASE("CUDA Conv2DBackpropInput rejects a mismatched out_backprop as the CPU does") {
  const ConvCase k{1, 4, 4, 2, 3, 3, 3, 1, 1, 1, 1, "SAME"};
  const std::vector<Tensor> inputs = {Sizes(Shape{1, 4, 4, 2}),
                                      RandomTensor(DType::kF32, Shape{3, 3, 2, 3}, 1),
                                      RandomTensor(DType::kF32, Shape{1, 3, 4, 3}, 2)};
  auto cpu = RunCpuKernel("Conv2DBackpropInput", inputs, ConvAttrs(k, true));
  auto gpu = RunCudaKernel("Conv2DBackpropInput", inputs, ConvAttrs(k, true));
  REQUIRE_FALSE(cpu.ok());
  REQUIRE_FALSE(gpu.ok());
  CHECK(gpu.status().code() == cpu.status().code());
  CHECK(std::string(gpu.status().message()) == std::string(cpu.status().message()));
}

// ---------------------------------------------------------------------------
// Pooling gradients.

struct PoolCase {
  int64_t n, h, w, c, kh, kw, sh, sw;
  std::string padding;
};

std::vector<PoolCase> PoolCases() {
  return {{2, 7, 7, 3, 3, 3, 2, 2, "SAME"},  {2, 8, 8, 3, 3, 3, 2, 2, "SAME"},
          {2, 7, 9, 3, 2, 2, 2, 2, "VALID"}, {2, 9, 9, 3, 3, 3, 1, 1, "SAME"},
          {2, 7, 7, 5, 1, 3, 1, 2, "SAME"},  {2, 3, 3, 3, 5, 5, 1, 1, "SAME"},
          {2, 8, 7, 3, 2, 2, 2, 2, "SAME"},  {1, 9, 9, 4, 3, 3, 3, 3, "VALID"}};
}

AttrMap PoolAttrs(const PoolCase& k, bool nhwc) {
  return {{"ksize",
           nhwc ? std::vector<int64_t>{1, k.kh, k.kw, 1} : std::vector<int64_t>{1, 1, k.kh, k.kw}},
          {"strides",
           nhwc ? std::vector<int64_t>{1, k.sh, k.sw, 1} : std::vector<int64_t>{1, 1, k.sh, k.sw}},
          {"padding", k.padding},
          {"data_format", nhwc ? "NHWC" : "NCHW"}};
}

TEST_CASE("CUDA MaxPoolGrad and AvgPoolGrad match the CPU in both layouts and every dtype") {
  uint64_t seed = 100;
  for (const PoolCase& k : PoolCases()) {
    for (bool nhwc : {true, false}) {
      const Shape in = nhwc ? Shape{k.n, k.h, k.w, k.c} : Shape{k.n, k.c, k.h, k.w};
      const Tensor x = RandomTensor(DType::kF32, in, seed++, -2, 2);
      auto y = RunCpuKernel("MaxPool", {x}, PoolAttrs(k, nhwc));
      REQUIRE(y.ok());
      const Tensor dy = RandomTensor(DType::kF32, (*y)[0].shape(), seed++);
      for (DType dtype : kTypes) {
        INFO((nhwc ? "NHWC " : "NCHW ")
             << in.ToString() << " k" << k.kh << "x" << k.kw << " s" << k.sh << "x" << k.sw << " "
             << k.padding << " " << DTypeName(dtype));
        // orig_output rounds exactly: it is one of the rounded inputs.
        const double tol = dtype == DType::kF32 ? 1e-5 : SumRtol(dtype);
        CHECK(CompareInDType("MaxPoolGrad", {x, (*y)[0], dy}, PoolAttrs(k, nhwc), dtype, tol,
                             tol) == "");
        CHECK(CompareInDType("AvgPoolGrad", {Sizes(in), dy}, PoolAttrs(k, nhwc), dtype, tol, tol) ==
              "");
      }
    }
  }
}

TEST_CASE("CUDA MaxPoolGrad sends a tied window's gradient to its first maximum") {
  // One 2x2 window of equal values: all of dy goes to element 0.
  const Tensor x = *Tensor::FromVector<float>({5, 5, 5, 5}, Shape{1, 2, 2, 1});
  const Tensor y = *Tensor::FromVector<float>({5}, Shape{1, 1, 1, 1});
  const Tensor dy = *Tensor::FromVector<float>({3}, Shape{1, 1, 1, 1});
  const PoolCase k{1, 2, 2, 1, 2, 2, 2, 2, "VALID"};
  auto out = RunCudaKernel("MaxPoolGrad", {x, y, dy}, PoolAttrs(k, true));
  REQUIRE(out.ok());
  CHECK((*out)[0].ToVector<float>() == std::vector<float>{3, 0, 0, 0});
  CHECK(CompareCudaWithCpu("MaxPoolGrad", {x, y, dy}, PoolAttrs(k, true), 0, 0) == "");
}

// ---------------------------------------------------------------------------
// FusedBatchNormGrad.

TEST_CASE("CUDA FusedBatchNormGrad matches the CPU in training and inference") {
  const std::vector<std::array<int64_t, 4>> sizes = {// n, h, w, c
                                                     {2, 3, 5, 4},
                                                     {3, 1, 7, 1},
                                                     {2, 7, 7, 3},
                                                     {4, 9, 9, 33}};
  uint64_t seed = 200;
  for (const auto& s : sizes) {
    for (bool nhwc : {true, false}) {
      const Shape shape = nhwc ? Shape{s[0], s[1], s[2], s[3]} : Shape{s[0], s[3], s[1], s[2]};
      const int64_t c = s[3];
      const Tensor x = RandomTensor(DType::kF32, shape, seed++, -2, 3);
      const Tensor dy = RandomTensor(DType::kF32, shape, seed++);
      const Tensor scale = RandomTensor(DType::kF32, Shape{c}, seed++, 0.5, 2);
      const Tensor offset = RandomTensor(DType::kF32, Shape{c}, seed++);
      for (bool training : {true, false}) {
        const AttrMap attrs = {{"epsilon", 0.001f},
                               {"data_format", nhwc ? "NHWC" : "NCHW"},
                               {"is_training", training}};
        Tensor mean = RandomTensor(DType::kF32, Shape{c}, seed++);
        Tensor variance = RandomTensor(DType::kF32, Shape{c}, seed++, 0.5, 2);
        if (training) {  // the forward op's reserve spaces: batch statistics
          auto fwd = RunCpuKernel("FusedBatchNorm", {x, scale, offset, mean, variance}, attrs);
          REQUIRE(fwd.ok());
          mean = (*fwd)[3];
          variance = (*fwd)[4];
        }
        INFO(shape.ToString() << (nhwc ? " NHWC" : " NCHW") << " training=" << training);
        CHECK(CompareCudaWithCpu("FusedBatchNormGrad", {dy, x, scale, mean, variance}, attrs, 1e-4,
                                 1e-4) == "");
      }
    }
  }
}

TEST_CASE("CUDA FusedBatchNormGrad of an empty batch gives zero parameter gradients") {
  const Tensor empty(DType::kF32, Shape{0, 2, 2, 3});
  const Tensor scale = RandomTensor(DType::kF32, Shape{3}, 1, 0.5, 2);
  const Tensor mean = RandomTensor(DType::kF32, Shape{3}, 2);
  const Tensor variance = RandomTensor(DType::kF32, Shape{3}, 3, 0.5, 2);
  for (bool training : {true, false}) {
    INFO("training=" << training);
    auto out = RunCudaKernel("FusedBatchNormGrad", {empty, empty, scale, mean, variance},
                             {{"is_training", training}});
    REQUIRE(out.ok());
    CHECK((*out)[1].ToVector<float>() == std::vector<float>{0, 0, 0});
    CHECK((*out)[2].ToVector<float>() == std::vector<float>{0, 0, 0});
  }
}

}  // namespace
}  // namespace sluice::testing
