// Building blocks for the CPU gradient kernels of the neural-network ops.
//
// Each block is created once from static shapes (in a kernel factory) and run
// many times. The block itself is immutable and may be run by several frames
// at once; everything a run mutates lives in the KernelState that
// CreateState() returns (call it from the kernel's CreateState, never on a
// run) and that is passed back to Run.
//
// f32 (and bf16 where noted) run on oneDNN primitives, except for tensors
// small enough that plain loops beat the primitive's fixed cost; f64 always
// runs the plain loops of cpu/nn_plain.h, so gradient checks can use f64.
// Zero-sized tensors never reach oneDNN.
//
// Buffers are dense in the layout of the window's data_format; filters and
// filter gradients are HWIO; per-channel vectors are 1-D of the same dtype.
#ifndef SLUICE_CPU_ONEDNN_BACKWARD_H_
#define SLUICE_CPU_ONEDNN_BACKWARD_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cpu/nn_plain.h"
#include "cpu/onednn.h"
#include "cpu/window.h"
#include "graph/dtype.h"
#include "kernels/kernel.h"

namespace sluice::cpu {

// Gradient of Conv2D with respect to its input (Conv2DBackpropInput):
// dx from the filter and dy. dtypes: f32, bf16, f64.
class Conv2DBackwardData {
 public:
  // `window` is the forward convolution's (see Conv2DWindow).
  static absl::StatusOr<std::unique_ptr<Conv2DBackwardData>> Create(const Window2D& window,
                                                                    DType dtype);
  std::unique_ptr<KernelState> CreateState() const;
  absl::Status Run(KernelState* state, const void* filter, const void* dy, void* dx) const;
  // The oneDNN implementation, or "plain".
  std::string impl_name() const;

 private:
  Conv2DBackwardData(const Window2D& w, DType dtype) : window_(w), dtype_(dtype) {}
  const Window2D window_;
  const DType dtype_;
  ReorderingPrimitive primitive_;  // invalid on the plain path
};

// Gradient of Conv2D with respect to its filter (Conv2DBackpropFilter):
// dfilter (HWIO) from x and dy. dtypes: f32, bf16, f64.
class Conv2DBackwardFilter {
 public:
  static absl::StatusOr<std::unique_ptr<Conv2DBackwardFilter>> Create(const Window2D& window,
                                                                      DType dtype);
  std::unique_ptr<KernelState> CreateState() const;
  absl::Status Run(KernelState* state, const void* x, const void* dy, void* dfilter) const;
  std::string impl_name() const;

 private:
  Conv2DBackwardFilter(const Window2D& w, DType dtype) : window_(w), dtype_(dtype) {}
  const Window2D window_;
  const DType dtype_;
  ReorderingPrimitive primitive_;
};

// Gradient of MaxPool / AvgPool (MaxPoolGrad, AvgPoolGrad). Max pooling
// sends each dy to the first maximum of its window. dtypes: f32, bf16, f64.
//
// Max pooling on oneDNN needs the forward pass's workspace (where each
// maximum was). Run() recomputes it from x (as TensorFlow's MaxPoolGrad gets
// the original input); a caller that runs the forward itself can instead use
// ForwardWithWorkspace and BackwardWithWorkspace when has_workspace().
class Pool2DBackward {
 public:
  static absl::StatusOr<std::unique_ptr<Pool2DBackward>> Create(const Window2D& window,
                                                                plain::PoolKind kind, DType dtype);
  std::unique_ptr<KernelState> CreateState() const;
  // dx from dy; `x` is the forward input (unused for average pooling).
  absl::Status Run(KernelState* state, const void* x, const void* dy, void* dx) const;

  // Whether the workspace path exists (max pooling on oneDNN).
  bool has_workspace() const { return workspace_bytes_ > 0; }
  // Bytes of the workspace buffer (64-byte aligned memory recommended).
  int64_t workspace_bytes() const { return workspace_bytes_; }
  // The forward max pooling, writing y and the workspace.
  absl::Status ForwardWithWorkspace(KernelState* state, const void* x, void* y,
                                    void* workspace) const;
  // dx from dy and a workspace written by ForwardWithWorkspace.
  absl::Status BackwardWithWorkspace(KernelState* state, const void* workspace, const void* dy,
                                     void* dx) const;
  std::string impl_name() const;

 private:
  Pool2DBackward(const Window2D& w, plain::PoolKind kind, DType dtype)
      : window_(w), kind_(kind), dtype_(dtype) {}
  const Window2D window_;
  const plain::PoolKind kind_;
  const DType dtype_;
  ReorderingPrimitive forward_;   // max pooling only: forward_training with workspace
  ReorderingPrimitive backward_;  // invalid on the plain path
  int64_t workspace_bytes_ = 0;
};

// Gradient of FusedBatchNorm (FusedBatchNormGrad): dx, dscale and doffset
// from x, dy, scale and the statistics y was normalised with. With
// `training`, mean and variance are the batch's own (reserve_space_1 and
// reserve_space_2 of FusedBatchNorm: mean and biased variance) and dx
// includes their dependence on x; otherwise they are constants (inference).
// dtypes: f32, f64. x is 4-D in `format`.
class BatchNormBackward {
 public:
  static absl::StatusOr<std::unique_ptr<BatchNormBackward>> Create(const Shape& x,
                                                                   DataFormat format, float epsilon,
                                                                   bool training, DType dtype);
  std::unique_ptr<KernelState> CreateState() const;
  absl::Status Run(KernelState* state, const void* x, const void* dy, const void* scale,
                   const void* mean, const void* variance, void* dx, void* dscale,
                   void* doffset) const;
  std::string impl_name() const;

 private:
  BatchNormBackward() = default;
  plain::ChannelLayout layout_;
  float epsilon_ = 0;
  bool training_ = false;
  DType dtype_ = DType::kF32;
  ReorderingPrimitive primitive_;
};

// Gradients of the activations, in TensorFlow's forms: ReluGrad (from the
// input x), EluGrad, TanhGrad and SigmoidGrad (from the output y).
// dtypes: f32, bf16, f64. Only bf16 uses oneDNN: for f32 the vectorised
// loops beat its eltwise backward at every size measured.
class EltwiseBackward {
 public:
  static absl::StatusOr<std::unique_ptr<EltwiseBackward>> Create(plain::EltwiseKind kind,
                                                                 int64_t num_elements, DType dtype);
  std::unique_ptr<KernelState> CreateState() const;
  // dx = dy * f'(.) where `value` is x for kRelu and y otherwise.
  absl::Status Run(KernelState* state, const void* dy, const void* value, void* dx) const;
  std::string impl_name() const;

 private:
  EltwiseBackward(plain::EltwiseKind kind, int64_t n, DType dtype)
      : kind_(kind), num_elements_(n), dtype_(dtype) {}
  const plain::EltwiseKind kind_;
  const int64_t num_elements_;
  const DType dtype_;
  ReorderingPrimitive primitive_;
};

// Gradient of Softmax / LogSoftmax over the last axis of [rows, cols]:
// dx from the forward output y and dy. dtypes: f32, bf16, f64.
class SoftmaxBackward {
 public:
  static absl::StatusOr<std::unique_ptr<SoftmaxBackward>> Create(int64_t rows, int64_t cols,
                                                                 bool log, DType dtype);
  std::unique_ptr<KernelState> CreateState() const;
  absl::Status Run(KernelState* state, const void* y, const void* dy, void* dx) const;
  std::string impl_name() const;

 private:
  SoftmaxBackward(int64_t rows, int64_t cols, bool log, DType dtype)
      : rows_(rows), cols_(cols), log_(log), dtype_(dtype) {}
  const int64_t rows_, cols_;
  const bool log_;
  const DType dtype_;
  ReorderingPrimitive primitive_;
};

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_ONEDNN_BACKWARD_H_
