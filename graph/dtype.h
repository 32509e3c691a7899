// Element types of tensors.
#ifndef SLUICE_GRAPH_DTYPE_H_
#define SLUICE_GRAPH_DTYPE_H_

#include <cstdint>
#include <cstring>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"

namespace sluice {

// Values match TensorFlow's DataType numbers and proto/graph.proto.
enum class DType : int {
  kInvalid = 0,
  kF32 = 1,
  kF64 = 2,
  kI32 = 3,
  kU8 = 4,
  kI8 = 6,
  kI64 = 9,
  kBool = 10,
  kBF16 = 14,
  kF16 = 19,
};

// Every valid dtype, in a fixed order (used by tests and by type parsing).
inline constexpr DType kAllDTypes[] = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16,
                                       DType::kI8,  DType::kU8,  DType::kI32, DType::kI64,
                                       DType::kBool};

// Bytes per element; 0 for kInvalid.
int DTypeSize(DType dtype);
// Short name: "f32", "f64", "f16", "bf16", "i8", "u8", "i32", "i64", "bool".
absl::string_view DTypeName(DType dtype);
// Accepts the short names and TensorFlow's ("float", "double", "half",
// "bfloat16", "int8", "uint8", "int32", "int64", "bool").
absl::StatusOr<DType> ParseDType(absl::string_view name);
// True for the proto's valid values (used when reading files).
bool IsValidDType(int value);

bool IsFloating(DType dtype);  // f32, f64, f16, bf16
bool IsInteger(DType dtype);   // i8, u8, i32, i64

// 16-bit floats are stored as their bit patterns; these convert to and from
// float with round-to-nearest-even.
struct Half {
  uint16_t bits = 0;
};
struct BFloat16 {
  uint16_t bits = 0;
};
float HalfToFloat(Half h);
Half FloatToHalf(float f);
inline float BFloat16ToFloat(BFloat16 b) {
  uint32_t u = static_cast<uint32_t>(b.bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
BFloat16 FloatToBFloat16(float f);

// Maps a C++ element type to its DType.
template <typename T>
struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::kF32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::kF64; };
template <> struct DTypeOf<Half> { static constexpr DType value = DType::kF16; };
template <> struct DTypeOf<BFloat16> { static constexpr DType value = DType::kBF16; };
template <> struct DTypeOf<int8_t> { static constexpr DType value = DType::kI8; };
template <> struct DTypeOf<uint8_t> { static constexpr DType value = DType::kU8; };
template <> struct DTypeOf<int32_t> { static constexpr DType value = DType::kI32; };
template <> struct DTypeOf<int64_t> { static constexpr DType value = DType::kI64; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::kBool; };

// Calls `fn.template operator()<T>()` with T the C++ type of `dtype`
// (Half/BFloat16 for the 16-bit floats). `dtype` must be valid.
template <typename Fn>
decltype(auto) VisitDType(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::kF32: return fn.template operator()<float>();
    case DType::kF64: return fn.template operator()<double>();
    case DType::kF16: return fn.template operator()<Half>();
    case DType::kBF16: return fn.template operator()<BFloat16>();
    case DType::kI8: return fn.template operator()<int8_t>();
    case DType::kU8: return fn.template operator()<uint8_t>();
    case DType::kI32: return fn.template operator()<int32_t>();
    case DType::kI64: return fn.template operator()<int64_t>();
    case DType::kBool: return fn.template operator()<bool>();
    case DType::kInvalid: break;
  }
  return fn.template operator()<float>();  // unreachable for valid dtypes
}

}  // namespace sluice

#endif  // SLUICE_GRAPH_DTYPE_H_
