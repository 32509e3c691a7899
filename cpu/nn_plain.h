// Plain C++ loops for the neural-network ops: used for f64 (which oneDNN
// lacks) and for tensors too small to be worth a oneDNN call. Instantiated
// for float and double. Tensors are dense in the layout the geometry names;
// filters are HWIO. Outputs are fully written (no accumulation into them).
#ifndef SLUICE_CPU_NN_PLAIN_H_
#define SLUICE_CPU_NN_PLAIN_H_

#include <cstdint>

#include "cpu/window.h"
#include "graph/dtype.h"

namespace sluice::cpu::plain {

// Sizes at or below which f32 runs these loops rather than oneDNN, where the
// primitive's fixed cost per call (0.4-3.5 us on the reference machine,
// 2 cores) dominates. Measured crossovers (plain vs oneDNN):
//   conv, NHWC 3x3: 6912 multiply-adds 4.7 vs 4.9 us; 36864: 8.0 vs 6.0 us
//   max pool: 2048 window taps 1.5 vs 3.1 us (NHWC), 1.9 vs 1.9 us (NCHW)
//   batch norm (training): 256 elements 1.0 vs 3.3 us; 2048: 8.1 vs 3.6 us
//   softmax: 160 elements 0.6 vs 1.3 us; 640: 2.3 vs 1.9 us
// Activation gradients always take the loops for f32: they vectorise and
// beat oneDNN's eltwise backward at every size measured (16 to 262144
// elements; 20 vs 34 us at the largest).
inline constexpr int64_t kConvMacs = 8192;  // output elements x window x in-depth
inline constexpr int64_t kPoolWork = 2048;  // output elements x window size
inline constexpr int64_t kBatchNormElements = 1024;
inline constexpr int64_t kSoftmaxElements = 512;

// Work of a pooling window over `w` in the unit of kPoolWork.
inline int64_t PoolWork(const Window2D& w) { return w.output_elements() * w.k_h * w.k_w; }

// Whether a tensor of `dtype` and size `size` (in the threshold's unit) takes
// the plain loops: always for f64, for f32 up to `threshold`, never for bf16.
inline bool UsePlain(DType dtype, int64_t size, int64_t threshold) {
  return dtype == DType::kF64 || (dtype == DType::kF32 && size <= threshold);
}

// Calls fn.template operator()<T>() with float for f32 and double for f64.
template <typename Fn>
decltype(auto) VisitPlain(DType dtype, Fn&& fn) {
  if (dtype == DType::kF64) return fn.template operator()<double>();
  return fn.template operator()<float>();
}

// y = conv2d(x, filter).
template <typename T>
void Conv2D(const Window2D& w, const T* x, const T* filter, T* y);
// dx = the gradient of conv2d w.r.t. x, given dy.
template <typename T>
void Conv2DBackwardData(const Window2D& w, const T* filter, const T* dy, T* dx);
// dfilter = the gradient of conv2d w.r.t. the filter, given x and dy.
template <typename T>
void Conv2DBackwardFilter(const Window2D& w, const T* x, const T* dy, T* dfilter);

enum class PoolKind { kMax, kAvg };

// Max pooling ignores padding; average pooling divides by the number of
// input elements inside the window (padding excluded), as TensorFlow does.
// Also instantiated for i8, u8, i32 and i64, for kMax only.
template <typename T>
void Pool2D(const Window2D& w, PoolKind kind, const T* x, T* y);
// dx of pooling given dy. Max pooling routes each dy to the first maximum of
// its window in x (row-major window order); `x` is unused for kAvg.
template <typename T>
void Pool2DBackward(const Window2D& w, PoolKind kind, const T* x, const T* dy, T* dx);

// The per-channel view of a batch-norm input: `outer` blocks of `channels`
// channels, each channel `inner` contiguous elements (NCHW: outer = N,
// inner = H*W), or `outer` rows of `channels` contiguous values (NHWC:
// outer = N*H*W, inner = 1).
struct ChannelLayout {
  int64_t outer = 0, channels = 0, inner = 1;
  int64_t count() const { return outer * inner; }  // elements per channel
};

// Per-channel mean and biased variance of x.
template <typename T>
void BatchNormStats(const ChannelLayout& l, const T* x, T* mean, T* variance);
// y = (x - mean) * scale / sqrt(variance + epsilon) + offset.
template <typename T>
void BatchNormApply(const ChannelLayout& l, const T* x, const T* scale, const T* offset,
                    const T* mean, const T* variance, float epsilon, T* y);
// Gradients of BatchNormApply. With `training`, mean and variance are the
// batch statistics of x (so they depend on x); otherwise they are constants.
template <typename T>
void BatchNormBackward(const ChannelLayout& l, const T* x, const T* dy, const T* scale,
                       const T* mean, const T* variance, float epsilon, bool training, T* dx,
                       T* dscale, T* doffset);

// Softmax (or log-softmax) of each of `rows` rows of `cols` values.
template <typename T>
void Softmax(int64_t rows, int64_t cols, bool log, const T* x, T* y);
// dx given the forward output y and dy.
template <typename T>
void SoftmaxBackward(int64_t rows, int64_t cols, bool log, const T* y, const T* dy, T* dx);

enum class EltwiseKind {
  kRelu,     // `value` is the input x (or the output y: same sign)
  kElu,      // `value` is the output y (alpha = 1)
  kTanh,     // `value` is the output y
  kSigmoid,  // `value` is the output y
};
// dx = dy * f'(...) expressed through `value`, over n elements.
template <typename T>
void EltwiseBackward(EltwiseKind kind, int64_t n, const T* dy, const T* value, T* dx);

}  // namespace sluice::cpu::plain

#endif  // SLUICE_CPU_NN_PLAIN_H_
