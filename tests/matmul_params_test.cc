// The product shapes every device's MatMul and BatchMatMul kernels plan:
// transposes, broadcast and collapsed batch dims, per-batch offsets, errors.
#include "kernels/matmul_params.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "kernels/kernel.h"

namespace sluice {
namespace {

TEST_CASE("PlanMatMulShape reads m, k and n through the transposes") {
  absl::StatusOr<MatMulShape> p = PlanMatMulShape(Shape{3, 4}, Shape{5, 4}, false, true, false);
  REQUIRE(p.ok());
  CHECK(p->m == 3);
  CHECK(p->k == 4);
  CHECK(p->n == 5);
  CHECK(p->batch_count == 1);
  CHECK(p->batch.empty());
  CHECK(p->out_shape == Shape{3, 5});
  CHECK(p->macs() == 60);
}

TEST_CASE("PlanMatMulShape broadcasts and collapses batch dims") {
  // Batch dims [2,1,3] and [3,1] broadcast to [2,3,3]; each dim comes from
  // another operand than its neighbour, so none merge.
  absl::StatusOr<MatMulShape> p =
      PlanMatMulShape(Shape{2, 1, 3, 4, 5}, Shape{3, 1, 5, 6}, false, false, true);
  REQUIRE(p.ok());
  CHECK(p->out_shape == Shape{2, 3, 3, 4, 6});
  CHECK(p->batch_count == 18);
  CHECK(p->batch == std::vector<int64_t>{2, 3, 3});
  CHECK(p->a_batch == std::vector<int64_t>{2, 1, 3});
  CHECK(p->b_batch == std::vector<int64_t>{1, 3, 1});
  // Dims of size 1 drop out and neighbours with one pattern merge.
  p = PlanMatMulShape(Shape{2, 1, 3, 4, 5}, Shape{2, 1, 3, 5, 6}, false, false, true);
  REQUIRE(p.ok());
  CHECK(p->batch == std::vector<int64_t>{6});
  CHECK(p->a_batch == std::vector<int64_t>{6});
  CHECK(p->b_batch == std::vector<int64_t>{6});
}

TEST_CASE("PlanMatMulShape rejects shapes that do not multiply") {
  absl::StatusOr<MatMulShape> p = PlanMatMulShape(Shape{2, 3, 4}, Shape{4, 5}, false, false, false);
  CHECK(p.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(p.status().message()) == "MatMul needs 2-D inputs, got [2,3,4] and [4,5]");
  p = PlanMatMulShape(Shape{4}, Shape{4, 5}, false, false, true);
  CHECK(std::string(p.status().message()) == "inputs must have rank >= 2, got [4] and [4,5]");
  p = PlanMatMulShape(Shape{3, 4}, Shape{3, 5}, true, true, false);
  CHECK(std::string(p.status().message()) ==
        "inner dimensions differ: [3,4] vs [3,5] (transposed)");
  p = PlanMatMulShape(Shape{2, 3, 4}, Shape{3, 4, 5}, false, false, true);
  CHECK(std::string(p.status().message()) ==
        "batch dimensions do not broadcast: [2,3,4] vs [3,4,5]");
}

TEST_CASE("MatMulBatchOffsets repeats a broadcast operand") {
  absl::StatusOr<MatMulShape> p =
      PlanMatMulShape(Shape{2, 1, 3, 4}, Shape{1, 3, 4, 5}, false, false, true);
  REQUIRE(p.ok());
  std::vector<int64_t> a_offsets, b_offsets;
  MatMulBatchOffsets(*p, &a_offsets, &b_offsets);
  // Output batch (i, j): a's matrix i (12 elements each), b's matrix j (20).
  CHECK(a_offsets == std::vector<int64_t>{0, 0, 0, 12, 12, 12});
  CHECK(b_offsets == std::vector<int64_t>{0, 20, 40, 0, 20, 40});
}

TEST_CASE("MatMulShapeOf reads a node's transpose attrs") {
  Graph graph;
  auto placeholder = [&](const std::string& name, Shape shape) {
    NodeSpec spec{name, "Placeholder", {}, {}, {{"dtype", DType::kF32}, {"shape", shape}}, ""};
    return graph.AddNode(std::move(spec)).value();
  };
  Node* a = placeholder("a", Shape{4, 3});
  Node* b = placeholder("b", Shape{4, 5});
  NodeSpec spec{"product", "MatMul", {Output(a, 0), Output(b, 0)}, {}, {{"transpose_a", true}}, ""};
  Node* node = graph.AddNode(std::move(spec)).value();
  const KernelInit init{*node};
  absl::StatusOr<MatMulShape> p = MatMulShapeOf(init, /*batched=*/false);
  REQUIRE(p.ok());
  CHECK(p->m == 3);
  CHECK(p->k == 4);
  CHECK(p->n == 5);
  CHECK(p->transpose_a);
  CHECK_FALSE(p->transpose_b);
  CHECK(p->out_shape == Shape{3, 5});
}

}  // namespace
}  // namespace sluice
