// Array and random ops: signatures, flags, shape inference (known, partially
// known and unknown shapes; constant and fed shape-like inputs), the values of
// Shape and Size, and the errors of shape functions and builders.
#include <catch2/catch.hpp>
#include <limits>
#include <string>
#include <vector>

#include "graph/op_def.h"
#include "graph/ops/array.h"
#include "graph/ops/random.h"
#include "graph/ops/state.h"
#include "graph/scope.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

constexpr int64_t kU = kUnknownDim;

std::string ErrorOf(const Scope& scope) { return std::string(scope.status().message()); }

// The first error of building `build(root)` on a fresh graph.
template <typename Fn>
std::string BuildError(Fn build) {
  Scope root = Scope::NewRootScope();
  build(root);
  return root.ok() ? std::string("<no error>") : ErrorOf(root);
}

Output F32(const Scope& scope, const Shape& shape) {
  return Placeholder(scope, DType::kF32, shape);
}

// A fed i32 vector of `length` entries (unknown values).
Output FedInts(const Scope& scope, const Shape& shape) {
  return Placeholder(scope, DType::kI32, shape);
}

Output I64Const(const Scope& scope, std::vector<int64_t> values) { return Const(scope, values); }

TEST_CASE("array and random ops declare their flags") {
  const OpRegistry& registry = OpRegistry::Global();
  for (const char* name : {"Reshape", "Transpose", "Concat", "Split", "Slice", "StridedSlice",
                           "Squeeze", "ExpandDims", "Pad", "Tile", "BroadcastTo", "Gather"}) {
    INFO(name);
    const OpDef* op = registry.Find(name);
    REQUIRE(op != nullptr);
    CHECK(op->is_differentiable());
    CHECK_FALSE(op->is_stateful());
  }
  for (const char* name : {"OneHot", "Fill", "ZerosLike", "OnesLike", "Shape", "Size"}) {
    INFO(name);
    const OpDef* op = registry.Find(name);
    REQUIRE(op != nullptr);
    CHECK_FALSE(op->is_differentiable());
    CHECK_FALSE(op->is_stateful());
  }
  for (const char* name : {"RandomUniform", "RandomNormal", "TruncatedNormal"}) {
    INFO(name);
    const OpDef* op = registry.Find(name);
    REQUIRE(op != nullptr);
    CHECK_FALSE(op->is_differentiable());
    CHECK(op->is_stateful());
  }
}

TEST_CASE("integer-list builders make i32 constants in the op's name scope") {
  Scope root = Scope::NewRootScope();
  Scope layer = root.NewSubScope("layer");
  Output x = F32(root.WithOpName("x"), Shape{2, 3});
  Output r = Reshape(layer.WithOpName("r"), x, {3, 2});
  REQUIRE(root.ok());
  CHECK(r.node->name() == "layer/r");
  Output shape = r.node->input(1);
  CHECK(shape.node->name() == "layer/Const");
  CHECK(shape.node->op() == "Const");
  CHECK(shape.dtype() == DType::kI32);
  CHECK(shape.node->output_value(0)->ToVector<int32_t>() == std::vector<int32_t>{3, 2});
  CHECK(r.node->attr("Tshape").dtype() == DType::kI32);

  // Values beyond i32 make an i64 constant.
  Output big = IndexConst(root, {int64_t{1} << 40, 1});
  REQUIRE(root.ok());
  CHECK(big.dtype() == DType::kI64);
  CHECK(IndexScalar(root, -3).dtype() == DType::kI32);
  CHECK(IndexScalar(root, int64_t{1} << 33).dtype() == DType::kI64);
}

TEST_CASE("builders do nothing after an earlier error") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{2, 3});
  Output bad = Reshape(root.WithOpName("bad"), x, {4});
  REQUIRE_FALSE(root.ok());
  CHECK_FALSE(bad.valid());
  const int nodes = root.graph()->num_nodes();
  CHECK_FALSE(Transpose(root, x, {1, 0}).valid());
  CHECK(Split(root, 0, x, 2).empty());
  CHECK(root.graph()->num_nodes() == nodes);
  CHECK_THAT(ErrorOf(root), Contains("bad (Reshape)"));
}

// ---------------------------------------------------------------- Reshape

TEST_CASE("Reshape with a constant shape") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{2, 3, 4});
  CHECK(Reshape(root, x, {4, 6}).shape().ToString() == "[4,6]");
  CHECK(Reshape(root, x, {-1, 4}).shape().ToString() == "[6,4]");
  CHECK(Reshape(root, x, {2, -1, 2}).shape().ToString() == "[2,6,2]");
  CHECK(Reshape(root, x, {-1}).shape().ToString() == "[24]");
  CHECK(Reshape(root, F32(root, Shape{1, 1}), std::vector<int64_t>{}).shape().ToString() == "[]");
  CHECK(Reshape(root, F32(root, Shape{2, 0}), {0, -1}).shape().ToString() == "[0,?]");
  Output r64 = Reshape(root, x, I64Const(root, {24}));
  REQUIRE(root.ok());
  CHECK(r64.shape().ToString() == "[24]");
  CHECK(r64.dtype() == DType::kF32);
  CHECK(r64.node->attr("T").dtype() == DType::kF32);
  CHECK(r64.node->attr("Tshape").dtype() == DType::kI64);
}

TEST_CASE("Reshape of partially known and unknown-rank inputs") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{kU, 3, 4});
  CHECK(Reshape(root, x, {-1, 12}).shape().ToString() == "[?,12]");
  CHECK(Reshape(root, x, {2, -1}).shape().ToString() == "[2,?]");
  CHECK(Reshape(root, x, {24}).shape().ToString() == "[24]");
  Output any = F32(root, Shape::UnknownRank());
  CHECK(Reshape(root, any, {2, -1}).shape().ToString() == "[2,?]");
  CHECK(Reshape(root, any, {5, 7}).shape().ToString() == "[5,7]");
  REQUIRE(root.ok());
}

TEST_CASE("Reshape with a fed shape") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{2, 3});
  CHECK(Reshape(root, x, FedInts(root, Shape{3})).shape().ToString() == "[?,?,?]");
  CHECK(Reshape(root, x, FedInts(root, Shape{kU})).shape().ToString() == "<unknown>");
  CHECK(Reshape(root, x, FedInts(root, Shape::UnknownRank())).shape().ToString() == "<unknown>");
  // A 1-D result must hold every element.
  CHECK(Reshape(root, x, FedInts(root, Shape{1})).shape().ToString() == "[6]");
  CHECK(Reshape(root, F32(root, Shape{kU, 3}), FedInts(root, Shape{1})).shape().ToString() ==
        "[?]");
  // The Shape of a fully known tensor is a constant.
  Output like = ShapeOf(root, F32(root, Shape{3, 2}));
  CHECK(Reshape(root, x, like).shape().ToString() == "[3,2]");
  REQUIRE(root.ok());
}

TEST_CASE("Reshape errors") {
  auto reshape = [](std::vector<int64_t> from, std::vector<int64_t> to) {
    return BuildError(
        [&](const Scope& root) { Reshape(root.WithOpName("r"), F32(root, Shape(from)), to); });
  };
  CHECK_THAT(reshape({2, 3}, {4, 2}),
             Contains("r (Reshape): cannot reshape a tensor of shape [2,3] (6 elements) into "
                      "shape [4,2] (8 elements)"));
  CHECK_THAT(reshape({2, 3}, {4, -1}),
             Contains("r (Reshape): cannot reshape a tensor of shape [2,3] (6 elements) into "
                      "shape [4,-1]: 6 is not divisible by 4"));
  CHECK_THAT(reshape({2, 3}, {0, -1}),
             Contains("r (Reshape): cannot reshape a tensor of shape [2,3] (6 elements) into "
                      "shape [0,-1] (0 elements)"));
  CHECK_THAT(reshape({kU, 3, 4}, {5, 7}),
             Contains("r (Reshape): cannot reshape a tensor of shape [?,3,4] into shape [5,7] "
                      "(35 elements): 35 is not a multiple of 12"));
  CHECK_THAT(reshape({2, 3}, {-1, -1}),
             Contains("r (Reshape): shape [-1,-1] has more than one -1"));
  CHECK_THAT(reshape({2, 3}, {2, -3}),
             Contains("r (Reshape): shape [2,-3] has a negative dimension -3"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Reshape(root.WithOpName("r"), F32(root, Shape{2, 3}),
                       Const(root, std::vector<float>{6}, Shape{1, 1}));
             }),
             Contains("r (Reshape): attr 'Tshape' = f32 is not allowed; allowed: i32, i64"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Reshape(root.WithOpName("r"), F32(root, Shape{2, 3}), FedInts(root, Shape{1, 2}));
             }),
             Contains("r (Reshape): shape must have rank 1, got [1,2]"));
}

// ---------------------------------------------------------------- Transpose

TEST_CASE("Transpose shapes") {
  Scope root = Scope::NewRootScope();
  CHECK(Transpose(root, F32(root, Shape{2, 3, 4}), {2, 0, 1}).shape().ToString() == "[4,2,3]");
  CHECK(Transpose(root, F32(root, Shape{kU, 3, 4}), {1, 0, 2}).shape().ToString() == "[3,?,4]");
  CHECK(Transpose(root, F32(root, Shape::UnknownRank()), {1, 0}).shape().ToString() == "[?,?]");
  CHECK(Transpose(root, F32(root, Shape{}), std::vector<int64_t>{}).shape().ToString() == "[]");
  Output t64 = Transpose(root, F32(root, Shape{2, 3}), I64Const(root, {1, 0}));
  REQUIRE(root.ok());
  CHECK(t64.shape().ToString() == "[3,2]");
  CHECK(t64.node->attr("Tperm").dtype() == DType::kI64);
}

TEST_CASE("Transpose with a fed perm") {
  Scope root = Scope::NewRootScope();
  CHECK(Transpose(root, F32(root, Shape{2, 3, 4}), FedInts(root, Shape{3})).shape().ToString() ==
        "[?,?,?]");
  CHECK(Transpose(root, F32(root, Shape::UnknownRank()), FedInts(root, Shape{2}))
            .shape()
            .ToString() == "[?,?]");
  CHECK(Transpose(root, F32(root, Shape::UnknownRank()), FedInts(root, Shape::UnknownRank()))
            .shape()
            .ToString() == "<unknown>");
  // Every permutation of equal dims gives the same shape.
  CHECK(Transpose(root, F32(root, Shape{5, 5}), FedInts(root, Shape{2})).shape().ToString() ==
        "[5,5]");
  REQUIRE(root.ok());
}

TEST_CASE("Transpose errors") {
  auto transpose = [](Shape x, std::vector<int64_t> perm) {
    return BuildError(
        [&](const Scope& root) { Transpose(root.WithOpName("t"), F32(root, x), perm); });
  };
  CHECK_THAT(transpose(Shape{2, 3}, {0, 0}),
             Contains("t (Transpose): perm [0,0] is not a permutation of [0, 2)"));
  CHECK_THAT(transpose(Shape{2, 3}, {0, 2}),
             Contains("t (Transpose): perm [0,2] is not a permutation of [0, 2)"));
  CHECK_THAT(transpose(Shape{2, 3}, {-1, 0}),
             Contains("t (Transpose): perm [-1,0] is not a permutation of [0, 2)"));
  CHECK_THAT(transpose(Shape::UnknownRank(), {1, 2}),
             Contains("t (Transpose): perm [1,2] is not a permutation of [0, 2)"));
  CHECK_THAT(transpose(Shape{2, 3}, {0, 1, 2}),
             Contains("t (Transpose): perm must have one entry per dimension of x [2,3], got 3"));
}

// ---------------------------------------------------------------- Concat

TEST_CASE("Concat shapes") {
  Scope root = Scope::NewRootScope();
  Output c = Concat(root, {F32(root, Shape{2, 3}), F32(root, Shape{4, 3})}, 0);
  REQUIRE(root.ok());
  CHECK(c.shape().ToString() == "[6,3]");
  CHECK(c.node->attr("N").i() == 2);
  CHECK(c.node->attr("T").dtype() == DType::kF32);
  CHECK(c.node->input(0).dtype() == DType::kI32);
  CHECK(Concat(root, {F32(root, Shape{2, 3}), F32(root, Shape{2, 5}), F32(root, Shape{2, 1})}, -1)
            .shape()
            .ToString() == "[2,9]");
  CHECK(Concat(root, {F32(root, Shape{2, 3})}, 1).shape().ToString() == "[2,3]");
  // Partially known: non-axis dims merge, the axis sums only when all known.
  CHECK(Concat(root, {F32(root, Shape{kU, 3}), F32(root, Shape{4, kU})}, 0).shape().ToString() ==
        "[?,3]");
  CHECK(Concat(root, {F32(root, Shape{kU, 3}), F32(root, Shape{4, kU})}, 1).shape().ToString() ==
        "[4,?]");
  CHECK(Concat(root, {F32(root, Shape{2, 3}), F32(root, Shape::UnknownRank())}, 0)
            .shape()
            .ToString() == "[?,3]");
  CHECK(Concat(root, {F32(root, Shape::UnknownRank()), F32(root, Shape::UnknownRank())}, 0)
            .shape()
            .ToString() == "<unknown>");
  // A fed axis leaves only the rank.
  CHECK(Concat(root, {F32(root, Shape{2, 3}), F32(root, Shape{2, 3})}, FedInts(root, Shape{}))
            .shape()
            .ToString() == "[?,?]");
  REQUIRE(root.ok());
}

TEST_CASE("Concat errors") {
  auto concat = [](std::vector<Shape> shapes, int64_t axis) {
    return BuildError([&](const Scope& root) {
      std::vector<Output> values;
      for (const Shape& s : shapes) values.push_back(F32(root, s));
      Concat(root.WithOpName("c"), values, axis);
    });
  };
  CHECK_THAT(concat({Shape{2, 3}, Shape{2, 3, 4}}, 0),
             Contains("c (Concat): all values must have the same rank, but values[0] has shape "
                      "[2,3] and values[1] has shape [2,3,4]"));
  CHECK_THAT(concat({Shape{2, 3}, Shape{kU, 3}, Shape{2, 4}}, 0),
             Contains("c (Concat): dimension 1 differs between values[0] [2,3] and values[2] "
                      "[2,4]; only concat_dim 0 may differ"));
  CHECK_THAT(concat({Shape{2, 3}, Shape{2, 3}}, 2),
             Contains("c (Concat): concat_dim: axis 2 is out of range for rank 2 (expected [-2, "
                      "2))"));
  CHECK_THAT(concat({Shape{}, Shape{}}, 0),
             Contains("c (Concat): cannot concatenate scalars (values[0] has shape [])"));
  CHECK_THAT(concat({}, 0), Contains("c (Concat): attr 'N' = 0 is below its minimum 1"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Concat(root.WithOpName("c"),
                      {F32(root, Shape{2}), Placeholder(root, DType::kF64, Shape{2})}, 0);
             }),
             Contains("c (Concat): input 2 (values) is f64 but should be f32 (attr T)"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Concat(root.WithOpName("c"), {F32(root, Shape{2})}, FedInts(root, Shape{1}));
             }),
             Contains("c (Concat): concat_dim must have rank 0, got [1]"));
}

// ---------------------------------------------------------------- Split

TEST_CASE("Split shapes") {
  Scope root = Scope::NewRootScope();
  std::vector<Output> parts = Split(root.WithOpName("s"), 0, F32(root, Shape{6, 4}), 3);
  REQUIRE(root.ok());
  REQUIRE(parts.size() == 3);
  for (const Output& p : parts) CHECK(p.shape().ToString() == "[2,4]");
  CHECK(parts[0].name() == "s");
  CHECK(parts[2].name() == "s:2");
  CHECK(parts[0].node->attr("num_split").i() == 3);
  CHECK(Split(root, -1, F32(root, Shape{6, 4}), 2)[1].shape().ToString() == "[6,2]");
  CHECK(Split(root, 0, F32(root, Shape{kU, 4}), 2)[0].shape().ToString() == "[?,4]");
  CHECK(Split(root, 1, F32(root, Shape{kU, 4}), 2)[0].shape().ToString() == "[?,2]");
  CHECK(Split(root, 1, F32(root, Shape::UnknownRank()), 2)[1].shape().ToString() == "<unknown>");
  CHECK(Split(root, FedInts(root, Shape{}), F32(root, Shape{6, 4}), 2)[0].shape().ToString() ==
        "[?,?]");
  REQUIRE(root.ok());
}

TEST_CASE("Split errors") {
  CHECK_THAT(BuildError([](const Scope& root) {
               Split(root.WithOpName("s"), 0, F32(root, Shape{7, 4}), 3);
             }),
             Contains("s (Split): dimension 0 of value [7,4] has size 7, which is not divisible "
                      "by num_split 3"));
  CHECK_THAT(
      BuildError([](const Scope& root) {
        Split(root.WithOpName("s"), 2, F32(root, Shape{6, 4}), 2);
      }),
      Contains("s (Split): split_dim: axis 2 is out of range for rank 2 (expected [-2, 2))"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Split(root.WithOpName("s"), 0, F32(root, Shape{6, 4}), 0);
             }),
             Contains("s (Split): attr 'num_split' = 0 is below its minimum 1"));
}

// ---------------------------------------------------------------- Slice

TEST_CASE("Slice shapes") {
  Scope root = Scope::NewRootScope();
  CHECK(Slice(root, F32(root, Shape{4, 5, 6}), {1, 0, 2}, {2, -1, 3}).shape().ToString() ==
        "[2,5,3]");
  CHECK(Slice(root, F32(root, Shape{kU, 5}), {1, 1}, {2, -1}).shape().ToString() == "[2,4]");
  CHECK(Slice(root, F32(root, Shape{kU, 5}), {1, 1}, {-1, 2}).shape().ToString() == "[?,2]");
  CHECK(Slice(root, F32(root, Shape::UnknownRank()), {0, 0}, {1, -1}).shape().ToString() ==
        "[1,?]");
  Output s64 = Slice(root, F32(root, Shape{4, 5}), I64Const(root, {0, 0}), I64Const(root, {1, 1}));
  REQUIRE(root.ok());
  CHECK(s64.shape().ToString() == "[1,1]");
  CHECK(s64.node->attr("Index").dtype() == DType::kI64);
}

TEST_CASE("Slice with fed begin or size") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{4, 5});
  CHECK(Slice(root, x, FedInts(root, Shape{2}), IndexConst(root, {2, 3})).shape().ToString() ==
        "[2,3]");
  CHECK(Slice(root, x, FedInts(root, Shape{2}), IndexConst(root, {2, -1})).shape().ToString() ==
        "[2,?]");
  CHECK(Slice(root, x, IndexConst(root, {1, 1}), FedInts(root, Shape{2})).shape().ToString() ==
        "[?,?]");
  CHECK(Slice(root, F32(root, Shape::UnknownRank()), FedInts(root, Shape{3}),
              FedInts(root, Shape{kU}))
            .shape()
            .ToString() == "[?,?,?]");
  CHECK(Slice(root, F32(root, Shape::UnknownRank()), FedInts(root, Shape{kU}),
              FedInts(root, Shape{kU}))
            .shape()
            .ToString() == "<unknown>");
  REQUIRE(root.ok());
}

TEST_CASE("Slice errors") {
  auto slice = [](Shape x, std::vector<int64_t> begin, std::vector<int64_t> size) {
    return BuildError(
        [&](const Scope& root) { Slice(root.WithOpName("sl"), F32(root, x), begin, size); });
  };
  CHECK_THAT(slice(Shape{4, 4}, {0, 3}, {2, 2}),
             Contains("sl (Slice): begin[1] + size[1] = 3 + 2 exceeds dimension 1 of input "
                      "[4,4], which has size 4"));
  CHECK_THAT(slice(Shape{4, 4}, {5, 0}, {-1, -1}),
             Contains("sl (Slice): begin[0] = 5 exceeds dimension 0 of input [4,4], which has "
                      "size 4"));
  CHECK_THAT(slice(Shape{4, 4}, {-1, 0}, {1, 1}),
             Contains("sl (Slice): begin[0] = -1 is negative"));
  CHECK_THAT(slice(Shape{4, 4}, {0, 0}, {1, -2}),
             Contains("sl (Slice): size[1] = -2 must be -1 or non-negative"));
  CHECK_THAT(slice(Shape{4, 4}, {0}, {1}),
             Contains("sl (Slice): begin and size must have one entry per dimension of input "
                      "[4,4], got 1"));
  CHECK_THAT(slice(Shape{4, 4}, {0, 0}, {1, 1, 1}),
             Contains("sl (Slice): begin and size must have the same length, got [2] and [3]"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Slice(root.WithOpName("sl"), F32(root, Shape{4, 4}), FedInts(root, Shape{2}),
                     IndexConst(root, {5, 1}));
             }),
             Contains("sl (Slice): size[0] = 5 exceeds dimension 0 of input [4,4], which has "
                      "size 4"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Slice(root.WithOpName("sl"), F32(root, Shape{4}), IndexConst(root, {0}),
                     I64Const(root, {1}));
             }),
             Contains("sl (Slice): input 2 (size) is i64 but should be i32 (attr Index)"));
}

// ---------------------------------------------------------------- StridedSlice

TEST_CASE("StridedSlice with constant begin, end and strides") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{5, 6, 7});
  auto shape = [&](std::vector<int64_t> b, std::vector<int64_t> e, std::vector<int64_t> s,
                   StridedSliceOptions o = {}) {
    Output y = StridedSlice(root, x, b, e, s, o);
    return root.ok() ? y.shape().ToString() : ErrorOf(root);
  };
  CHECK(shape({1, 2, 3}, {4, 6, 7}, {1, 2, 3}) == "[3,2,2]");
  // Negative indices count from the end.
  CHECK(shape({-3}, {-1}, {1}) == "[2,6,7]");
  // Negative strides walk backwards; masked bounds mean "from the far end".
  CHECK(shape({0}, {0}, {-1}, {.begin_mask = 1, .end_mask = 1}) == "[5,6,7]");
  CHECK(shape({4}, {0}, {-2}) == "[2,6,7]");
  CHECK(shape({-1}, {0}, {-3}, {.end_mask = 1}) == "[2,6,7]");
  CHECK(shape({0, 0, 6}, {0, 0, 0}, {1, 1, -4}, {.begin_mask = 3, .end_mask = 3}) == "[5,6,2]");
  // Out-of-range bounds are clamped; empty ranges give 0.
  CHECK(shape({0}, {100}, {1}) == "[5,6,7]");
  CHECK(shape({-100}, {3}, {1}) == "[3,6,7]");
  CHECK(shape({10}, {20}, {1}) == "[0,6,7]");
  CHECK(shape({3}, {1}, {1}) == "[0,6,7]");
  // Shrinking indexes one element and drops the dim.
  CHECK(shape({1}, {2}, {1}, {.shrink_axis_mask = 1}) == "[6,7]");
  CHECK(shape({-1}, {0}, {1}, {.shrink_axis_mask = 1}) == "[6,7]");
  CHECK(shape({0, 2}, {0, 3}, {1, 1}, {.begin_mask = 1, .end_mask = 1, .shrink_axis_mask = 2}) ==
        "[5,7]");
  // New axes insert dims of size 1.
  CHECK(shape({0, 0}, {0, 0}, {1, 1}, {.begin_mask = 2, .end_mask = 2, .new_axis_mask = 1}) ==
        "[1,5,6,7]");
  // An ellipsis covers the dims the spec does not name.
  CHECK(shape({0, 1}, {0, 2}, {1, 1}, {.ellipsis_mask = 1, .shrink_axis_mask = 2}) == "[5,6]");
  CHECK(shape({1, 0, 2}, {2, 0, 4}, {1, 1, 1}, {.ellipsis_mask = 2, .shrink_axis_mask = 1}) ==
        "[6,2]");
  CHECK(shape({0, 0}, {0, 0}, {1, 1}, {.ellipsis_mask = 1, .new_axis_mask = 2}) == "[5,6,7,1]");
  CHECK(shape({0, 0, 0}, {0, 0, 0}, {1, 1, 1}, {.ellipsis_mask = 2, .new_axis_mask = 5}) ==
        "[1,5,6,7,1]");
  CHECK(shape({0}, {0}, {1}, {.ellipsis_mask = 1}) == "[5,6,7]");
}

TEST_CASE("StridedSlice of partially known and unknown-rank inputs") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{kU, 6, 7});
  CHECK(StridedSlice(root, x, {1, 2}, {3, 6}, {1, 2}).shape().ToString() == "[?,2,7]");
  CHECK(StridedSlice(root, x, {0}, {0}, {1}, {.begin_mask = 1, .end_mask = 1}).shape().ToString() ==
        "[?,6,7]");
  CHECK(StridedSlice(root, x, {0}, {1}, {1}, {.shrink_axis_mask = 1}).shape().ToString() ==
        "[6,7]");
  CHECK(StridedSlice(root, F32(root, Shape::UnknownRank()), {0}, {1}, {1}).shape().ToString() ==
        "<unknown>");
  REQUIRE(root.ok());
}

TEST_CASE("StridedSlice with fed begin, end or strides") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{5, 6, 7});
  Output fed = FedInts(root, Shape{2});
  Output end = IndexConst(root, {3, 4});
  Output ones = IndexConst(root, {1, 1});
  CHECK(StridedSlice(root, x, fed, end, ones).shape().ToString() == "[?,?,7]");
  // Masked on both sides, a dim is whole whatever begin and end hold.
  CHECK(
      StridedSlice(root, x, fed, end, ones, {.begin_mask = 1, .end_mask = 1}).shape().ToString() ==
      "[5,?,7]");
  CHECK(StridedSlice(root, x, fed, end, ones, {.shrink_axis_mask = 1}).shape().ToString() ==
        "[?,7]");
  // Unknown strides: only shrunk and new axes are known.
  Output zeros = IndexConst(root, {0, 0});
  CHECK(StridedSlice(root, x, zeros, end, fed).shape().ToString() == "[?,?,7]");
  CHECK(StridedSlice(root, x, zeros, end, fed, {.new_axis_mask = 1}).shape().ToString() ==
        "[1,?,6,7]");
  // Unknown spec length: the rank survives unless axes are added or removed.
  Output any = FedInts(root, Shape{kU});
  CHECK(StridedSlice(root, x, any, any, any).shape().ToString() == "[?,?,?]");
  CHECK(StridedSlice(root, x, any, any, any, {.shrink_axis_mask = 1}).shape().ToString() ==
        "<unknown>");
  REQUIRE(root.ok());
}

TEST_CASE("StridedSlice builder picks one index dtype for all three lists") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{5, 6, 7});
  Output small = StridedSlice(root, x, {0}, {2}, {1});
  Output big = StridedSlice(root, x, {0}, {int64_t{1} << 40}, {1});
  REQUIRE(root.ok());
  CHECK(small.node->attr("Index").dtype() == DType::kI32);
  CHECK(big.node->attr("Index").dtype() == DType::kI64);
  CHECK(big.shape().ToString() == "[5,6,7]");
  CHECK(small.node->attr("shrink_axis_mask").i() == 0);
}

TEST_CASE("StridedSlice errors") {
  auto slice = [](Shape x, std::vector<int64_t> b, std::vector<int64_t> e, std::vector<int64_t> s,
                  StridedSliceOptions o = {}) {
    return BuildError(
        [&](const Scope& root) { StridedSlice(root.WithOpName("ss"), F32(root, x), b, e, s, o); });
  };
  CHECK_THAT(slice(Shape{5, 6}, {0, 0}, {1, 1}, {1, 0}),
             Contains("ss (StridedSlice): strides[1] is 0; strides must be non-zero"));
  CHECK_THAT(slice(Shape::UnknownRank(), {0}, {1}, {0}),
             Contains("ss (StridedSlice): strides[0] is 0; strides must be non-zero"));
  CHECK_THAT(slice(Shape{5, 6}, {7}, {8}, {1}, {.shrink_axis_mask = 1}),
             Contains("ss (StridedSlice): index 7 is out of bounds for dimension 0 of input "
                      "[5,6], which has size 5"));
  CHECK_THAT(slice(Shape{5, 6}, {0, -7}, {0, 0}, {1, 1}, {.shrink_axis_mask = 2}),
             Contains("ss (StridedSlice): index -7 is out of bounds for dimension 1 of input "
                      "[5,6], which has size 6"));
  CHECK_THAT(slice(Shape{5, 6}, {1}, {2}, {-1}, {.shrink_axis_mask = 1}),
             Contains("ss (StridedSlice): strides[0] = -1 but a dimension indexed by "
                      "shrink_axis_mask needs a positive stride"));
  CHECK_THAT(slice(Shape{5}, {0, 0}, {1, 1}, {1, 1}),
             Contains("ss (StridedSlice): the slice spec indexes more dimensions than input [5] "
                      "has (1)"));
  CHECK_THAT(slice(Shape{5, 6}, {0, 0}, {1, 1}, {1, 1}, {.ellipsis_mask = 3}),
             Contains("ss (StridedSlice): ellipsis_mask 3 marks more than one ellipsis"));
  CHECK_THAT(slice(Shape{5, 6}, {0, 0}, {1}, {1}),
             Contains("ss (StridedSlice): begin, end and strides must have the same length, got "
                      "[2], [1] and [1]"));
}

// ---------------------------------------------------------------- Squeeze

TEST_CASE("Squeeze shapes") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{1, 3, 1, 2});
  Output all = Squeeze(root, x);
  REQUIRE(root.ok());
  CHECK(all.shape().ToString() == "[3,2]");
  CHECK(all.node->attr("squeeze_dims").ints().empty());
  CHECK(Squeeze(root, x, {.squeeze_dims = {0}}).shape().ToString() == "[3,1,2]");
  CHECK(Squeeze(root, x, {.squeeze_dims = {-2}}).shape().ToString() == "[1,3,2]");
  CHECK(Squeeze(root, x, {.squeeze_dims = {0, 2, -4}}).shape().ToString() == "[3,2]");
  CHECK(Squeeze(root, F32(root, Shape{2, 3})).shape().ToString() == "[2,3]");
  CHECK(Squeeze(root, F32(root, Shape{1})).shape().ToString() == "[]");
  // An unknown dim might be 1, so squeezing "all" leaves the rank unknown;
  // a listed unknown dim is taken to be 1.
  CHECK(Squeeze(root, F32(root, Shape{kU, 1, 3})).shape().ToString() == "<unknown>");
  CHECK(Squeeze(root, F32(root, Shape{kU, 1, 3}), {.squeeze_dims = {1}}).shape().ToString() ==
        "[?,3]");
  CHECK(Squeeze(root, F32(root, Shape{2, kU}), {.squeeze_dims = {1}}).shape().ToString() == "[2]");
  CHECK(Squeeze(root, F32(root, Shape::UnknownRank()), {.squeeze_dims = {0}}).shape().ToString() ==
        "<unknown>");
  REQUIRE(root.ok());
}

TEST_CASE("Squeeze errors") {
  CHECK_THAT(BuildError([](const Scope& root) {
               Squeeze(root.WithOpName("sq"), F32(root, Shape{1, 3}), {.squeeze_dims = {1}});
             }),
             Contains("sq (Squeeze): cannot squeeze dimension 1 of input [1,3]: its size is 3, "
                      "not 1"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Squeeze(root.WithOpName("sq"), F32(root, Shape{1, 3}), {.squeeze_dims = {2}});
             }),
             Contains("sq (Squeeze): squeeze_dims: axis 2 is out of range for rank 2 (expected "
                      "[-2, 2))"));
}

// ---------------------------------------------------------------- ExpandDims

TEST_CASE("ExpandDims shapes") {
  Scope root = Scope::NewRootScope();
  Output x = F32(root, Shape{2, 3});
  CHECK(ExpandDims(root, x, 0).shape().ToString() == "[1,2,3]");
  CHECK(ExpandDims(root, x, 1).shape().ToString() == "[2,1,3]");
  CHECK(ExpandDims(root, x, 2).shape().ToString() == "[2,3,1]");
  CHECK(ExpandDims(root, x, -1).shape().ToString() == "[2,3,1]");
  CHECK(ExpandDims(root, x, -3).shape().ToString() == "[1,2,3]");
  CHECK(ExpandDims(root, F32(root, Shape{}), 0).shape().ToString() == "[1]");
  CHECK(ExpandDims(root, F32(root, Shape{kU, 3}), 1).shape().ToString() == "[?,1,3]");
  CHECK(ExpandDims(root, F32(root, Shape::UnknownRank()), 0).shape().ToString() == "<unknown>");
  CHECK(ExpandDims(root, x, FedInts(root, Shape{})).shape().ToString() == "[?,?,?]");
  Output e64 = ExpandDims(root, x, Const(root, int64_t{0}));
  REQUIRE(root.ok());
  CHECK(e64.shape().ToString() == "[1,2,3]");
  CHECK(e64.node->attr("Tdim").dtype() == DType::kI64);
  CHECK(ExpandDims(root, x, IndexConst(root, {1})).shape().ToString() == "[2,1,3]");
  REQUIRE(root.ok());
}

TEST_CASE("ExpandDims errors") {
  auto expand = [](int64_t dim) {
    return BuildError([&](const Scope& root) {
      ExpandDims(root.WithOpName("e"), F32(root, Shape{2, 3}), dim);
    });
  };
  CHECK_THAT(expand(3), Contains("e (ExpandDims): dim 3 is out of range for input [2,3] "
                                 "(expected [-3, 2])"));
  CHECK_THAT(expand(-4), Contains("e (ExpandDims): dim -4 is out of range for input [2,3] "
                                  "(expected [-3, 2])"));
  CHECK_THAT(BuildError([](const Scope& root) {
               ExpandDims(root.WithOpName("e"), F32(root, Shape{2}), IndexConst(root, {0, 1}));
             }),
             Contains("e (ExpandDims): dim must be a scalar, got shape [2]"));
}

// ---------------------------------------------------------------- Pad

TEST_CASE("Pad shapes") {
  Scope root = Scope::NewRootScope();
  Output p = Pad(root, F32(root, Shape{2, 3}), {{1, 1}, {2, 0}});
  REQUIRE(root.ok());
  CHECK(p.shape().ToString() == "[4,5]");
  CHECK(p.node->attr("Tpaddings").dtype() == DType::kI32);
  CHECK(p.node->input(1).shape().ToString() == "[2,2]");
  CHECK(Pad(root, F32(root, Shape{kU, 3}), {{1, 1}, {2, 0}}).shape().ToString() == "[?,5]");
  CHECK(Pad(root, F32(root, Shape::UnknownRank()), {{1, 1}, {2, 0}}).shape().ToString() == "[?,?]");
  Output paddings64 = Const(root, *Tensor::FromVector<int64_t>({0, 0, 1, 2}, Shape{2, 2}));
  Output p64 = Pad(root, F32(root, Shape{2, 3}), paddings64);
  REQUIRE(root.ok());
  CHECK(p64.shape().ToString() == "[2,6]");
  CHECK(p64.node->attr("Tpaddings").dtype() == DType::kI64);
  CHECK(Pad(root, F32(root, Shape{2, 3}), FedInts(root, Shape{2, 2})).shape().ToString() ==
        "[?,?]");
  CHECK(Pad(root, F32(root, Shape{2, 3}), FedInts(root, Shape{kU, 2})).shape().ToString() ==
        "[?,?]");
  CHECK(Pad(root, F32(root, Shape::UnknownRank()), FedInts(root, Shape{3, 2})).shape().ToString() ==
        "[?,?,?]");
  CHECK(Pad(root, F32(root, Shape::UnknownRank()), FedInts(root, Shape::UnknownRank()))
            .shape()
            .ToString() == "<unknown>");
  REQUIRE(root.ok());
}

TEST_CASE("Pad errors") {
  CHECK_THAT(BuildError([](const Scope& root) {
               Pad(root.WithOpName("p"), F32(root, Shape{2, 3}), {{1, 1}, {-1, 0}});
             }),
             Contains("p (Pad): paddings [[1,1],[-1,0]] must be non-negative"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Pad(root.WithOpName("p"), F32(root, Shape{2, 3}), {{1, 1}});
             }),
             Contains("p (Pad): paddings must have one row per dimension of input [2,3], got 1"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Pad(root.WithOpName("p"), F32(root, Shape{2, 3}), FedInts(root, Shape{2, 3}));
             }),
             Contains("p (Pad): paddings must have shape [rank, 2], got [2,3]"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Pad(root.WithOpName("p"), F32(root, Shape{2, 3}), IndexConst(root, {1, 1, 1, 1}));
             }),
             Contains("p (Pad): paddings must have rank 2, got [4]"));
}

// ---------------------------------------------------------------- Tile

TEST_CASE("Tile shapes") {
  Scope root = Scope::NewRootScope();
  Output t = Tile(root, F32(root, Shape{2, 3}), {2, 1});
  REQUIRE(root.ok());
  CHECK(t.shape().ToString() == "[4,3]");
  CHECK(t.node->attr("Tmultiples").dtype() == DType::kI32);
  CHECK(Tile(root, F32(root, Shape{kU, 3}), {2, 2}).shape().ToString() == "[?,6]");
  CHECK(Tile(root, F32(root, Shape{kU, 3}), {0, 2}).shape().ToString() == "[0,6]");
  CHECK(Tile(root, F32(root, Shape::UnknownRank()), {2, 3}).shape().ToString() == "[?,?]");
  CHECK(Tile(root, F32(root, Shape{2, 0}), FedInts(root, Shape{2})).shape().ToString() == "[?,0]");
  CHECK(Tile(root, F32(root, Shape::UnknownRank()), FedInts(root, Shape{kU})).shape().ToString() ==
        "<unknown>");
  Output t64 = Tile(root, F32(root, Shape{2}), I64Const(root, {3}));
  REQUIRE(root.ok());
  CHECK(t64.shape().ToString() == "[6]");
  CHECK(t64.node->attr("Tmultiples").dtype() == DType::kI64);
}

TEST_CASE("Tile errors") {
  CHECK_THAT(BuildError([](const Scope& root) {
               Tile(root.WithOpName("t"), F32(root, Shape{2, 3}), {2, -1});
             }),
             Contains("t (Tile): multiples [2,-1] must be non-negative"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Tile(root.WithOpName("t"), F32(root, Shape{2, 3}), {2, 1, 1});
             }),
             Contains("t (Tile): multiples must have one entry per dimension of input [2,3], got "
                      "3"));
}

// ---------------------------------------------------------------- BroadcastTo

TEST_CASE("BroadcastTo shapes") {
  Scope root = Scope::NewRootScope();
  Output b = BroadcastTo(root, F32(root, Shape{3}), {2, 3});
  REQUIRE(root.ok());
  CHECK(b.shape().ToString() == "[2,3]");
  CHECK(b.node->attr("Tidx").dtype() == DType::kI32);
  CHECK(BroadcastTo(root, F32(root, Shape{1, 3}), {4, 2, 3}).shape().ToString() == "[4,2,3]");
  CHECK(BroadcastTo(root, F32(root, Shape{kU, 3}), {2, 3}).shape().ToString() == "[2,3]");
  CHECK(BroadcastTo(root, F32(root, Shape::UnknownRank()), {2, 3}).shape().ToString() == "[2,3]");
  // With a fed shape, known input dims other than 1 still pin the output.
  CHECK(BroadcastTo(root, F32(root, Shape{2, 1}), FedInts(root, Shape{3})).shape().ToString() ==
        "[?,2,?]");
  CHECK(BroadcastTo(root, F32(root, Shape{3}), FedInts(root, Shape{kU})).shape().ToString() ==
        "<unknown>");
  REQUIRE(root.ok());
}

TEST_CASE("BroadcastTo errors") {
  auto broadcast = [](Shape x, std::vector<int64_t> shape) {
    return BuildError(
        [&](const Scope& root) { BroadcastTo(root.WithOpName("b"), F32(root, x), shape); });
  };
  CHECK_THAT(broadcast(Shape{2, 3}, {4, 3}),
             Contains("b (BroadcastTo): input of shape [2,3] cannot be broadcast to shape [4,3]"));
  CHECK_THAT(broadcast(Shape{2, 3}, {3}),
             Contains("b (BroadcastTo): input of shape [2,3] cannot be broadcast to shape [3], "
                      "which has fewer dimensions"));
  CHECK_THAT(broadcast(Shape{3}, {2, -1}),
             Contains("b (BroadcastTo): shape [2,-1] must be non-negative"));
  CHECK_THAT(
      BuildError([](const Scope& root) {
        BroadcastTo(root.WithOpName("b"), F32(root, Shape{2, 3}), FedInts(root, Shape{kU, 2}));
      }),
      Contains("b (BroadcastTo): shape must have rank 1, got [?,2]"));
}

// ---------------------------------------------------------------- Gather

TEST_CASE("Gather shapes") {
  Scope root = Scope::NewRootScope();
  Output params = F32(root, Shape{5, 6, 7});
  Output indices = Placeholder(root, DType::kI32, Shape{2, 3});
  Output g = Gather(root, params, indices);
  REQUIRE(root.ok());
  CHECK(g.shape().ToString() == "[2,3,6,7]");
  CHECK(g.dtype() == DType::kF32);
  CHECK(g.node->attr("Tparams").dtype() == DType::kF32);
  CHECK(g.node->attr("Tindices").dtype() == DType::kI32);
  CHECK(g.node->attr("Taxis").dtype() == DType::kI32);
  CHECK(g.node->attr("batch_dims").i() == 0);
  CHECK(Gather(root, params, indices, 1).shape().ToString() == "[5,2,3,7]");
  CHECK(Gather(root, params, indices, -1).shape().ToString() == "[5,6,2,3]");
  CHECK(Gather(root, params, Const(root, int32_t{4}), 1).shape().ToString() == "[5,7]");
  Output i64 = Placeholder(root, DType::kI64, Shape{kU});
  Output g64 = Gather(root, F32(root, Shape{kU, 6}), i64, Const(root, int64_t{1}));
  REQUIRE(root.ok());
  CHECK(g64.shape().ToString() == "[?,?]");
  CHECK(g64.node->attr("Tindices").dtype() == DType::kI64);
  CHECK(g64.node->attr("Taxis").dtype() == DType::kI64);
  // Batch dims: output = params[:axis] + indices[batch_dims:] + params[axis+1:].
  Output batched = Placeholder(root, DType::kI32, Shape{4, 3});
  CHECK(Gather(root, F32(root, Shape{4, 5, 6}), batched, 1, {.batch_dims = 1}).shape().ToString() ==
        "[4,3,6]");
  CHECK(
      Gather(root, F32(root, Shape{4, 5, 6}), batched, 1, {.batch_dims = -1}).shape().ToString() ==
      "[4,3,6]");
  CHECK(
      Gather(root, F32(root, Shape{kU, 5, 6}), batched, 2, {.batch_dims = 1}).shape().ToString() ==
      "[4,5,3]");
  REQUIRE(root.ok());
}

TEST_CASE("Gather with unknown ranks or a fed axis") {
  Scope root = Scope::NewRootScope();
  Output indices = Placeholder(root, DType::kI32, Shape{2, 3});
  CHECK(Gather(root, F32(root, Shape::UnknownRank()), indices).shape().ToString() == "<unknown>");
  CHECK(Gather(root, F32(root, Shape{5, 6}), Placeholder(root, DType::kI32, Shape::UnknownRank()))
            .shape()
            .ToString() == "<unknown>");
  CHECK(
      Gather(root, F32(root, Shape{5, 6, 7}), indices, FedInts(root, Shape{})).shape().ToString() ==
      "[?,?,?,?]");
  REQUIRE(root.ok());
}

TEST_CASE("Gather errors") {
  auto gather = [](Shape params, Shape indices, int64_t axis, int64_t batch_dims = 0) {
    return BuildError([&](const Scope& root) {
      Gather(root.WithOpName("g"), F32(root, params), Placeholder(root, DType::kI32, indices), axis,
             {.batch_dims = batch_dims});
    });
  };
  CHECK_THAT(gather(Shape{5, 6, 7}, Shape{2}, 3),
             Contains("g (Gather): axis 3 is out of range for params [5,6,7] (expected [-3, 3))"));
  CHECK_THAT(gather(Shape{}, Shape{2}, 0),
             Contains("g (Gather): params must have rank at least 1, got []"));
  CHECK_THAT(gather(Shape{4, 5, 6}, Shape{4, 5, 3}, 1, 2),
             Contains("g (Gather): batch_dims 2 must be less than or equal to axis 1"));
  CHECK_THAT(gather(Shape{4, 5, 6}, Shape{3, 2}, 1, 1),
             Contains("g (Gather): params [4,5,6] and indices [3,2] differ in batch dimension 0"));
  CHECK_THAT(gather(Shape{4, 5}, Shape{2}, 1, 2),
             Contains("g (Gather): batch_dims 2 is out of range for indices [2] (expected [-1, "
                      "1])"));
  CHECK_THAT(gather(Shape{4, 5}, Shape{4, 5}, 1, 2),
             Contains("g (Gather): batch_dims 2 must be less than the rank of params [4,5]"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Gather(root.WithOpName("g"), F32(root, Shape{4}), F32(root, Shape{2}));
             }),
             Contains("g (Gather): attr 'Tindices' = f32 is not allowed; allowed: i32, i64"));
}

// ---------------------------------------------------------------- OneHot

TEST_CASE("OneHot shapes") {
  Scope root = Scope::NewRootScope();
  Output on = Const(root, 1.0f);
  Output off = Const(root, 0.0f);
  Output labels = Placeholder(root, DType::kI64, Shape{4});
  Output o = OneHot(root, labels, 3, on, off);
  REQUIRE(root.ok());
  CHECK(o.shape().ToString() == "[4,3]");
  CHECK(o.dtype() == DType::kF32);
  CHECK(o.node->attr("TI").dtype() == DType::kI64);
  CHECK(o.node->attr("axis").i() == -1);
  CHECK(OneHot(root, labels, 3, on, off, {.axis = 0}).shape().ToString() == "[3,4]");
  Output i32 = Placeholder(root, DType::kI32, Shape{2, 3});
  Output o32 = OneHot(root, i32, 5, on, off, {.axis = 1});
  REQUIRE(root.ok());
  CHECK(o32.shape().ToString() == "[2,5,3]");
  CHECK(o32.node->attr("TI").dtype() == DType::kI32);
  CHECK(OneHot(root, Placeholder(root, DType::kU8, Shape{kU}), 2, on, off).shape().ToString() ==
        "[?,2]");
  CHECK(OneHot(root, Placeholder(root, DType::kI64, Shape::UnknownRank()), 3, on, off)
            .shape()
            .ToString() == "<unknown>");
  CHECK(OneHot(root, labels, FedInts(root, Shape{}), on, off).shape().ToString() == "[4,?]");
  REQUIRE(root.ok());
}

TEST_CASE("OneHot errors") {
  auto one_hot = [](Shape indices, int64_t depth, int64_t axis) {
    return BuildError([&](const Scope& root) {
      OneHot(root.WithOpName("o"), Placeholder(root, DType::kI64, indices), depth,
             Const(root, 1.0f), Const(root, 0.0f), {.axis = axis});
    });
  };
  CHECK_THAT(one_hot(Shape{4}, -1, -1), Contains("o (OneHot): depth must be non-negative, got -1"));
  CHECK_THAT(
      one_hot(Shape{4}, 3, 2),
      Contains("o (OneHot): axis 2 is out of range for indices [4] (expected -1 or [0, 1])"));
  CHECK_THAT(one_hot(Shape{4}, 3, -2), Contains("o (OneHot): axis -2 must be -1 or non-negative"));
  CHECK_THAT(BuildError([](const Scope& root) {
               OneHot(root.WithOpName("o"), Placeholder(root, DType::kI64, Shape{4}), 3,
                      Const(root, {1.0f, 2.0f}), Const(root, 0.0f));
             }),
             Contains("o (OneHot): on_value must have rank 0, got [2]"));
  CHECK_THAT(BuildError([](const Scope& root) {
               OneHot(root.WithOpName("o"), F32(root, Shape{4}), 3, Const(root, 1.0f),
                      Const(root, 0.0f));
             }),
             Contains("o (OneHot): attr 'TI' = f32 is not allowed; allowed: u8, i32, i64"));
  CHECK_THAT(BuildError([](const Scope& root) {
               OneHot(root.WithOpName("o"), Placeholder(root, DType::kI64, Shape{4}), 3,
                      Const(root, 1.0f), Const(root, 0.0));
             }),
             Contains("o (OneHot): input 3 (off_value) is f64 but should be f32 (attr T)"));
}

// ---------------------------------------------------------------- Fill, ZerosLike, OnesLike

TEST_CASE("Fill shapes") {
  Scope root = Scope::NewRootScope();
  Output f = Fill(root, {2, 3}, Const(root, 1.5f));
  REQUIRE(root.ok());
  CHECK(f.shape().ToString() == "[2,3]");
  CHECK(f.dtype() == DType::kF32);
  CHECK(f.node->attr("T").dtype() == DType::kF32);
  CHECK(f.node->attr("index_type").dtype() == DType::kI32);
  Output f64 = Fill(root, I64Const(root, {4}), Const(root, int32_t{7}));
  REQUIRE(root.ok());
  CHECK(f64.shape().ToString() == "[4]");
  CHECK(f64.dtype() == DType::kI32);
  CHECK(f64.node->attr("index_type").dtype() == DType::kI64);
  CHECK(Fill(root, std::vector<int64_t>{}, Const(root, 0.0f)).shape().ToString() == "[]");
  CHECK(Fill(root, FedInts(root, Shape{3}), Const(root, 0.0f)).shape().ToString() == "[?,?,?]");
  CHECK(Fill(root, FedInts(root, Shape{kU}), Const(root, 0.0f)).shape().ToString() == "<unknown>");
  CHECK(Fill(root, ShapeOf(root, F32(root, Shape{4, 5})), Const(root, 0.0f)).shape().ToString() ==
        "[4,5]");
  REQUIRE(root.ok());
}

TEST_CASE("Fill errors") {
  CHECK_THAT(BuildError([](const Scope& root) {
               Fill(root.WithOpName("f"), {2}, Const(root, {1.0f, 2.0f}));
             }),
             Contains("f (Fill): value must have rank 0, got [2]"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Fill(root.WithOpName("f"), {2, -1}, Const(root, 1.0f));
             }),
             Contains("f (Fill): dims [2,-1] must be non-negative"));
  CHECK_THAT(BuildError([](const Scope& root) {
               Fill(root.WithOpName("f"), FedInts(root, Shape{1, 2}), Const(root, 1.0f));
             }),
             Contains("f (Fill): dims must have rank 1, got [1,2]"));
}

TEST_CASE("ZerosLike and OnesLike keep shape and dtype") {
  Scope root = Scope::NewRootScope();
  Output z = ZerosLike(root, F32(root, Shape{kU, 3}));
  Output o = OnesLike(root, Placeholder(root, DType::kI32, Shape{2}));
  Output u = ZerosLike(root, F32(root, Shape::UnknownRank()));
  REQUIRE(root.ok());
  CHECK(z.shape().ToString() == "[?,3]");
  CHECK(z.dtype() == DType::kF32);
  CHECK(o.shape().ToString() == "[2]");
  CHECK(o.dtype() == DType::kI32);
  CHECK(o.node->attr("T").dtype() == DType::kI32);
  CHECK(u.shape().ToString() == "<unknown>");
}

// ---------------------------------------------------------------- Shape, Size

TEST_CASE("Shape of a fully known tensor is a constant") {
  Scope root = Scope::NewRootScope();
  Output s = ShapeOf(root.WithOpName("s"), F32(root, Shape{2, 3}));
  REQUIRE(root.ok());
  CHECK(s.node->op() == "Shape");
  CHECK(s.shape().ToString() == "[2]");
  CHECK(s.dtype() == DType::kI32);
  const Tensor* value = s.node->output_value(0);
  REQUIRE(value != nullptr);
  CHECK(value->dtype() == DType::kI32);
  CHECK(value->ToVector<int32_t>() == std::vector<int32_t>{2, 3});

  Output s64 = ShapeOf(root, F32(root, Shape{4, 5, 6}), {.out_type = DType::kI64});
  REQUIRE(root.ok());
  CHECK(s64.dtype() == DType::kI64);
  REQUIRE(s64.node->output_value(0) != nullptr);
  CHECK(s64.node->output_value(0)->ToVector<int64_t>() == std::vector<int64_t>{4, 5, 6});

  Output scalar = ShapeOf(root, F32(root, Shape{}));
  REQUIRE(root.ok());
  CHECK(scalar.shape().ToString() == "[0]");
  REQUIRE(scalar.node->output_value(0) != nullptr);
  CHECK(scalar.node->output_value(0)->num_elements() == 0);
}

TEST_CASE("Shape of a partially known tensor has no value") {
  Scope root = Scope::NewRootScope();
  Output partial = ShapeOf(root, F32(root, Shape{kU, 3}));
  Output any = ShapeOf(root, F32(root, Shape::UnknownRank()));
  REQUIRE(root.ok());
  CHECK(partial.shape().ToString() == "[2]");
  CHECK(partial.node->output_value(0) == nullptr);
  CHECK(any.shape().ToString() == "[?]");
  CHECK(any.node->output_value(0) == nullptr);
}

TEST_CASE("Size is a constant when the shape is fully known") {
  Scope root = Scope::NewRootScope();
  Output n = Size(root, F32(root, Shape{2, 3}));
  Output n64 = Size(root, F32(root, Shape{4, 5}), {.out_type = DType::kI64});
  Output partial = Size(root, F32(root, Shape{kU, 3}));
  Output any = Size(root, F32(root, Shape::UnknownRank()));
  REQUIRE(root.ok());
  CHECK(n.shape().ToString() == "[]");
  CHECK(n.dtype() == DType::kI32);
  REQUIRE(n.node->output_value(0) != nullptr);
  CHECK(n.node->output_value(0)->ToVector<int32_t>() == std::vector<int32_t>{6});
  CHECK(n64.dtype() == DType::kI64);
  REQUIRE(n64.node->output_value(0) != nullptr);
  CHECK(n64.node->output_value(0)->ToVector<int64_t>() == std::vector<int64_t>{20});
  CHECK(partial.shape().ToString() == "[]");
  CHECK(partial.node->output_value(0) == nullptr);
  CHECK(any.shape().ToString() == "[]");
  CHECK(any.node->output_value(0) == nullptr);
}

TEST_CASE("Shape and Size reject i32 results that do not fit") {
  const int64_t big = int64_t{3} << 30;
  CHECK_THAT(
      BuildError([&](const Scope& root) { ShapeOf(root.WithOpName("s"), F32(root, Shape{big})); }),
      Contains("s (Shape): dimension 3221225472 of input [3221225472] does not fit in "
               "i32; use out_type i64"));
  CHECK_THAT(BuildError([&](const Scope& root) {
               Size(root.WithOpName("n"), F32(root, Shape{1 << 16, 1 << 16}));
             }),
             Contains("n (Size): element count 4294967296 of input [65536,65536] does not fit "
                      "in i32; use out_type i64"));
  Scope root = Scope::NewRootScope();
  Output s = ShapeOf(root, F32(root, Shape{big}), {.out_type = DType::kI64});
  REQUIRE(root.ok());
  CHECK(s.node->output_value(0)->ToVector<int64_t>() == std::vector<int64_t>{big});
}

TEST_CASE("dims that would overflow int64 are errors") {
  const int64_t huge = int64_t{1} << 62;
  CHECK_THAT(BuildError([&](const Scope& root) {
               Concat(root.WithOpName("c"), {F32(root, Shape{huge}), F32(root, Shape{huge})}, 0);
             }),
             Contains("c (Concat): the concatenated dimension 0 overflows int64"));
  CHECK_THAT(BuildError([&](const Scope& root) {
               Tile(root.WithOpName("t"), F32(root, Shape{huge}), {4});
             }),
             Contains("t (Tile): tiling dimension 0 of input [4611686018427387904] 4 times "
                      "overflows int64"));
  const int64_t max = std::numeric_limits<int64_t>::max();
  CHECK_THAT(BuildError([&](const Scope& root) {
               Pad(root.WithOpName("p"), F32(root, Shape{max - 1}), {{1, 1}});
             }),
             Contains("p (Pad): padded dimension 0 of input [9223372036854775806] overflows "
                      "int64"));
}

// ---------------------------------------------------------------- Random ops

TEST_CASE("random ops take their shape from the shape input") {
  Scope root = Scope::NewRootScope();
  Output u = RandomUniform(root.WithOpName("u"), {2, 3}, DType::kF32, {.seed = 7, .seed2 = 9});
  REQUIRE(root.ok());
  CHECK(u.shape().ToString() == "[2,3]");
  CHECK(u.dtype() == DType::kF32);
  CHECK(u.node->attr("T").dtype() == DType::kI32);
  CHECK(u.node->attr("seed").i() == 7);
  CHECK(u.node->attr("seed2").i() == 9);
  Output n = RandomNormal(root, I64Const(root, {4}), DType::kF64);
  REQUIRE(root.ok());
  CHECK(n.shape().ToString() == "[4]");
  CHECK(n.dtype() == DType::kF64);
  CHECK(n.node->attr("T").dtype() == DType::kI64);
  CHECK(n.node->attr("seed").i() == 0);
  CHECK(TruncatedNormal(root, {5, 1}, DType::kBF16).shape().ToString() == "[5,1]");
  CHECK(TruncatedNormal(root, FedInts(root, Shape{2}), DType::kF32).shape().ToString() == "[?,?]");
  CHECK(RandomUniform(root, FedInts(root, Shape{kU}), DType::kF16).shape().ToString() ==
        "<unknown>");
  CHECK(RandomNormal(root, ShapeOf(root, F32(root, Shape{4, 5})), DType::kF32).shape().ToString() ==
        "[4,5]");
  REQUIRE(root.ok());
}

TEST_CASE("random op errors") {
  CHECK_THAT(BuildError([](const Scope& root) {
               RandomUniform(root.WithOpName("u"), {2, 3}, DType::kI32);
             }),
             Contains("u (RandomUniform): attr 'dtype' = i32 is not allowed; allowed: f32, f64, "
                      "f16, bf16"));
  CHECK_THAT(BuildError([](const Scope& root) {
               RandomNormal(root.WithOpName("n"), {2, -1}, DType::kF32);
             }),
             Contains("n (RandomNormal): shape [2,-1] must be non-negative"));
  CHECK_THAT(BuildError([](const Scope& root) {
               TruncatedNormal(root.WithOpName("t"), FedInts(root, Shape{1, 2}), DType::kF32);
             }),
             Contains("t (TruncatedNormal): shape must have rank 1, got [1,2]"));
  CHECK_THAT(BuildError([](const Scope& root) {
               TruncatedNormal(root.WithOpName("t"), Const(root, {2.0f}), DType::kF32);
             }),
             Contains("t (TruncatedNormal): attr 'T' = f32 is not allowed; allowed: i32, i64"));
}

}  // namespace
}  // namespace sluice
