// Shapes: unknown dims and rank, compatibility, merging, broadcasting.
#include <catch2/catch.hpp>

#include "graph/shape.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

TEST_CASE("Shapes print like [?,784]") {
  CHECK(Shape{kUnknownDim, 784}.ToString() == "[?,784]");
  CHECK(Shape{}.ToString() == "[]");
  CHECK(Shape::UnknownRank().ToString() == "<unknown>");
  CHECK(Shape::Unknown(3).ToString() == "[?,?,?]");
}

TEST_CASE("Rank, definedness and element counts") {
  Shape s{2, kUnknownDim, 4};
  CHECK(s.rank() == 3);
  CHECK_FALSE(s.IsFullyDefined());
  CHECK(s.num_elements() == -1);
  CHECK(Shape::UnknownRank().rank() == -1);
  CHECK(Shape{}.num_elements() == 1);
  CHECK(Shape{2, 3, 4}.num_elements() == 24);
  CHECK(Shape{5, 0, 7}.num_elements() == 0);
  // A zero dim wins even after dims whose product would overflow.
  CHECK(*Shape{int64_t{1} << 62, 16, 0}.CheckedNumElements() == 0);
  auto overflow = Shape{int64_t{1} << 32, int64_t{1} << 32}.CheckedNumElements();
  REQUIRE_FALSE(overflow.ok());
  CHECK_THAT(std::string(overflow.status().message()),
             Contains("shape [4294967296,4294967296] has more elements than int64 can count"));
  CHECK(Shape{int64_t{1} << 32, int64_t{1} << 32}.num_elements() == -1);
  auto partial = Shape{kUnknownDim}.CheckedNumElements();
  CHECK_THAT(std::string(partial.status().message()), Contains("shape [?] is not fully defined"));
}

TEST_CASE("Compatibility and merging") {
  const Shape a{kUnknownDim, 3};
  const Shape b{5, kUnknownDim};
  CHECK(a.IsCompatibleWith(b));
  CHECK(a.Merge(b)->ToString() == "[5,3]");
  CHECK(Shape::UnknownRank().Merge(a)->ToString() == "[?,3]");
  CHECK(a.Merge(Shape::UnknownRank())->ToString() == "[?,3]");
  CHECK_FALSE(a.IsCompatibleWith(Shape{3}));
  CHECK_FALSE(a.IsCompatibleWith(Shape{2, 4}));
  auto bad = a.Merge(Shape{2, 4});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()), Contains("shapes are incompatible: [?,3] vs [2,4]"));
  CHECK(Shape{1, 2} == Shape({1, 2}));
  CHECK(Shape{1, 2} != Shape::UnknownRank());
}

TEST_CASE("NumPy broadcasting with unknown dims") {
  auto bc = [](Shape a, Shape b) { return BroadcastShapes(a, b); };
  CHECK(bc(Shape{2, 1, 3}, Shape{4, 1})->ToString() == "[2,4,3]");
  CHECK(bc(Shape{}, Shape{5})->ToString() == "[5]");
  CHECK(bc(Shape{kUnknownDim, 3}, Shape{3})->ToString() == "[?,3]");
  CHECK(bc(Shape{kUnknownDim}, Shape{4})->ToString() == "[4]");
  CHECK(bc(Shape{kUnknownDim}, Shape{1})->ToString() == "[?]");
  CHECK(bc(Shape{kUnknownDim}, Shape{kUnknownDim})->ToString() == "[?]");
  CHECK(bc(Shape{0, 3}, Shape{1, 3})->ToString() == "[0,3]");
  CHECK(bc(Shape::UnknownRank(), Shape{3})->unknown_rank());
  auto bad = bc(Shape{2, 3}, Shape{4, 3});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Contains("shapes cannot be broadcast: [2,3] vs [4,3]"));
}

TEST_CASE("Canonical axes") {
  CHECK(*CanonicalAxis(-1, 3) == 2);
  CHECK(*CanonicalAxis(0, 3) == 0);
  auto bad = CanonicalAxis(3, 3);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Contains("axis 3 is out of range for rank 3 (expected [-3, 3))"));
  CHECK_FALSE(CanonicalAxis(-4, 3).ok());
}

TEST_CASE("Editing dims") {
  Shape s = Shape::Unknown(2);
  s.set_dim(1, 7);
  s.AddDim(9);
  CHECK(s.ToString() == "[?,7,9]");
  CHECK(s.dims().size() == 3);
}

}  // namespace
}  // namespace sluice
