// The shape checks of the softmax cross-entropy losses, which every
// device's kernel factories share.
#ifndef SLUICE_KERNELS_CROSS_ENTROPY_PARAMS_H_
#define SLUICE_KERNELS_CROSS_ENTROPY_PARAMS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "kernels/kernel.h"

namespace sluice {

// A loss over `rows` examples of `cols` classes.
struct CrossEntropyShape {
  int64_t rows = 0, cols = 0;
  bool wide_labels = false;  // sparse labels are i64 (else i32)
};

// SoftmaxCrossEntropyWithLogits(features [B,C], labels [B,C]) -> loss [B],
// backprop [B,C]: features and labels must be 2-D of one shape.
absl::StatusOr<CrossEntropyShape> SoftmaxCrossEntropyShape(const KernelInit& init);

// SparseSoftmaxCrossEntropyWithLogits(features [B,C], labels [B] i32/i64)
// -> loss [B], backprop [B,C].
absl::StatusOr<CrossEntropyShape> SparseSoftmaxCrossEntropyShape(const KernelInit& init);

}  // namespace sluice

#endif  // SLUICE_KERNELS_CROSS_ENTROPY_PARAMS_H_
