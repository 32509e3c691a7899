// Iteration over NumPy-broadcast operands, planned once from static shapes.
#ifndef SLUICE_CPU_BROADCAST_H_
#define SLUICE_CPU_BROADCAST_H_

#include <array>
#include <cstdint>
#include <vector>

#include "graph/shape.h"

namespace sluice::cpu {

inline constexpr int kMaxBroadcastInputs = 3;
inline constexpr int kMaxBroadcastRank = 8;

// The output's dims with runs of dims that broadcast alike merged, and each
// input's element stride per merged dim (0 where it broadcasts). The last
// merged dim is the inner loop; inputs whose inner stride is 1 stream, 0
// repeat one value.
struct BroadcastPlan {
  int num_inputs = 0;
  int rank = 0;  // merged rank; 0 means a single element
  std::array<int64_t, kMaxBroadcastRank> dims{};
  std::array<std::array<int64_t, kMaxBroadcastRank>, kMaxBroadcastInputs> strides{};
  int64_t num_elements = 0;

  int64_t inner() const { return rank == 0 ? 1 : dims[rank - 1]; }
  int64_t rows() const { return inner() == 0 ? 0 : num_elements / inner(); }
  int64_t inner_stride(int input) const { return rank == 0 ? 0 : strides[input][rank - 1]; }
  // The element offset of each input at the start of `row`.
  void RowOffsets(int64_t row, int64_t* offsets) const;
  // True when every input has the output's shape (one contiguous run).
  bool all_same() const;
};

// Plans `inputs` broadcast to `output` (which BroadcastShapes produced); all
// shapes are fully defined. Returns false when the merged rank exceeds
// kMaxBroadcastRank.
bool PlanBroadcast(const std::vector<Shape>& inputs, const Shape& output, BroadcastPlan* plan);

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_BROADCAST_H_
