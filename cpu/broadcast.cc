#include "cpu/broadcast.h"

namespace sluice::cpu {

void BroadcastPlan::RowOffsets(int64_t row, int64_t* offsets) const {
  for (int k = 0; k < num_inputs; ++k) offsets[k] = 0;
  for (int d = rank - 2; d >= 0; --d) {
    const int64_t i = row % dims[d];
    row /= dims[d];
    for (int k = 0; k < num_inputs; ++k) offsets[k] += i * strides[k][d];
  }
}

bool BroadcastPlan::all_same() const {
  if (rank > 1) return false;
  for (int k = 0; k < num_inputs; ++k) {
    if (rank == 1 && strides[k][0] != 1) return false;
  }
  return true;
}

bool PlanBroadcast(const std::vector<Shape>& inputs, const Shape& output, BroadcastPlan* plan) {
  const int n = static_cast<int>(inputs.size());
  const int out_rank = output.rank();
  plan->num_inputs = n;
  plan->num_elements = output.num_elements();
  // Per output dim (size > 1 only), which inputs broadcast along it.
  std::vector<int64_t> dims;
  std::vector<std::array<bool, kMaxBroadcastInputs>> broadcast;
  for (int d = 0; d < out_rank; ++d) {
    const int64_t size = output.dim(d);
    if (size == 1) continue;
    std::array<bool, kMaxBroadcastInputs> flags{};
    for (int k = 0; k < n; ++k) {
      const int kd = inputs[k].rank() - out_rank + d;
      flags[k] = kd < 0 || inputs[k].dim(kd) == 1;
    }
    if (!dims.empty() && broadcast.back() == flags) {
      dims.back() *= size;  // merge with the previous dim: same pattern
    } else {
      dims.push_back(size);
      broadcast.push_back(flags);
    }
  }
  if (static_cast<int>(dims.size()) > kMaxBroadcastRank) return false;
  plan->rank = static_cast<int>(dims.size());
  for (int k = 0; k < n; ++k) {
    int64_t stride = 1;
    for (int d = plan->rank - 1; d >= 0; --d) {
      plan->strides[k][d] = broadcast[d][k] ? 0 : stride;
      if (!broadcast[d][k]) stride *= dims[d];
    }
  }
  for (int d = 0; d < plan->rank; ++d) plan->dims[d] = dims[d];
  return true;
}

}  // namespace sluice::cpu
