// Philox4x32-10, the counter-based random generator of Salmon et al.,
// "Parallel Random Numbers: As Easy as 1, 2, 3" (SC 2011). A block of four
// 32-bit words is a pure function of a 128-bit counter and a 64-bit key, so
// any range of blocks can be produced in any order, by any thread, and the
// same (key, counter) always yields the same words. Device kernels (CPU and
// CUDA) share this header so that they draw identical numbers.
#ifndef SLUICE_KERNELS_PHILOX_H_
#define SLUICE_KERNELS_PHILOX_H_

#include <cmath>
#include <cstdint>
#include <string>

#if defined(__CUDACC__)
#define SLUICE_PHILOX_FN __host__ __device__ inline
#else
#define SLUICE_PHILOX_FN inline
#endif

namespace sluice::philox {

// Plain structs rather than std::array so that CUDA device code can use them.
struct Block {
  uint32_t w[4];
  SLUICE_PHILOX_FN uint32_t& operator[](int i) { return w[i]; }
  SLUICE_PHILOX_FN uint32_t operator[](int i) const { return w[i]; }
};
struct Key {
  uint32_t w[2];
  SLUICE_PHILOX_FN uint32_t& operator[](int i) { return w[i]; }
  SLUICE_PHILOX_FN uint32_t operator[](int i) const { return w[i]; }
};

inline constexpr uint32_t kMultiplier0 = 0xD2511F53u;
inline constexpr uint32_t kMultiplier1 = 0xCD9E8D57u;
inline constexpr uint32_t kKeyBump0 = 0x9E3779B9u;  // golden ratio
inline constexpr uint32_t kKeyBump1 = 0xBB67AE85u;  // sqrt(3) - 1
inline constexpr int kRounds = 10;

// One round: two 32x32->64 multiplies whose halves are mixed with the other
// words and the round key.
SLUICE_PHILOX_FN Block Round(const Block& c, const Key& k) {
  const uint64_t p0 = static_cast<uint64_t>(kMultiplier0) * c[0];
  const uint64_t p1 = static_cast<uint64_t>(kMultiplier1) * c[2];
  return Block{{static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
                static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)}};
}

// The ten-round block for `counter` under `key`.
SLUICE_PHILOX_FN Block Philox4x32(Block counter, Key key) {
  for (int r = 0; r < kRounds; ++r) {
    if (r > 0) {
      key[0] += kKeyBump0;
      key[1] += kKeyBump1;
    }
    counter = Round(counter, key);
  }
  return counter;
}

// The block at 64-bit position `index` of the stream `stream` under `key`:
// counter words (index low, index high, stream low, stream high).
SLUICE_PHILOX_FN Block BlockAt(const Key& key, uint64_t index, uint64_t stream = 0) {
  return Philox4x32(Block{{static_cast<uint32_t>(index), static_cast<uint32_t>(index >> 32),
                           static_cast<uint32_t>(stream), static_cast<uint32_t>(stream >> 32)}},
                    key);
}

// A key from a 64-bit seed.
SLUICE_PHILOX_FN Key KeyFromSeed(uint64_t seed) {
  return Key{{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)}};
}

// Uniform floats in [0, 1) built from the top bits of a word, so that every
// value is exactly representable (no rounding up to 1).
SLUICE_PHILOX_FN float UniformFloat(uint32_t word) {
  return static_cast<float>(word >> 8) * (1.0f / 16777216.0f);  // 24 bits, 2^-24
}
SLUICE_PHILOX_FN double UniformDouble(uint32_t high, uint32_t low) {
  const uint64_t bits = (static_cast<uint64_t>(high) << 32) | low;
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);  // 53 bits, 2^-53
}
// A uniform value in [0, 1) with `bits` significant bits (e.g. 11 for f16,
// 8 for bf16), exact in any float type with at least that many.
SLUICE_PHILOX_FN float UniformWithBits(uint32_t word, int bits) {
  return static_cast<float>(word >> (32 - bits)) * (1.0f / static_cast<float>(1u << bits));
}

// Two standard normal values from two uniform words (Box-Muller).
SLUICE_PHILOX_FN void BoxMullerFloat(uint32_t a, uint32_t b, float* z0, float* z1) {
  const float u1 = 1.0f - UniformFloat(a);  // in (0, 1], so the log is finite
  const float theta = 6.28318530717958647692f * UniformFloat(b);
  const float r = sqrtf(-2.0f * logf(u1));
  *z0 = r * cosf(theta);
  *z1 = r * sinf(theta);
}
SLUICE_PHILOX_FN void BoxMullerDouble(uint32_t a_high, uint32_t a_low, uint32_t b_high,
                                      uint32_t b_low, double* z0, double* z1) {
  const double u1 = 1.0 - UniformDouble(a_high, a_low);
  const double theta = 6.28318530717958647692 * UniformDouble(b_high, b_low);
  const double r = sqrt(-2.0 * log(u1));
  *z0 = r * cos(theta);
  *z1 = r * sin(theta);
}

// Truncated normal values lie strictly within this many standard deviations;
// the rest are drawn again.
inline constexpr float kTruncationBound = 2.0f;
// Blocks each group of truncated normal outputs may use before it falls back
// to a stream of its own: with 4 blocks per group of 4 outputs (16
// candidates, each kept with probability 0.954) a fallback happens about
// once in 10^15 groups.
inline constexpr int kTruncatedBlocksPerGroup = 4;

// ---------------------------------------------------------------------------
// Seeding (host only).

inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// FNV-1a: a hash of a node name that is the same in every build and run.
inline uint64_t HashName(const std::string& name) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001B3ull;
  }
  return h;
}

// The key of a random op. As in TensorFlow, an op whose seed and seed2 are
// both 0 has no seed of its own: it takes one from the graph seed and its
// node name, so two such ops differ while every run of a program repeats.
// Otherwise (seed, seed2) decide, combined with the graph seed.
inline Key RandomKey(uint64_t graph_seed, int64_t seed, int64_t seed2,
                     const std::string& node_name) {
  const uint64_t graph_part = SplitMix64(graph_seed);
  uint64_t op_part;
  if (seed == 0 && seed2 == 0) {
    op_part = SplitMix64(HashName(node_name));
  } else {
    op_part = SplitMix64(static_cast<uint64_t>(seed) ^ SplitMix64(static_cast<uint64_t>(seed2)));
  }
  return KeyFromSeed(SplitMix64(graph_part ^ op_part));
}

}  // namespace sluice::philox

#endif  // SLUICE_KERNELS_PHILOX_H_
