// The checks and attributes of FusedBatchNorm and FusedBatchNormGrad, which
// every device's kernel factories share: the same shapes accepted, the same
// messages for those that are not.
#ifndef SLUICE_KERNELS_BATCH_NORM_PARAMS_H_
#define SLUICE_KERNELS_BATCH_NORM_PARAMS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "kernels/kernel.h"
#include "kernels/window_params.h"

namespace sluice {

// A batch norm over the channels of a 4-D x: its logical sizes, its layout
// and the op's attributes.
struct BatchNormParams {
  DataFormat format = DataFormat::kNhwc;
  int64_t n = 0, c = 0, h = 0, w = 0;
  float epsilon = 0;
  // exponential_avg_factor (1 when absent; FusedBatchNorm only).
  float factor = 1;
  bool training = false;

  bool nhwc() const { return format == DataFormat::kNhwc; }
};

// FusedBatchNorm(x, scale, offset, mean, variance) -> y, batch_mean,
// batch_variance, reserve_space_1, reserve_space_2. x must be 4-D;
// scale and offset must be [c], and so must mean and variance unless
// training with a factor of 1 (then they are unused and may be empty, as in
// TensorFlow). Internal when the outputs' shapes disagree.
absl::StatusOr<BatchNormParams> FusedBatchNormParams(const KernelInit& init);

// FusedBatchNormGrad(y_backprop, x, scale, reserve_space_1,
// reserve_space_2) -> x_backprop, scale_backprop, offset_backprop,
// reserve_space_3 [0], reserve_space_4 [0]. x must be 4-D and y_backprop of
// its shape; inputs 2..4 must be [c].
absl::StatusOr<BatchNormParams> FusedBatchNormGradParams(const KernelInit& init);

}  // namespace sluice

#endif  // SLUICE_KERNELS_BATCH_NORM_PARAMS_H_
