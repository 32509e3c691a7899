// Array CPU kernels against plain references: views, transposes, slices,
// strided slices (every mask), padding, tiling, broadcasting, concatenation,
// splitting, gathering, one-hot encoding, fills and shape queries.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <functional>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/graph.h"
#include "kernels/variable_store.h"
#include "runtime/kernel_setup.h"
#include "tests/kernel_test_util.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;
using testing::CompareTensors;
using testing::RandomTensor;
using testing::RunCpuKernel;
using testing::RunWithFedInputs;


// Every dtype, for ops that move bytes.
const std::vector<DType> kSomeDTypes = {DType::kF32, DType::kF64, DType::kF16,
                                        DType::kI8,  DType::kI64, DType::kBool};

Tensor I32s(const std::vector<int32_t>& v) { return Tensor::FromVector(v); }
Tensor I64s(const std::vector<int64_t>& v) { return Tensor::FromVector(v); }

// Distinct-ish values of any dtype.
Tensor Values(DType dtype, const Shape& shape, uint64_t seed) {
  return RandomTensor(dtype, shape, seed, -100, 100);
}

std::vector<int64_t> Unflatten(const Shape& shape, int64_t i) {
  std::vector<int64_t> index(shape.rank());
  for (int d = shape.rank() - 1; d >= 0; --d) {
    index[d] = i % shape.dim(d);
    i /= shape.dim(d);
  }
  return index;
}

int64_t Flatten(const Shape& shape, const std::vector<int64_t>& index) {
  int64_t i = 0;
  for (int d = 0; d < shape.rank(); ++d) i = i * shape.dim(d) + index[d];
  return i;
}

// A tensor of `shape` whose element i is element source(i) of `x`.
Tensor Gathered(const Tensor& x, const Shape& shape,
                const std::function<int64_t(int64_t)>& source) {
  Tensor out(x.dtype(), shape);
  const int size = DTypeSize(x.dtype());
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    std::memcpy(static_cast<char*>(out.raw_data()) + i * size,
                static_cast<const char*>(x.raw_data()) + source(i) * size, size);
  }
  return out;
}

std::string Check(const absl::StatusOr<std::vector<Tensor>>& out, const Tensor& expected,
                  int index = 0) {
  if (!out.ok()) return std::string(out.status().message());
  return CompareTensors((*out)[index], expected, 0, 0);
}

// ---------------------------------------------------------------------------

TEST_CASE("Reshape, Squeeze and ExpandDims are views of their input") {
  const Tensor x = Values(DType::kF32, Shape{2, 1, 3}, 1);
  auto reshaped = RunCpuKernel("Reshape", {x, I32s({3, -1})});
  REQUIRE(reshaped.ok());
  CHECK((*reshaped)[0].shape() == Shape{3, 2});
  CHECK((*reshaped)[0].SharesBufferWith(x));
  CHECK((*reshaped)[0].ToVector<float>() == x.ToVector<float>());

  auto squeezed = RunCpuKernel("Squeeze", {x});
  REQUIRE(squeezed.ok());
  CHECK((*squeezed)[0].shape() == Shape{2, 3});
  CHECK((*squeezed)[0].SharesBufferWith(x));

  auto expanded = RunCpuKernel("ExpandDims", {x, Tensor::Scalar<int32_t>(-1)});
  REQUIRE(expanded.ok());
  CHECK((*expanded)[0].shape() == Shape{2, 1, 3, 1});
  CHECK((*expanded)[0].SharesBufferWith(x));
}

Tensor TransposeReference(const Tensor& x, const std::vector<int>& perm) {
  Shape out_shape;
  for (int p : perm) out_shape.AddDim(x.shape().dim(p));
  return Gathered(x, out_shape, [&](int64_t i) {
    const std::vector<int64_t> out_index = Unflatten(out_shape, i);
    std::vector<int64_t> in_index(perm.size());
    for (size_t d = 0; d < perm.size(); ++d) in_index[perm[d]] = out_index[d];
    return Flatten(x.shape(), in_index);
  });
}

TEST_CASE("Transpose matches a reference for every permutation") {
  const std::vector<Shape> shapes = {
      Shape{1, 1},          Shape{7, 33},      Shape{130, 100},
      Shape{2, 3, 4},       Shape{3, 1, 5, 7}, Shape{2, 0, 3},
      Shape{5, 4, 3, 2, 3}, Shape{64, 3, 40},  Shape{1, 300, 1, 200}};
  uint64_t seed = 1;
  for (const Shape& shape : shapes) {
    std::vector<int> perm(shape.rank());
    std::iota(perm.begin(), perm.end(), 0);
    do {
      for (DType dtype : kSomeDTypes) {
        INFO(DTypeName(dtype) << shape.ToString() << " perm [" << absl::StrJoin(perm, ",") << "]");
        const Tensor x = Values(dtype, shape, seed++);
        auto out =
            RunCpuKernel("Transpose", {x, I32s(std::vector<int32_t>(perm.begin(), perm.end()))});
        CHECK(Check(out, TransposeReference(x, perm)) == "");
      }
    } while (std::next_permutation(perm.begin(), perm.end()));
  }
}

TEST_CASE("Transpose of a large matrix splits across tiles correctly") {
  const Tensor x = Values(DType::kF32, Shape{1031, 517}, 5);
  auto out = RunCpuKernel("Transpose", {x, I32s({1, 0})});
  CHECK(Check(out, TransposeReference(x, {1, 0})) == "");
}

TEST_CASE("Transposes that keep the element order are views") {
  const Tensor x = Values(DType::kF32, Shape{4, 1, 5}, 2);
  auto identity = RunCpuKernel("Transpose", {x, I64s({0, 1, 2})});
  REQUIRE(identity.ok());
  CHECK((*identity)[0].SharesBufferWith(x));
  // Moving a dim of size 1 does not move any element either.
  auto moved = RunCpuKernel("Transpose", {x, I32s({1, 0, 2})});
  REQUIRE(moved.ok());
  CHECK((*moved)[0].shape() == Shape{1, 4, 5});
  CHECK((*moved)[0].SharesBufferWith(x));
}

TEST_CASE("Transpose reads a perm that is only known at run time") {
  // Equal dims keep the output shape known without the perm's value.
  const Tensor x = Values(DType::kI32, Shape{3, 3, 3}, 4);
  auto out = RunWithFedInputs("Transpose", {x, I32s({2, 0, 1})}, {1}, {}, {Shape{3, 3, 3}});
  CHECK(Check(out, TransposeReference(x, {2, 0, 1})) == "");
  auto bad = RunWithFedInputs("Transpose", {x, I32s({2, 0, 2})}, {1}, {}, {Shape{3, 3, 3}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Contains("perm is not a permutation of [0, 3): entry 2 is 2"));
}

// ---------------------------------------------------------------------------
// Concat and Split

Tensor ConcatReference(const std::vector<Tensor>& xs, int axis) {
  const int rank = xs[0].shape().rank();
  if (axis < 0) axis += rank;
  Shape out_shape = xs[0].shape();
  int64_t total = 0;
  for (const Tensor& x : xs) total += x.shape().dim(axis);
  out_shape.set_dim(axis, total);
  Tensor out(xs[0].dtype(), out_shape);
  const int size = DTypeSize(out.dtype());
  for (int64_t i = 0; i < out.num_elements(); ++i) {
    std::vector<int64_t> index = Unflatten(out_shape, i);
    size_t k = 0;
    while (index[axis] >= xs[k].shape().dim(axis)) index[axis] -= xs[k++].shape().dim(axis);
    std::memcpy(static_cast<char*>(out.raw_data()) + i * size,
                static_cast<const char*>(xs[k].raw_data()) + Flatten(xs[k].shape(), index) * size,
                size);
  }
  return out;
}

TEST_CASE("Concat matches a reference") {
  struct Case {
    std::vector<Shape> shapes;
    int axis;
  };
  const std::vector<Case> cases = {
      {{Shape{3}, Shape{5}}, 0},
      {{Shape{2, 3}, Shape{2, 1}, Shape{2, 0}, Shape{2, 7}}, 1},
      {{Shape{2, 3}, Shape{4, 3}}, 0},
      {{Shape{2, 3, 4}, Shape{2, 5, 4}}, -2},
      {{Shape{2, 3, 4}, Shape{2, 3, 1}, Shape{2, 3, 33}}, -1},
      {{Shape{0, 3}, Shape{0, 3}}, 1},
      {{Shape{300, 64}, Shape{300, 200}}, 1},
  };
  uint64_t seed = 10;
  for (DType dtype : kSomeDTypes) {
    for (const Case& c : cases) {
      std::vector<Tensor> inputs = {Tensor::Scalar<int32_t>(c.axis)};
      std::vector<Tensor> xs;
      for (const Shape& s : c.shapes) xs.push_back(Values(dtype, s, seed++));
      inputs.insert(inputs.end(), xs.begin(), xs.end());
      INFO(DTypeName(dtype) << " axis " << c.axis << " inputs " << c.shapes.size());
      CHECK(Check(RunCpuKernel("Concat", inputs), ConcatReference(xs, c.axis)) == "");
    }
  }
}

TEST_CASE("Split matches slices of its input") {
  uint64_t seed = 20;
  struct Case {
    Shape shape;
    int axis;
    int num_split;
  };
  for (const Case& c :
       {Case{Shape{6}, 0, 3}, Case{Shape{4, 6}, 1, 2}, Case{Shape{4, 6}, -2, 4},
        Case{Shape{2, 9, 5}, 1, 3}, Case{Shape{3, 0}, 0, 3}, Case{Shape{5, 7}, 1, 1}}) {
    for (DType dtype : kSomeDTypes) {
      INFO(DTypeName(dtype) << c.shape.ToString() << " axis " << c.axis << " into " << c.num_split);
      const Tensor x = Values(dtype, c.shape, seed++);
      auto out = RunCpuKernel("Split", {Tensor::Scalar<int32_t>(c.axis), x},
                              {{"num_split", int64_t{c.num_split}}});
      REQUIRE(out.ok());
      REQUIRE(out->size() == static_cast<size_t>(c.num_split));
      // Concatenating the pieces gives the input back.
      CHECK(CompareTensors(ConcatReference(*out, c.axis), x, 0, 0) == "");
    }
  }
}

TEST_CASE("Concat and Split read an axis known only at run time") {
  const Tensor a = Values(DType::kF32, Shape{2, 3}, 1);
  const Tensor b = Values(DType::kF32, Shape{2, 3}, 2);
  auto out =
      RunWithFedInputs("Concat", {Tensor::Scalar<int32_t>(-1), a, b}, {0}, {}, {Shape{2, 6}});
  CHECK(Check(out, ConcatReference({a, b}, 1)) == "");
  auto wrong =
      RunWithFedInputs("Concat", {Tensor::Scalar<int32_t>(0), a, b}, {0}, {}, {Shape{2, 6}});
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(std::string(wrong.status().message()),
             Contains("shape [2,3] does not match [2,6] outside dimension 0"));
  auto short_sum =
      RunWithFedInputs("Concat", {Tensor::Scalar<int32_t>(1), a, b}, {0}, {}, {Shape{2, 7}});
  REQUIRE_FALSE(short_sum.ok());
  CHECK_THAT(std::string(short_sum.status().message()),
             Contains("the inputs add up to 6 along dimension 1, but the output has shape [2,7]"));

  const Tensor x = Values(DType::kI64, Shape{4, 6}, 3);
  auto pieces =
      RunWithFedInputs("Split", {Tensor::Scalar<int32_t>(1), x}, {0}, {{"num_split", int64_t{3}}},
                       {Shape{4, 2}, Shape{4, 2}, Shape{4, 2}});
  REQUIRE(pieces.ok());
  CHECK(CompareTensors(ConcatReference(*pieces, 1), x, 0, 0) == "");
}

// ---------------------------------------------------------------------------
// Slice

TEST_CASE("Slice matches a reference") {
  std::mt19937 rng(7);
  uint64_t seed = 30;
  for (const Shape& shape :
       {Shape{9}, Shape{5, 7}, Shape{4, 1, 6}, Shape{3, 4, 5, 6}, Shape{4, 0}}) {
    for (int trial = 0; trial < 6; ++trial) {
      std::vector<int32_t> begin, size;
      Shape out_shape;
      for (int d = 0; d < shape.rank(); ++d) {
        const int64_t dim = shape.dim(d);
        const int32_t b = static_cast<int32_t>(rng() % (dim + 1));
        const int32_t s = (trial % 3 == 0) ? -1 : static_cast<int32_t>(rng() % (dim - b + 1));
        begin.push_back(b);
        size.push_back(s);
        out_shape.AddDim(s == -1 ? dim - b : s);
      }
      for (DType dtype : kSomeDTypes) {
        INFO(DTypeName(dtype) << shape.ToString() << " begin [" << absl::StrJoin(begin, ",")
                              << "] size [" << absl::StrJoin(size, ",") << "]");
        const Tensor x = Values(dtype, shape, seed++);
        const Tensor expected = Gathered(x, out_shape, [&](int64_t i) {
          std::vector<int64_t> index = Unflatten(out_shape, i);
          for (int d = 0; d < shape.rank(); ++d) index[d] += begin[d];
          return Flatten(shape, index);
        });
        CHECK(Check(RunCpuKernel("Slice", {x, I32s(begin), I32s(size)}), expected) == "");
      }
    }
  }
}

TEST_CASE("Slice of everything is a view; fed begin values are checked") {
  const Tensor x = Values(DType::kF32, Shape{3, 4}, 1);
  auto all = RunCpuKernel("Slice", {x, I32s({0, 0}), I32s({-1, 4})});
  REQUIRE(all.ok());
  CHECK((*all)[0].SharesBufferWith(x));

  auto fed = RunWithFedInputs("Slice", {x, I32s({1, 2}), I32s({2, 2})}, {1}, {}, {Shape{2, 2}});
  const Tensor expected =
      *Tensor::FromVector(std::vector<float>{x.data<float>()[6], x.data<float>()[7],
                                             x.data<float>()[10], x.data<float>()[11]},
                          Shape{2, 2});
  CHECK(Check(fed, expected) == "");

  auto bad = RunWithFedInputs("Slice", {x, I32s({2, 3}), I32s({2, 2})}, {1}, {}, {Shape{2, 2}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Contains("begin[0] = 2 and size[0] = 2 do not fit dimension 0 of input [3,4]"));
}

// ---------------------------------------------------------------------------
// StridedSlice, against an evaluator of NumPy-style index items.

struct IndexItem {
  enum Kind { kRange, kIndex, kNewAxis, kEllipsis } kind;
  std::optional<int64_t> begin, end;  // kRange: absent = masked; kIndex: begin
  int64_t stride = 1;
};
IndexItem R(std::optional<int64_t> b, std::optional<int64_t> e, int64_t s = 1) {
  return {IndexItem::kRange, b, e, s};
}
IndexItem I(int64_t i) { return {IndexItem::kIndex, i, std::nullopt, 1}; }
IndexItem NewAxis() { return {IndexItem::kNewAxis, std::nullopt, std::nullopt, 1}; }
IndexItem Ellipsis() { return {IndexItem::kEllipsis, std::nullopt, std::nullopt, 1}; }

// x[items] the way NumPy evaluates it: each input dim gets a list of
// positions; the output walks their product in row-major order.
Tensor NumpyIndex(const Tensor& x, std::vector<IndexItem> items) {
  const Shape& in = x.shape();
  int consumed = 0;
  bool has_ellipsis = false;
  for (const IndexItem& it : items) {
    consumed += it.kind == IndexItem::kRange || it.kind == IndexItem::kIndex;
    has_ellipsis = has_ellipsis || it.kind == IndexItem::kEllipsis;
  }
  if (!has_ellipsis) items.push_back(Ellipsis());
  std::vector<std::vector<int64_t>> positions;
  Shape out_shape;
  int d = 0;
  for (const IndexItem& it : items) {
    if (it.kind == IndexItem::kNewAxis) {
      out_shape.AddDim(1);
    } else if (it.kind == IndexItem::kEllipsis) {
      for (int k = 0; k < in.rank() - consumed; ++k, ++d) {
        positions.emplace_back(in.dim(d));
        std::iota(positions.back().begin(), positions.back().end(), 0);
        out_shape.AddDim(in.dim(d));
      }
    } else if (it.kind == IndexItem::kIndex) {
      positions.push_back({*it.begin < 0 ? *it.begin + in.dim(d) : *it.begin});
      ++d;
    } else {
      const int64_t n = in.dim(d), s = it.stride;
      auto fix = [&](std::optional<int64_t> v, int64_t dflt) {
        if (!v) return dflt;
        int64_t w = *v < 0 ? *v + n : *v;
        return s > 0 ? std::clamp<int64_t>(w, 0, n) : std::clamp<int64_t>(w, -1, n - 1);
      };
      const int64_t b = fix(it.begin, s > 0 ? 0 : n - 1);
      const int64_t e = fix(it.end, s > 0 ? n : -1);
      positions.emplace_back();
      for (int64_t i = b; s > 0 ? i < e : i > e; i += s) positions.back().push_back(i);
      out_shape.AddDim(static_cast<int64_t>(positions.back().size()));
      ++d;
    }
  }
  Shape dense;
  for (const auto& p : positions) dense.AddDim(static_cast<int64_t>(p.size()));
  return Gathered(x, out_shape, [&](int64_t i) {
    std::vector<int64_t> index = Unflatten(dense, i);
    for (size_t k = 0; k < index.size(); ++k) index[k] = positions[k][index[k]];
    return Flatten(in, index);
  });
}

// The StridedSlice inputs and masks that express `items`.
struct SliceSpec {
  std::vector<int32_t> begin, end, strides;
  AttrMap masks;
};
SliceSpec ToStridedSlice(const std::vector<IndexItem>& items) {
  SliceSpec spec;
  int64_t begin_mask = 0, end_mask = 0, ellipsis_mask = 0, new_axis_mask = 0, shrink_mask = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    const IndexItem& it = items[i];
    const int64_t bit = int64_t{1} << i;
    int32_t b = 0, e = 0, s = 1;
    switch (it.kind) {
      case IndexItem::kRange:
        s = static_cast<int32_t>(it.stride);
        if (it.begin)
          b = static_cast<int32_t>(*it.begin);
        else
          begin_mask |= bit;
        if (it.end)
          e = static_cast<int32_t>(*it.end);
        else
          end_mask |= bit;
        break;
      case IndexItem::kIndex:
        b = static_cast<int32_t>(*it.begin);
        e = b + 1;
        shrink_mask |= bit;
        break;
      case IndexItem::kNewAxis:
        new_axis_mask |= bit;
        break;
      case IndexItem::kEllipsis:
        ellipsis_mask |= bit;
        break;
    }
    spec.begin.push_back(b);
    spec.end.push_back(e);
    spec.strides.push_back(s);
  }
  spec.masks = {{"begin_mask", begin_mask},
                {"end_mask", end_mask},
                {"ellipsis_mask", ellipsis_mask},
                {"new_axis_mask", new_axis_mask},
                {"shrink_axis_mask", shrink_mask}};
  return spec;
}

TEST_CASE("StridedSlice matches NumPy indexing for every mask") {
  using Items = std::vector<IndexItem>;
  const Shape shape{4, 5, 6};
  const std::vector<Items> cases = {
      {R(1, 3)},
      {R(std::nullopt, 3), R(1, std::nullopt)},          // begin and end masks
      {R(std::nullopt, std::nullopt, -1)},               // reversed
      {R(3, 0, -1), R(std::nullopt, std::nullopt, -2)},  // negative strides
      {R(-3, -1), R(-100, 100, 2)},                      // negative and clamped bounds
      {I(1)},                                            // shrink
      {I(-1), R(std::nullopt, std::nullopt), I(2)},      // shrink with negative index
      {Ellipsis(), I(1)},                                // ellipsis
      {I(0), Ellipsis(), R(1, 5, 3)},
      {Ellipsis()},
      {NewAxis(), R(1, 3)},  // new axis
      {R(std::nullopt, std::nullopt), NewAxis(), I(0)},
      {Ellipsis(), NewAxis()},
      {I(2), NewAxis(), Ellipsis(), NewAxis(), R(5, 0, -2)},
      {R(2, 2)},  // empty
      {R(3, 1)},  // empty: wrong direction
      {R(0, 4, 3), R(4, 0, -3), R(0, 6, 4)},
  };
  uint64_t seed = 40;
  for (const Items& items : cases) {
    const SliceSpec spec = ToStridedSlice(items);
    for (DType dtype : kSomeDTypes) {
      INFO(DTypeName(dtype) << " begin [" << absl::StrJoin(spec.begin, ",") << "] end ["
                            << absl::StrJoin(spec.end, ",") << "] strides ["
                            << absl::StrJoin(spec.strides, ",") << "] masks "
                            << spec.masks.at("begin_mask").i() << ","
                            << spec.masks.at("end_mask").i() << ","
                            << spec.masks.at("ellipsis_mask").i() << ","
                            << spec.masks.at("new_axis_mask").i() << ","
                            << spec.masks.at("shrink_axis_mask").i());
      const Tensor x = Values(dtype, shape, seed++);
      auto out = RunCpuKernel(
          "StridedSlice", {x, I32s(spec.begin), I32s(spec.end), I32s(spec.strides)}, spec.masks);
      CHECK(Check(out, NumpyIndex(x, items)) == "");
    }
  }
}

TEST_CASE("StridedSlice with random ranges matches NumPy indexing") {
  std::mt19937 rng(11);
  const Shape shape{7, 1, 9};
  const Tensor x = Values(DType::kF32, shape, 50);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<IndexItem> items;
    for (int d = 0; d < 3; ++d) {
      auto bound = [&]() -> std::optional<int64_t> {
        if (rng() % 5 == 0) return std::nullopt;
        return static_cast<int64_t>(rng() % 25) - 12;
      };
      int64_t stride = static_cast<int64_t>(rng() % 7) - 3;
      if (stride == 0) stride = 1;
      items.push_back(R(bound(), bound(), stride));
    }
    const SliceSpec spec = ToStridedSlice(items);
    INFO("begin [" << absl::StrJoin(spec.begin, ",") << "] end [" << absl::StrJoin(spec.end, ",")
                   << "] strides [" << absl::StrJoin(spec.strides, ",") << "] masks "
                   << spec.masks.at("begin_mask").i() << "," << spec.masks.at("end_mask").i());
    auto out = RunCpuKernel("StridedSlice",
                            {x, I32s(spec.begin), I32s(spec.end), I32s(spec.strides)}, spec.masks);
    CHECK(Check(out, NumpyIndex(x, items)) == "");
  }
}

TEST_CASE("StridedSlice reads a fed index at run time and checks its bounds") {
  const Tensor x = Values(DType::kF32, Shape{4, 3}, 60);
  const SliceSpec spec = ToStridedSlice({I(2)});
  auto out =
      RunWithFedInputs("StridedSlice", {x, I32s(spec.begin), I32s(spec.end), I32s(spec.strides)},
                       {1, 2}, spec.masks, {Shape{3}});
  CHECK(Check(out, NumpyIndex(x, {I(2)})) == "");
  auto negative = RunWithFedInputs("StridedSlice", {x, I32s({-4}), I32s({-3}), I32s({1})}, {1, 2},
                                   spec.masks, {Shape{3}});
  CHECK(Check(negative, NumpyIndex(x, {I(0)})) == "");

  auto bad = RunWithFedInputs("StridedSlice", {x, I32s({4}), I32s({5}), I32s({1})}, {1, 2},
                              spec.masks, {Shape{3}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Contains("index 4 is out of bounds for dimension 0 of input [4,3], which has size 4"));
}

// ---------------------------------------------------------------------------
// Pad, Tile, BroadcastTo

TEST_CASE("Pad matches a reference") {
  struct Case {
    Shape shape;
    std::vector<int32_t> paddings;
  };
  uint64_t seed = 70;
  for (const Case& c : {Case{Shape{3}, {1, 2}}, Case{Shape{2, 3}, {0, 0, 2, 1}},
                        Case{Shape{2, 3, 4}, {1, 1, 0, 2, 3, 0}}, Case{Shape{0, 2}, {1, 1, 1, 0}},
                        Case{Shape{1, 5, 5, 2}, {0, 0, 2, 2, 2, 2, 0, 0}}}) {
    for (DType dtype : kSomeDTypes) {
      INFO(DTypeName(dtype) << c.shape.ToString() << " paddings [" << absl::StrJoin(c.paddings, ",")
                            << "]");
      const Tensor x = Values(dtype, c.shape, seed++);
      const int rank = c.shape.rank();
      Shape out_shape;
      for (int d = 0; d < rank; ++d) {
        out_shape.AddDim(c.shape.dim(d) + c.paddings[2 * d] + c.paddings[2 * d + 1]);
      }
      Tensor expected = Tensor::Zeros(dtype, out_shape);
      const int size = DTypeSize(dtype);
      for (int64_t i = 0; i < x.num_elements(); ++i) {
        std::vector<int64_t> index = Unflatten(c.shape, i);
        for (int d = 0; d < rank; ++d) index[d] += c.paddings[2 * d];
        std::memcpy(static_cast<char*>(expected.raw_data()) + Flatten(out_shape, index) * size,
                    static_cast<const char*>(x.raw_data()) + i * size, size);
      }
      auto paddings = *Tensor::FromVector(c.paddings, Shape{rank, 2});
      CHECK(Check(RunCpuKernel("Pad", {x, paddings}), expected) == "");
    }
  }
}

TEST_CASE("Pad reads fed paddings and rejects negative ones") {
  const Tensor x = Values(DType::kF32, Shape{2, 2}, 80);
  auto paddings = *Tensor::FromVector(std::vector<int32_t>{1, 0, 0, 1}, Shape{2, 2});
  auto out = RunWithFedInputs("Pad", {x, paddings}, {1}, {}, {Shape{3, 3}});
  REQUIRE(out.ok());
  const float* p = x.data<float>();
  CHECK((*out)[0].ToVector<float>() == std::vector<float>{0, 0, 0, p[0], p[1], 0, p[2], p[3], 0});
  auto negative = *Tensor::FromVector(std::vector<int32_t>{2, -1, 0, 1}, Shape{2, 2});
  auto bad = RunWithFedInputs("Pad", {x, negative}, {1}, {}, {Shape{3, 3}});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Contains("paddings[0] = [2,-1] must be non-negative"));
}

TEST_CASE("Tile and BroadcastTo match references") {
  uint64_t seed = 90;
  struct TileCase {
    Shape shape;
    std::vector<int32_t> multiples;
  };
  for (const TileCase& c :
       {TileCase{Shape{3}, {4}}, TileCase{Shape{2, 3}, {1, 1}}, TileCase{Shape{2, 3}, {3, 2}},
        TileCase{Shape{2, 1, 3}, {1, 5, 1}}, TileCase{Shape{2, 3}, {0, 2}},
        TileCase{Shape{0, 3}, {2, 2}}, TileCase{Shape{1, 7}, {33, 1}}}) {
    for (DType dtype : kSomeDTypes) {
      INFO("Tile " << DTypeName(dtype) << c.shape.ToString() << " multiples ["
                   << absl::StrJoin(c.multiples, ",") << "]");
      const Tensor x = Values(dtype, c.shape, seed++);
      Shape out_shape;
      for (int d = 0; d < c.shape.rank(); ++d) out_shape.AddDim(c.shape.dim(d) * c.multiples[d]);
      const Tensor expected = Gathered(x, out_shape, [&](int64_t i) {
        std::vector<int64_t> index = Unflatten(out_shape, i);
        for (int d = 0; d < c.shape.rank(); ++d) index[d] %= c.shape.dim(d);
        return Flatten(c.shape, index);
      });
      auto out = RunCpuKernel("Tile", {x, I32s(c.multiples)});
      CHECK(Check(out, expected) == "");
    }
  }
  struct BroadcastCase {
    Shape from, to;
  };
  for (const BroadcastCase& c :
       {BroadcastCase{Shape{}, Shape{3, 2}}, BroadcastCase{Shape{3}, Shape{2, 3}},
        BroadcastCase{Shape{2, 1}, Shape{2, 5}}, BroadcastCase{Shape{1, 3, 1}, Shape{4, 3, 2}},
        BroadcastCase{Shape{2, 3}, Shape{2, 3}}, BroadcastCase{Shape{1}, Shape{0, 4}},
        BroadcastCase{Shape{5, 1, 7}, Shape{2, 5, 33, 7}}}) {
    for (DType dtype : kSomeDTypes) {
      INFO("BroadcastTo " << DTypeName(dtype) << c.from.ToString() << " -> " << c.to.ToString());
      const Tensor x = Values(dtype, c.from, seed++);
      const Tensor expected = Gathered(x, c.to, [&](int64_t i) {
        const std::vector<int64_t> out_index = Unflatten(c.to, i);
        std::vector<int64_t> index(c.from.rank());
        const int offset = c.to.rank() - c.from.rank();
        for (int d = 0; d < c.from.rank(); ++d) {
          index[d] = c.from.dim(d) == 1 ? 0 : out_index[offset + d];
        }
        return Flatten(c.from, index);
      });
      std::vector<int32_t> target(c.to.dims().begin(), c.to.dims().end());
      auto out = RunCpuKernel("BroadcastTo", {x, I32s(target)});
      CHECK(Check(out, expected) == "");
    }
  }
}

// ---------------------------------------------------------------------------
// Gather

Tensor GatherReference(const Tensor& params, const Tensor& indices, int axis, int batch_dims) {
  const Shape& p = params.shape();
  const Shape& q = indices.shape();
  if (axis < 0) axis += p.rank();
  Shape out_shape;
  for (int d = 0; d < axis; ++d) out_shape.AddDim(p.dim(d));
  for (int d = batch_dims; d < q.rank(); ++d) out_shape.AddDim(q.dim(d));
  for (int d = axis + 1; d < p.rank(); ++d) out_shape.AddDim(p.dim(d));
  return Gathered(params, out_shape, [&](int64_t i) {
    const std::vector<int64_t> o = Unflatten(out_shape, i);
    // o = [params dims before axis][indices dims after batch][params dims after axis]
    std::vector<int64_t> qi;
    for (int d = 0; d < batch_dims; ++d) qi.push_back(o[d]);
    for (int d = batch_dims; d < q.rank(); ++d) qi.push_back(o[axis + d - batch_dims]);
    const int64_t picked = static_cast<int64_t>(indices.ElementAsDouble(Flatten(q, qi)));
    std::vector<int64_t> pi;
    for (int d = 0; d < axis; ++d) pi.push_back(o[d]);
    pi.push_back(picked);
    for (int d = axis + 1; d < p.rank(); ++d)
      pi.push_back(o[axis + q.rank() - batch_dims + d - axis - 1]);
    return Flatten(p, pi);
  });
}

TEST_CASE("Gather matches a reference") {
  struct Case {
    Shape params, indices;
    int axis, batch_dims;
  };
  uint64_t seed = 100;
  for (const Case& c :
       {Case{Shape{10}, Shape{4}, 0, 0}, Case{Shape{10, 3}, Shape{}, 0, 0},
        Case{Shape{10, 3}, Shape{2, 5}, 0, 0}, Case{Shape{4, 6}, Shape{7}, 1, 0},
        Case{Shape{2, 5, 3}, Shape{4}, -2, 0}, Case{Shape{3, 4, 5}, Shape{3, 2}, 1, 1},
        Case{Shape{3, 4, 5}, Shape{3, 6}, 2, 1}, Case{Shape{5, 3}, Shape{0}, 0, 0},
        Case{Shape{1000, 17}, Shape{300}, 0, 0}}) {
    for (DType index_type : {DType::kI32, DType::kI64}) {
      for (DType dtype : kSomeDTypes) {
        INFO(DTypeName(dtype) << c.params.ToString() << " indices " << DTypeName(index_type)
                              << c.indices.ToString() << " axis " << c.axis << " batch_dims "
                              << c.batch_dims);
        const Tensor params = Values(dtype, c.params, seed++);
        const int axis = c.axis < 0 ? c.axis + c.params.rank() : c.axis;
        const Tensor indices =
            RandomTensor(index_type, c.indices, seed++, 0, static_cast<double>(c.params.dim(axis)));
        auto out = RunCpuKernel("Gather", {params, indices, Tensor::Scalar<int32_t>(c.axis)},
                                {{"batch_dims", int64_t{c.batch_dims}}});
        CHECK(Check(out, GatherReference(params, indices, c.axis, c.batch_dims)) == "");
      }
    }
  }
}

TEST_CASE("Gather rejects indices out of range like TensorFlow") {
  const Tensor params = Values(DType::kF32, Shape{10, 2}, 1);
  auto out = RunCpuKernel("Gather", {params, I32s({0, 9, 3, 12}), Tensor::Scalar<int32_t>(0)});
  REQUIRE_FALSE(out.ok());
  CHECK_THAT(std::string(out.status().message()), Contains("indices[3] = 12 is not in [0, 10)"));

  auto indices = *Tensor::FromVector(std::vector<int64_t>{0, 1, -1, 0}, Shape{2, 2});
  auto negative = RunCpuKernel("Gather", {params, indices, Tensor::Scalar<int32_t>(1)});
  REQUIRE_FALSE(negative.ok());
  CHECK_THAT(std::string(negative.status().message()),
             Contains("indices[1,0] = -1 is not in [0, 2)"));
}

TEST_CASE("Gather reads a fed axis at run time") {
  const Tensor params = Values(DType::kF32, Shape{3, 3}, 2);
  const Tensor indices = I32s({2, 0});
  auto out = RunWithFedInputs("Gather", {params, indices, Tensor::Scalar<int32_t>(1)}, {2}, {},
                              {Shape{3, 2}});
  CHECK(Check(out, GatherReference(params, indices, 1, 0)) == "");
}

// ---------------------------------------------------------------------------
// OneHot, Fill, ZerosLike, OnesLike, Shape, Size

TEST_CASE("OneHot matches a reference; out-of-range indices give off rows") {
  const Tensor indices = *Tensor::FromVector(std::vector<int64_t>{0, 2, -1, 3, 1, 7}, Shape{2, 3});
  for (int64_t axis : {-1, 0, 1, 2}) {
    auto out = RunCpuKernel("OneHot",
                            {indices, Tensor::Scalar<int32_t>(4), Tensor::Scalar<float>(5.0f),
                             Tensor::Scalar<float>(-1.0f)},
                            {{"axis", axis}});
    REQUIRE(out.ok());
    const int position = axis == -1 ? 2 : static_cast<int>(axis);
    Shape shape{2, 3};
    Shape out_shape;
    for (int d = 0; d <= 2; ++d) {
      if (d == position) out_shape.AddDim(4);
      if (d < 2) out_shape.AddDim(shape.dim(d));
    }
    INFO("axis " << axis);
    REQUIRE((*out)[0].shape() == out_shape);
    for (int64_t i = 0; i < out_shape.num_elements(); ++i) {
      std::vector<int64_t> o = Unflatten(out_shape, i);
      const int64_t depth_index = o[position];
      o.erase(o.begin() + position);
      const int64_t index = indices.data<int64_t>()[Flatten(shape, o)];
      CHECK((*out)[0].data<float>()[i] == (index == depth_index ? 5.0f : -1.0f));
    }
  }
  // Other dtypes of values and indices.
  auto bools = RunCpuKernel("OneHot", {I32s({1, 0, 5}), Tensor::Scalar<int32_t>(2),
                                       Tensor::Scalar<bool>(true), Tensor::Scalar<bool>(false)});
  REQUIRE(bools.ok());
  CHECK((*bools)[0].ToVector<bool>() == std::vector<bool>{false, true, true, false, false, false});
  auto u8 = RunCpuKernel(
      "OneHot", {Tensor::FromVector(std::vector<uint8_t>{2, 0}), Tensor::Scalar<int32_t>(3),
                 Tensor::Scalar<int64_t>(9), Tensor::Scalar<int64_t>(0)});
  REQUIRE(u8.ok());
  CHECK((*u8)[0].ToVector<int64_t>() == std::vector<int64_t>{0, 0, 9, 9, 0, 0});
}

TEST_CASE("Fill, ZerosLike and OnesLike fill every element") {
  auto filled = RunCpuKernel("Fill", {I32s({2, 3}), Tensor::Scalar<double>(2.5)});
  REQUIRE(filled.ok());
  CHECK((*filled)[0].shape() == Shape{2, 3});
  CHECK((*filled)[0].ToVector<double>() == std::vector<double>(6, 2.5));
  auto big = RunCpuKernel("Fill", {I32s({300, 301}), Tensor::Scalar<int8_t>(-3)});
  REQUIRE(big.ok());
  CHECK((*big)[0].ToVector<int8_t>() == std::vector<int8_t>(300 * 301, -3));

  for (DType dtype : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16, DType::kI8, DType::kU8,
                      DType::kI32, DType::kI64, DType::kBool}) {
    INFO(DTypeName(dtype));
    const Tensor x = Values(dtype, Shape{3, 5}, 3);
    auto zeros = RunCpuKernel("ZerosLike", {x});
    auto ones = RunCpuKernel("OnesLike", {x});
    REQUIRE(zeros.ok());
    REQUIRE(ones.ok());
    for (int64_t i = 0; i < 15; ++i) {
      CHECK((*zeros)[0].ElementAsDouble(i) == 0.0);
      CHECK((*ones)[0].ElementAsDouble(i) == 1.0);
    }
  }
}

TEST_CASE("Shape and Size give the static input shape") {
  const Tensor x(DType::kF32, Shape{2, 0, 7});
  auto shape32 = RunCpuKernel("Shape", {x});
  REQUIRE(shape32.ok());
  CHECK((*shape32)[0].ToVector<int32_t>() == std::vector<int32_t>{2, 0, 7});
  auto shape64 = RunCpuKernel("Shape", {x}, {{"out_type", DType::kI64}});
  REQUIRE(shape64.ok());
  CHECK((*shape64)[0].ToVector<int64_t>() == std::vector<int64_t>{2, 0, 7});
  auto size = RunCpuKernel("Size", {Tensor(DType::kBool, Shape{3, 4})});
  REQUIRE(size.ok());
  CHECK((*size)[0].shape() == Shape{});
  CHECK((*size)[0].data<int32_t>()[0] == 12);
}

}  // namespace
}  // namespace sluice
