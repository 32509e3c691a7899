// The layout pass: convolution regions of a plan run on blocked activations
// ([N, C/b, H, W, b], graph/ops/layout.h), the format oneDNN's convolution
// and pooling kernels are fastest on, with conversions only where a region
// is entered or left.
//
// A region is a maximal connected set of f32 NHWC nodes with static shapes
// whose channel count divides by b: Conv2D and _FusedConv2D, MaxPool and
// AvgPool, and element-wise ops (unary ones, binary ones whose operands have
// one shape or are single elements, _FusedElementwise), linked by the inputs
// that carry the activation (a convolution's input and residual, a pooling's
// input, an element-wise operand of the output's shape). It is rewritten
// when that pays: it holds a convolution and at least one other step (a lone
// convolution keeps nothing blocked between steps), its batch has at least
// kMinBatch images, and no value computed inside it is also read outside it
// (a training step's backward ops read the forward activations in NHWC, so
// converting those back would cost more than the blocked steps save). Then:
//
// - each node becomes its blocked counterpart (_BlockedConv2D with the
//   convolution's epilogue, _BlockedMaxPool, _BlockedAvgPool; element-wise
//   ops stay as they are and run on the 5-D tensors);
// - each outside value read by the region gets one _ToBlocked, except a
//   convolution's input with a channel count that does not divide by b (a
//   network's first convolution, with 1 or 3 channels), which the
//   convolution reads in NHWC itself;
// - each region value read outside it (fetches included) gets one
//   _FromBlocked, shared by all its readers, so users still see NHWC.
//
// Nodes with control edges, targets and nodes on other devices than the CPU
// are never part of a region.
#ifndef SLUICE_PASSES_LAYOUT_H_
#define SLUICE_PASSES_LAYOUT_H_

#include <cstdint>

#include "passes/pass.h"

namespace sluice {

class LayoutPass final : public Pass {
 public:
  // Blocks of the size the CPU kernels prefer (KernelRegistry::channel_block
  // of the context's kernels; no kernels or 0: the pass does nothing).
  LayoutPass() = default;
  // Blocks of `block` channels (> 0), regions of batches of at least
  // `min_batch` images; for tests.
  explicit LayoutPass(int64_t block, int64_t min_batch = kMinBatch)
      : block_(block), min_batch_(min_batch) {}

  // Smaller batches stay NHWC. Measured on the bench CNN (2 cores): blocked
  // is 14% faster at batch 128 but about 9% slower at batch 1, where the
  // conversion steps cost more than the faster convolutions save. The
  // threshold between those two measured points is a guess.
  static constexpr int64_t kMinBatch = 8;

  absl::string_view name() const override { return "layout"; }

 protected:
  absl::StatusOr<bool> RunImpl(Graph& graph, PassContext& context) override;

 private:
  int64_t block_ = 0;  // 0: ask the kernel registry
  int64_t min_batch_ = kMinBatch;
};

}  // namespace sluice

#endif  // SLUICE_PASSES_LAYOUT_H_
