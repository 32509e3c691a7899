// _FusedElementwise: the chain is a small program passed by value and
// interpreted per element, the running value held in a register. Steps use
// the same per-element functions as the unfused ops (elementwise_ops.cuh).
#include "cuda/elementwise_launch.h"
#include "cuda/elementwise_ops.cuh"
#include "cuda/launch.cuh"

namespace sluice::cuda {
namespace {

using ew::FirstIndex;
using ew::IndexStride;

// x and y may be the same buffer (later segments of a long chain): each
// element is read before it is written, by the same thread.
__global__ void FusedSegmentKernel(FusedSegment segment, const float* x, float* y, int64_t n) {
  for (int64_t i = FirstIndex(); i < n; i += IndexStride()) {
    float v = x[i];
    for (int s = 0; s < segment.num_steps; ++s) {
      const FusedStep& step = segment.steps[s];
      if (step.operand < 0) {
        v = ew::Unary(static_cast<UnaryOp>(step.op), v, step.alpha);
      } else {
        const float w =
            segment.operands[step.operand][segment.operand_scalar[step.operand] ? 0 : i];
        const BinaryOp op = static_cast<BinaryOp>(step.op);
        v = step.reversed ? ew::Arith(op, w, v) : ew::Arith(op, v, w);
      }
    }
    y[i] = v;
  }
}

}  // namespace

cudaError_t LaunchFusedSegment(const FusedSegment& segment, const float* x, float* y, int64_t n,
                               cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (segment.num_steps < 0 || segment.num_steps > kFusedMaxSteps) return cudaErrorInvalidValue;
  FusedSegmentKernel<<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(segment, x, y, n);
  return cudaGetLastError();
}

}  // namespace sluice::cuda
