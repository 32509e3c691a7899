// CUDA kernels of the nn family against the CPU ones: Conv2D, _FusedConv2D,
// MaxPool, AvgPool, FusedBatchNorm, Softmax and LogSoftmax.
//
// f16 and bf16 kernels are compared with the CPU's f32 kernel run on the
// same (rounded) values, since the CPU has no f16 kernels and its bf16 ones
// depend on the host's instruction set.
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

// Like CompareCudaWithCpu, for a CUDA kernel on `dtype`: the f32 inputs are
// rounded to `dtype` for the CUDA kernel, and the CPU's f32 kernel gets the
// rounded values back in f32. Other inputs (sizes) pass unchanged.
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

// Tolerances of a sum of products, by dtype: f32 within float rounding of
// the CPU's (FMA math, no TF32); 16-bit types accumulate in f32 and round
// the result once.
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

// Both kernels fail alike: same code, same message.
void CheckSameError(const std::string& op, const std::vector<Tensor>& inputs,
                    const AttrMap& attrs) {
  absl::StatusOr<std::vector<Tensor>> cpu = RunCpuKernel(op, inputs, attrs);
  absl::StatusOr<std::vector<Tensor>> gpu = RunCudaKernel(op, inputs, attrs);
  REQUIRE_FALSE(cpu.ok());
  REQUIRE_FALSE(gpu.ok());
  CHECK(gpu.status().code() == cpu.status().code());
  CHECK(std::string(gpu.status().message()) == std::string(cpu.status().message()));
}

const std::vector<DType> kTypes = {DType::kF32, DType::kF16, DType::kBF16};

// ---------------------------------------------------------------------------
// Convolution.

struct ConvCase {
  int64_t n, h, w, c, kh, kw, o;
  int64_t sh, sw;
  int64_t dh, dw;
  std::string padding;
  std::vector<int64_t> pads = {};  // top, bottom, left, right for EXPLICIT
};

// Odd sizes, every padding kind, symmetric and asymmetric (SAME with an
// extra row or column after the input; EXPLICIT), strides and dilations.
std::vector<ConvCase> ConvCases() {
  return {
      {2, 7, 7, 3, 3, 3, 5, 1, 1, 1, 1, "SAME"},  // symmetric SAME
      {2, 8, 8, 3, 3, 3, 5, 2, 2, 1, 1, "SAME"},  // pads 0/1: asymmetric
      {2, 8, 7, 3, 5, 5, 5, 2, 2, 1, 1, "SAME"},  // 5x5, asymmetric in h only
      {2, 9, 9, 3, 3, 3, 5, 2, 2, 1, 1, "VALID"},
      {2, 7, 7, 3, 1, 1, 5, 1, 1, 1, 1, "VALID"},  // 1x1
      {2, 7, 9, 3, 1, 1, 5, 2, 2, 1, 1, "SAME"},   // 1x1, stride 2
      {2, 7, 7, 3, 3, 3, 5, 1, 1, 1, 1, "EXPLICIT", {1, 2, 0, 3}},
      {2, 9, 9, 3, 5, 5, 5, 2, 2, 1, 1, "EXPLICIT", {2, 2, 1, 1}},
      {2, 9, 9, 3, 3, 3, 5, 1, 1, 2, 2, "SAME"},      // dilated, symmetric
      {2, 8, 9, 3, 3, 3, 5, 2, 1, 2, 1, "SAME"},      // dilated, asymmetric
      {1, 5, 5, 2, 7, 7, 3, 1, 1, 1, 1, "SAME"},      // window larger than input
      {4, 16, 16, 32, 3, 3, 64, 1, 1, 1, 1, "SAME"},  // big enough for real algorithms
  };
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

Shape InputShape(const ConvCase& k, bool nhwc) {
  return nhwc ? Shape{k.n, k.h, k.w, k.c} : Shape{k.n, k.c, k.h, k.w};
}

std::string Describe(const ConvCase& k, bool nhwc) {
  return absl::StrCat(nhwc ? "NHWC" : "NCHW", " in ", InputShape(k, nhwc).ToString(), " k", k.kh,
                      "x", k.kw, "->", k.o, " s", k.sh, "x", k.sw, " d", k.dh, "x", k.dw, " ",
                      k.padding);
}

TEST_CASE("CUDA Conv2D matches the CPU in both layouts, every padding and dtype") {
  uint64_t seed = 1;
  for (const ConvCase& k : ConvCases()) {
    for (bool nhwc : {true, false}) {
      const Tensor x = RandomTensor(DType::kF32, InputShape(k, nhwc), seed++);
      const Tensor f = RandomTensor(DType::kF32, Shape{k.kh, k.kw, k.c, k.o}, seed++);
      for (DType dtype : kTypes) {
        INFO(Describe(k, nhwc) << " " << DTypeName(dtype));
        CHECK(CompareInDType("Conv2D", {x, f}, ConvAttrs(k, nhwc), dtype, SumRtol(dtype),
                             SumRtol(dtype)) == "");
      }
    }
  }
}

TEST_CASE("CUDA Conv2D with empty dims gives an empty output or zeros") {
  const ConvCase k{2, 5, 5, 0, 3, 3, 4, 1, 1, 1, 1, "SAME"};
  for (bool nhwc : {true, false}) {
    INFO((nhwc ? "NHWC" : "NCHW"));
    // No input channels: every output is an empty sum.
    const Tensor x(DType::kF32, InputShape(k, nhwc));
    const Tensor f(DType::kF32, Shape{3, 3, 0, 4});
    auto out = RunCudaKernel("Conv2D", {x, f}, ConvAttrs(k, nhwc));
    REQUIRE(out.ok());
    REQUIRE((*out)[0].num_elements() == 2 * 5 * 5 * 4);
    for (float v : (*out)[0].ToVector<float>()) CHECK(v == 0.0f);
    // No batch: nothing to compute.
    const ConvCase empty{0, 5, 5, 3, 3, 3, 4, 1, 1, 1, 1, "SAME"};
    CHECK(CompareCudaWithCpu("Conv2D",
                             {Tensor(DType::kF32, InputShape(empty, nhwc)),
                              RandomTensor(DType::kF32, Shape{3, 3, 3, 4}, 5)},
                             ConvAttrs(empty, nhwc), 0, 0) == "");
  }
}

TEST_CASE("CUDA Conv2D rejects a filter of the wrong depth as the CPU does") {
  const ConvCase k{1, 5, 5, 3, 3, 3, 4, 1, 1, 1, 1, "SAME"};
  CheckSameError("Conv2D",
                 {RandomTensor(DType::kF32, InputShape(k, true), 1),
                  RandomTensor(DType::kF32, Shape{3, 3, 2, 4}, 2)},
                 ConvAttrs(k, true));
}

// ---------------------------------------------------------------------------
// _FusedConv2D.

TEST_CASE("CUDA _FusedConv2D matches the CPU for every epilogue") {
  const std::vector<std::vector<std::string>> epilogues = {
      {"BiasAdd"},
      {"BiasAdd", "Relu"},
      {"BiasAdd", "Relu6"},
      {"BiasAdd", "Elu"},
      {"BiasAdd", "Sigmoid"},
      {"BiasAdd", "Tanh"},
      {"BiasAdd", "LeakyRelu"},
      {"BiasAdd", "Add"},
      {"BiasAdd", "Add", "Relu"},
      {"BiasAdd", "Add", "Relu6"},
      {"BiasAdd", "Add", "Elu"},
      {"BiasAdd", "Add", "Sigmoid"},
      {"BiasAdd", "Add", "Tanh"},
      {"BiasAdd", "Add", "LeakyRelu"},
  };
  const std::vector<ConvCase> cases = {
      {2, 7, 7, 3, 3, 3, 5, 1, 1, 1, 1, "SAME"},
      {2, 8, 8, 3, 3, 3, 5, 2, 2, 1, 1, "SAME"},
      {2, 9, 9, 3, 1, 1, 5, 2, 2, 1, 1, "VALID"},
      {2, 7, 7, 3, 3, 3, 5, 1, 1, 1, 1, "EXPLICIT", {0, 1, 2, 1}},
  };
  uint64_t seed = 100;
  for (const ConvCase& k : cases) {
    for (bool nhwc : {true, false}) {
      const Tensor x = RandomTensor(DType::kF32, InputShape(k, nhwc), seed++);
      const Tensor f = RandomTensor(DType::kF32, Shape{k.kh, k.kw, k.c, k.o}, seed++);
      const Tensor bias = RandomTensor(DType::kF32, Shape{k.o}, seed++);
      auto y = RunCpuKernel("Conv2D", {x, f}, ConvAttrs(k, nhwc));
      REQUIRE(y.ok());
      const Tensor residual = RandomTensor(DType::kF32, (*y)[0].shape(), seed++);
      for (const auto& ops : epilogues) {
        std::vector<Tensor> inputs = {x, f, bias};
        if (ops.size() > 1 && ops[1] == "Add") inputs.push_back(residual);
        AttrMap attrs = ConvAttrs(k, nhwc);
        attrs["fused_ops"] = ops;
        attrs["leakyrelu_alpha"] = 0.3f;
        INFO(Describe(k, nhwc) << " " << absl::StrJoin(ops, ","));
        CHECK(CompareCudaWithCpu("_FusedConv2D", inputs, attrs, 1e-4, 1e-4) == "");
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Pooling.

struct PoolCase {
  int64_t n, h, w, c, kh, kw, sh, sw;
  std::string padding;
};

// Odd sizes; SAME with asymmetric padding (an extra row/column after the
// input), windows that overhang, VALID with inputs left over.
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

Shape PoolInputShape(const PoolCase& k, bool nhwc) {
  return nhwc ? Shape{k.n, k.h, k.w, k.c} : Shape{k.n, k.c, k.h, k.w};
}

TEST_CASE("CUDA MaxPool and AvgPool match the CPU in both layouts and every dtype") {
  uint64_t seed = 200;
  for (const PoolCase& k : PoolCases()) {
    for (bool nhwc : {true, false}) {
      const Tensor x = RandomTensor(DType::kF32, PoolInputShape(k, nhwc), seed++, -2, 2);
      for (DType dtype : kTypes) {
        INFO((nhwc ? "NHWC " : "NCHW ")
             << PoolInputShape(k, nhwc).ToString() << " k" << k.kh << "x" << k.kw << " s" << k.sh
             << "x" << k.sw << " " << k.padding << " " << DTypeName(dtype));
        // The maximum is one of the inputs: exact in every dtype.
        CHECK(CompareInDType("MaxPool", {x}, PoolAttrs(k, nhwc), dtype, 0, 0) == "");
        const double tol = dtype == DType::kF32 ? 1e-5 : SumRtol(dtype);
        CHECK(CompareInDType("AvgPool", {x}, PoolAttrs(k, nhwc), dtype, tol, tol) == "");
      }
    }
  }
}

TEST_CASE("CUDA AvgPool divides by the valid elements only") {
  // 3x3 SAME on a 2x2 image of ones: every window averages ones, so 1
  // everywhere (counting padding would give 4/9).
  const Tensor x = *Tensor::FromVector<float>({1, 1, 1, 1}, Shape{1, 2, 2, 1});
  const PoolCase k{1, 2, 2, 1, 3, 3, 1, 1, "SAME"};
  auto out = RunCudaKernel("AvgPool", {x}, PoolAttrs(k, true));
  REQUIRE(out.ok());
  CHECK((*out)[0].ToVector<float>() == std::vector<float>{1, 1, 1, 1});
}

TEST_CASE("CUDA pooling over an empty batch and bad ksize fail or succeed as on the CPU") {
  const PoolCase k{0, 5, 5, 3, 3, 3, 2, 2, "SAME"};
  for (const char* op : {"MaxPool", "AvgPool"}) {
    INFO(op);
    CHECK(CompareCudaWithCpu(op, {Tensor(DType::kF32, PoolInputShape(k, true))}, PoolAttrs(k, true),
                             0, 0) == "");
    AttrMap bad = PoolAttrs({1, 5, 5, 3, 3, 3, 2, 2, "SAME"}, true);
    bad["ksize"] = std::vector<int64_t>{2, 3, 3, 1};
    CheckSameError(op, {RandomTensor(DType::kF32, Shape{1, 5, 5, 3}, 1)}, bad);
  }
}

// ---------------------------------------------------------------------------
// FusedBatchNorm.

TEST_CASE("CUDA FusedBatchNorm matches the CPU in training and inference") {
  // {1, 1, 1, 3}: one element per channel, a biased variance of 0 and no
  // Bessel factor.
  const std::vector<std::array<int64_t, 4>> sizes = {
      // n, h, w, c
      {1, 1, 1, 3}, {2, 3, 5, 4}, {3, 1, 7, 1}, {2, 7, 7, 3}, {4, 9, 9, 33}, {8, 16, 16, 16}};
  uint64_t seed = 300;
  for (const auto& s : sizes) {
    for (bool nhwc : {true, false}) {
      const Shape shape = nhwc ? Shape{s[0], s[1], s[2], s[3]} : Shape{s[0], s[3], s[1], s[2]};
      const int64_t c = s[3];
      const Tensor x = RandomTensor(DType::kF32, shape, seed++, -2, 3);
      const Tensor scale = RandomTensor(DType::kF32, Shape{c}, seed++, 0.5, 2);
      const Tensor offset = RandomTensor(DType::kF32, Shape{c}, seed++);
      const Tensor mean = RandomTensor(DType::kF32, Shape{c}, seed++);
      const Tensor variance = RandomTensor(DType::kF32, Shape{c}, seed++, 0.5, 2);
      for (bool training : {true, false}) {
        for (float factor : {1.0f, 0.25f}) {
          INFO(shape.ToString() << (nhwc ? " NHWC" : " NCHW") << " training=" << training
                                << " factor=" << factor);
          const AttrMap attrs = {{"epsilon", 0.001f},
                                 {"exponential_avg_factor", factor},
                                 {"data_format", nhwc ? "NHWC" : "NCHW"},
                                 {"is_training", training}};
          CHECK(CompareCudaWithCpu("FusedBatchNorm", {x, scale, offset, mean, variance}, attrs,
                                   1e-4, 1e-4) == "");
        }
      }
    }
  }
}

TEST_CASE("CUDA FusedBatchNorm stores the biased variance and blends the unbiased one") {
  // Channel values 1 and 3: mean 2, biased variance 1, unbiased variance 2.
  const Tensor x = *Tensor::FromVector<float>({1, 3}, Shape{2, 1, 1, 1});
  const Tensor one = *Tensor::FromVector<float>({1}, Shape{1});
  const Tensor zero = *Tensor::FromVector<float>({0}, Shape{1});
  auto out = RunCudaKernel("FusedBatchNorm", {x, one, zero, zero, one},
                           {{"epsilon", 0.0f}, {"is_training", true}});
  REQUIRE(out.ok());
  const std::vector<float> y = (*out)[0].ToVector<float>();
  CHECK(y[0] == Approx(-1).margin(1e-6));
  CHECK(y[1] == Approx(1).margin(1e-6));
  CHECK((*out)[1].ToVector<float>()[0] == Approx(2).epsilon(1e-6));
  CHECK((*out)[2].ToVector<float>()[0] == Approx(2).epsilon(1e-6));
  CHECK((*out)[3].ToVector<float>()[0] == Approx(2).epsilon(1e-6));
  CHECK((*out)[4].ToVector<float>()[0] == Approx(1).epsilon(1e-6));
  // Blended with factor 0.25 from mean 0 and variance 1.
  auto blended =
      RunCudaKernel("FusedBatchNorm", {x, one, zero, zero, one},
                    {{"epsilon", 0.0f}, {"is_training", true}, {"exponential_avg_factor", 0.25f}});
  REQUIRE(blended.ok());
  CHECK((*blended)[1].ToVector<float>()[0] == Approx(0.5).epsilon(1e-6));
  CHECK((*blended)[2].ToVector<float>()[0] == Approx(1.25).epsilon(1e-6));
}

TEST_CASE("CUDA FusedBatchNorm of an empty batch gives NaN statistics") {
  const Tensor one = *Tensor::FromVector<float>({1, 1}, Shape{2});
  const Tensor zero = *Tensor::FromVector<float>({0, 0}, Shape{2});
  auto out = RunCudaKernel("FusedBatchNorm",
                           {Tensor(DType::kF32, Shape{0, 2, 2, 2}), one, zero, zero, one},
                           {{"is_training", true}});
  REQUIRE(out.ok());
  CHECK((*out)[0].shape() == Shape{0, 2, 2, 2});
  for (int i = 1; i <= 4; ++i) {
    INFO("output " << i);
    for (float v : (*out)[i].ToVector<float>()) CHECK(std::isnan(v));
  }
}

TEST_CASE("CUDA FusedBatchNorm rejects statistics of the wrong size as the CPU does") {
  const Tensor x = RandomTensor(DType::kF32, Shape{2, 3, 3, 4}, 1);
  const Tensor c4 = RandomTensor(DType::kF32, Shape{4}, 2, 0.5, 1);
  const Tensor c3 = RandomTensor(DType::kF32, Shape{3}, 3, 0.5, 1);
  CheckSameError("FusedBatchNorm", {x, c3, c4, c4, c4}, {{"is_training", false}});
}

// ---------------------------------------------------------------------------
// Softmax and LogSoftmax.

TEST_CASE("CUDA Softmax and LogSoftmax match the CPU over the last axis") {
  const std::vector<Shape> shapes = {Shape{7},       Shape{3, 5},  Shape{2, 3, 9},
                                     Shape{4, 1000}, Shape{33, 1}, Shape{0, 5}};
  uint64_t seed = 400;
  for (const Shape& shape : shapes) {
    const Tensor x = RandomTensor(DType::kF32, shape, seed++, -5, 5);
    for (DType dtype : kTypes) {
      INFO(shape.ToString() << " " << DTypeName(dtype));
      const double tol = dtype == DType::kF32 ? 1e-5 : SumRtol(dtype);
      CHECK(CompareInDType("Softmax", {x}, {}, dtype, tol, tol * 1e-2) == "");
      CHECK(CompareInDType("LogSoftmax", {x}, {}, dtype, tol, tol) == "");
    }
  }
}

TEST_CASE("CUDA Softmax stays finite for large logits") {
  const Tensor x = *Tensor::FromVector<float>({1000, 1001, 1002, -1000}, Shape{1, 4});
  CHECK(CompareCudaWithCpu("Softmax", {x}, {}, 1e-5, 1e-7) == "");
  CHECK(CompareCudaWithCpu("LogSoftmax", {x}, {}, 1e-5, 1e-5) == "");
}

}  // namespace
}  // namespace sluice::testing
