// RandomUniform, RandomNormal and TruncatedNormal on Philox: one thread per
// group of outputs (grid-stride), each group drawn from its own blocks
// exactly as in cpu/random.cc, through the same kernels/philox.h functions.
// Uniform values are bitwise those of the CPU; normal values differ from
// them only by the last-bit differences of the device's logf/cosf/sinf.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <type_traits>

#include "cuda/launch.cuh"
#include "cuda/random_launch.h"

namespace sluice::cuda {
namespace {

template <typename T>
inline constexpr bool kIsDouble = std::is_same_v<T, double>;

// Values per group: one per word (4), or one per word pair for f64 (2).
template <typename T>
inline constexpr int kValuesPerGroup = kIsDouble<T> ? 2 : 4;

// Significant bits of a uniform value of T (exact in T, never 1).
template <typename T>
inline constexpr int kUniformBits = std::is_same_v<T, __half>
                                        ? 11
                                        : (std::is_same_v<T, __nv_bfloat16> ? 8 : 24);

// Normal candidates are doubles for f64 and floats otherwise.
template <typename T>
using Sample = std::conditional_t<kIsDouble<T>, double, float>;

// Rounds to nearest even, as the CPU's FloatToHalf and FloatToBFloat16 do.
template <typename T>
__device__ T FromSample(Sample<T> x) {
  if constexpr (std::is_same_v<T, __half>) {
    return __float2half_rn(x);
  } else if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    return __float2bfloat16_rn(x);
  } else {
    return x;
  }
}

// The kValuesPerGroup<T> values of the block at `block` for the uniform and
// normal distributions.
template <typename T, RandomDistribution D>
__device__ void BlockValues(const philox::Key& key, uint64_t block, T* out) {
  const philox::Block w = philox::BlockAt(key, block);
  if constexpr (kIsDouble<T>) {
    if constexpr (D == RandomDistribution::kUniform) {
      out[0] = philox::UniformDouble(w[0], w[1]);
      out[1] = philox::UniformDouble(w[2], w[3]);
    } else {
      philox::BoxMullerDouble(w[0], w[1], w[2], w[3], &out[0], &out[1]);
    }
  } else if constexpr (D == RandomDistribution::kUniform) {
    for (int k = 0; k < 4; ++k) {
      out[k] = FromSample<T>(philox::UniformWithBits(w[k], kUniformBits<T>));
    }
  } else {
    float z[4];
    philox::BoxMullerFloat(w[0], w[1], &z[0], &z[1]);
    philox::BoxMullerFloat(w[2], w[3], &z[2], &z[3]);
    for (int k = 0; k < 4; ++k) out[k] = FromSample<T>(z[k]);
  }
}

// The normal candidates of one block: 4 floats or 2 doubles.
template <typename T>
__device__ int Candidates(const philox::Block& w, Sample<T>* z) {
  if constexpr (kIsDouble<T>) {
    philox::BoxMullerDouble(w[0], w[1], w[2], w[3], &z[0], &z[1]);
    return 2;
  } else {
    philox::BoxMullerFloat(w[0], w[1], &z[0], &z[1]);
    philox::BoxMullerFloat(w[2], w[3], &z[2], &z[3]);
    return 4;
  }
}

// The first `count` values of the truncated normal group whose blocks start
// at `first_block`: candidates in block order, those within the bound kept.
template <typename T>
__device__ void TruncatedGroup(const philox::Key& key, uint64_t first_block, T* out, int count) {
  using S = Sample<T>;
  constexpr uint64_t kOwnBlocks = philox::kTruncatedBlocksPerGroup;
  const S bound = static_cast<S>(philox::kTruncationBound);
  int filled = 0;
  S z[4];
  for (uint64_t t = 0; filled < count; ++t) {
    // The group's own blocks first, then (almost never) a private stream.
    const philox::Block w = t < kOwnBlocks ? philox::BlockAt(key, first_block + t)
                                           : philox::BlockAt(key, first_block, t);
    const int candidates = Candidates<T>(w, z);
    for (int k = 0; k < candidates && filled < count; ++k) {
      if (fabs(z[k]) < bound) out[filled++] = FromSample<T>(z[k]);
    }
  }
}

template <typename T, RandomDistribution D>
__global__ void RandomKernel(philox::Key key, uint64_t first_block, T* out, int64_t n) {
  constexpr int64_t kPer = kValuesPerGroup<T>;
  constexpr int64_t kBlocks =
      D == RandomDistribution::kTruncatedNormal ? philox::kTruncatedBlocksPerGroup : 1;
  const int64_t groups = (n + kPer - 1) / kPer;
  for (int64_t g = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; g < groups;
       g += int64_t{blockDim.x} * gridDim.x) {
    const uint64_t block = first_block + static_cast<uint64_t>(g * kBlocks);
    const int64_t begin = g * kPer;
    const int count = static_cast<int>(n - begin < kPer ? n - begin : kPer);
    T values[kPer];
    if constexpr (D == RandomDistribution::kTruncatedNormal) {
      TruncatedGroup<T>(key, block, values, count);
    } else {
      BlockValues<T, D>(key, block, values);
    }
    for (int k = 0; k < count; ++k) out[begin + k] = values[k];
  }
}

template <typename T, RandomDistribution D>
cudaError_t Launch(philox::Key key, uint64_t first_block, void* out, int64_t n,
                   cudaStream_t stream) {
  const int64_t groups = (n + kValuesPerGroup<T> - 1) / kValuesPerGroup<T>;
  RandomKernel<T, D><<<BlocksFor(groups), kThreadsPerBlock, 0, stream>>>(key, first_block,
                                                                         static_cast<T*>(out), n);
  return cudaGetLastError();
}

template <RandomDistribution D>
cudaError_t LaunchFor(RandomType type, philox::Key key, uint64_t first_block, void* out, int64_t n,
                      cudaStream_t stream) {
  switch (type) {
    case RandomType::kF32:
      return Launch<float, D>(key, first_block, out, n, stream);
    case RandomType::kF64:
      return Launch<double, D>(key, first_block, out, n, stream);
    case RandomType::kF16:
      return Launch<__half, D>(key, first_block, out, n, stream);
    case RandomType::kBF16:
      return Launch<__nv_bfloat16, D>(key, first_block, out, n, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace

int64_t RandomValuesPerGroup(RandomType type) { return type == RandomType::kF64 ? 2 : 4; }

int64_t RandomBlocksPerGroup(RandomDistribution distribution) {
  return distribution == RandomDistribution::kTruncatedNormal ? philox::kTruncatedBlocksPerGroup
                                                              : 1;
}

cudaError_t LaunchRandom(RandomDistribution distribution, RandomType type, philox::Key key,
                         uint64_t first_block, void* out, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (distribution) {
    case RandomDistribution::kUniform:
      return LaunchFor<RandomDistribution::kUniform>(type, key, first_block, out, n, stream);
    case RandomDistribution::kNormal:
      return LaunchFor<RandomDistribution::kNormal>(type, key, first_block, out, n, stream);
    case RandomDistribution::kTruncatedNormal:
      return LaunchFor<RandomDistribution::kTruncatedNormal>(type, key, first_block, out, n,
                                                             stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace sluice::cuda
