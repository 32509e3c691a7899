// Test binaries start through ApplyOpenMpSpinLimit (tests/test_main.cc), so
// by the time a test runs the OpenMP spin setting is in the environment.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "runtime/openmp_env.h"

namespace sluice {
namespace {

TEST_CASE("The OpenMP spin limit is in place before tests run") {
  const char* spin = std::getenv("GOMP_SPINCOUNT");
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  REQUIRE((spin != nullptr || policy != nullptr));
  // A user's own setting wins; otherwise the default was applied.
  if (policy == nullptr) CHECK(std::string(spin).size() > 0);
  // Calling it again changes nothing and returns (the variables are set).
  ApplyOpenMpSpinLimit(nullptr);
  SUCCEED();
}

}  // namespace
}  // namespace sluice
