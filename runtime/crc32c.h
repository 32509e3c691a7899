// CRC32C (Castagnoli polynomial), the checksum of TFRecord files and of
// Sluice checkpoints.
#ifndef SLUICE_RUNTIME_CRC32C_H_
#define SLUICE_RUNTIME_CRC32C_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace sluice {

// The CRC32C of `data` (e.g. 0xE3069283 for "123456789").
uint32_t Crc32c(absl::string_view data);

// The CRC32C of A followed by the `n` bytes at `data`, where `crc` is the
// CRC32C of A (0 for an empty A). Lets a checksum be computed piece by piece:
// Crc32cExtend(Crc32c(a), b.data(), b.size()) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const char* data, size_t n);

// TFRecord stores masked CRCs, because a CRC computed over data that itself
// holds CRCs is weak; UnmaskCrc32c(MaskCrc32c(c)) == c.
inline uint32_t MaskCrc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t UnmaskCrc32c(uint32_t masked) {
  const uint32_t rotated = masked - 0xa282ead8u;
  return (rotated >> 17) | (rotated << 15);
}

namespace crc32c_internal {
// The two implementations behind Crc32cExtend, exposed so tests can check
// that they agree. ExtendHardware may only be called when HardwareAvailable().
uint32_t ExtendPortable(uint32_t crc, const char* data, size_t n);
uint32_t ExtendHardware(uint32_t crc, const char* data, size_t n);
// True when the CPU has the SSE4.2 crc32 instruction.
bool HardwareAvailable();
}  // namespace crc32c_internal

}  // namespace sluice

#endif  // SLUICE_RUNTIME_CRC32C_H_
