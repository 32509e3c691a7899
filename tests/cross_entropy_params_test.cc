// The shape checks of the softmax cross-entropy losses that every device's
// kernels share.
#include "kernels/cross_entropy_params.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "kernels/kernel.h"
#include "tests/kernel_test_util.h"

namespace sluice {
namespace {

// A loss node of `op` over constants of `features` (f32) and `labels`.
const Node* LossNode(Graph& graph, const std::string& op, const Shape& features,
                     const Shape& labels, DType label_type) {
  return testing::AddSingleOpNode(graph, op,
                                  {Tensor(DType::kF32, features), Tensor(label_type, labels)}, {})
      .value();
}

TEST_CASE("SoftmaxCrossEntropyShape gives rows and classes") {
  Graph graph;
  const Node* node =
      LossNode(graph, "SoftmaxCrossEntropyWithLogits", Shape{4, 10}, Shape{4, 10}, DType::kF32);
  absl::StatusOr<CrossEntropyShape> shape = SoftmaxCrossEntropyShape(KernelInit{*node});
  REQUIRE(shape.ok());
  CHECK(shape->rows == 4);
  CHECK(shape->cols == 10);
  CHECK_FALSE(shape->wide_labels);
}

TEST_CASE("SparseSoftmaxCrossEntropyShape reads the label type") {
  Graph graph;
  const Node* node =
      LossNode(graph, "SparseSoftmaxCrossEntropyWithLogits", Shape{3, 7}, Shape{3}, DType::kI64);
  absl::StatusOr<CrossEntropyShape> shape = SparseSoftmaxCrossEntropyShape(KernelInit{*node});
  REQUIRE(shape.ok());
  CHECK(shape->rows == 3);
  CHECK(shape->cols == 7);
  CHECK(shape->wide_labels);
}

TEST_CASE("The cross-entropy checks name both shapes") {
  Graph graph;
  // A sparse node's shapes seen by the dense check: labels are not [B,C].
  const Node* node =
      LossNode(graph, "SparseSoftmaxCrossEntropyWithLogits", Shape{3, 7}, Shape{3}, DType::kI32);
  absl::Status status = SoftmaxCrossEntropyShape(KernelInit{*node}).status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) ==
        "logits and labels must be 2-D of one shape, got [3,7] and [3]");
  // And a dense node's seen by the sparse one.
  Graph dense_graph;
  const Node* dense =
      LossNode(dense_graph, "SoftmaxCrossEntropyWithLogits", Shape{3, 7}, Shape{3, 7}, DType::kF32);
  status = SparseSoftmaxCrossEntropyShape(KernelInit{*dense}).status();
  CHECK(std::string(status.message()) ==
        "logits must be 2-D and labels 1-D with the same first dim, got [3,7] and [3,7]");
}

}  // namespace
}  // namespace sluice
