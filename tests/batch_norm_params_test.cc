// The checks and attributes of FusedBatchNorm and FusedBatchNormGrad that
// every device's kernels share.
#include "kernels/batch_norm_params.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "kernels/kernel.h"
#include "tests/kernel_test_util.h"

namespace sluice {
namespace {

using testing::AddSingleOpNode;

Tensor F32(const Shape& shape) { return Tensor(DType::kF32, shape); }

TEST_CASE("FusedBatchNormParams reads the layout and the attrs") {
  Graph graph;
  const Node* node = AddSingleOpNode(graph, "FusedBatchNorm",
                                     {F32(Shape{2, 3, 4, 5}), F32(Shape{3}), F32(Shape{3}),
                                      F32(Shape{3}), F32(Shape{3})},
                                     {{"data_format", "NCHW"},
                                      {"epsilon", 0.01f},
                                      {"exponential_avg_factor", 0.5f},
                                      {"is_training", true}})
                         .value();
  absl::StatusOr<BatchNormParams> p = FusedBatchNormParams(KernelInit{*node});
  REQUIRE(p.ok());
  CHECK_FALSE(p->nhwc());
  CHECK(p->n == 2);
  CHECK(p->c == 3);
  CHECK(p->h == 4);
  CHECK(p->w == 5);
  CHECK(p->epsilon == 0.01f);
  CHECK(p->factor == 0.5f);
  CHECK(p->training);
}

TEST_CASE("FusedBatchNormParams lets training with factor 1 skip the statistics") {
  Graph graph;
  const Node* node = AddSingleOpNode(graph, "FusedBatchNorm",
                                     {F32(Shape{2, 4, 4, 3}), F32(Shape{3}), F32(Shape{3}),
                                      F32(Shape{0}), F32(Shape{0})},
                                     {{"is_training", true}})
                         .value();
  absl::StatusOr<BatchNormParams> p = FusedBatchNormParams(KernelInit{*node});
  REQUIRE(p.ok());
  CHECK(p->nhwc());
  CHECK(p->c == 3);
  CHECK(p->factor == 1.0f);
}

TEST_CASE("FusedBatchNormGradParams checks y_backprop against x") {
  Graph graph;
  const Node* node = AddSingleOpNode(graph, "FusedBatchNormGrad",
                                     {F32(Shape{2, 4, 4, 3}), F32(Shape{2, 4, 4, 3}), F32(Shape{3}),
                                      F32(Shape{3}), F32(Shape{3})},
                                     {{"epsilon", 0.001f}, {"is_training", false}})
                         .value();
  absl::StatusOr<BatchNormParams> p = FusedBatchNormGradParams(KernelInit{*node});
  REQUIRE(p.ok());
  CHECK(p->nhwc());
  CHECK(p->n == 2);
  CHECK(p->h == 4);
  CHECK(p->c == 3);
  CHECK(p->epsilon == 0.001f);
  CHECK_FALSE(p->training);
}

TEST_CASE("The batch norm checks name the offending shapes") {
  Graph graph;
  // A FusedBatchNorm node seen as a gradient: y_backprop (its x) differs
  // from x (its scale), which is not 4-D.
  const Node* node =
      AddSingleOpNode(
          graph, "FusedBatchNorm",
          {F32(Shape{2, 4, 4, 3}), F32(Shape{3}), F32(Shape{3}), F32(Shape{3}), F32(Shape{3})}, {})
          .value();
  absl::Status status = FusedBatchNormGradParams(KernelInit{*node}).status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) == "x must be 4-D, got [3]");
}

}  // namespace
}  // namespace sluice
