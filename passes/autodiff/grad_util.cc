#include "passes/autodiff/grad_util.h"

#include <algorithm>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/state.h"
#include "graph/status_macros.h"

namespace sluice {

Output ScalarConst(const Scope& scope, DType dtype, double value) {
  Tensor t(dtype, Shape{});
  VisitDType(dtype, [&]<typename T>() {
    if constexpr (std::is_same_v<T, Half>) {
      t.data<T>()[0] = FloatToHalf(static_cast<float>(value));
    } else if constexpr (std::is_same_v<T, BFloat16>) {
      t.data<T>()[0] = FloatToBFloat16(static_cast<float>(value));
    } else {
      t.data<T>()[0] = static_cast<T>(value);
    }
  });
  return Const(scope, t);
}

std::optional<std::vector<int64_t>> KnownInts(Output o) {
  if (!o.valid()) return std::nullopt;
  const Tensor* value = o.node->output_value(o.index);
  if (value == nullptr) return std::nullopt;
  std::vector<int64_t> values(value->num_elements());
  for (int64_t i = 0; i < value->num_elements(); ++i) {
    switch (value->dtype()) {
      case DType::kI32: values[i] = value->data<int32_t>()[i]; break;
      case DType::kI64: values[i] = value->data<int64_t>()[i]; break;
      default: return std::nullopt;
    }
  }
  return values;
}

Output SumToShapeOf(const Scope& scope, Output grad, Output x) {
  if (!grad.valid() || !x.valid()) return Output();
  const Shape& gs = grad.shape();
  const Shape& xs = x.shape();
  if (gs.IsFullyDefined() && xs.IsFullyDefined()) {
    if (gs == xs) return grad;
    auto axes = ComputeBroadcastReductionAxes(xs.dims(), gs.dims());
    if (!axes.ok()) {
      scope.UpdateStatus(axes.status());
      return Output();
    }
    Output summed = axes->r0.empty() ? grad : Sum(scope, grad, axes->r0);
    return summed.shape() == xs ? summed : ReshapeToShapeOf(scope, summed, x);
  }
  // Same rank and every known dim equal: no broadcast can have happened
  // except along dims unknown on one side, which the run-time path handles.
  BroadcastGradientArgsOutputs r =
      BroadcastGradientArgs(scope, ShapeOf(scope, x), ShapeOf(scope, grad));
  return ReshapeToShapeOf(scope, Sum(scope, grad, r.r0), x);
}

Output ReshapeToShapeOf(const Scope& scope, Output t, Output x) {
  if (!t.valid() || !x.valid()) return Output();
  const Shape& xs = x.shape();
  if (!xs.unknown_rank()) {
    int unknown = 0;
    for (int64_t d : xs.dims()) unknown += d < 0;
    if (unknown <= 1) {
      if (t.shape() == xs) return t;
      return Reshape(scope, t, std::vector<int64_t>(xs.dims().begin(), xs.dims().end()));
    }
  }
  return Reshape(scope, t, ShapeOf(scope, x));
}

absl::StatusOr<std::vector<int64_t>> ReductionAxes(const Node& node) {
  const Shape& in = node.input(0).shape();
  std::optional<std::vector<int64_t>> axes = KnownInts(node.input(1));
  if (!axes) {
    return absl::UnimplementedError(absl::StrCat(
        "the reduction axes ", node.input(1).name(),
        " must be known while building the graph to differentiate ", node.op()));
  }
  if (in.unknown_rank()) {
    return absl::UnimplementedError(absl::StrCat("the rank of ", node.input(0).name(),
                                                 " must be known to differentiate ", node.op()));
  }
  std::vector<int64_t> result;
  for (int64_t a : *axes) {
    ASSIGN_OR_RETURN(int axis, CanonicalAxis(a, in.rank()));
    result.push_back(axis);
  }
  std::sort(result.begin(), result.end());
  result.erase(std::unique(result.begin(), result.end()), result.end());
  return result;
}

absl::StatusOr<Output> ReshapeToKeptDims(const Scope& scope, Output t, Output x,
                                         const std::vector<int64_t>& axes) {
  const Shape& xs = x.shape();
  const int rank = xs.rank();
  std::vector<bool> reduced(rank, false);
  for (int64_t a : axes) reduced[a] = true;
  std::vector<int64_t> kept(rank);
  int unknown = 0;
  for (int d = 0; d < rank; ++d) {
    kept[d] = reduced[d] ? 1 : xs.dim(d);
    unknown += kept[d] < 0;
  }
  if (unknown <= 1) {
    if (t.shape() == Shape(absl::MakeConstSpan(kept))) return t;
    return Reshape(scope, t, kept);
  }
  // Several unknown kept dims: the kept shape is x's shape with ones at the
  // reduced axes, chosen element by element.
  std::vector<int32_t> mask_ones(rank, 1);
  Tensor mask(DType::kBool, Shape{rank});
  for (int d = 0; d < rank; ++d) mask.data<bool>()[d] = reduced[d];
  Output kept_shape = Select(scope, Const(scope, mask), Const(scope, mask_ones), ShapeOf(scope, x));
  return Reshape(scope, t, kept_shape);
}

absl::StatusOr<Output> BroadcastReducedGradient(const Scope& scope, Output grad, Output x,
                                                const std::vector<int64_t>& axes) {
  ASSIGN_OR_RETURN(Output kept, ReshapeToKeptDims(scope, grad, x, axes));
  if (kept.shape() == x.shape() && x.shape().IsFullyDefined()) return kept;
  if (x.shape().IsFullyDefined()) {
    return BroadcastTo(scope, kept,
                       std::vector<int64_t>(x.shape().dims().begin(), x.shape().dims().end()));
  }
  return BroadcastTo(scope, kept, ShapeOf(scope, x));
}

}  // namespace sluice
