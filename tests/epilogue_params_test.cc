// The epilogue of the fused convolution and matmul ops, as every device
// parses it from fused_ops and leakyrelu_alpha.
#include "kernels/epilogue_params.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "kernels/kernel.h"

namespace sluice {
namespace {

// A _FusedMatMul node of [2,3] x [3,4] with `fused_ops`, `alpha` and
// `num_args` extra [4] inputs (bias, residual...).
absl::StatusOr<Epilogue> EpilogueOf(const std::vector<std::string>& fused_ops, float alpha,
                                    int num_args) {
  Graph graph;
  auto placeholder = [&](const std::string& name, const Shape& shape) {
    NodeSpec spec{name, "Placeholder", {}, {}, {{"dtype", DType::kF32}, {"shape", shape}}, ""};
    return graph.AddNode(std::move(spec));
  };
  NodeSpec spec{"fused",
                "_FusedMatMul",
                {},
                {},
                {{"fused_ops", fused_ops}, {"leakyrelu_alpha", alpha}, {"num_args", num_args}},
                ""};
  const std::vector<Shape> shapes = {Shape{2, 3}, Shape{3, 4}, Shape{4}, Shape{2, 4}};
  for (int i = 0; i < 2 + num_args; ++i) {
    absl::StatusOr<Node*> input = placeholder("input" + std::to_string(i), shapes[i]);
    if (!input.ok()) return input.status();
    spec.inputs.emplace_back(*input, 0);
  }
  absl::StatusOr<Node*> node = graph.AddNode(std::move(spec));
  if (!node.ok()) return node.status();
  return ParseEpilogue(KernelInit{**node});
}

TEST_CASE("ParseEpilogue reads bias, residual and activation") {
  absl::StatusOr<Epilogue> e = EpilogueOf({"BiasAdd"}, 0.2f, 1);
  REQUIRE(e.ok());
  CHECK_FALSE(e->add);
  CHECK(e->activation == Activation::kNone);
  e = EpilogueOf({"BiasAdd", "Add", "LeakyRelu"}, 0.3f, 2);
  REQUIRE(e.ok());
  CHECK(e->add);
  CHECK(e->activation == Activation::kLeakyRelu);
  CHECK(e->alpha == 0.3f);
  e = EpilogueOf({"BiasAdd", "Relu6"}, 0.2f, 1);
  REQUIRE(e.ok());
  CHECK_FALSE(e->add);
  CHECK(e->activation == Activation::kRelu6);
}

TEST_CASE("ParseEpilogue rejects other sequences") {
  // Graph validation rejects these on the fused ops, so they are parsed
  // from the attribute values directly.
  auto message = [](const std::vector<std::string>& fused_ops) {
    const absl::StatusOr<Epilogue> e = ParseEpilogue(fused_ops, 0.2f);
    CHECK(e.status().code() == absl::StatusCode::kUnimplemented);
    return std::string(e.status().message());
  };
  CHECK(message({}) == "fused_ops must start with BiasAdd");
  CHECK(message({"Add", "BiasAdd"}) == "fused_ops must start with BiasAdd");
  CHECK(message({"BiasAdd", "Softsign"}) == "unsupported fused activation Softsign");
  CHECK(message({"BiasAdd", "Relu", "Tanh"}) == "unsupported fused_ops");
  const absl::StatusOr<Epilogue> e = ParseEpilogue({"BiasAdd", "Add", "Elu"}, 0.5f);
  REQUIRE(e.ok());
  CHECK(e->add);
  CHECK(e->activation == Activation::kElu);
  CHECK(e->alpha == 0.5f);
}

}  // namespace
}  // namespace sluice
