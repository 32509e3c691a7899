// Device code of the random family (cuda/random.cu).
#ifndef SLUICE_CUDA_RANDOM_LAUNCH_H_
#define SLUICE_CUDA_RANDOM_LAUNCH_H_

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/philox.h"

namespace sluice::cuda {

enum class RandomDistribution { kUniform, kNormal, kTruncatedNormal };
// The output element type.
enum class RandomType { kF32, kF64, kF16, kBF16 };

// Philox blocks one group of outputs uses: a group is 4 values (2 for f64);
// truncated normal groups own philox::kTruncatedBlocksPerGroup blocks, the
// others one.
int64_t RandomValuesPerGroup(RandomType type);
int64_t RandomBlocksPerGroup(RandomDistribution distribution);

// Writes n values of `distribution` to `out` (device memory of `type`),
// group g from the blocks at first_block + g * RandomBlocksPerGroup(...)
// under `key`: the block layout and value derivations of cpu/random.cc, so
// that the same key and first block give the CPU kernel's values.
cudaError_t LaunchRandom(RandomDistribution distribution, RandomType type, philox::Key key,
                         uint64_t first_block, void* out, int64_t n, cudaStream_t stream);

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_RANDOM_LAUNCH_H_
