// CUDA kernels of the array family against the CPU ones: views, transposes
// (strided and tiled), concatenation, splitting, slices, strided slices with
// every mask, padding, tiling, broadcasting, gathers, one-hot encodings,
// fills, ranges and segment sums, on several dtypes and ranks 1 to 5.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/graph.h"
#include "kernels/kernel_registry.h"
#include "runtime/kernel_setup.h"
#include "tests/cuda_test_util.h"
#include "tests/kernel_test_util.h"

namespace sluice::testing {
namespace {

const std::vector<DType> kEveryDType(std::begin(kAllDTypes), std::end(kAllDTypes));
// One dtype per element size, plus bool.
const std::vector<DType> kSizes = {DType::kI8, DType::kF16, DType::kF32, DType::kF64, DType::kBool};

Tensor I32s(const std::vector<int32_t>& v) { return Tensor::FromVector(v); }
Tensor I64s(const std::vector<int64_t>& v) { return Tensor::FromVector(v); }

Tensor Values(DType dtype, const Shape& shape, uint64_t seed) {
  return RandomTensor(dtype, shape, seed, -100, 100);
}

// Data movement is exact.
std::string Same(const std::string& op, const std::vector<Tensor>& inputs,
                 const AttrMap& attrs = {}) {
  return CompareCudaWithCpu(op, inputs, attrs, 0, 0);
}

// The CUDA kernel for `op` on Const `inputs`, as RunCudaKernel creates it;
// the inputs listed in `fed` come from Placeholders of their shape instead,
// so their values are unknown when the kernel is made.
absl::StatusOr<std::unique_ptr<OpKernel>> CreateCudaKernel(Graph& graph, const std::string& op,
                                                           const std::vector<Tensor>& inputs,
                                                           const AttrMap& attrs = {},
                                                           const std::vector<int>& fed = {}) {
  NodeSpec spec;
  spec.name = "node";
  spec.op = op;
  spec.attrs = attrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    NodeSpec c;
    c.name = absl::StrCat("input_", i);
    if (std::find(fed.begin(), fed.end(), static_cast<int>(i)) != fed.end()) {
      c.op = "Placeholder";
      c.attrs = {{"dtype", inputs[i].dtype()}, {"shape", inputs[i].shape()}};
    } else {
      c.op = "Const";
      c.attrs = {{"value", inputs[i]}, {"dtype", inputs[i].dtype()}};
    }
    absl::StatusOr<Node*> n = graph.AddNode(std::move(c));
    if (!n.ok()) return n.status();
    spec.inputs.emplace_back(*n, 0);
  }
  absl::StatusOr<Node*> node = graph.AddNode(std::move(spec));
  if (!node.ok()) return node.status();
  KernelInit init{**node, DeviceType::kCuda, nullptr, 0, 1, &TestCudaContext()};
  return GlobalKernelRegistry().CreateKernel(init);
}

bool IsView(const std::string& op, const std::vector<Tensor>& inputs, const AttrMap& attrs = {}) {
  Graph graph;
  auto kernel = CreateCudaKernel(graph, op, inputs, attrs);
  if (!kernel.ok()) return false;
  return (*kernel)->ForwardedOutputs() == std::vector<int>{0};
}

// The status of creating `op`'s CUDA kernel with input `fed` unknown.
absl::Status CreateWithFedInput(const std::string& op, const std::vector<Tensor>& inputs, int fed,
                                const AttrMap& attrs = {}) {
  Graph graph;
  return CreateCudaKernel(graph, op, inputs, attrs, {fed}).status();
}

TEST_CASE("CUDA array kernels need their index inputs when the plan is compiled") {
  const Tensor x = Values(DType::kF32, Shape{3, 3}, 1);
  struct Case {
    std::string op;
    std::vector<Tensor> inputs;
    int fed;
    std::string name;
  };
  for (const Case& c : {Case{"Transpose", {x, I32s({1, 0})}, 1, "perm"},
                        Case{"Concat", {Tensor::Scalar<int32_t>(0), x, x}, 0, "concat_dim"},
                        Case{"Split", {Tensor::Scalar<int32_t>(1), x}, 0, "split_dim"},
                        Case{"Slice", {x, I32s({0, 1}), I32s({2, 2})}, 1, "begin"},
                        Case{"Gather", {x, I32s({2, 0}), Tensor::Scalar<int32_t>(1)}, 2, "axis"}}) {
    INFO(c.op);
    const AttrMap attrs = c.op == "Split" ? AttrMap{{"num_split", int64_t{3}}} : AttrMap{};
    const absl::Status status = CreateWithFedInput(c.op, c.inputs, c.fed, attrs);
    CHECK(status.code() == absl::StatusCode::kUnimplemented);
    CHECK_THAT(std::string(status.message()), Catch::Matchers::Contains(c.name));
  }
}

// ---------------------------------------------------------------------------
// Views

TEST_CASE("CUDA Reshape, Squeeze and ExpandDims are views with the CPU's values") {
  for (DType dtype : kEveryDType) {
    INFO(DTypeName(dtype));
    const Tensor x = Values(dtype, Shape{2, 1, 3, 1, 4}, 1);
    CHECK(Same("Reshape", {x, I32s({4, -1})}) == "");
    CHECK(Same("Reshape", {x, I64s({24})}) == "");
    CHECK(Same("Squeeze", {x}) == "");
    CHECK(Same("Squeeze", {x}, {{"squeeze_dims", std::vector<int64_t>{-2}}}) == "");
    CHECK(Same("ExpandDims", {x, Tensor::Scalar<int32_t>(-1)}) == "");
    CHECK(Same("ExpandDims", {x, Tensor::Scalar<int64_t>(0)}) == "");
  }
  const Tensor empty = Values(DType::kF32, Shape{3, 0}, 2);
  CHECK(Same("Reshape", {empty, I32s({0, 5})}) == "");
  CHECK(IsView("Reshape", {Values(DType::kF32, Shape{2, 3}, 3), I32s({3, 2})}));
}

// ---------------------------------------------------------------------------
// Transpose

TEST_CASE("CUDA Transpose matches the CPU for every permutation up to rank 5") {
  const std::vector<Shape> shapes = {Shape{7},
                                     Shape{7, 33},
                                     Shape{130, 100},
                                     Shape{2, 0, 3},
                                     Shape{2, 3, 4},
                                     Shape{64, 3, 40},
                                     Shape{33, 17, 48},
                                     Shape{3, 1, 5, 7},
                                     Shape{1, 40, 1, 36},
                                     Shape{2, 3, 4, 5, 3}};
  uint64_t seed = 10;
  for (const Shape& shape : shapes) {
    std::vector<int32_t> perm(shape.rank());
    std::iota(perm.begin(), perm.end(), 0);
    const std::vector<DType>& dtypes = shape.rank() == 5 ? kSizes : kEveryDType;
    do {
      for (DType dtype : dtypes) {
        INFO(DTypeName(dtype) << shape.ToString() << " perm [" << absl::StrJoin(perm, ",") << "]");
        CHECK(Same("Transpose", {Values(dtype, shape, seed++), I32s(perm)}) == "");
      }
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST_CASE("CUDA Transpose of large matrices crosses tile edges correctly") {
  // Tiled path: both dims >= 16, sizes not multiples of the 32-wide tile.
  for (DType dtype : {DType::kF32, DType::kF16, DType::kI8, DType::kF64}) {
    INFO(DTypeName(dtype));
    CHECK(Same("Transpose", {Values(dtype, Shape{1031, 517}, 5), I32s({1, 0})}) == "");
    CHECK(Same("Transpose", {Values(dtype, Shape{3, 47, 65}, 6), I32s({0, 2, 1})}) == "");
    CHECK(Same("Transpose", {Values(dtype, Shape{2, 40, 3, 50}, 7), I64s({3, 1, 0, 2})}) == "");
    // NHWC <-> NCHW with few channels takes the generic path.
    CHECK(Same("Transpose", {Values(dtype, Shape{2, 9, 11, 3}, 8), I32s({0, 3, 1, 2})}) == "");
    CHECK(Same("Transpose", {Values(dtype, Shape{2, 3, 9, 11}, 9), I32s({0, 2, 3, 1})}) == "");
  }
}

TEST_CASE("CUDA Transposes that keep the element order are views") {
  const Tensor x = Values(DType::kF32, Shape{4, 1, 5}, 2);
  CHECK(IsView("Transpose", {x, I64s({0, 1, 2})}));
  CHECK(IsView("Transpose", {x, I32s({1, 0, 2})}));
  CHECK_FALSE(IsView("Transpose", {x, I32s({2, 1, 0})}));
  CHECK(Same("Transpose", {x, I32s({1, 0, 2})}) == "");
}

// ---------------------------------------------------------------------------
// Concat and Split

TEST_CASE("CUDA Concat matches the CPU") {
  struct Case {
    std::vector<Shape> shapes;
    int axis;
  };
  const std::vector<Case> cases = {
      {{Shape{3}, Shape{5}}, 0},
      {{Shape{3}, Shape{5}}, -1},
      {{Shape{2, 3}, Shape{2, 1}, Shape{2, 0}, Shape{2, 7}}, 1},
      {{Shape{2, 3}, Shape{4, 3}}, 0},
      {{Shape{2, 3, 4}, Shape{2, 5, 4}}, -2},
      {{Shape{2, 3, 4}, Shape{2, 3, 1}, Shape{2, 3, 33}}, -1},
      {{Shape{0, 3}, Shape{0, 3}}, 1},
      {{Shape{300, 64}, Shape{300, 200}}, 1},  // wide rows: copied in 16-byte words
      {{Shape{2, 3, 4, 5}, Shape{2, 3, 2, 5}, Shape{2, 3, 1, 5}}, 2},
      {{Shape{2, 3, 2, 4, 8}, Shape{2, 3, 2, 4, 8}}, -5},
      {{Shape{2, 3, 2, 4, 8}, Shape{2, 3, 2, 4, 16}}, 4},
      {{Shape{5, 7}}, 1},
  };
  uint64_t seed = 100;
  for (const Case& c : cases) {
    for (DType dtype : kEveryDType) {
      std::vector<Tensor> inputs = {Tensor::Scalar<int32_t>(c.axis)};
      for (const Shape& s : c.shapes) inputs.push_back(Values(dtype, s, seed++));
      INFO(DTypeName(dtype) << " axis " << c.axis << " first " << c.shapes[0].ToString()
                            << " inputs " << c.shapes.size());
      CHECK(Same("Concat", inputs) == "");
    }
  }
}

TEST_CASE("CUDA Split matches the CPU") {
  struct Case {
    Shape shape;
    int axis;
    int num_split;
  };
  uint64_t seed = 200;
  for (const Case& c : {Case{Shape{6}, 0, 3}, Case{Shape{4, 6}, 1, 2}, Case{Shape{4, 6}, -2, 4},
                        Case{Shape{2, 9, 5}, 1, 3}, Case{Shape{3, 0}, 0, 3},
                        Case{Shape{5, 7}, 1, 1}, Case{Shape{2, 3, 4, 8}, -1, 2},
                        Case{Shape{2, 3, 4, 2, 6}, 4, 3}, Case{Shape{64, 96}, 1, 3}}) {
    for (DType dtype : kEveryDType) {
      INFO(DTypeName(dtype) << c.shape.ToString() << " axis " << c.axis << " into " << c.num_split);
      CHECK(Same("Split", {Tensor::Scalar<int32_t>(c.axis), Values(dtype, c.shape, seed++)},
                 {{"num_split", int64_t{c.num_split}}}) == "");
    }
  }
}

// ---------------------------------------------------------------------------
// Slice and StridedSlice

TEST_CASE("CUDA Slice matches the CPU") {
  std::mt19937 rng(7);
  uint64_t seed = 300;
  for (const Shape& shape : {Shape{9}, Shape{5, 7}, Shape{4, 1, 6}, Shape{3, 4, 5, 6}, Shape{4, 0},
                             Shape{2, 3, 4, 3, 5}}) {
    for (int trial = 0; trial < 6; ++trial) {
      std::vector<int64_t> begin, size;
      for (int d = 0; d < shape.rank(); ++d) {
        const int64_t dim = shape.dim(d);
        const int64_t b = static_cast<int64_t>(rng() % (dim + 1));
        begin.push_back(b);
        size.push_back(trial % 3 == 0 ? -1 : static_cast<int64_t>(rng() % (dim - b + 1)));
      }
      for (DType dtype : kSizes) {
        INFO(DTypeName(dtype) << shape.ToString() << " begin [" << absl::StrJoin(begin, ",")
                              << "] size [" << absl::StrJoin(size, ",") << "]");
        const Tensor x = Values(dtype, shape, seed++);
        if (trial % 2 == 0) {
          CHECK(Same("Slice", {x, I64s(begin), I64s(size)}) == "");
        } else {
          const std::vector<int32_t> b32(begin.begin(), begin.end());
          const std::vector<int32_t> s32(size.begin(), size.end());
          CHECK(Same("Slice", {x, I32s(b32), I32s(s32)}) == "");
        }
      }
    }
  }
  // A slice of everything is a view; a slice of whole rows is one memcpy.
  const Tensor x = Values(DType::kF32, Shape{3, 4}, 1);
  CHECK(IsView("Slice", {x, I32s({0, 0}), I32s({-1, 4})}));
  CHECK(Same("Slice", {x, I32s({1, 0}), I32s({2, 4})}) == "");
}

struct SliceSpec {
  std::vector<int32_t> begin, end, strides;
  int64_t begin_mask = 0, end_mask = 0, ellipsis_mask = 0, new_axis_mask = 0, shrink_mask = 0;
};

std::string SameStridedSlice(const Tensor& x, const SliceSpec& s) {
  return Same("StridedSlice", {x, I32s(s.begin), I32s(s.end), I32s(s.strides)},
              {{"begin_mask", s.begin_mask},
               {"end_mask", s.end_mask},
               {"ellipsis_mask", s.ellipsis_mask},
               {"new_axis_mask", s.new_axis_mask},
               {"shrink_axis_mask", s.shrink_mask}});
}

TEST_CASE("CUDA StridedSlice matches the CPU for every mask") {
  struct Case {
    Shape shape;
    SliceSpec spec;
  };
  const std::vector<Case> cases = {
      {Shape{4, 5, 6}, {{1}, {3}, {1}}},
      {Shape{4, 5, 6}, {{0, 1}, {3, 0}, {1, 1}, 1, 2}},                     // begin and end masks
      {Shape{4, 5, 6}, {{0}, {0}, {-1}, 1, 1}},                             // reversed
      {Shape{4, 5, 6}, {{3, 0}, {0, 0}, {-1, -2}, 2, 2}},                   // negative strides
      {Shape{4, 5, 6}, {{-3, -100}, {-1, 100}, {1, 2}}},                    // negative, clamped
      {Shape{4, 5, 6}, {{1}, {2}, {1}, 0, 0, 0, 0, 1}},                     // shrink
      {Shape{4, 5, 6}, {{-1, 0, 2}, {0, 0, 3}, {1, 1, 1}, 2, 2, 0, 0, 5}},  // shrink, negative
      {Shape{4, 5, 6}, {{0, 1}, {0, 2}, {1, 1}, 0, 0, 1, 0, 2}},            // ellipsis, shrink
      {Shape{4, 5, 6}, {{0, 0, 1}, {1, 0, 5}, {1, 1, 3}, 0, 0, 2, 0, 1}},
      {Shape{4, 5, 6}, {{0}, {0}, {1}, 0, 0, 1}},              // ellipsis alone
      {Shape{4, 5, 6}, {{0, 1}, {0, 3}, {1, 1}, 0, 0, 0, 1}},  // new axis
      {Shape{4, 5, 6}, {{0, 0, 0}, {0, 0, 1}, {1, 1, 1}, 1, 1, 0, 2, 4}},
      {Shape{4, 5, 6}, {{0, 0}, {0, 0}, {1, 1}, 0, 0, 1, 2}},  // ellipsis, new axis
      {Shape{4, 5, 6}, {{2, 0, 0, 0, 5}, {3, 0, 0, 0, 0}, {1, 1, 1, 1, -2}, 0, 0, 4, 10, 1}},
      {Shape{4, 5, 6}, {{2}, {2}, {1}}},  // empty
      {Shape{4, 5, 6}, {{3}, {1}, {1}}},  // empty: wrong way
      {Shape{4, 5, 6}, {{0, 4, 0}, {4, 0, 6}, {3, -3, 4}}},
      {Shape{9}, {{8}, {0}, {-3}}},                    // rank 1
      {Shape{0, 3}, {{0, 2}, {0, 0}, {1, -1}, 1, 1}},  // zero-size dim
      {Shape{3, 0}, {{-1}, {0}, {-1}, 0, 1}},
      {Shape{3, 4, 2, 5}, {{0, 3, 0, 4}, {0, 0, 0, 0}, {2, -1, 1, -2}, 15, 15}},
      {Shape{3, 4, 2, 5}, {{1, 0, -1}, {0, 0, 0}, {1, 1, -1}, 0, 6, 2, 0, 1}},
      {Shape{2, 3, 4, 5, 6}, {{1, 0, 3}, {2, 0, 0}, {1, 1, -2}, 0, 4, 2, 0, 0}},
      {Shape{2, 3, 4, 5, 6},
       {{0, 1, 0, 0, 5, 0}, {0, 3, 0, 0, 0, 4}, {1, 1, 1, 1, -1, 2}, 1, 1, 0, 4, 9}},
      {Shape{2, 3, 4, 5, 6}, {{1, 2, 3, 4, 5}, {2, 3, 4, 5, 6}, {1, 1, 1, 1, 1}, 0, 0, 0, 0, 31}},
  };
  uint64_t seed = 400;
  for (const Case& c : cases) {
    const SliceSpec& s = c.spec;
    for (DType dtype : kEveryDType) {
      INFO(DTypeName(dtype) << c.shape.ToString() << " begin [" << absl::StrJoin(s.begin, ",")
                            << "] end [" << absl::StrJoin(s.end, ",") << "] strides ["
                            << absl::StrJoin(s.strides, ",") << "] masks " << s.begin_mask << ","
                            << s.end_mask << "," << s.ellipsis_mask << "," << s.new_axis_mask << ","
                            << s.shrink_mask);
      CHECK(SameStridedSlice(Values(dtype, c.shape, seed++), s) == "");
    }
  }
}

TEST_CASE("CUDA StridedSlice with random ranges matches the CPU") {
  std::mt19937 rng(11);
  uint64_t seed = 500;
  for (const Shape& shape : {Shape{7, 1, 9}, Shape{3, 4, 2, 5, 3}}) {
    for (int trial = 0; trial < 150; ++trial) {
      SliceSpec s;
      for (int d = 0; d < shape.rank(); ++d) {
        const int64_t bit = int64_t{1} << d;
        s.begin.push_back(static_cast<int32_t>(rng() % 25) - 12);
        s.end.push_back(static_cast<int32_t>(rng() % 25) - 12);
        int32_t stride = static_cast<int32_t>(rng() % 7) - 3;
        s.strides.push_back(stride == 0 ? 1 : stride);
        if (rng() % 5 == 0) s.begin_mask |= bit;
        if (rng() % 5 == 0) s.end_mask |= bit;
      }
      const DType dtype = kSizes[trial % kSizes.size()];
      INFO(DTypeName(dtype) << shape.ToString() << " begin [" << absl::StrJoin(s.begin, ",")
                            << "] end [" << absl::StrJoin(s.end, ",") << "] strides ["
                            << absl::StrJoin(s.strides, ",") << "] masks " << s.begin_mask << ","
                            << s.end_mask);
      CHECK(SameStridedSlice(Values(dtype, shape, seed++), s) == "");
    }
  }
}

// ---------------------------------------------------------------------------
// Pad, Tile, BroadcastTo

TEST_CASE("CUDA Pad matches the CPU") {
  struct Case {
    Shape shape;
    std::vector<int32_t> paddings;
  };
  uint64_t seed = 600;
  for (const Case& c : {Case{Shape{3}, {1, 2}}, Case{Shape{2, 3}, {0, 0, 2, 1}},
                        Case{Shape{2, 3, 4}, {1, 1, 0, 2, 3, 0}}, Case{Shape{0, 2}, {1, 1, 1, 0}},
                        Case{Shape{1, 5, 5, 2}, {0, 0, 2, 2, 2, 2, 0, 0}},
                        Case{Shape{2, 6, 7, 8}, {1, 0, 0, 3, 1, 1, 0, 0}},
                        Case{Shape{2, 4, 4, 16}, {0, 0, 1, 1, 1, 1, 0, 0}},
                        Case{Shape{2, 3, 2, 3, 2}, {1, 0, 0, 1, 2, 0, 0, 0, 1, 1}},
                        Case{Shape{2, 3}, {0, 0, 0, 0}}}) {
    for (DType dtype : kEveryDType) {
      INFO(DTypeName(dtype) << c.shape.ToString() << " paddings [" << absl::StrJoin(c.paddings, ",")
                            << "]");
      const Tensor paddings = *Tensor::FromVector(c.paddings, Shape{c.shape.rank(), 2});
      CHECK(Same("Pad", {Values(dtype, c.shape, seed++), paddings}) == "");
    }
  }
}

TEST_CASE("CUDA Tile and BroadcastTo match the CPU") {
  uint64_t seed = 700;
  struct TileCase {
    Shape shape;
    std::vector<int32_t> multiples;
  };
  for (const TileCase& c :
       {TileCase{Shape{3}, {4}}, TileCase{Shape{2, 3}, {1, 1}}, TileCase{Shape{2, 3}, {3, 2}},
        TileCase{Shape{2, 1, 3}, {1, 5, 1}}, TileCase{Shape{2, 3}, {0, 2}},
        TileCase{Shape{0, 3}, {2, 2}}, TileCase{Shape{1, 7}, {33, 1}},
        TileCase{Shape{2, 1, 3, 2}, {1, 3, 2, 2}}, TileCase{Shape{2, 3, 1, 4}, {2, 1, 5, 1}},
        TileCase{Shape{1, 2, 1, 2, 3}, {2, 1, 2, 1, 2}}}) {
    for (DType dtype : kEveryDType) {
      INFO("Tile " << DTypeName(dtype) << c.shape.ToString() << " multiples ["
                   << absl::StrJoin(c.multiples, ",") << "]");
      CHECK(Same("Tile", {Values(dtype, c.shape, seed++), I32s(c.multiples)}) == "");
    }
  }
  struct BroadcastCase {
    Shape from, to;
  };
  for (const BroadcastCase& c :
       {BroadcastCase{Shape{}, Shape{3, 2}}, BroadcastCase{Shape{3}, Shape{2, 3}},
        BroadcastCase{Shape{2, 1}, Shape{2, 5}}, BroadcastCase{Shape{1, 3, 1}, Shape{4, 3, 2}},
        BroadcastCase{Shape{2, 3}, Shape{2, 3}}, BroadcastCase{Shape{1}, Shape{0, 4}},
        BroadcastCase{Shape{5, 1, 7}, Shape{2, 5, 33, 7}},
        BroadcastCase{Shape{1, 3, 1, 2}, Shape{4, 3, 5, 2}},
        BroadcastCase{Shape{6, 1}, Shape{2, 3, 6, 40}},
        BroadcastCase{Shape{1, 2, 1, 1, 3}, Shape{2, 2, 3, 2, 3}}}) {
    for (DType dtype : kEveryDType) {
      INFO("BroadcastTo " << DTypeName(dtype) << c.from.ToString() << " -> " << c.to.ToString());
      const std::vector<int64_t> target(c.to.dims().begin(), c.to.dims().end());
      CHECK(Same("BroadcastTo", {Values(dtype, c.from, seed++), I64s(target)}) == "");
    }
  }
  CHECK(IsView("Tile", {Values(DType::kF32, Shape{2, 3}, 1), I32s({1, 1})}));
}

// ---------------------------------------------------------------------------
// Gather

TEST_CASE("CUDA Gather matches the CPU, with batch dims and negative axes") {
  struct Case {
    Shape params, indices;
    int axis, batch_dims;
  };
  uint64_t seed = 800;
  for (const Case& c :
       {Case{Shape{10}, Shape{4}, 0, 0}, Case{Shape{10, 3}, Shape{}, 0, 0},
        Case{Shape{10, 3}, Shape{2, 5}, 0, 0}, Case{Shape{4, 6}, Shape{7}, 1, 0},
        Case{Shape{2, 5, 3}, Shape{4}, -2, 0}, Case{Shape{3, 4, 5}, Shape{3, 2}, 1, 1},
        Case{Shape{3, 4, 5}, Shape{3, 6}, 2, 1}, Case{Shape{3, 4, 5}, Shape{3, 6}, -1, -1},
        Case{Shape{2, 3, 4, 5}, Shape{2, 3, 6}, 2, 2},
        Case{Shape{2, 3, 4, 5}, Shape{2, 2, 2}, 3, 1}, Case{Shape{5, 3}, Shape{0}, 0, 0},
        Case{Shape{2, 3, 2, 4, 5}, Shape{2, 3}, -3, 1}, Case{Shape{1000, 17}, Shape{300}, 0, 0},
        Case{Shape{100, 64}, Shape{7, 9}, 0, 0}}) {
    for (DType index_type : {DType::kI32, DType::kI64}) {
      for (DType dtype : kEveryDType) {
        INFO(DTypeName(dtype) << c.params.ToString() << " indices " << DTypeName(index_type)
                              << c.indices.ToString() << " axis " << c.axis << " batch_dims "
                              << c.batch_dims);
        const int axis = c.axis < 0 ? c.axis + c.params.rank() : c.axis;
        const Tensor indices =
            RandomTensor(index_type, c.indices, seed++, 0, static_cast<double>(c.params.dim(axis)));
        CHECK(Same("Gather",
                   {Values(dtype, c.params, seed++), indices, Tensor::Scalar<int32_t>(c.axis)},
                   {{"batch_dims", int64_t{c.batch_dims}}}) == "");
      }
    }
  }
}

TEST_CASE("CUDA Gather writes zeros for indices out of range") {
  const Tensor params = Values(DType::kF32, Shape{10, 2}, 1);
  auto out = RunCudaKernel("Gather", {params, I32s({0, 9, 3, 12, -1}), Tensor::Scalar<int32_t>(0)});
  REQUIRE(out.ok());
  const float* p = params.data<float>();
  const std::vector<float> expected = {p[0], p[1], p[18], p[19], p[6], p[7], 0, 0, 0, 0};
  CHECK((*out)[0].shape() == Shape{5, 2});
  CHECK((*out)[0].ToVector<float>() == expected);

  const Tensor bytes = Values(DType::kI8, Shape{3, 4}, 2);
  auto rows = RunCudaKernel("Gather", {bytes, I64s({2, 4}), Tensor::Scalar<int32_t>(1)});
  REQUIRE(rows.ok());
  const int8_t* b = bytes.data<int8_t>();
  CHECK((*rows)[0].ToVector<int8_t>() == std::vector<int8_t>{b[2], 0, b[6], 0, b[10], 0});
}

// ---------------------------------------------------------------------------
// OneHot, Fill, ZerosLike, OnesLike

TEST_CASE("CUDA OneHot matches the CPU; out-of-range indices give off rows") {
  uint64_t seed = 900;
  for (DType index_type : {DType::kU8, DType::kI32, DType::kI64}) {
    const double lo = index_type == DType::kU8 ? 0 : -2;
    const Tensor indices = RandomTensor(index_type, Shape{2, 3, 5}, seed++, lo, 7);
    for (int64_t axis : {-1, 0, 1, 2, 3}) {
      for (DType dtype : kEveryDType) {
        INFO(DTypeName(dtype) << " indices " << DTypeName(index_type) << " axis " << axis);
        const Tensor on = Values(dtype, Shape{}, seed++);
        const Tensor off = Values(dtype, Shape{}, seed++);
        CHECK(Same("OneHot", {indices, Tensor::Scalar<int32_t>(5), on, off}, {{"axis", axis}}) ==
              "");
      }
    }
  }
  auto bools = RunCudaKernel("OneHot", {I32s({1, 0, 5}), Tensor::Scalar<int32_t>(2),
                                        Tensor::Scalar<bool>(true), Tensor::Scalar<bool>(false)});
  REQUIRE(bools.ok());
  CHECK((*bools)[0].ToVector<bool>() == std::vector<bool>{false, true, true, false, false, false});
  CHECK(Same("OneHot", {I64s({}), Tensor::Scalar<int32_t>(3), Tensor::Scalar<float>(1),
                        Tensor::Scalar<float>(0)}) == "");
}

TEST_CASE("CUDA Fill, ZerosLike and OnesLike fill every element") {
  uint64_t seed = 1000;
  for (DType dtype : kEveryDType) {
    INFO(DTypeName(dtype));
    const Tensor value = Values(dtype, Shape{}, seed++);
    CHECK(Same("Fill", {I32s({2, 3}), value}) == "");
    CHECK(Same("Fill", {I64s({3, 1, 4, 1, 5}), value}) == "");
    CHECK(Same("Fill", {I32s({300, 301}), value}) == "");
    CHECK(Same("Fill", {I32s({0, 3}), value}) == "");
    const Tensor x = Values(dtype, Shape{3, 5, 7}, seed++);
    CHECK(Same("ZerosLike", {x}) == "");
    CHECK(Same("OnesLike", {x}) == "");
    auto ones = RunCudaKernel("OnesLike", {x});
    REQUIRE(ones.ok());
    for (int64_t i = 0; i < x.num_elements(); ++i) CHECK((*ones)[0].ElementAsDouble(i) == 1.0);
    CHECK(Same("ZerosLike", {Values(dtype, Shape{0, 4}, seed++)}) == "");
  }
}

// ---------------------------------------------------------------------------
// Range and UnsortedSegmentSum

// Integers exactly; floats within an ulp or so, since whether the CPU's
// multiply and add are fused depends on the host compiler's target.
std::string SameRange(const Tensor& start, const Tensor& limit, const Tensor& delta) {
  const double tol = start.dtype() == DType::kF32 ? 1e-6 : start.dtype() == DType::kF64 ? 1e-14 : 0;
  return CompareCudaWithCpu("Range", {start, limit, delta}, {}, tol, tol);
}

TEST_CASE("CUDA Range matches the CPU") {
  CHECK(SameRange(Tensor::Scalar<int32_t>(3), Tensor::Scalar<int32_t>(50),
                  Tensor::Scalar<int32_t>(4)) == "");
  CHECK(SameRange(Tensor::Scalar<int32_t>(5), Tensor::Scalar<int32_t>(-7),
                  Tensor::Scalar<int32_t>(-2)) == "");
  CHECK(SameRange(Tensor::Scalar<int64_t>(-(int64_t{1} << 40)),
                  Tensor::Scalar<int64_t>(int64_t{1} << 40),
                  Tensor::Scalar<int64_t>(int64_t{3} << 28)) == "");
  CHECK(SameRange(Tensor::Scalar<float>(0.1f), Tensor::Scalar<float>(1000.0f),
                  Tensor::Scalar<float>(0.37f)) == "");
  CHECK(SameRange(Tensor::Scalar<float>(2.0f), Tensor::Scalar<float>(-3.0f),
                  Tensor::Scalar<float>(-0.3f)) == "");
  CHECK(SameRange(Tensor::Scalar<double>(-1.5), Tensor::Scalar<double>(700.25),
                  Tensor::Scalar<double>(0.013)) == "");
  CHECK(SameRange(Tensor::Scalar<int32_t>(4), Tensor::Scalar<int32_t>(4),
                  Tensor::Scalar<int32_t>(1)) == "");
  auto out = RunCudaKernel("Range", {Tensor::Scalar<int64_t>(10), Tensor::Scalar<int64_t>(0),
                                     Tensor::Scalar<int64_t>(-3)});
  REQUIRE(out.ok());
  CHECK((*out)[0].ToVector<int64_t>() == std::vector<int64_t>{10, 7, 4, 1});
}

TEST_CASE("CUDA UnsortedSegmentSum matches the CPU; ids out of range are dropped") {
  struct Case {
    Shape data, ids;
    int64_t segments;
  };
  uint64_t seed = 1100;
  for (const Case& c : {Case{Shape{8}, Shape{8}, 4}, Case{Shape{6, 5}, Shape{6}, 3},
                        Case{Shape{4, 3, 7}, Shape{4, 3}, 5}, Case{Shape{200, 33}, Shape{200}, 7},
                        Case{Shape{0, 3}, Shape{0}, 2}, Case{Shape{5, 2}, Shape{5}, 0},
                        Case{Shape{2, 3, 2, 2, 3}, Shape{2, 3}, 4}}) {
    for (DType index_type : {DType::kI32, DType::kI64}) {
      for (DType dtype : {DType::kF32, DType::kF64, DType::kI32, DType::kI64}) {
        INFO(DTypeName(dtype) << c.data.ToString() << " ids " << DTypeName(index_type)
                              << c.ids.ToString() << " segments " << c.segments);
        // Some ids fall outside [0, segments) on both sides.
        const Tensor ids =
            RandomTensor(index_type, c.ids, seed++, -2, static_cast<double>(c.segments + 2));
        const Tensor num_segments = index_type == DType::kI32
                                        ? Tensor::Scalar<int32_t>(static_cast<int32_t>(c.segments))
                                        : Tensor::Scalar<int64_t>(c.segments);
        // Atomics add in any order: floats agree to rounding (sums of up to
        // ~30 values of magnitude 100), integers exactly.
        const double rtol = dtype == DType::kF32 ? 1e-5 : dtype == DType::kF64 ? 1e-12 : 0;
        const double atol = dtype == DType::kF32 ? 1e-2 : dtype == DType::kF64 ? 1e-9 : 0;
        CHECK(CompareCudaWithCpu("UnsortedSegmentSum",
                                 {Values(dtype, c.data, seed++), ids, num_segments}, {}, rtol,
                                 atol) == "");
      }
    }
  }
}

}  // namespace
}  // namespace sluice::testing
