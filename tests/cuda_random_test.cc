// CUDA random kernels against the CPU ones: for the same graph seed, seed,
// seed2 and node name both draw the same values (bitwise for uniform values,
// to the last bits of the device's transcendentals for normal ones), step
// after step.
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/graph.h"
#include "kernels/device_context.h"
#include "kernels/variable_store.h"
#include "runtime/kernel_setup.h"
#include "tests/cuda_test_util.h"
#include "tests/kernel_test_util.h"

namespace sluice::testing {
namespace {

constexpr uint64_t kGraphSeed = 1234;

// A graph holding a Const shape and one random op.
struct RandomGraph {
  Graph graph;
  Node* node = nullptr;
};

std::unique_ptr<RandomGraph> MakeRandomGraph(const std::string& op, const Shape& shape, DType dtype,
                                             int64_t seed, int64_t seed2) {
  auto g = std::make_unique<RandomGraph>();
  std::vector<int64_t> dims;
  for (int i = 0; i < shape.rank(); ++i) dims.push_back(shape.dim(i));
  NodeSpec c;
  c.name = "shape";
  c.op = "Const";
  c.attrs = {{"value", Tensor::FromVector(dims)}, {"dtype", DType::kI64}};
  absl::StatusOr<Node*> shape_node = g->graph.AddNode(std::move(c));
  REQUIRE(shape_node.ok());
  NodeSpec spec;
  spec.name = "random";
  spec.op = op;
  spec.inputs = {Output(*shape_node, 0)};
  spec.attrs = {{"dtype", dtype}, {"seed", seed}, {"seed2", seed2}};
  absl::StatusOr<Node*> node = g->graph.AddNode(std::move(spec));
  INFO(node.status().message());
  REQUIRE(node.ok());
  g->node = *node;
  return g;
}

// `steps` consecutive outputs of one kernel of `node` on `device`, on the host.
std::vector<Tensor> Draw(const Node& node, DeviceType device, int steps) {
  cuda::CudaContext& context = TestCudaContext();
  const bool on_cuda = device == DeviceType::kCuda;
  VariableStore variables;
  KernelInit init{node, device, &variables, kGraphSeed, 1, on_cuda ? &context : nullptr};
  absl::StatusOr<std::unique_ptr<OpKernel>> kernel = GlobalKernelRegistry().CreateKernel(init);
  INFO(kernel.status().message());
  REQUIRE(kernel.ok());
  Tensor shape = *node.input(0).node->output_value(0);
  if (on_cuda) {
    absl::StatusOr<Tensor> on_device = CopyTensorToDevice(context, shape);
    REQUIRE(on_device.ok());
    shape = *on_device;
  }
  std::vector<Tensor> values;
  for (int step = 0; step < steps; ++step) {
    Tensor out(node.output_dtype(0), node.output_shape(0));
    if (on_cuda) {
      absl::StatusOr<Tensor> on_device =
          AllocateOnDevice(context, node.output_dtype(0), node.output_shape(0));
      REQUIRE(on_device.ok());
      out = *on_device;
    }
    const Tensor* in[] = {&shape};
    Tensor* outs[] = {&out};
    const absl::Status status = (*kernel)->Compute(KernelContext{in, outs, nullptr});
    INFO(status.message());
    REQUIRE(status.ok());
    if (on_cuda) {
      absl::StatusOr<Tensor> host = CopyTensorToHost(context, out);
      INFO(host.status().message());
      REQUIRE(host.ok());
      out = *host;
    }
    values.push_back(out);
  }
  return values;
}

// Uniform values are exact in every dtype. Normal values go through logf,
// cosf and sinf, whose device versions may differ from the host's in the
// last bit or two; after rounding to f16 or bf16 that is at most one ulp of
// the narrow type.
double Tolerance(const std::string& op, DType dtype) {
  if (op == "RandomUniform") return 0;
  switch (dtype) {
    case DType::kF64:
      return 1e-14;
    case DType::kF16:
      return 1e-3;
    case DType::kBF16:
      return 8e-3;
    default:
      return 2e-6;
  }
}

TEST_CASE("CUDA random ops draw the CPU's values, step after step") {
  const DType dtypes[] = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16};
  const int64_t sizes[] = {1, 7, 1000, 100001};
  struct Seeds {
    int64_t seed, seed2;
  };
  for (const char* op : {"RandomUniform", "RandomNormal", "TruncatedNormal"}) {
    for (DType dtype : dtypes) {
      for (int64_t n : sizes) {
        for (Seeds seeds : {Seeds{0, 0}, Seeds{5, 9}}) {
          INFO(op << " " << DTypeName(dtype) << " n=" << n << " seed=" << seeds.seed
                  << " seed2=" << seeds.seed2);
          auto g = MakeRandomGraph(op, Shape{n}, dtype, seeds.seed, seeds.seed2);
          const std::vector<Tensor> cpu = Draw(*g->node, DeviceType::kCpu, 2);
          const std::vector<Tensor> gpu = Draw(*g->node, DeviceType::kCuda, 2);
          const double tolerance = Tolerance(op, dtype);
          for (int step = 0; step < 2; ++step) {
            INFO("step " << step);
            if (tolerance == 0) {
              CHECK(gpu[step].BitwiseEquals(cpu[step]));
            }
            const std::string mismatch =
                CompareTensors(gpu[step], cpu[step], tolerance, tolerance * 1e-2);
            INFO(mismatch);
            CHECK(mismatch.empty());
          }
          // The second step draws fresh numbers on both devices.
          if (n > 1) CHECK_FALSE(gpu[1].BitwiseEquals(gpu[0]));
        }
      }
    }
  }
}

TEST_CASE("CUDA random ops fill multi-dimensional shapes as the CPU does") {
  for (const char* op : {"RandomUniform", "TruncatedNormal"}) {
    INFO(op);
    auto g = MakeRandomGraph(op, Shape{3, 5, 7}, DType::kF32, 11, 0);
    const std::vector<Tensor> cpu = Draw(*g->node, DeviceType::kCpu, 3);
    const std::vector<Tensor> gpu = Draw(*g->node, DeviceType::kCuda, 3);
    for (int step = 0; step < 3; ++step) {
      const std::string mismatch =
          CompareTensors(gpu[step], cpu[step], Tolerance(op, DType::kF32), 1e-8);
      INFO("step " << step << ": " << mismatch);
      CHECK(mismatch.empty());
    }
  }
}

TEST_CASE("CUDA truncated normal values stay within two standard deviations") {
  auto g = MakeRandomGraph("TruncatedNormal", Shape{100001}, DType::kF32, 3, 4);
  const Tensor t = Draw(*g->node, DeviceType::kCuda, 1)[0];
  double sum = 0;
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    const float v = t.data<float>()[i];
    REQUIRE(std::fabs(v) < 2.0f);
    sum += v;
  }
  CHECK(std::fabs(sum / static_cast<double>(t.num_elements())) < 0.02);
}

TEST_CASE("An empty CUDA random output draws nothing") {
  auto g = MakeRandomGraph("RandomNormal", Shape{0, 4}, DType::kF32, 1, 2);
  const std::vector<Tensor> gpu = Draw(*g->node, DeviceType::kCuda, 1);
  CHECK(gpu[0].num_elements() == 0);
}

}  // namespace
}  // namespace sluice::testing
