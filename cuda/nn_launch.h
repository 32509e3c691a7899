// Device code of the nn and nn_grad families (cuda/nn_*.cu): the layout
// work around cuDNN (filter transposes, explicit padding), the pooling
// kernels, the fused-convolution epilogue and the batch-norm statistics.
//
// Every function launches on `stream` and returns the launch's error.
// Tensors are dense; a 4-D activation is NHWC when `nhwc` is true, else NCHW.
#ifndef SLUICE_CUDA_NN_LAUNCH_H_
#define SLUICE_CUDA_NN_LAUNCH_H_

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sluice::cuda {

// The floating element types of the family; 16-bit types compute in f32.
enum class NnType { kF32, kF16, kBF16 };

// out[i0,i1,i2,i3] = in[i0*s0 + i1*s1 + i2*s2 + i3*s3] for the dense
// row-major `out` of dims d0..d3: any 4-D transpose (HWIO <-> KCRS/KRSC).
// `element_bytes` is 2 or 4.
cudaError_t LaunchPermute4D(int element_bytes, const void* in, void* out, const int64_t dims[4],
                            const int64_t in_strides[4], cudaStream_t stream);

// Copies a spatial window between two activations of the same batch and
// channels: out[n,c,h,w] = in[n,c,h+offset_h,w+offset_w] where that lies
// inside in's in_h x in_w, else zero. A negative offset pads (out larger than
// in), a positive one crops. `element_bytes` is 2 or 4.
cudaError_t LaunchShiftWindow(int element_bytes, bool nhwc, const void* in, int64_t batch,
                              int64_t channels, int64_t in_h, int64_t in_w, void* out,
                              int64_t out_h, int64_t out_w, int64_t offset_h, int64_t offset_w,
                              cudaStream_t stream);

// Geometry of a pooling window over a 4-D activation, TensorFlow's padding
// (pad_top/pad_left before the input; the rest is implied by out_h/out_w).
struct PoolGeometry {
  bool nhwc = true;
  int64_t batch = 0, channels = 0;
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t k_h = 1, k_w = 1, stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;
};

// y = the maximum (first maximum) or the mean of the valid, unpadded
// elements of each window.
cudaError_t LaunchMaxPool(NnType type, const PoolGeometry& g, const void* x, void* y,
                          cudaStream_t stream);
cudaError_t LaunchAvgPool(NnType type, const PoolGeometry& g, const void* x, void* y,
                          cudaStream_t stream);
// dx[i] = the sum of dy over the windows whose first maximum in x is i.
cudaError_t LaunchMaxPoolGrad(NnType type, const PoolGeometry& g, const void* x, const void* dy,
                              void* dx, cudaStream_t stream);
// dx[i] = the sum over the windows holding i of dy / (valid elements).
cudaError_t LaunchAvgPoolGrad(NnType type, const PoolGeometry& g, const void* dy, void* dx,
                              cudaStream_t stream);

// The epilogue of _FusedConv2D (f32), in place on y of `outer` x `channels`
// x `inner` elements (NHWC: inner 1; NCHW: outer = N, inner = H*W):
// y = act(y + bias[c] (+ residual)). `activation` numbers the activations
// as FusedActivation does; `alpha` is LeakyRelu's slope. residual may be
// null.
enum class FusedActivation { kNone, kRelu, kRelu6, kElu, kSigmoid, kTanh, kLeakyRelu };
cudaError_t LaunchConvEpilogue(FusedActivation activation, float alpha, int64_t outer,
                               int64_t channels, int64_t inner, const float* bias,
                               const float* residual, float* y, cudaStream_t stream);

// out[i] = value for n floats.
cudaError_t LaunchFillF32(float* out, int64_t n, float value, cudaStream_t stream);

// After cuDNN's training batch norm over `count` elements per channel, which
// left the batch mean in saved_mean and the unbiased variance in
// unbiased_variance: writes reserve_variance (the biased variance: 0 when
// count is 1), and turns batch_mean / batch_variance (which hold the batch
// mean and unbiased variance on entry) into (1 - factor) * old + factor *
// batch. old_mean / old_variance are read only when factor != 1.
cudaError_t LaunchFinishBatchNormStats(int64_t channels, int64_t count, float factor,
                                       const float* old_mean, const float* old_variance,
                                       float* batch_mean, float* batch_variance,
                                       float* reserve_variance, cudaStream_t stream);

// inv_std[c] = 1 / sqrt(variance[c] + epsilon).
cudaError_t LaunchInverseStd(int64_t channels, const float* variance, float epsilon, float* inv_std,
                             cudaStream_t stream);

// Batch-norm backward with fixed statistics (is_training false), f32 over
// x, dy, dx laid out as [outer, channels, inner]:
//   dscale[c] = sum(dy * (x - mean[c])) * inv, doffset[c] = sum(dy),
//   dx = dy * scale[c] * inv, with inv = 1 / sqrt(variance[c] + epsilon).
cudaError_t LaunchBatchNormGradInference(int64_t outer, int64_t channels, int64_t inner,
                                         const float* dy, const float* x, const float* scale,
                                         const float* mean, const float* variance, float epsilon,
                                         float* dx, float* dscale, float* doffset,
                                         cudaStream_t stream);

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_NN_LAUNCH_H_
