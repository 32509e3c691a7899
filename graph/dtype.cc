#include "graph/dtype.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace sluice {

int DTypeSize(DType dtype) {
  switch (dtype) {
    case DType::kF32: case DType::kI32: return 4;
    case DType::kF64: case DType::kI64: return 8;
    case DType::kF16: case DType::kBF16: return 2;
    case DType::kI8: case DType::kU8: case DType::kBool: return 1;
    case DType::kInvalid: break;
  }
  return 0;
}

absl::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "f32";
    case DType::kF64: return "f64";
    case DType::kF16: return "f16";
    case DType::kBF16: return "bf16";
    case DType::kI8: return "i8";
    case DType::kU8: return "u8";
    case DType::kI32: return "i32";
    case DType::kI64: return "i64";
    case DType::kBool: return "bool";
    case DType::kInvalid: break;
  }
  return "invalid";
}

absl::StatusOr<DType> ParseDType(absl::string_view name) {
  struct Alias { absl::string_view name; DType dtype; };
  static constexpr Alias kAliases[] = {
      {"f32", DType::kF32},   {"float", DType::kF32},     {"float32", DType::kF32},
      {"f64", DType::kF64},   {"double", DType::kF64},    {"float64", DType::kF64},
      {"f16", DType::kF16},   {"half", DType::kF16},      {"float16", DType::kF16},
      {"bf16", DType::kBF16}, {"bfloat16", DType::kBF16}, {"i8", DType::kI8},
      {"int8", DType::kI8},   {"u8", DType::kU8},         {"uint8", DType::kU8},
      {"i32", DType::kI32},   {"int32", DType::kI32},     {"i64", DType::kI64},
      {"int64", DType::kI64}, {"bool", DType::kBool},
  };
  for (const Alias& a : kAliases) {
    if (a.name == name) return a.dtype;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown dtype '", name, "'; expected one of f32, f64, f16, bf16, i8, u8, i32, i64, bool"));
}

bool IsValidDType(int value) {
  for (DType d : kAllDTypes) {
    if (static_cast<int>(d) == value) return true;
  }
  return false;
}

bool IsFloating(DType dtype) {
  return dtype == DType::kF32 || dtype == DType::kF64 || dtype == DType::kF16 ||
         dtype == DType::kBF16;
}

bool IsInteger(DType dtype) {
  return dtype == DType::kI8 || dtype == DType::kU8 || dtype == DType::kI32 ||
         dtype == DType::kI64;
}

float HalfToFloat(Half h) {
  const uint32_t sign = (h.bits >> 15) & 1;
  const uint32_t exp = (h.bits >> 10) & 0x1f;
  const uint32_t mant = h.bits & 0x3ff;
  float magnitude;
  if (exp == 0) {
    magnitude = std::ldexp(static_cast<float>(mant), -24);  // subnormal or zero
  } else if (exp == 31) {
    magnitude = mant ? NAN : INFINITY;
  } else {
    magnitude = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  }
  return sign ? -magnitude : magnitude;
}

Half FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t abs = x & 0x7fffffff;
  if (abs >= 0x7f800000) {  // inf or nan
    return Half{static_cast<uint16_t>(sign | 0x7c00 | (abs > 0x7f800000 ? 0x200 : 0))};
  }
  if (abs >= 0x477ff000) return Half{static_cast<uint16_t>(sign | 0x7c00)};  // overflow
  if (abs < 0x38800000) {
    // Result is subnormal or zero: scale so the rounding happens in float.
    float a;
    std::memcpy(&a, &abs, sizeof a);
    const float scaled = a * 16777216.0f;  // 2^24: one half ulp becomes 1
    const uint32_t m = static_cast<uint32_t>(std::nearbyint(scaled));
    return Half{static_cast<uint16_t>(sign | m)};
  }
  // Normal: rebias the exponent and round the 13 dropped mantissa bits to even.
  uint32_t bits = abs - 0x38000000;  // (127 - 15) << 23
  const uint32_t round = 0xfff + ((bits >> 13) & 1);
  bits += round;
  return Half{static_cast<uint16_t>(sign | (bits >> 13))};
}

BFloat16 FloatToBFloat16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  if ((x & 0x7fffffff) > 0x7f800000) return BFloat16{static_cast<uint16_t>((x >> 16) | 0x40)};
  const uint32_t round = 0x7fff + ((x >> 16) & 1);
  return BFloat16{static_cast<uint16_t>((x + round) >> 16)};
}

}  // namespace sluice
