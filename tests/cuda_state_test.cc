// CUDA kernels of the state family against the CPU ones.
#include <catch2/catch.hpp>

#include "tests/cuda_test_util.h"
#include "tests/kernel_test_util.h"

namespace sluice::testing {
namespace {

TEST_CASE("CUDA Const and Identity give the CPU's values for every dtype") {
  for (DType dtype : kAllDTypes) {
    INFO(DTypeName(dtype));
    const Tensor value = RandomTensor(dtype, Shape{3, 5}, 7, -4, 4);
    CHECK(CompareCudaWithCpu("Const", {}, {{"value", value}, {"dtype", dtype}}, 0, 0) == "");
    CHECK(CompareCudaWithCpu("Identity", {value}, {{"T", dtype}}, 0, 0) == "");
  }
}

}  // namespace
}  // namespace sluice::testing
