// Launch geometry shared by the layer's own CUDA kernels: grid-stride loops
// over n elements with 256 threads per block.
#ifndef SLUICE_CUDA_LAUNCH_CUH_
#define SLUICE_CUDA_LAUNCH_CUH_

#include <cstdint>

namespace sluice::cuda {

inline constexpr int kThreadsPerBlock = 256;

// Enough blocks to cover n elements, capped so grid-stride loops do the rest.
inline unsigned BlocksFor(int64_t n) {
  const int64_t blocks = (n + kThreadsPerBlock - 1) / kThreadsPerBlock;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 * 8 ? 65535 * 8 : blocks));
}

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_LAUNCH_CUH_
