// The fused-op kernels against the unfused sequence of existing kernels.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tests/kernel_test_util.h"

namespace sluice {
namespace {

using testing::CompareTensors;
using testing::RandomTensor;
using testing::RunCpuKernel;

Tensor Run1(const std::string& op, const std::vector<Tensor>& inputs, const AttrMap& attrs = {}) {
  auto out = RunCpuKernel(op, inputs, attrs);
  INFO(op << ": " << out.status().ToString());
  REQUIRE(out.ok());
  return (*out)[0];
}

// The unfused epilogue: BiasAdd, then Add, then the activation.
Tensor UnfusedEpilogue(Tensor y, const std::vector<std::string>& fused_ops, const Tensor& bias,
                       const Tensor& residual, const std::string& format, float alpha) {
  for (const std::string& op : fused_ops) {
    if (op == "BiasAdd") {
      y = Run1("BiasAdd", {y, bias}, {{"data_format", format}});
    } else if (op == "Add") {
      y = Run1("Add", {y, residual});
    } else if (op == "LeakyRelu") {
      y = Run1("LeakyRelu", {y}, {{"alpha", alpha}});
    } else {
      y = Run1(op, {y});
    }
  }
  return y;
}

const std::vector<std::vector<std::string>>& EpilogueCases() {
  static const auto* cases = new std::vector<std::vector<std::string>>{
      {"BiasAdd"},
      {"BiasAdd", "Relu"},
      {"BiasAdd", "Add"},
      {"BiasAdd", "Add", "Relu"},
      {"BiasAdd", "Relu6"},
      {"BiasAdd", "Elu"},
      {"BiasAdd", "Sigmoid"},
      {"BiasAdd", "Tanh"},
      {"BiasAdd", "Add", "LeakyRelu"},
  };
  return *cases;
}

bool HasAdd(const std::vector<std::string>& ops) {
  return std::find(ops.begin(), ops.end(), "Add") != ops.end();
}

TEST_CASE("_FusedMatMul matches MatMul, BiasAdd, Add and the activation") {
  struct Case {
    int64_t m, k, n;
    bool ta, tb;
  };
  const std::vector<Case> shapes = {{1, 784, 256, false, false}, {1, 256, 10, false, false},
                                    {128, 784, 256, false, false}, {3, 5, 7, false, false},
                                    {16, 32, 8, true, false},    {4, 64, 33, false, true},
                                    {2, 0, 3, false, false},
                                    // the streaming kernel: few rows, large weights
                                    {1, 1024, 600, false, false}, {3, 2048, 300, false, false}};
  uint64_t seed = 1;
  for (const Case& c : shapes) {
    for (const auto& ops : EpilogueCases()) {
      const Shape a_shape = c.ta ? Shape{c.k, c.m} : Shape{c.m, c.k};
      const Shape b_shape = c.tb ? Shape{c.n, c.k} : Shape{c.k, c.n};
      const Tensor a = RandomTensor(DType::kF32, a_shape, seed++);
      const Tensor b = RandomTensor(DType::kF32, b_shape, seed++);
      const Tensor bias = RandomTensor(DType::kF32, Shape{c.n}, seed++);
      const Tensor residual = RandomTensor(DType::kF32, Shape{c.m, c.n}, seed++);
      const AttrMap mm = {{"transpose_a", c.ta}, {"transpose_b", c.tb}};
      Tensor expected = UnfusedEpilogue(Run1("MatMul", {a, b}, mm), ops, bias, residual, "NHWC",
                                        0.1f);
      std::vector<Tensor> inputs = {a, b, bias};
      if (HasAdd(ops)) inputs.push_back(residual);
      AttrMap attrs = mm;
      attrs["fused_ops"] = ops;
      attrs["leakyrelu_alpha"] = 0.1f;
      Tensor actual = Run1("_FusedMatMul", inputs, attrs);
      INFO(c.m << "x" << c.k << "x" << c.n << " ta=" << c.ta << " tb=" << c.tb << " "
               << absl::StrJoin(ops, ","));
      CHECK(CompareTensors(actual, expected, 1e-5, 1e-5) == "");
    }
  }
}

TEST_CASE("_FusedConv2D matches Conv2D, BiasAdd, Add and the activation") {
  struct Case {
    int64_t n, h, w, c, kh, kw, o;
    std::string padding;
    int64_t stride;
  };
  const std::vector<Case> shapes = {{1, 28, 28, 1, 5, 5, 32, "SAME", 1},
                                    {1, 14, 14, 32, 5, 5, 64, "SAME", 1},
                                    {4, 9, 9, 16, 3, 3, 20, "VALID", 2},
                                    {2, 4, 4, 3, 3, 3, 5, "SAME", 1},  // plain loops
                                    {1, 6, 6, 2, 1, 1, 3, "VALID", 1}};
  uint64_t seed = 100;
  for (const std::string format : {"NHWC", "NCHW"}) {
    for (const Case& c : shapes) {
      for (const auto& ops : EpilogueCases()) {
        const Shape in = format == "NHWC" ? Shape{c.n, c.h, c.w, c.c} : Shape{c.n, c.c, c.h, c.w};
        const Tensor x = RandomTensor(DType::kF32, in, seed++);
        const Tensor f = RandomTensor(DType::kF32, Shape{c.kh, c.kw, c.c, c.o}, seed++);
        const Tensor bias = RandomTensor(DType::kF32, Shape{c.o}, seed++);
        const std::vector<int64_t> strides = format == "NHWC"
                                                 ? std::vector<int64_t>{1, c.stride, c.stride, 1}
                                                 : std::vector<int64_t>{1, 1, c.stride, c.stride};
        const AttrMap conv = {{"strides", strides}, {"padding", c.padding},
                              {"data_format", format}};
        const Tensor y = Run1("Conv2D", {x, f}, conv);
        const Tensor residual = RandomTensor(DType::kF32, y.shape(), seed++);
        Tensor expected = UnfusedEpilogue(y, ops, bias, residual, format, 0.3f);
        std::vector<Tensor> inputs = {x, f, bias};
        if (HasAdd(ops)) inputs.push_back(residual);
        AttrMap attrs = conv;
        attrs["fused_ops"] = ops;
        attrs["leakyrelu_alpha"] = 0.3f;
        Tensor actual = Run1("_FusedConv2D", inputs, attrs);
        INFO(format << " " << in.ToString() << " k" << c.kh << "x" << c.kw << "->" << c.o << " "
                    << absl::StrJoin(ops, ","));
        // Sums of up to 800 products differ in order from the unfused
        // kernel's: absolute slack for results that cancel to near zero.
        CHECK(CompareTensors(actual, expected, 1e-5, 1e-4) == "");
      }
    }
  }
}

TEST_CASE("_FusedElementwise matches the chain of unfused ops") {
  uint64_t seed = 500;
  for (const Shape& shape : {Shape{1}, Shape{7}, Shape{3, 5}, Shape{128, 256}, Shape{2, 3000}}) {
    const Tensor x = RandomTensor(DType::kF32, shape, seed++, 0.1, 2.0);
    const Tensor full = RandomTensor(DType::kF32, shape, seed++, 0.5, 1.5);
    const Tensor scalar = Tensor::Scalar(0.75f);
    // (x * 0.75 - full) then every unary op, with reversed operands.
    struct Step {
      std::string op;
      int operand;  // -1: unary; 0: scalar; 1: full
      bool reversed;
    };
    const std::vector<std::vector<Step>> chains = {
        {{"Mul", 0, false}, {"Sub", 1, false}, {"Relu", -1, false}},
        {{"Sub", 0, true}, {"Tanh", -1, false}, {"Div", 1, true}, {"Sigmoid", -1, false}},
        {{"Square", -1, false}, {"Sqrt", -1, false}, {"Log", -1, false}, {"Exp", -1, false},
         {"Rsqrt", -1, false}, {"Neg", -1, false}, {"Abs", -1, false}},
        {{"Add", 1, false}, {"Elu", -1, false}, {"Relu6", -1, false}, {"Softplus", -1, false},
         {"LeakyRelu", -1, false}, {"Maximum", 0, false}, {"Minimum", 1, true},
         {"Pow", 0, false}}};
    for (const auto& chain : chains) {
      Tensor expected = x;
      std::vector<std::string> ops;
      std::vector<int64_t> operands;
      std::vector<bool> reversed;
      std::vector<float> alphas;
      for (const Step& s : chain) {
        const Tensor* operand = s.operand == 0 ? &scalar : &full;
        if (s.operand < 0) {
          expected = s.op == "LeakyRelu" ? Run1(s.op, {expected}, {{"alpha", 0.05f}})
                                         : Run1(s.op, {expected});
        } else if (s.reversed) {
          expected = Run1(s.op, {*operand, expected});
        } else {
          expected = Run1(s.op, {expected, *operand});
        }
        ops.push_back(s.op);
        operands.push_back(s.operand);
        reversed.push_back(s.reversed);
        alphas.push_back(s.op == "LeakyRelu" ? 0.05f : 0.0f);
      }
      Tensor actual = Run1("_FusedElementwise", {x, scalar, full},
                           {{"fused_ops", ops},
                            {"operands", operands},
                            {"reversed", reversed},
                            {"alphas", alphas}});
      INFO(shape.ToString() << " " << absl::StrJoin(ops, ","));
      CHECK(CompareTensors(actual, expected, 1e-5, 1e-6) == "");
    }
  }
}

TEST_CASE("Fused ops reject malformed fused_ops") {
  const Tensor a = RandomTensor(DType::kF32, Shape{2, 3}, 1);
  const Tensor b = RandomTensor(DType::kF32, Shape{3, 4}, 2);
  const Tensor bias = RandomTensor(DType::kF32, Shape{4}, 3);
  CHECK_FALSE(RunCpuKernel("_FusedMatMul", {a, b, bias}, {{"fused_ops", std::vector<std::string>{
                                                                            "Relu"}}})
                  .ok());
  CHECK_FALSE(RunCpuKernel("_FusedMatMul", {a, b, bias},
                           {{"fused_ops", std::vector<std::string>{"BiasAdd", "Gelu"}}})
                  .ok());
  CHECK_FALSE(RunCpuKernel("_FusedMatMul", {a, b, bias},
                           {{"fused_ops", std::vector<std::string>{"BiasAdd", "Add"}}})
                  .ok());
  CHECK_FALSE(RunCpuKernel("_FusedElementwise", {a},
                           {{"fused_ops", std::vector<std::string>{"Softmax"}},
                            {"operands", std::vector<int64_t>{-1}},
                            {"reversed", std::vector<bool>{false}},
                            {"alphas", std::vector<float>{0}}})
                  .ok());
}

}  // namespace
}  // namespace sluice
