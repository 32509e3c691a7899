// Unary and binary element-wise ops, Select and AddN. One kernel per element
// type and indexing path; the op is a switch inside it (uniform across the
// grid, so it costs no divergence), which keeps the number of kernels small.
#include "cuda/elementwise_launch.h"
#include "cuda/elementwise_ops.cuh"
#include "cuda/launch.cuh"

namespace sluice::cuda {
namespace {

using ew::FirstIndex;
using ew::IndexStride;

template <typename T>
__global__ void UnaryKernel(UnaryOp op, const T* x, T* y, int64_t n, float alpha) {
  for (int64_t i = FirstIndex(); i < n; i += IndexStride()) y[i] = ew::Unary(op, x[i], alpha);
}

template <typename T>
cudaError_t Unary(UnaryOp op, const void* x, void* y, int64_t n, float alpha, cudaStream_t stream) {
  UnaryKernel<T><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(op, static_cast<const T*>(x),
                                                                static_cast<T*>(y), n, alpha);
  return cudaGetLastError();
}

template <typename T>
__device__ inline void StoreBinary(BinaryOp op, T a, T b, void* out, int64_t i) {
  if (ew::IsBoolResult(op)) {
    static_cast<bool*>(out)[i] = ew::Compare(op, a, b);
  } else {
    static_cast<T*>(out)[i] = ew::Arith(op, a, b);
  }
}

// Same shapes and scalars: each operand streams (step 1) or repeats its one
// element (step 0).
template <typename T>
__global__ void BinaryFlatKernel(BinaryOp op, const T* a, int64_t step_a, const T* b,
                                 int64_t step_b, void* out, int64_t n) {
  for (int64_t i = FirstIndex(); i < n; i += IndexStride()) {
    StoreBinary(op, a[i * step_a], b[i * step_b], out, i);
  }
}

template <typename T>
__global__ void BinaryStridedKernel(BinaryOp op, EwBroadcast plan, const T* a, const T* b,
                                    void* out) {
  for (int64_t i = FirstIndex(); i < plan.num_elements; i += IndexStride()) {
    int64_t offsets[2];
    ew::BroadcastOffsets<2>(plan, i, offsets);
    StoreBinary(op, a[offsets[0]], b[offsets[1]], out, i);
  }
}

// The step of input k in a plan of rank <= 1.
int64_t FlatStep(const EwBroadcast& plan, int k) { return plan.rank == 0 ? 0 : plan.strides[k][0]; }

template <typename T>
cudaError_t Binary(BinaryOp op, const EwBroadcast& plan, const void* a, const void* b, void* out,
                   cudaStream_t stream) {
  const int64_t n = plan.num_elements;
  const T* ta = static_cast<const T*>(a);
  const T* tb = static_cast<const T*>(b);
  if (plan.rank <= 1) {
    BinaryFlatKernel<T><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
        op, ta, FlatStep(plan, 0), tb, FlatStep(plan, 1), out, n);
  } else {
    BinaryStridedKernel<T><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(op, plan, ta, tb, out);
  }
  return cudaGetLastError();
}

// Select moves elements without looking at them, so it runs on unsigned
// integers of the element's size.
template <typename E>
__global__ void SelectFlatKernel(const bool* c, int64_t step_c, const E* t, int64_t step_t,
                                 const E* e, int64_t step_e, E* out, int64_t n) {
  for (int64_t i = FirstIndex(); i < n; i += IndexStride()) {
    out[i] = c[i * step_c] ? t[i * step_t] : e[i * step_e];
  }
}

template <typename E>
__global__ void SelectStridedKernel(EwBroadcast plan, const bool* c, const E* t, const E* e,
                                    E* out) {
  for (int64_t i = FirstIndex(); i < plan.num_elements; i += IndexStride()) {
    int64_t offsets[3];
    ew::BroadcastOffsets<3>(plan, i, offsets);
    out[i] = c[offsets[0]] ? t[offsets[1]] : e[offsets[2]];
  }
}

template <typename E>
cudaError_t Select(const EwBroadcast& plan, const bool* c, const void* t, const void* e, void* out,
                   cudaStream_t stream) {
  const int64_t n = plan.num_elements;
  const E* et = static_cast<const E*>(t);
  const E* ee = static_cast<const E*>(e);
  E* eo = static_cast<E*>(out);
  if (plan.rank <= 1) {
    SelectFlatKernel<E><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
        c, FlatStep(plan, 0), et, FlatStep(plan, 1), ee, FlatStep(plan, 2), eo, n);
  } else {
    SelectStridedKernel<E><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(plan, c, et, ee, eo);
  }
  return cudaGetLastError();
}

// Sums in input order, as the CPU does: out = x0 + x1 + ... (or out + x0 +
// ... when accumulating onto an earlier launch's partial sum).
template <typename T>
__global__ void AddNKernel(AddNInputs inputs, bool accumulate, T* out, int64_t n) {
  for (int64_t i = FirstIndex(); i < n; i += IndexStride()) {
    T sum = accumulate ? out[i] : static_cast<const T*>(inputs.inputs[0])[i];
    for (int k = accumulate ? 0 : 1; k < inputs.count; ++k) {
      sum = ew::WrapAdd(sum, static_cast<const T*>(inputs.inputs[k])[i]);
    }
    out[i] = sum;
  }
}

template <typename T>
cudaError_t AddN(const AddNInputs& inputs, bool accumulate, void* out, int64_t n,
                 cudaStream_t stream) {
  AddNKernel<T>
      <<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(inputs, accumulate, static_cast<T*>(out), n);
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchUnary(UnaryOp op, EwType type, const void* x, void* y, int64_t n, float alpha,
                        cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (type) {
    case EwType::kF32:
      return Unary<float>(op, x, y, n, alpha, stream);
    case EwType::kF64:
      return Unary<double>(op, x, y, n, alpha, stream);
    case EwType::kI8:
      return Unary<int8_t>(op, x, y, n, alpha, stream);
    case EwType::kI32:
      return Unary<int32_t>(op, x, y, n, alpha, stream);
    case EwType::kI64:
      return Unary<int64_t>(op, x, y, n, alpha, stream);
    case EwType::kBool:
      return Unary<bool>(op, x, y, n, alpha, stream);
    default:
      break;
  }
  return cudaErrorInvalidValue;
}

cudaError_t LaunchBinary(BinaryOp op, EwType type, const EwBroadcast& plan, const void* a,
                         const void* b, void* out, cudaStream_t stream) {
  if (plan.num_elements == 0) return cudaSuccess;
  switch (type) {
    case EwType::kF32:
      return Binary<float>(op, plan, a, b, out, stream);
    case EwType::kF64:
      return Binary<double>(op, plan, a, b, out, stream);
    case EwType::kI8:
      return Binary<int8_t>(op, plan, a, b, out, stream);
    case EwType::kU8:
      return Binary<uint8_t>(op, plan, a, b, out, stream);
    case EwType::kI32:
      return Binary<int32_t>(op, plan, a, b, out, stream);
    case EwType::kI64:
      return Binary<int64_t>(op, plan, a, b, out, stream);
    case EwType::kBool:
      return Binary<bool>(op, plan, a, b, out, stream);
    default:
      break;
  }
  return cudaErrorInvalidValue;
}

cudaError_t LaunchSelect(int element_bytes, const EwBroadcast& plan, const bool* condition,
                         const void* t, const void* e, void* out, cudaStream_t stream) {
  if (plan.num_elements == 0) return cudaSuccess;
  switch (element_bytes) {
    case 1:
      return Select<uint8_t>(plan, condition, t, e, out, stream);
    case 2:
      return Select<uint16_t>(plan, condition, t, e, out, stream);
    case 4:
      return Select<uint32_t>(plan, condition, t, e, out, stream);
    case 8:
      return Select<uint64_t>(plan, condition, t, e, out, stream);
    default:
      break;
  }
  return cudaErrorInvalidValue;
}

cudaError_t LaunchAddN(EwType type, const AddNInputs& inputs, bool accumulate, void* out, int64_t n,
                       cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  if (inputs.count < (accumulate ? 0 : 1) || inputs.count > kAddNMaxInputs) {
    return cudaErrorInvalidValue;
  }
  switch (type) {
    case EwType::kF32:
      return AddN<float>(inputs, accumulate, out, n, stream);
    case EwType::kF64:
      return AddN<double>(inputs, accumulate, out, n, stream);
    case EwType::kI32:
      return AddN<int32_t>(inputs, accumulate, out, n, stream);
    case EwType::kI64:
      return AddN<int64_t>(inputs, accumulate, out, n, stream);
    default:
      break;
  }
  return cudaErrorInvalidValue;
}

}  // namespace sluice::cuda
