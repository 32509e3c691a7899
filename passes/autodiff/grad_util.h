// Building blocks shared by the gradient functions.
#ifndef SLUICE_PASSES_AUTODIFF_GRAD_UTIL_H_
#define SLUICE_PASSES_AUTODIFF_GRAD_UTIL_H_

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/scope.h"

namespace sluice {

// A scalar Const of `dtype` holding `value`.
Output ScalarConst(const Scope& scope, DType dtype, double value);

// The integer values of `o` when the graph knows them while building (a
// Const, or shape arithmetic on known shapes), else nullopt.
std::optional<std::vector<int64_t>> KnownInts(Output o);

// `grad` (the gradient of a broadcast result) summed over the axes along
// which `x` was broadcast, then reshaped to x's shape. With both shapes known
// the axes are constants; otherwise they are computed at run time.
Output SumToShapeOf(const Scope& scope, Output grad, Output x);

// `t` reshaped to x's shape, through constants where x's shape is known up
// to one dim and through a Shape node otherwise.
Output ReshapeToShapeOf(const Scope& scope, Output t, Output x);

// The gradient of a reduction of `x` over `axes` (known values, possibly
// normalised; empty = none, as for the Sum op), given the gradient `grad` of its result
// (keep_dims or not): grad reshaped to the kept shape and broadcast to x's.
absl::StatusOr<Output> BroadcastReducedGradient(const Scope& scope, Output grad, Output x,
                                                const std::vector<int64_t>& axes);

// `grad` reshaped to the kept-dims shape of the reduction of x over `axes`
// (for computing masks against the reduced result).
absl::StatusOr<Output> ReshapeToKeptDims(const Scope& scope, Output t, Output x,
                                         const std::vector<int64_t>& axes);

// The reduction axes of a Sum/Mean/Max/Min/Prod node, normalised to
// [0, rank), or an error when they are not known while building.
absl::StatusOr<std::vector<int64_t>> ReductionAxes(const Node& node);

}  // namespace sluice

#endif  // SLUICE_PASSES_AUTODIFF_GRAD_UTIL_H_
