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
// primitive's fixed cost per call dominates (measured on the reference
// machine; see the report in cpu/nn.cc).
inline constexpr int64_t kConvMacs = 1 << 14;       // multiply-adds of the forward
inline constexpr int64_t kPoolElements = 1 << 12;   // input elements
inline constexpr int64_t kBatchNormElements = 1 << 12;
inline constexpr int64_t kSoftmaxElements = 1 << 12;
inline constexpr int64_t kEltwiseElements = 1 << 12;

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
