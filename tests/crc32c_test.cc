// CRC32C: published test vectors, piecewise extension, masking, and the
// agreement of the table and SSE4.2 implementations.
#include "runtime/crc32c.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>

namespace sluice {
namespace {

TEST_CASE("CRC32C matches the published test vectors") {
  CHECK(Crc32c("123456789") == 0xE3069283u);
  CHECK(Crc32c(std::string(32, '\0')) == 0x8A9136AAu);
  CHECK(Crc32c(std::string(32, '\xff')) == 0x62A8AB43u);
  std::string ascending(32, '\0');
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<char>(i);
  CHECK(Crc32c(ascending) == 0x46DD794Eu);
  std::string descending(32, '\0');
  for (int i = 0; i < 32; ++i) descending[i] = static_cast<char>(31 - i);
  CHECK(Crc32c(descending) == 0x113FDB5Cu);
  CHECK(Crc32c("") == 0u);
}

TEST_CASE("Each implementation matches the test vectors on its own") {
  using crc32c_internal::ExtendHardware;
  using crc32c_internal::ExtendPortable;
  const std::string digits = "123456789";
  CHECK(ExtendPortable(0, digits.data(), digits.size()) == 0xE3069283u);
  if (crc32c_internal::HardwareAvailable()) {
    CHECK(ExtendHardware(0, digits.data(), digits.size()) == 0xE3069283u);
    const std::string zeros(32, '\0');
    CHECK(ExtendHardware(0, zeros.data(), zeros.size()) == 0x8A9136AAu);
  }
}

TEST_CASE("Extending piece by piece equals one pass") {
  const std::string text = "The quick brown fox jumps over the lazy dog, twice over.";
  const uint32_t whole = Crc32c(text);
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    const uint32_t first = Crc32c(absl::string_view(text).substr(0, cut));
    CHECK(Crc32cExtend(first, text.data() + cut, text.size() - cut) == whole);
  }
  CHECK(Crc32cExtend(0, text.data(), text.size()) == whole);
}

TEST_CASE("Masking is TFRecord's rotation plus constant and is undone by unmasking") {
  // (c >> 15 | c << 17) + 0xa282ead8, worked by hand for c = 0xE3069283:
  // rotate right by 15 gives 0x2507C60D, plus the constant 0xC78AB0E5.
  CHECK(MaskCrc32c(0xE3069283u) == 0xC78AB0E5u);
  CHECK(MaskCrc32c(0) == 0xa282ead8u);
  for (uint32_t c : {0u, 1u, 0xE3069283u, 0xFFFFFFFFu, 0x80000000u, 0x12345678u}) {
    CHECK(UnmaskCrc32c(MaskCrc32c(c)) == c);
    if (c != 0) CHECK(MaskCrc32c(c) != c);
  }
}

TEST_CASE("Table and SSE4.2 paths agree on random data of every length and alignment") {
  if (!crc32c_internal::HardwareAvailable()) {
    WARN("this CPU has no SSE4.2; only the table path is tested");
    return;
  }
  std::mt19937 rng(12345);
  std::string buffer(4096 + 16, '\0');
  for (char& c : buffer) c = static_cast<char>(rng());
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t n : {0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 63, 64, 65, 255, 1000, 4096}) {
      const char* p = buffer.data() + offset;
      const uint32_t seed = static_cast<uint32_t>(rng());
      INFO("offset " << offset << ", length " << n);
      REQUIRE(crc32c_internal::ExtendPortable(0, p, n) == crc32c_internal::ExtendHardware(0, p, n));
      REQUIRE(crc32c_internal::ExtendPortable(seed, p, n) ==
              crc32c_internal::ExtendHardware(seed, p, n));
    }
  }
}

TEST_CASE("A flipped bit changes the CRC") {
  std::string data(100, 'a');
  const uint32_t before = Crc32c(data);
  data[50] ^= 0x01;
  CHECK(Crc32c(data) != before);
}

}  // namespace
}  // namespace sluice
