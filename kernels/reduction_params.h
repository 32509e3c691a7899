// The reduced axes of a reduction (Sum, Mean, Max, ...), as every device's
// kernels read them: a 64-bit mask over the input's dims.
#ifndef SLUICE_KERNELS_REDUCTION_PARAMS_H_
#define SLUICE_KERNELS_REDUCTION_PARAMS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "graph/shape.h"
#include "graph/tensor.h"

namespace sluice {

// The largest input rank a reduction supports: its axes are kept in a mask.
inline constexpr int kMaxReductionRank = 64;

// Unimplemented when `in` has more than kMaxReductionRank dims.
absl::Status CheckReductionRank(const Shape& in);

// The reduced axes of `axes` (a scalar or a vector of indices, negative ones
// counting from the end) as a mask over the dims of `in`, whose rank is at
// most kMaxReductionRank. An axis out of range or repeated is an error.
// Reads `axes` without allocating, so kernels may call it on every run.
absl::StatusOr<uint64_t> ReductionAxesMask(const Tensor& axes, const Shape& in);

}  // namespace sluice

#endif  // SLUICE_KERNELS_REDUCTION_PARAMS_H_
