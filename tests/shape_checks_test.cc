// The shape checks every device's kernel factories make on a node.
#include "kernels/shape_checks.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>

#include "graph/graph.h"
#include "kernels/kernel.h"

namespace sluice {
namespace {

// ReluGrad(gradients, features) over placeholders of the given shapes.
const Node* ReluGradNode(Graph& graph, const Shape& gradients, const Shape& features) {
  auto placeholder = [&](const std::string& name, const Shape& shape) {
    NodeSpec spec{name, "Placeholder", {}, {}, {{"dtype", DType::kF32}, {"shape", shape}}, ""};
    absl::StatusOr<Node*> node = graph.AddNode(std::move(spec));
    REQUIRE(node.ok());
    return *node;
  };
  Node* g = placeholder("gradients", gradients);
  Node* f = placeholder("features", features);
  NodeSpec spec{"grad", "ReluGrad", {Output(g, 0), Output(f, 0)}, {}, {}, ""};
  absl::StatusOr<Node*> node = graph.AddNode(std::move(spec));
  INFO(node.status().ToString());
  REQUIRE(node.ok());
  return *node;
}

TEST_CASE("CheckOutputShape is an internal error on a mismatch") {
  Graph graph;
  const KernelInit init{*ReluGradNode(graph, Shape{2, 3}, Shape{2, 3})};
  CHECK(CheckOutputShape(init, 0, Shape{2, 3}).ok());
  const absl::Status status = CheckOutputShape(init, 0, Shape{6});
  CHECK(status.code() == absl::StatusCode::kInternal);
  CHECK(std::string(status.message()) == "output 0 has shape [2,3] but the kernel computes [6]");
}

TEST_CASE("CheckSameInputShapes names both inputs") {
  Graph graph;
  CHECK(CheckSameInputShapes(KernelInit{*ReluGradNode(graph, Shape{2, 3}, Shape{2, 3})}).ok());
  // Unknown dims are compatible in the graph but differ for a kernel.
  Graph other;
  const Node* node = ReluGradNode(other, Shape{2, -1}, Shape{2, 3});
  const absl::Status status = CheckSameInputShapes(KernelInit{*node});
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) ==
        "gradients [2,?] and features [2,3] must have the same shape");
}

}  // namespace
}  // namespace sluice
