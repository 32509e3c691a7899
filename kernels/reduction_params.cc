#include "kernels/reduction_params.h"

#include "absl/strings/str_cat.h"
#include "kernels/kernel.h"

namespace sluice {

absl::Status CheckReductionRank(const Shape& in) {
  if (in.rank() > kMaxReductionRank) {
    return absl::UnimplementedError(
        absl::StrCat("reductions support rank up to ", kMaxReductionRank, ", got ", in.ToString()));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ReductionAxesMask(const Tensor& axes, const Shape& in) {
  const int rank = in.rank();
  uint64_t mask = 0;
  for (int64_t k = 0; k < axes.num_elements(); ++k) {
    const int64_t v = IndexValueAt(axes, k);
    if (v < -rank || v >= rank) {
      return absl::InvalidArgumentError(absl::StrCat(
          "reduction axis ", v, " is out of range for input of shape ", in.ToString()));
    }
    const int axis = static_cast<int>(v < 0 ? v + rank : v);
    if ((mask >> axis) & 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("reduction axis ", v, " is repeated in the axes"));
    }
    mask |= uint64_t{1} << axis;
  }
  return mask;
}

}  // namespace sluice
