// DType names, sizes, parsing and the 16-bit float conversions.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "graph/dtype.h"

namespace sluice {
namespace {

using Catch::Matchers::Contains;

TEST_CASE("Every dtype has a size and a name that parses back") {
  for (DType d : kAllDTypes) {
    INFO(DTypeName(d));
    CHECK(DTypeSize(d) > 0);
    CHECK(IsValidDType(static_cast<int>(d)));
    auto parsed = ParseDType(DTypeName(d));
    REQUIRE(parsed.ok());
    CHECK(*parsed == d);
  }
  CHECK(DTypeSize(DType::kF32) == 4);
  CHECK(DTypeSize(DType::kF64) == 8);
  CHECK(DTypeSize(DType::kBF16) == 2);
  CHECK(DTypeSize(DType::kBool) == 1);
  CHECK(DTypeSize(DType::kInvalid) == 0);
  CHECK_FALSE(IsValidDType(0));
  CHECK_FALSE(IsValidDType(7));  // TF's DT_STRING: not supported
}

TEST_CASE("ParseDType accepts TensorFlow's names and explains bad ones") {
  CHECK(*ParseDType("float") == DType::kF32);
  CHECK(*ParseDType("float64") == DType::kF64);
  CHECK(*ParseDType("half") == DType::kF16);
  CHECK(*ParseDType("bfloat16") == DType::kBF16);
  CHECK(*ParseDType("uint8") == DType::kU8);
  CHECK(*ParseDType("int64") == DType::kI64);
  auto bad = ParseDType("complex64");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()),
             Contains("unknown dtype 'complex64'; expected one of f32, f64, f16, bf16, i8, u8, "
                      "i32, i64, bool"));
}

TEST_CASE("Floating and integer classification") {
  CHECK(IsFloating(DType::kBF16));
  CHECK_FALSE(IsFloating(DType::kI32));
  CHECK(IsInteger(DType::kU8));
  CHECK_FALSE(IsInteger(DType::kBool));
}

uint16_t HalfBits(float f) { return FloatToHalf(f).bits; }

TEST_CASE("Half conversions round to nearest even and keep specials") {
  CHECK(HalfBits(0.0f) == 0x0000);
  CHECK(HalfBits(-0.0f) == 0x8000);
  CHECK(HalfBits(1.0f) == 0x3c00);
  CHECK(HalfBits(-2.0f) == 0xc000);
  CHECK(HalfBits(65504.0f) == 0x7bff);          // the largest half
  CHECK(HalfBits(65520.0f) == 0x7c00);          // rounds up to infinity
  CHECK(HalfBits(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  CHECK(HalfBits(std::ldexp(1.0f, -14)) == 0x0400);  // smallest normal
  CHECK(HalfBits(std::ldexp(1.0f, -26)) == 0x0000);  // below half the smallest: zero
  CHECK(HalfBits(INFINITY) == 0x7c00);
  CHECK(std::isnan(HalfToFloat(FloatToHalf(NAN))));
  // 1 + 2^-11 lies halfway between 1 and the next half: ties go to even (1).
  CHECK(HalfBits(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);
  // 1 + 3*2^-11 lies halfway between odd and even neighbours: up to even.
  CHECK(HalfBits(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);
  CHECK(HalfToFloat(Half{0x3555}) == Approx(0.33325195f));
  CHECK(HalfToFloat(Half{0x0001}) == std::ldexp(1.0f, -24));
  for (uint16_t bits = 0; bits < 0x7c00; bits += 7) {
    INFO(bits);
    CHECK(HalfBits(HalfToFloat(Half{bits})) == bits);  // every finite half round-trips
  }
}

TEST_CASE("BFloat16 conversions round to nearest even") {
  CHECK(FloatToBFloat16(1.0f).bits == 0x3f80);
  CHECK(BFloat16ToFloat(BFloat16{0x4049}) == 3.140625f);
  float tie;
  const uint32_t tie_bits = 0x3f808000;  // halfway between 0x3f80 and 0x3f81
  std::memcpy(&tie, &tie_bits, 4);
  CHECK(FloatToBFloat16(tie).bits == 0x3f80);
  const uint32_t up_bits = 0x3f818000;  // halfway between 0x3f81 and 0x3f82
  float up;
  std::memcpy(&up, &up_bits, 4);
  CHECK(FloatToBFloat16(up).bits == 0x3f82);
  CHECK(std::isnan(BFloat16ToFloat(FloatToBFloat16(NAN))));
}

TEST_CASE("VisitDType calls the matching C++ type") {
  for (DType d : kAllDTypes) {
    const int size = VisitDType(d, []<typename T>() { return static_cast<int>(sizeof(T)); });
    CHECK(size == DTypeSize(d));
    const DType back = VisitDType(d, []<typename T>() { return DTypeOf<T>::value; });
    CHECK(back == d);
  }
}

}  // namespace
}  // namespace sluice
