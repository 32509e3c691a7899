// Per-element functions of the element-wise family, shared by its .cu files
// so that an op computes the same value unfused and inside
// _FusedElementwise. Each formula is the CPU functor's (cpu/elementwise.cc,
// cpu/nn_grad.cc), evaluated in the element type.
#ifndef SLUICE_CUDA_ELEMENTWISE_OPS_CUH_
#define SLUICE_CUDA_ELEMENTWISE_OPS_CUH_

#include <cstdint>
#include <type_traits>

#include "cuda/elementwise_launch.h"

namespace sluice::cuda::ew {

// Grid-stride loop bounds over n elements.
__device__ inline int64_t FirstIndex() { return blockIdx.x * int64_t{blockDim.x} + threadIdx.x; }
__device__ inline int64_t IndexStride() { return int64_t{blockDim.x} * gridDim.x; }

template <typename T>
inline constexpr bool kIsInteger = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// Integer arithmetic wraps around, as the CPU's does in practice, computed
// in unsigned arithmetic so that overflow is defined.
template <typename T>
__device__ inline T WrapAdd(T a, T b) {
  if constexpr (kIsInteger<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) + static_cast<U>(b)));
  } else {
    return static_cast<T>(a + b);
  }
}
template <typename T>
__device__ inline T WrapSub(T a, T b) {
  if constexpr (kIsInteger<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(static_cast<U>(a) - static_cast<U>(b)));
  } else {
    return static_cast<T>(a - b);
  }
}
template <typename T>
__device__ inline T WrapMul(T a, T b) {
  if constexpr (kIsInteger<T>) {
    using U = std::make_unsigned_t<T>;
    // Promote 8-bit values to unsigned int so the product cannot overflow int.
    using Wide = std::conditional_t<(sizeof(U) < sizeof(unsigned)), unsigned, U>;
    return static_cast<T>(static_cast<U>(static_cast<Wide>(static_cast<U>(a)) *
                                         static_cast<Wide>(static_cast<U>(b))));
  } else {
    return static_cast<T>(a * b);
  }
}
template <typename T>
__device__ inline T WrapNeg(T x) {
  if constexpr (kIsInteger<T>) {
    return WrapSub(T(0), x);
  } else {
    return -x;
  }
}

// The math functions in the element type's precision.
__device__ inline float Sqrt(float x) { return sqrtf(x); }
__device__ inline double Sqrt(double x) { return sqrt(x); }
__device__ inline float Exp(float x) { return expf(x); }
__device__ inline double Exp(double x) { return exp(x); }
__device__ inline float Expm1(float x) { return expm1f(x); }
__device__ inline double Expm1(double x) { return expm1(x); }
__device__ inline float Log(float x) { return logf(x); }
__device__ inline double Log(double x) { return log(x); }
__device__ inline float Log1p(float x) { return log1pf(x); }
__device__ inline double Log1p(double x) { return log1p(x); }
__device__ inline float Tanh(float x) { return tanhf(x); }
__device__ inline double Tanh(double x) { return tanh(x); }
__device__ inline float Erf(float x) { return erff(x); }
__device__ inline double Erf(double x) { return erf(x); }
__device__ inline float Fabs(float x) { return fabsf(x); }
__device__ inline double Fabs(double x) { return fabs(x); }
__device__ inline float Pow(float a, float b) { return powf(a, b); }
__device__ inline double Pow(double a, double b) { return pow(a, b); }

template <typename T>
__device__ inline bool IsNan(T x) {
  if constexpr (std::is_floating_point_v<T>) {
    return x != x;
  } else {
    return false;
  }
}

template <typename T>
__device__ inline T Unary(UnaryOp op, T x, float alpha) {
  if constexpr (std::is_same_v<T, bool>) {
    return !x;  // LogicalNot is the one unary op on bool
  } else {
    switch (op) {
      case UnaryOp::kNeg:
        return WrapNeg(x);
      case UnaryOp::kSquare:
        return WrapMul(x, x);
      case UnaryOp::kAbs:
        return x < T(0) ? WrapNeg(x) : x;
      case UnaryOp::kSign:
        return static_cast<T>((T(0) < x) - (x < T(0)));
      default:
        break;
    }
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
        case UnaryOp::kSqrt:
          return Sqrt(x);
        case UnaryOp::kRsqrt:
          return T(1) / Sqrt(x);
        case UnaryOp::kExp:
          return Exp(x);
        case UnaryOp::kLog:
          return Log(x);
        case UnaryOp::kRelu:
          return x > T(0) ? x : T(0);
        case UnaryOp::kRelu6:
          return x < T(0) ? T(0) : (x > T(6) ? T(6) : x);
        case UnaryOp::kElu:
          return x > T(0) ? x : Expm1(x);
        case UnaryOp::kSigmoid:
          return T(1) / (T(1) + Exp(-x));
        case UnaryOp::kTanh:
          return Tanh(x);
        case UnaryOp::kSoftplus:
          return (x > T(0) ? x : T(0)) + Log1p(Exp(-Fabs(x)));
        case UnaryOp::kLeakyRelu:
          return x > T(0) ? x : static_cast<T>(alpha) * x;
        case UnaryOp::kGelu:
          return T(0.5) * x * (T(1) + Erf(x * static_cast<T>(0.7071067811865476)));
        case UnaryOp::kGeluTanh: {
          const T k = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
          return T(0.5) * x * (T(1) + Tanh(k * (x + static_cast<T>(0.044715) * x * x * x)));
        }
        default:
          break;
      }
    }
    return x;  // not reached for the (op, type) pairs the host launches
  }
}

template <typename T>
__device__ inline T Divide(T a, T b) {
  if constexpr (kIsInteger<T>) {
    if (b == T(0)) return static_cast<T>(-1);  // all bits set; see BinaryOp
    if constexpr (std::is_signed_v<T>) {
      if (b == T(-1)) return WrapNeg(a);  // the lowest value over -1 overflows
    }
    return static_cast<T>(a / b);
  } else {
    return a / b;
  }
}

template <typename T>
__device__ inline T Power(T a, T b) {
  if constexpr (kIsInteger<T>) {
    if constexpr (std::is_signed_v<T>) {
      if (b < T(0)) {
        if (a == T(1)) return T(1);
        if (a == T(-1)) return (b & T(1)) ? T(-1) : T(1);
        return T(0);
      }
    }
    using U = std::make_unsigned_t<T>;
    T result = 1;
    T base = a;
    for (U e = static_cast<U>(b); e != 0; e = static_cast<U>(e >> 1)) {
      if (e & 1) result = WrapMul(result, base);
      base = WrapMul(base, base);
    }
    return result;
  } else {
    return Pow(a, b);
  }
}

// The binary ops with the operand type as result (kAdd .. kPow).
template <typename T>
__device__ inline T Arith(BinaryOp op, T a, T b) {
  if constexpr (std::is_same_v<T, bool>) {
    return false;  // bool has only the bool-result ops
  } else {
    switch (op) {
      case BinaryOp::kAdd:
        return WrapAdd(a, b);
      case BinaryOp::kSub:
        return WrapSub(a, b);
      case BinaryOp::kMul:
        return WrapMul(a, b);
      case BinaryOp::kDiv:
        return Divide(a, b);
      case BinaryOp::kMaximum:
        if (IsNan(a)) return a;
        return a > b ? a : b;
      case BinaryOp::kMinimum:
        if (IsNan(a)) return a;
        return a < b ? a : b;
      case BinaryOp::kPow:
        return Power(a, b);
      default:
        return T(0);
    }
  }
}

// The binary ops with a bool result (kEqual .. kLogicalOr).
template <typename T>
__device__ inline bool Compare(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::kEqual:
      return a == b;
    case BinaryOp::kNotEqual:
      return a != b;
    case BinaryOp::kLess:
      return a < b;
    case BinaryOp::kLessEqual:
      return a <= b;
    case BinaryOp::kGreater:
      return a > b;
    case BinaryOp::kGreaterEqual:
      return a >= b;
    case BinaryOp::kLogicalAnd:
      return static_cast<bool>(a) && static_cast<bool>(b);
    case BinaryOp::kLogicalOr:
      return static_cast<bool>(a) || static_cast<bool>(b);
    default:
      return false;
  }
}

__device__ inline bool IsBoolResult(BinaryOp op) {
  return static_cast<int>(op) >= static_cast<int>(BinaryOp::kEqual);
}

// The element offsets of the first kInputs inputs of `plan` at output
// element i (the general, strided path), in Index arithmetic: no dim, index
// or offset exceeds plan.num_elements, so 32 bits do when that fits
// (a 64-bit division costs several times a 32-bit one).
template <int kInputs, typename Index>
__device__ inline void BroadcastOffsetsIn(const EwBroadcast& plan, int64_t i, int64_t* offsets) {
  Index rest = static_cast<Index>(i);
  Index sums[kInputs];
#pragma unroll
  for (int k = 0; k < kInputs; ++k) sums[k] = 0;
#pragma unroll
  for (int j = 0; j < kEwMaxRank; ++j) {
    const int d = kEwMaxRank - 1 - j;  // innermost dim first
    if (d < plan.rank) {
      Index index = rest;  // the outermost dim needs no division: rest < dims[0]
      if (d > 0) {
        const Index dim = static_cast<Index>(plan.dims[d]);
        const Index q = rest / dim;
        index = rest - q * dim;
        rest = q;
      }
#pragma unroll
      for (int k = 0; k < kInputs; ++k) sums[k] += index * static_cast<Index>(plan.strides[k][d]);
    }
  }
#pragma unroll
  for (int k = 0; k < kInputs; ++k) offsets[k] = static_cast<int64_t>(sums[k]);
}

template <int kInputs>
__device__ inline void BroadcastOffsets(const EwBroadcast& plan, int64_t i, int64_t* offsets) {
  if (plan.num_elements <= int64_t{0xffffffff}) {
    BroadcastOffsetsIn<kInputs, uint32_t>(plan, i, offsets);
  } else {
    BroadcastOffsetsIn<kInputs, int64_t>(plan, i, offsets);
  }
}

}  // namespace sluice::cuda::ew

#endif  // SLUICE_CUDA_ELEMENTWISE_OPS_CUH_
