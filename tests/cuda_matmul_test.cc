// CUDA kernels of the matmul family (MatMul, BatchMatMul, _FusedMatMul)
// against the CPU ones.
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "tests/cuda_test_util.h"
#include "tests/kernel_test_util.h"

namespace sluice::testing {
namespace {

// f32 results of products accumulated in a different order.
constexpr double kF32Tol = 1e-4;

Tensor ToF32(const Tensor& t) {
  Tensor out(DType::kF32, t.shape());
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    out.data<float>()[i] = static_cast<float>(t.ElementAsDouble(i));
  }
  return out;
}

struct ProductCase {
  int64_t m, k, n;
};

const std::vector<ProductCase>& ProductCases() {
  static const auto* cases = new std::vector<ProductCase>{
      {1, 1, 1},    {7, 13, 5}, {1, 784, 256}, {128, 784, 256}, {33, 1, 17},
      {1000, 3, 7}, {5, 7, 1},  {2, 0, 3},     {0, 4, 5},       {4, 5, 0}};
  return *cases;
}

Shape AShape(const ProductCase& c, bool ta) { return ta ? Shape{c.k, c.m} : Shape{c.m, c.k}; }
Shape BShape(const ProductCase& c, bool tb) { return tb ? Shape{c.n, c.k} : Shape{c.k, c.n}; }

// `s` with its last two dims swapped.
Shape Swapped(const Shape& s) {
  Shape::Dims d(s.dims().begin(), s.dims().end());
  std::swap(d[d.size() - 1], d[d.size() - 2]);
  return Shape(absl::MakeConstSpan(d));
}

TEST_CASE("CUDA MatMul matches the CPU in f32 and f64 with every transpose") {
  uint64_t seed = 1;
  for (DType dtype : {DType::kF32, DType::kF64}) {
    for (const ProductCase& c : ProductCases()) {
      for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
          INFO(DTypeName(dtype) << " " << c.m << "x" << c.k << "x" << c.n << " ta=" << ta
                                << " tb=" << tb);
          const Tensor a = RandomTensor(dtype, AShape(c, ta), seed++);
          const Tensor b = RandomTensor(dtype, BShape(c, tb), seed++);
          const double tol = dtype == DType::kF32 ? kF32Tol : 1e-10;
          CHECK(CompareCudaWithCpu("MatMul", {a, b}, {{"transpose_a", ta}, {"transpose_b", tb}},
                                   tol, tol) == "");
        }
      }
    }
  }
}

TEST_CASE("CUDA MatMul and BatchMatMul of integers match the CPU, wrapping included") {
  uint64_t seed = 300;
  for (DType dtype : {DType::kI32, DType::kI64}) {
    // Small values give exact products; huge ones overflow and must wrap
    // exactly as on the CPU.
    for (double range : {8.0, 2e9}) {
      for (const ProductCase& c : ProductCases()) {
        if (c.m * c.k * c.n > 100000) continue;  // the plain kernel; keep the test short
        for (bool ta : {false, true}) {
          for (bool tb : {false, true}) {
            INFO(DTypeName(dtype) << " range " << range << " " << c.m << "x" << c.k << "x" << c.n
                                  << " ta=" << ta << " tb=" << tb);
            const Tensor a = RandomTensor(dtype, AShape(c, ta), seed++, -range, range);
            const Tensor b = RandomTensor(dtype, BShape(c, tb), seed++, -range, range);
            CHECK(CompareCudaWithCpu("MatMul", {a, b}, {{"transpose_a", ta}, {"transpose_b", tb}},
                                     0, 0) == "");
          }
        }
      }
    }
    for (const Shape& x_shape : {Shape{4, 7, 13}, Shape{2, 1, 7, 5}, Shape{3, 7, 5}}) {
      const Shape y_shape = x_shape.rank() == 4    ? Shape{1, 3, 5, 4}
                            : x_shape.dim(2) == 13 ? Shape{4, 13, 5}
                                                   : Shape{5, 4};
      for (bool adj_y : {false, true}) {
        INFO(DTypeName(dtype) << " " << x_shape.ToString() << " x " << y_shape.ToString()
                              << " adj_y=" << adj_y);
        const Tensor x = RandomTensor(dtype, x_shape, seed++, -8, 8);
        const Tensor y = RandomTensor(dtype, adj_y ? Swapped(y_shape) : y_shape, seed++, -8, 8);
        CHECK(CompareCudaWithCpu("BatchMatMul", {x, y}, {{"adj_y", adj_y}}, 0, 0) == "");
      }
    }
  }
}

// 16-bit products against the CPU's f32 product of the same (exactly
// widened) values: the CUDA kernel accumulates in f32 and rounds once.
std::string CompareHalfWithF32(const std::string& op, const Tensor& a, const Tensor& b,
                               const AttrMap& attrs) {
  const double tol = a.dtype() == DType::kF16 ? 2e-3 : 1.6e-2;
  auto expected = RunCpuKernel(op, {ToF32(a), ToF32(b)}, attrs);
  if (!expected.ok()) return std::string(expected.status().message());
  auto actual = RunCudaKernel(op, {a, b}, attrs);
  if (!actual.ok()) return std::string(actual.status().message());
  if ((*actual)[0].dtype() != a.dtype()) return "output dtype differs from the input's";
  return CompareTensors(ToF32((*actual)[0]), (*expected)[0], tol, tol);
}

TEST_CASE("CUDA MatMul in f16 and bf16 accumulates in f32") {
  uint64_t seed = 500;
  for (DType dtype : {DType::kF16, DType::kBF16}) {
    for (const ProductCase& c : ProductCases()) {
      for (bool ta : {false, true}) {
        for (bool tb : {false, true}) {
          INFO(DTypeName(dtype) << " " << c.m << "x" << c.k << "x" << c.n << " ta=" << ta
                                << " tb=" << tb);
          const Tensor a = RandomTensor(dtype, AShape(c, ta), seed++);
          const Tensor b = RandomTensor(dtype, BShape(c, tb), seed++);
          CHECK(CompareHalfWithF32("MatMul", a, b, {{"transpose_a", ta}, {"transpose_b", tb}}) ==
                "");
        }
      }
    }
  }
}

TEST_CASE("CUDA MatMul gives exact values on a known product") {
  // [[1,2,3],[4,5,6]] x [[1,0],[0,1],[1,1]] = [[4,5],[10,11]].
  const Tensor a = *Tensor::FromVector(std::vector<float>{1, 2, 3, 4, 5, 6}, Shape{2, 3});
  const Tensor b = *Tensor::FromVector(std::vector<float>{1, 0, 0, 1, 1, 1}, Shape{3, 2});
  auto out = RunCudaKernel("MatMul", {a, b});
  REQUIRE(out.ok());
  CHECK(CompareTensors((*out)[0],
                       *Tensor::FromVector(std::vector<float>{4, 5, 10, 11}, Shape{2, 2}), 0,
                       0) == "");
  // The same with both operands stored transposed.
  const Tensor at = *Tensor::FromVector(std::vector<float>{1, 4, 2, 5, 3, 6}, Shape{3, 2});
  const Tensor bt = *Tensor::FromVector(std::vector<float>{1, 0, 1, 0, 1, 1}, Shape{2, 3});
  auto out_t = RunCudaKernel("MatMul", {at, bt}, {{"transpose_a", true}, {"transpose_b", true}});
  REQUIRE(out_t.ok());
  CHECK(CompareTensors((*out_t)[0],
                       *Tensor::FromVector(std::vector<float>{4, 5, 10, 11}, Shape{2, 2}), 0,
                       0) == "");
}

struct BatchCase {
  Shape x, y;  // before adj_x / adj_y (the last two dims as [m, k] and [k, n])
};

// Equal batches (strided), one side without batch dims or with batch 1
// (stride 0), and broadcasts no single stride describes (pointer arrays).
const std::vector<BatchCase>& BatchCases() {
  static const auto* cases = new std::vector<BatchCase>{
      {Shape{2, 3, 64, 64}, Shape{2, 3, 64, 64}}, {Shape{4, 7, 13}, Shape{4, 13, 5}},
      {Shape{1, 1, 1}, Shape{1, 1, 1}},           {Shape{3, 7, 5}, Shape{5, 4}},
      {Shape{7, 5}, Shape{2, 3, 5, 4}},           {Shape{2, 3, 7, 5}, Shape{1, 1, 5, 4}},
      {Shape{1, 7, 5}, Shape{6, 5, 4}},           {Shape{2, 1, 7, 5}, Shape{1, 3, 5, 4}},
      {Shape{1, 3, 7, 5}, Shape{2, 1, 5, 4}},     {Shape{2, 1, 7, 5}, Shape{2, 3, 5, 4}},
      {Shape{4, 1, 2, 6, 5}, Shape{3, 1, 5, 2}},  {Shape{2, 0, 7, 5}, Shape{2, 1, 5, 4}},
      {Shape{2, 3, 7, 0}, Shape{2, 3, 0, 4}},
  };
  return *cases;
}

TEST_CASE("CUDA BatchMatMul matches the CPU with broadcast batches and adjoints") {
  uint64_t seed = 1000;
  for (DType dtype : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16}) {
    for (const BatchCase& c : BatchCases()) {
      for (bool adj_x : {false, true}) {
        for (bool adj_y : {false, true}) {
          INFO(DTypeName(dtype) << " " << c.x.ToString() << " x " << c.y.ToString()
                                << " adj_x=" << adj_x << " adj_y=" << adj_y);
          const Tensor x = RandomTensor(dtype, adj_x ? Swapped(c.x) : c.x, seed++);
          const Tensor y = RandomTensor(dtype, adj_y ? Swapped(c.y) : c.y, seed++);
          const AttrMap attrs = {{"adj_x", adj_x}, {"adj_y", adj_y}};
          if (dtype == DType::kF16 || dtype == DType::kBF16) {
            CHECK(CompareHalfWithF32("BatchMatMul", x, y, attrs) == "");
          } else {
            const double tol = dtype == DType::kF32 ? kF32Tol : 1e-10;
            CHECK(CompareCudaWithCpu("BatchMatMul", {x, y}, attrs, tol, tol) == "");
          }
        }
      }
    }
  }
}

// The same status (code and message) from both kernels.
void CheckSameError(const std::string& op, const std::vector<Tensor>& inputs,
                    const AttrMap& attrs) {
  const auto cpu = RunCpuKernel(op, inputs, attrs);
  const auto gpu = RunCudaKernel(op, inputs, attrs);
  REQUIRE_FALSE(cpu.ok());
  REQUIRE_FALSE(gpu.ok());
  CHECK(gpu.status().code() == cpu.status().code());
  CHECK(gpu.status().message() == cpu.status().message());
}

TEST_CASE("CUDA matmuls reject bad shapes and epilogues as the CPU does") {
  const Tensor a = RandomTensor(DType::kF32, Shape{3, 4}, 1);
  const Tensor b = RandomTensor(DType::kF32, Shape{5, 2}, 2);
  CheckSameError("MatMul", {a, b}, {});
  CheckSameError(
      "BatchMatMul",
      {RandomTensor(DType::kF32, Shape{2, 3, 4}, 3), RandomTensor(DType::kF32, Shape{3, 4, 2}, 4)},
      {});
  const Tensor w = RandomTensor(DType::kF32, Shape{4, 2}, 5);
  const Tensor bias = RandomTensor(DType::kF32, Shape{2}, 6);
  CheckSameError("_FusedMatMul", {a, w, bias}, {{"fused_ops", std::vector<std::string>{"Relu"}}});
  CheckSameError("_FusedMatMul", {a, w, bias},
                 {{"fused_ops", std::vector<std::string>{"BiasAdd", "Gelu"}}});
  CheckSameError("_FusedMatMul", {a, w, bias},
                 {{"fused_ops", std::vector<std::string>{"BiasAdd", "Add"}}});
}

std::vector<std::vector<std::string>> EpilogueCases() {
  std::vector<std::vector<std::string>> cases;
  for (bool add : {false, true}) {
    for (const char* activation : {"", "Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu"}) {
      std::vector<std::string> ops = {"BiasAdd"};
      if (add) ops.push_back("Add");
      if (*activation != '\0') ops.push_back(activation);
      cases.push_back(ops);
    }
  }
  return cases;
}

TEST_CASE("CUDA _FusedMatMul matches the CPU for every epilogue") {
  uint64_t seed = 2000;
  struct Case {
    int64_t m, k, n;
    bool ta, tb;
  };
  const std::vector<Case> cases = {
      {1, 784, 256, false, false}, {128, 784, 256, false, false}, {7, 13, 5, false, false},
      {16, 32, 8, true, false},    {4, 64, 33, false, true},      {9, 11, 3, true, true},
      {1, 1, 1, false, false},     {2, 0, 3, false, false},       {0, 3, 4, false, false}};
  for (const Case& c : cases) {
    for (const auto& ops : EpilogueCases()) {
      INFO(c.m << "x" << c.k << "x" << c.n << " ta=" << c.ta << " tb=" << c.tb << " "
               << absl::StrJoin(ops, ","));
      // Values around zero, scaled so activations see both signs and Relu6
      // clips on both sides.
      const Tensor a =
          RandomTensor(DType::kF32, c.ta ? Shape{c.k, c.m} : Shape{c.m, c.k}, seed++, -2, 2);
      const Tensor b =
          RandomTensor(DType::kF32, c.tb ? Shape{c.n, c.k} : Shape{c.k, c.n}, seed++, -2, 2);
      const Tensor bias = RandomTensor(DType::kF32, Shape{c.n}, seed++, -3, 3);
      std::vector<Tensor> inputs = {a, b, bias};
      if (ops.size() > 1 && ops[1] == "Add") {
        inputs.push_back(RandomTensor(DType::kF32, Shape{c.m, c.n}, seed++, -3, 3));
      }
      const AttrMap attrs = {{"transpose_a", c.ta},
                             {"transpose_b", c.tb},
                             {"fused_ops", ops},
                             {"leakyrelu_alpha", 0.1f}};
      CHECK(CompareCudaWithCpu("_FusedMatMul", inputs, attrs, kF32Tol, kF32Tol) == "");
    }
  }
}

TEST_CASE("CUDA _FusedMatMul gives exact values on a known product") {
  // [[1,2],[3,4]] x I + [10,-20] (+ [[1,1],[1,1]]) then Relu.
  const Tensor a = *Tensor::FromVector(std::vector<float>{1, 2, 3, 4}, Shape{2, 2});
  const Tensor eye = *Tensor::FromVector(std::vector<float>{1, 0, 0, 1}, Shape{2, 2});
  const Tensor bias = Tensor::FromVector(std::vector<float>{10, -20});
  const Tensor ones = *Tensor::FromVector(std::vector<float>{1, 1, 1, 1}, Shape{2, 2});
  auto relu = RunCudaKernel("_FusedMatMul", {a, eye, bias},
                            {{"fused_ops", std::vector<std::string>{"BiasAdd", "Relu"}}});
  REQUIRE(relu.ok());
  CHECK(CompareTensors((*relu)[0],
                       *Tensor::FromVector(std::vector<float>{11, 0, 13, 0}, Shape{2, 2}), 0,
                       0) == "");
  auto add = RunCudaKernel("_FusedMatMul", {a, eye, bias, ones},
                           {{"fused_ops", std::vector<std::string>{"BiasAdd", "Add"}}});
  REQUIRE(add.ok());
  CHECK(CompareTensors((*add)[0],
                       *Tensor::FromVector(std::vector<float>{12, -17, 14, -15}, Shape{2, 2}), 0,
                       0) == "");
  auto leaky = RunCudaKernel(
      "_FusedMatMul", {a, eye, bias},
      {{"fused_ops", std::vector<std::string>{"BiasAdd", "LeakyRelu"}}, {"leakyrelu_alpha", 0.5f}});
  REQUIRE(leaky.ok());
  CHECK(CompareTensors((*leaky)[0],
                       *Tensor::FromVector(std::vector<float>{11, -9, 13, -8}, Shape{2, 2}), 0,
                       0) == "");
}

}  // namespace
}  // namespace sluice::testing
