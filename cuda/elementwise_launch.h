// Device code of the element-wise family (cuda/elementwise*.cu): unary and
// broadcasting binary ops, Select, Cast, AddN, the activation gradients,
// BiasAddGrad and the _FusedElementwise interpreter.
//
// Every launch function queues its work on `stream`, returns the launch's
// cudaError_t and does nothing for zero elements. Pointers are device
// pointers; the structs are passed to the kernels by value.
#ifndef SLUICE_CUDA_ELEMENTWISE_LAUNCH_H_
#define SLUICE_CUDA_ELEMENTWISE_LAUNCH_H_

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sluice::cuda {

// Element types of the family. 16-bit floats appear only in casts.
enum class EwType : int { kF32, kF64, kF16, kBF16, kI8, kU8, kI32, kI64, kBool };

// The unary ops; each evaluates its CPU functor's formula
// (cpu/elementwise.cc) in the element type. kGeluTanh is Gelu with
// approximate=true; kLeakyRelu reads `alpha`.
enum class UnaryOp : int {
  kNeg,
  kSquare,
  kAbs,
  kSign,
  kSqrt,
  kRsqrt,
  kExp,
  kLog,
  kRelu,
  kRelu6,
  kElu,
  kSigmoid,
  kTanh,
  kSoftplus,
  kLeakyRelu,
  kGelu,
  kGeluTanh,
  kLogicalNot
};

// The binary ops. Those from kEqual on produce bool; the others the operand
// type. Integer Div by zero gives all bits set (-1 signed, the maximum
// unsigned) and integer Pow with a negative exponent gives the truncated
// value (1 for base 1, +-1 for base -1, else 0): the CPU rejects both, which
// a device kernel cannot do without waiting for the data.
enum class BinaryOp : int {
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMaximum,
  kMinimum,
  kPow,
  kEqual,
  kNotEqual,
  kLess,
  kLessEqual,
  kGreater,
  kGreaterEqual,
  kLogicalAnd,
  kLogicalOr
};

inline constexpr bool HasBoolResult(BinaryOp op) {
  return static_cast<int>(op) >= static_cast<int>(BinaryOp::kEqual);
}

inline constexpr int kEwMaxRank = 8;
inline constexpr int kEwMaxInputs = 3;

// Inputs broadcast to an output of `num_elements` elements, seen as the
// row-major dims[0..rank) after merging adjacent dims that broadcast alike
// (size-1 dims dropped). strides[k][d] is input k's element stride along
// dim d, 0 where it broadcasts. rank 0 is a single element; rank <= 1 means
// every input either streams (stride 1) or repeats one element (stride 0).
struct EwBroadcast {
  int rank = 0;
  int num_inputs = 0;
  int64_t num_elements = 0;
  int64_t dims[kEwMaxRank] = {};
  int64_t strides[kEwMaxInputs][kEwMaxRank] = {};
};

// y[i] = op(x[i]) for n elements of `type` (f32/f64 for the float ops;
// i8/i32/i64 also for kNeg, kSquare, kAbs, kSign; bool for kLogicalNot).
cudaError_t LaunchUnary(UnaryOp op, EwType type, const void* x, void* y, int64_t n, float alpha,
                        cudaStream_t stream);

// out = op(a, b) over `plan` (2 inputs); a and b have `type`, out has
// `type` or bool (HasBoolResult).
cudaError_t LaunchBinary(BinaryOp op, EwType type, const EwBroadcast& plan, const void* a,
                         const void* b, void* out, cudaStream_t stream);

// out = condition ? t : e over `plan` (3 inputs: condition, t, e); t, e and
// out have elements of `element_bytes` (1, 2, 4 or 8).
cudaError_t LaunchSelect(int element_bytes, const EwBroadcast& plan, const bool* condition,
                         const void* t, const void* e, void* out, cudaStream_t stream);

// y[i] = x[i] converted from `from` to `to` as cpu/elementwise.cc's Cast
// does (16-bit floats through f32; float to integer saturates, NaN to 0;
// to bool is x != 0).
cudaError_t LaunchCast(EwType from, EwType to, const void* x, void* y, int64_t n,
                       cudaStream_t stream);

// Inputs one AddN launch sums.
inline constexpr int kAddNMaxInputs = 16;
struct AddNInputs {
  int count = 0;
  const void* inputs[kAddNMaxInputs] = {};
};
// out = sum of the `inputs` (count >= 1) for n elements of `type` (f32, f64,
// i32, i64); when `accumulate`, out's current values are added too.
cudaError_t LaunchAddN(EwType type, const AddNInputs& inputs, bool accumulate, void* out, int64_t n,
                       cudaStream_t stream);

// The activation gradients; each is the CPU functor of cpu/nn_grad.cc,
// mapping (gradient, value) to the backprop.
enum class ActivationGradOp : int {
  kRelu,
  kRelu6,
  kElu,
  kSoftplus,
  kLeakyRelu,
  kGelu,
  kGeluTanh,
  kSigmoid,
  kTanh
};
// out[i] = op(gradients[i], values[i]) for n elements of `type` (f32, f64).
cudaError_t LaunchActivationGrad(ActivationGradOp op, EwType type, const void* gradients,
                                 const void* values, void* out, int64_t n, float alpha,
                                 cudaStream_t stream);

// BiasAddGrad over x viewed as [outer, channels, inner]: out[c] is the sum
// over o and i of x[(o * channels + c) * inner + i]. `chunks` (1 to
// kBiasGradMaxChunks) splits the sum; with more than one, `partials` holds
// chunks * channels elements of scratch. The result does not depend on
// anything but the sizes (a fixed summation order).
inline constexpr int64_t kBiasGradMaxChunks = 128;
// The chunks LaunchBiasAddGrad is best called with: about 2048 summands
// per channel per chunk.
inline int64_t BiasGradChunks(int64_t outer, int64_t inner) {
  const int64_t chunks = (outer * inner + 2047) / 2048;
  return chunks < 1 ? 1 : (chunks > kBiasGradMaxChunks ? kBiasGradMaxChunks : chunks);
}
cudaError_t LaunchBiasAddGrad(EwType type, const void* x, void* out, int64_t outer,
                              int64_t channels, int64_t inner, int64_t chunks, void* partials,
                              cudaStream_t stream);

// A piece of a _FusedElementwise chain, interpreted per element in f32. A
// step with operand < 0 applies the unary op `op` (a UnaryOp) to the running
// value v; otherwise the binary op `op` (a BinaryOp, arithmetic only) to
// (v, w), or (w, v) when reversed, where w is operands[operand][i] (or
// [0] where operand_scalar).
inline constexpr int kFusedMaxSteps = 24;
inline constexpr int kFusedMaxOperands = 8;
struct FusedStep {
  int op = 0;
  int operand = -1;
  bool reversed = false;
  float alpha = 0;
};
struct FusedSegment {
  int num_steps = 0;
  FusedStep steps[kFusedMaxSteps];
  const float* operands[kFusedMaxOperands] = {};
  bool operand_scalar[kFusedMaxOperands] = {};
};
// y[i] = the segment's steps applied to x[i], for n elements; x may be y.
cudaError_t LaunchFusedSegment(const FusedSegment& segment, const float* x, float* y, int64_t n,
                               cudaStream_t stream);

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_ELEMENTWISE_LAUNCH_H_
