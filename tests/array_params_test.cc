// The index geometry every device's array kernels share: transposes, slices,
// strided slices, padding and the pieces of Concat/Split, with their errors.
#include "kernels/array_params.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "graph/tensor.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

Tensor I32s(const std::vector<int32_t>& v) { return Tensor::FromVector(v); }
Tensor I64s(const std::vector<int64_t>& v) { return Tensor::FromVector(v); }

TEST_CASE("CheckIndexedShape compares the computed dims with the output") {
  const std::vector<int64_t> dims = {2, 3};
  CHECK(CheckIndexedShape(dims, Shape{2, 3}).ok());
  const absl::Status status = CheckIndexedShape(dims, Shape{3, 2});
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) ==
        "the index values give shape [2,3], but the output has shape [3,2]");
}

TEST_CASE("TransposeDims maps every output dim to its input dim") {
  std::vector<int64_t> out(3), source(3);
  REQUIRE(TransposeDims(I32s({2, 0, 1}), Shape{4, 5, 6}, Shape{6, 4, 5}, absl::MakeSpan(out),
                        absl::MakeSpan(source))
              .ok());
  CHECK(out == std::vector<int64_t>{6, 4, 5});
  CHECK(source == std::vector<int64_t>{2, 0, 1});
}

TEST_CASE("TransposeDims rejects what is not a permutation") {
  std::vector<int64_t> out(3), source(3);
  absl::Status status = TransposeDims(I64s({0, 1}), Shape{4, 5, 6}, Shape{4, 5, 6},
                                      absl::MakeSpan(out), absl::MakeSpan(source));
  CHECK(std::string(status.message()) == "perm has 2 entries for input of shape [4,5,6]");
  status = TransposeDims(I32s({0, 2, 0}), Shape{4, 5, 6}, Shape{4, 6, 4}, absl::MakeSpan(out),
                         absl::MakeSpan(source));
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) == "perm is not a permutation of [0, 3): entry 2 is 0");
  status = TransposeDims(I32s({0, 3, 1}), Shape{4, 5, 6}, Shape{4, 6, 5}, absl::MakeSpan(out),
                         absl::MakeSpan(source));
  CHECK(std::string(status.message()) == "perm is not a permutation of [0, 3): entry 1 is 3");
  status = TransposeDims(I32s({1, 0, 2}), Shape{4, 5, 6}, Shape{4, 5, 6}, absl::MakeSpan(out),
                         absl::MakeSpan(source));
  CHECK_THAT(std::string(status.message()), Contains("give shape [5,4,6]"));
}

TEST_CASE("SliceDims reads begin and size, -1 running to the end") {
  std::vector<int64_t> starts(2), out(2);
  REQUIRE(SliceDims(I32s({1, 2}), I32s({2, -1}), Shape{4, 5}, Shape{2, 3}, absl::MakeSpan(starts),
                    absl::MakeSpan(out))
              .ok());
  CHECK(starts == std::vector<int64_t>{1, 2});
  CHECK(out == std::vector<int64_t>{2, 3});
}

TEST_CASE("SliceDims rejects slices that do not fit") {
  std::vector<int64_t> starts(2), out(2);
  absl::Status status = SliceDims(I32s({1}), I32s({2}), Shape{4, 5}, Shape{2, 5},
                                  absl::MakeSpan(starts), absl::MakeSpan(out));
  CHECK(std::string(status.message()) ==
        "begin and size must have 2 entries for input of shape [4,5]");
  status = SliceDims(I32s({3, 0}), I32s({2, 5}), Shape{4, 5}, Shape{2, 5}, absl::MakeSpan(starts),
                     absl::MakeSpan(out));
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) ==
        "begin[0] = 3 and size[0] = 2 do not fit dimension 0 of input [4,5]");
}

TEST_CASE("PadDims adds the padding and says whether there is any") {
  std::vector<int64_t> before(2), out(2);
  absl::StatusOr<bool> padded = PadDims(I32s({1, 2, 0, 3}), Shape{4, 5}, Shape{7, 8},
                                        absl::MakeSpan(before), absl::MakeSpan(out));
  REQUIRE(padded.ok());
  CHECK(*padded);
  CHECK(before == std::vector<int64_t>{1, 0});
  CHECK(out == std::vector<int64_t>{7, 8});
  padded = PadDims(I64s({0, 0, 0, 0}), Shape{4, 5}, Shape{4, 5}, absl::MakeSpan(before),
                   absl::MakeSpan(out));
  REQUIRE(padded.ok());
  CHECK_FALSE(*padded);
}

TEST_CASE("PadDims rejects malformed or negative paddings") {
  std::vector<int64_t> before(2), out(2);
  absl::StatusOr<bool> padded =
      PadDims(I32s({1, 2}), Shape{4, 5}, Shape{7, 5}, absl::MakeSpan(before), absl::MakeSpan(out));
  CHECK(std::string(padded.status().message()) ==
        "paddings must have shape [2,2] for input of shape [4,5]");
  padded = PadDims(I32s({0, 0, -1, 2}), Shape{4, 5}, Shape{4, 6}, absl::MakeSpan(before),
                   absl::MakeSpan(out));
  CHECK(std::string(padded.status().message()) == "paddings[1] = [-1,2] must be non-negative");
}

TEST_CASE("StridedSliceRanges follows TensorFlow's rules") {
  std::vector<SliceRange> ranges(2);
  SECTION("forward and backward steps, negative bounds") {
    // x[1:-1:2, ::-1] of a [5, 4] input.
    SliceMasks masks;
    masks.begin = 2;
    masks.end = 2;
    REQUIRE(StridedSliceRanges(I32s({1, 0}), I32s({-1, 0}), I32s({2, -1}), masks, Shape{5, 4},
                               Shape{2, 4}, absl::MakeSpan(ranges))
                .ok());
    CHECK(ranges[0].start == 1);
    CHECK(ranges[0].step == 2);
    CHECK(ranges[0].count == 2);
    CHECK(ranges[1].start == 3);
    CHECK(ranges[1].step == -1);
    CHECK(ranges[1].count == 4);
  }
  SECTION("an ellipsis, a new axis and a shrunk axis") {
    // x[..., tf.newaxis, -1] of a [5, 4] input: every row, the last column.
    SliceMasks masks;
    masks.ellipsis = 1;
    masks.new_axis = 2;
    masks.shrink = 4;
    REQUIRE(StridedSliceRanges(I32s({0, 0, -1}), I32s({0, 0, 0}), I32s({1, 1, 1}), masks,
                               Shape{5, 4}, Shape{5, 1}, absl::MakeSpan(ranges))
                .ok());
    CHECK(ranges[0].start == 0);
    CHECK(ranges[0].count == 5);
    CHECK(ranges[1].start == 3);
    CHECK(ranges[1].count == 1);
  }
  SECTION("errors") {
    absl::Status status = StridedSliceRanges(I32s({0, 0}), I32s({1}), I32s({1, 1}), {}, Shape{5, 4},
                                             Shape{1, 4}, absl::MakeSpan(ranges));
    CHECK(std::string(status.message()) ==
          "begin, end and strides must have the same length, got 2, 1 and 2");
    status = StridedSliceRanges(I32s({0, 0}), I32s({1, 1}), I32s({1, 0}), {}, Shape{5, 4},
                                Shape{1, 1}, absl::MakeSpan(ranges));
    CHECK(std::string(status.message()) == "strides[1] is 0");
    SliceMasks shrink;
    shrink.shrink = 1;
    status = StridedSliceRanges(I32s({5}), I32s({6}), I32s({1}), shrink, Shape{5, 4}, Shape{4},
                                absl::MakeSpan(ranges));
    CHECK(std::string(status.message()) ==
          "index 5 is out of bounds for dimension 0 of input [5,4], which has size 5");
    status = StridedSliceRanges(I32s({0, 0, 0}), I32s({1, 1, 1}), I32s({1, 1, 1}), {}, Shape{5, 4},
                                Shape{1, 1}, absl::MakeSpan(ranges));
    CHECK(std::string(status.message()) ==
          "the slice spec indexes more dimensions than input [5,4] has");
    status = StridedSliceRanges(I32s({0}), I32s({2}), I32s({1}), {}, Shape{5, 4}, Shape{3, 4},
                                absl::MakeSpan(ranges));
    CHECK(std::string(status.message()) ==
          "the slice selects 8 elements, but the output has shape [3,4]");
  }
}

TEST_CASE("CheckPieceShape compares everything but the axis") {
  CHECK(CheckPieceShape(Shape{2, 3, 4}, Shape{2, 7, 4}, 1).ok());
  const absl::Status status = CheckPieceShape(Shape{2, 3, 5}, Shape{2, 7, 4}, 1);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(status.message()) ==
        "shape [2,3,5] does not match [2,7,4] outside dimension 1");
  CHECK_FALSE(CheckPieceShape(Shape{2, 3}, Shape{2, 7, 4}, 1).ok());
}

TEST_CASE("PlanGather splits params around the axis") {
  // params [2,3,4,5] gathered on axis -2 with indices [2,6], one batch dim.
  absl::StatusOr<GatherLayout> g = PlanGather(Shape{2, 3, 4, 5}, Shape{2, 6}, -2, 1);
  REQUIRE(g.ok());
  CHECK(g->batch == 2);
  CHECK(g->outer == 3);
  CHECK(g->n == 4);
  CHECK(g->inner == 5);
  CHECK(g->m == 6);
  g = PlanGather(Shape{4, 5}, Shape{3, 2}, 0, 0);
  REQUIRE(g.ok());
  CHECK(g->batch == 1);
  CHECK(g->outer == 1);
  CHECK(g->m == 6);
  CHECK(g->inner == 5);
}

TEST_CASE("PlanGather rejects an axis or batch_dims that do not fit") {
  absl::StatusOr<GatherLayout> g = PlanGather(Shape{4, 5}, Shape{3}, 2, 0);
  CHECK(g.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(g.status().message()) == "axis 2 is out of range for params [4,5]");
  g = PlanGather(Shape{4, 5}, Shape{4, 3}, 0, -1);
  CHECK(std::string(g.status().message()) == "batch_dims 1 does not fit axis 0 and indices [4,3]");
}

}  // namespace
}  // namespace sluice
