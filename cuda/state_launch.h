// Device code of the state family (cuda/state.cu).
#ifndef SLUICE_CUDA_STATE_LAUNCH_H_
#define SLUICE_CUDA_STATE_LAUNCH_H_

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sluice::cuda {

// dst[i] += sign * src[i] for n elements (16-bit floats add in f32).
enum class AccumulateType { kF32, kF64, kI32, kI64, kF16, kBF16 };
cudaError_t LaunchAccumulate(AccumulateType type, void* dst, const void* src, int64_t n, int sign,
                             cudaStream_t stream);

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_STATE_LAUNCH_H_
