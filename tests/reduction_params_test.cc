// The reduced axes every device's reduction kernels read: negative axes,
// scalar and vector axes, and the errors for bad ones.
#include "kernels/reduction_params.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "graph/tensor.h"

namespace sluice {
namespace {

TEST_CASE("ReductionAxesMask sets one bit per reduced axis") {
  absl::StatusOr<uint64_t> mask =
      ReductionAxesMask(Tensor::FromVector(std::vector<int32_t>{0, -1}), Shape{2, 3, 4});
  REQUIRE(mask.ok());
  CHECK(*mask == 0b101);
  mask = ReductionAxesMask(Tensor::Scalar(int64_t{1}), Shape{2, 3, 4});
  REQUIRE(mask.ok());
  CHECK(*mask == 0b010);
  mask = ReductionAxesMask(Tensor::FromVector(std::vector<int64_t>{}), Shape{2, 3});
  REQUIRE(mask.ok());
  CHECK(*mask == 0);
}

TEST_CASE("ReductionAxesMask rejects axes out of range or repeated") {
  absl::StatusOr<uint64_t> mask =
      ReductionAxesMask(Tensor::FromVector(std::vector<int32_t>{3}), Shape{2, 3, 4});
  CHECK(mask.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(mask.status().message()) ==
        "reduction axis 3 is out of range for input of shape [2,3,4]");
  mask = ReductionAxesMask(Tensor::FromVector(std::vector<int32_t>{1, -2}), Shape{2, 3, 4});
  CHECK(std::string(mask.status().message()) == "reduction axis -2 is repeated in the axes");
}

TEST_CASE("CheckReductionRank allows ranks up to the mask's width") {
  CHECK(CheckReductionRank(Shape(std::vector<int64_t>(kMaxReductionRank, 1))).ok());
  const absl::Status status =
      CheckReductionRank(Shape(std::vector<int64_t>(kMaxReductionRank + 1, 1)));
  CHECK(status.code() == absl::StatusCode::kUnimplemented);
  CHECK_THAT(std::string(status.message()),
             Catch::Matchers::StartsWith("reductions support rank up to 64, got [1,1,"));
}

}  // namespace
}  // namespace sluice
