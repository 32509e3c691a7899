// Device code of the training family: the optimizer apply ops
// (cuda/training_apply.cu) and the softmax cross-entropy losses
// (cuda/training_loss.cu).
//
// The apply launches update a variable and its slots in place, one fused
// pass over the n elements; every pointer is device memory, the
// hyper-parameters included (scalar tensors, read by the kernel so the host
// never waits for them). The formulas and their order of operations are
// those of cpu/training.cc. A variable and its slots must not overlap.
#ifndef SLUICE_CUDA_TRAINING_LAUNCH_H_
#define SLUICE_CUDA_TRAINING_LAUNCH_H_

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sluice::cuda {

// The element type of an apply op or a loss: every pointer of one launch
// points at elements of this type (labels excepted).
enum class TrainingType { kF32, kF64 };

// var -= alpha * delta.
cudaError_t LaunchApplyGradientDescent(TrainingType type, void* var, const void* alpha,
                                       const void* delta, int64_t n, cudaStream_t stream);

// accum = accum * momentum + grad; var -= lr * accum, or with `nesterov`
// var -= grad * lr + accum * momentum * lr (the new accum).
cudaError_t LaunchApplyMomentum(TrainingType type, void* var, void* accum, const void* lr,
                                const void* grad, const void* momentum, bool nesterov, int64_t n,
                                cudaStream_t stream);

// accum += grad^2 (only with `update_slots`); var -= lr * grad / sqrt(accum).
cudaError_t LaunchApplyAdagrad(TrainingType type, void* var, void* accum, const void* lr,
                               const void* grad, bool update_slots, int64_t n, cudaStream_t stream);

// ms = rho * ms + (1 - rho) * grad^2; mom = momentum * mom + lr * grad /
// sqrt(ms + epsilon); var -= mom.
cudaError_t LaunchApplyRMSProp(TrainingType type, void* var, void* ms, void* mom, const void* lr,
                               const void* rho, const void* momentum, const void* epsilon,
                               const void* grad, int64_t n, cudaStream_t stream);

// The scalar inputs of ApplyAdam, each a device pointer to one element.
struct AdamScalars {
  const void* beta1_power;
  const void* beta2_power;
  const void* lr;
  const void* beta1;
  const void* beta2;
  const void* epsilon;
};

// lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power);
// m = beta1 * m + (1 - beta1) * grad; v = beta2 * v + (1 - beta2) * grad^2;
// var -= lr_t * m / (sqrt(v) + epsilon), where `nesterov` replaces the
// numerator m by m * beta1 + (1 - beta1) * grad.
cudaError_t LaunchApplyAdam(TrainingType type, void* var, void* m, void* v,
                            const AdamScalars& scalars, const void* grad, bool nesterov, int64_t n,
                            cudaStream_t stream);

// SoftmaxCrossEntropyWithLogits on [rows, cols] features and labels: loss
// [rows] and backprop [rows, cols], one block per row.
cudaError_t LaunchSoftmaxCrossEntropy(TrainingType type, const void* features, const void* labels,
                                      void* loss, void* backprop, int64_t rows, int64_t cols,
                                      cudaStream_t stream);

// SparseSoftmaxCrossEntropyWithLogits: labels are `rows` class indices
// (int64 when `wide_labels`, else int32). A row whose label is outside
// [0, cols) gets NaN for its loss and its whole backprop row.
cudaError_t LaunchSparseSoftmaxCrossEntropy(TrainingType type, bool wide_labels,
                                            const void* features, const void* labels, void* loss,
                                            void* backprop, int64_t rows, int64_t cols,
                                            cudaStream_t stream);

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_TRAINING_LAUNCH_H_
