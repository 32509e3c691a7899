// Builders for the random ops. Each draws a fresh tensor on every run.
//
//   Output w = TruncatedNormal(scope, {784, 256}, DType::kF32, {.seed = 1});
#ifndef SLUICE_GRAPH_OPS_RANDOM_H_
#define SLUICE_GRAPH_OPS_RANDOM_H_

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "graph/scope.h"

namespace sluice {

struct RandomOptions {
  // Together they select the random sequence; both 0 means "seed from the
  // session" (TensorFlow's convention).
  int64_t seed = 0;
  int64_t seed2 = 0;
};

// Uniform in [0, 1), of shape `shape` (a 1-D i32/i64 tensor) and floating
// `dtype`. The integer-list overloads make `shape` a Const.
Output RandomUniform(const Scope& scope, Output shape, DType dtype,
                     const RandomOptions& options = {});
Output RandomUniform(const Scope& scope, const std::vector<int64_t>& shape, DType dtype,
                     const RandomOptions& options = {});
inline Output RandomUniform(const Scope& scope, std::initializer_list<int64_t> shape, DType dtype,
                            const RandomOptions& options = {}) {
  return RandomUniform(scope, std::vector<int64_t>(shape), dtype, options);
}

// Standard normal (mean 0, standard deviation 1).
Output RandomNormal(const Scope& scope, Output shape, DType dtype,
                    const RandomOptions& options = {});
Output RandomNormal(const Scope& scope, const std::vector<int64_t>& shape, DType dtype,
                    const RandomOptions& options = {});
inline Output RandomNormal(const Scope& scope, std::initializer_list<int64_t> shape, DType dtype,
                           const RandomOptions& options = {}) {
  return RandomNormal(scope, std::vector<int64_t>(shape), dtype, options);
}

// Standard normal with values beyond two standard deviations drawn again.
Output TruncatedNormal(const Scope& scope, Output shape, DType dtype,
                       const RandomOptions& options = {});
Output TruncatedNormal(const Scope& scope, const std::vector<int64_t>& shape, DType dtype,
                       const RandomOptions& options = {});
inline Output TruncatedNormal(const Scope& scope, std::initializer_list<int64_t> shape, DType dtype,
                              const RandomOptions& options = {}) {
  return TruncatedNormal(scope, std::vector<int64_t>(shape), dtype, options);
}

}  // namespace sluice

#endif  // SLUICE_GRAPH_OPS_RANDOM_H_
