#include "cpu/nn_plain.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "cpu/parallel.h"

namespace sluice::cpu::plain {
namespace {

// Output channels are processed in chunks held in registers/stack, so the
// inner loops run over contiguous filter rows without any scratch buffer.
constexpr int64_t kChunk = 64;

// The valid range [begin, end) of window taps k (0 <= k < taps) for output
// position `o`: those with 0 <= o * stride - pad + k * dilation < in.
struct TapRange {
  int64_t begin, end;
};
TapRange ValidTaps(int64_t o, int64_t stride, int64_t pad, int64_t dilation, int64_t taps,
                   int64_t in) {
  const int64_t start = o * stride - pad;
  int64_t begin = 0;
  if (start < 0) begin = (-start + dilation - 1) / dilation;
  int64_t end = taps;
  // Largest k with start + k * dilation <= in - 1.
  if (start + (taps - 1) * dilation > in - 1) {
    end = in - 1 - start < 0 ? 0 : (in - 1 - start) / dilation + 1;
  }
  return {begin, std::max(begin, end)};
}

// The identity of max: -infinity, or the smallest integer.
template <typename T>
T Lowest() {
  if constexpr (std::numeric_limits<T>::has_infinity) {
    return -std::numeric_limits<T>::infinity();
  } else {
    return std::numeric_limits<T>::lowest();
  }
}

}  // namespace

template <typename T>
void Conv2D(const Window2D& w, const T* x, const T* filter, T* y) {
  const auto xs = InputStrides(w);
  const auto ys = OutputStrides(w);
  const int64_t C = w.in_c, O = w.out_c;
  ParallelFor(w.batch * w.out_h, w.out_w * w.k_h * w.k_w * C * O, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / w.out_h, oh = row % w.out_h;
      const TapRange th = ValidTaps(oh, w.stride_h, w.pad_top, w.dilation_h, w.k_h, w.in_h);
      for (int64_t ow = 0; ow < w.out_w; ++ow) {
        const TapRange tw = ValidTaps(ow, w.stride_w, w.pad_left, w.dilation_w, w.k_w, w.in_w);
        T* yp = y + n * ys[0] + oh * ys[2] + ow * ys[3];
        for (int64_t o0 = 0; o0 < O; o0 += kChunk) {
          const int64_t on = std::min(kChunk, O - o0);
          T acc[kChunk] = {};
          for (int64_t kh = th.begin; kh < th.end; ++kh) {
            const int64_t ih = oh * w.stride_h - w.pad_top + kh * w.dilation_h;
            for (int64_t kw = tw.begin; kw < tw.end; ++kw) {
              const int64_t iw = ow * w.stride_w - w.pad_left + kw * w.dilation_w;
              const T* xp = x + n * xs[0] + ih * xs[2] + iw * xs[3];
              const T* fp = filter + (kh * w.k_w + kw) * C * O + o0;
              for (int64_t c = 0; c < C; ++c) {
                const T xv = xp[c * xs[1]];
                const T* __restrict fr = fp + c * O;
                for (int64_t o = 0; o < on; ++o) acc[o] += xv * fr[o];
              }
            }
          }
          for (int64_t o = 0; o < on; ++o) yp[(o0 + o) * ys[1]] = acc[o];
        }
      }
    }
  });
}

template <typename T>
void Conv2DBackwardData(const Window2D& w, const T* filter, const T* dy, T* dx) {
  const auto xs = InputStrides(w);
  const auto ys = OutputStrides(w);
  const int64_t C = w.in_c, O = w.out_c;
  const int64_t per_image = w.in_h * w.in_w * C;
  // Each image's dx is written by one thread only.
  ParallelFor(w.batch, w.out_h * w.out_w * w.k_h * w.k_w * C * O, [&](int64_t begin, int64_t end) {
    std::fill(dx + begin * per_image, dx + end * per_image, T(0));
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t oh = 0; oh < w.out_h; ++oh) {
        const TapRange th = ValidTaps(oh, w.stride_h, w.pad_top, w.dilation_h, w.k_h, w.in_h);
        for (int64_t ow = 0; ow < w.out_w; ++ow) {
          const TapRange tw = ValidTaps(ow, w.stride_w, w.pad_left, w.dilation_w, w.k_w, w.in_w);
          const T* dyp = dy + n * ys[0] + oh * ys[2] + ow * ys[3];
          for (int64_t kh = th.begin; kh < th.end; ++kh) {
            const int64_t ih = oh * w.stride_h - w.pad_top + kh * w.dilation_h;
            for (int64_t kw = tw.begin; kw < tw.end; ++kw) {
              const int64_t iw = ow * w.stride_w - w.pad_left + kw * w.dilation_w;
              T* dxp = dx + n * xs[0] + ih * xs[2] + iw * xs[3];
              const T* fp = filter + (kh * w.k_w + kw) * C * O;
              for (int64_t c = 0; c < C; ++c) {
                const T* fr = fp + c * O;
                T sum = 0;
                for (int64_t o = 0; o < O; ++o) sum += fr[o] * dyp[o * ys[1]];
                dxp[c * xs[1]] += sum;
              }
            }
          }
        }
      }
    }
  });
}

template <typename T>
void Conv2DBackwardFilter(const Window2D& w, const T* x, const T* dy, T* dfilter) {
  const auto xs = InputStrides(w);
  const auto ys = OutputStrides(w);
  const int64_t C = w.in_c, O = w.out_c;
  // Each filter tap (kh, kw) is written by one thread only.
  ParallelFor(w.k_h * w.k_w, w.batch * w.out_h * w.out_w * C * O, [&](int64_t begin, int64_t end) {
    std::fill(dfilter + begin * C * O, dfilter + end * C * O, T(0));
    for (int64_t tap = begin; tap < end; ++tap) {
      const int64_t kh = tap / w.k_w, kw = tap % w.k_w;
      T* df = dfilter + tap * C * O;
      for (int64_t n = 0; n < w.batch; ++n) {
        for (int64_t oh = 0; oh < w.out_h; ++oh) {
          const int64_t ih = oh * w.stride_h - w.pad_top + kh * w.dilation_h;
          if (ih < 0 || ih >= w.in_h) continue;
          for (int64_t ow = 0; ow < w.out_w; ++ow) {
            const int64_t iw = ow * w.stride_w - w.pad_left + kw * w.dilation_w;
            if (iw < 0 || iw >= w.in_w) continue;
            const T* xp = x + n * xs[0] + ih * xs[2] + iw * xs[3];
            const T* dyp = dy + n * ys[0] + oh * ys[2] + ow * ys[3];
            for (int64_t c = 0; c < C; ++c) {
              const T xv = xp[c * xs[1]];
              T* __restrict dr = df + c * O;
              for (int64_t o = 0; o < O; ++o) dr[o] += xv * dyp[o * ys[1]];
            }
          }
        }
      }
    }
  });
}

template <typename T>
void Pool2D(const Window2D& w, PoolKind kind, const T* x, T* y) {
  const auto xs = InputStrides(w);
  const auto ys = OutputStrides(w);
  const int64_t C = w.in_c;
  ParallelFor(w.batch * w.out_h, w.out_w * w.k_h * w.k_w * C, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t n = row / w.out_h, oh = row % w.out_h;
      const TapRange th = ValidTaps(oh, w.stride_h, w.pad_top, 1, w.k_h, w.in_h);
      for (int64_t ow = 0; ow < w.out_w; ++ow) {
        const TapRange tw = ValidTaps(ow, w.stride_w, w.pad_left, 1, w.k_w, w.in_w);
        const int64_t count = (th.end - th.begin) * (tw.end - tw.begin);
        T* yp = y + n * ys[0] + oh * ys[2] + ow * ys[3];
        for (int64_t c0 = 0; c0 < C; c0 += kChunk) {
          const int64_t cn = std::min(kChunk, C - c0);
          T acc[kChunk];
          const T init = kind == PoolKind::kMax ? Lowest<T>() : T(0);
          for (int64_t c = 0; c < cn; ++c) acc[c] = init;
          for (int64_t kh = th.begin; kh < th.end; ++kh) {
            const int64_t ih = oh * w.stride_h - w.pad_top + kh;
            for (int64_t kw = tw.begin; kw < tw.end; ++kw) {
              const int64_t iw = ow * w.stride_w - w.pad_left + kw;
              const T* xp = x + n * xs[0] + ih * xs[2] + iw * xs[3] + c0 * xs[1];
              if (kind == PoolKind::kMax) {
                for (int64_t c = 0; c < cn; ++c) acc[c] = std::max(acc[c], xp[c * xs[1]]);
              } else {
                for (int64_t c = 0; c < cn; ++c) acc[c] += xp[c * xs[1]];
              }
            }
          }
          if (kind == PoolKind::kAvg) {
            const T inv = count > 0 ? T(1) / static_cast<T>(count) : T(0);
            for (int64_t c = 0; c < cn; ++c) acc[c] *= inv;
          }
          for (int64_t c = 0; c < cn; ++c) yp[(c0 + c) * ys[1]] = acc[c];
        }
      }
    }
  });
}

template <typename T>
void Pool2DBackward(const Window2D& w, PoolKind kind, const T* x, const T* dy, T* dx) {
  const auto xs = InputStrides(w);
  const auto ys = OutputStrides(w);
  const int64_t C = w.in_c;
  const int64_t per_image = w.in_h * w.in_w * C;
  ParallelFor(w.batch, w.out_h * w.out_w * w.k_h * w.k_w * C, [&](int64_t begin, int64_t end) {
    std::fill(dx + begin * per_image, dx + end * per_image, T(0));
    for (int64_t n = begin; n < end; ++n) {
      for (int64_t oh = 0; oh < w.out_h; ++oh) {
        const TapRange th = ValidTaps(oh, w.stride_h, w.pad_top, 1, w.k_h, w.in_h);
        for (int64_t ow = 0; ow < w.out_w; ++ow) {
          const TapRange tw = ValidTaps(ow, w.stride_w, w.pad_left, 1, w.k_w, w.in_w);
          const int64_t count = (th.end - th.begin) * (tw.end - tw.begin);
          if (count == 0) continue;
          const int64_t h0 = oh * w.stride_h - w.pad_top, w0 = ow * w.stride_w - w.pad_left;
          for (int64_t c = 0; c < C; ++c) {
            const T g = dy[n * ys[0] + c * ys[1] + oh * ys[2] + ow * ys[3]];
            const int64_t base = n * xs[0] + c * xs[1];
            if (kind == PoolKind::kAvg) {
              const T share = g / static_cast<T>(count);
              for (int64_t kh = th.begin; kh < th.end; ++kh) {
                for (int64_t kw = tw.begin; kw < tw.end; ++kw) {
                  dx[base + (h0 + kh) * xs[2] + (w0 + kw) * xs[3]] += share;
                }
              }
              continue;
            }
            int64_t best = base + (h0 + th.begin) * xs[2] + (w0 + tw.begin) * xs[3];
            for (int64_t kh = th.begin; kh < th.end; ++kh) {
              for (int64_t kw = tw.begin; kw < tw.end; ++kw) {
                const int64_t at = base + (h0 + kh) * xs[2] + (w0 + kw) * xs[3];
                if (x[at] > x[best]) best = at;
              }
            }
            dx[best] += g;
          }
        }
      }
    }
  });
}

template <typename T>
void BatchNormStats(const ChannelLayout& l, const T* x, T* mean, T* variance) {
  const int64_t C = l.channels;
  const double count = static_cast<double>(l.count());
  // Two passes in double: the mean first, then squared deviations, which
  // stays accurate when the mean is large relative to the spread.
  for (int64_t c = 0; c < C; ++c) {
    double sum = 0;
    for (int64_t o = 0; o < l.outer; ++o) {
      const T* p = x + (o * C + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) sum += static_cast<double>(p[i]);
    }
    const double m = count > 0 ? sum / count : 0.0;
    double sq = 0;
    for (int64_t o = 0; o < l.outer; ++o) {
      const T* p = x + (o * C + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        const double d = static_cast<double>(p[i]) - m;
        sq += d * d;
      }
    }
    mean[c] = static_cast<T>(m);
    variance[c] = static_cast<T>(count > 0 ? sq / count : 0.0);
  }
}

template <typename T>
void BatchNormApply(const ChannelLayout& l, const T* x, const T* scale, const T* offset,
                    const T* mean, const T* variance, float epsilon, T* y) {
  const int64_t C = l.channels;
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < C; ++c) {
      const T a = scale[c] / std::sqrt(variance[c] + static_cast<T>(epsilon));
      const T b = offset[c] - mean[c] * a;
      const T* __restrict xp = x + (o * C + c) * l.inner;
      T* __restrict yp = y + (o * C + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) yp[i] = xp[i] * a + b;
    }
  }
}

template <typename T>
void BatchNormBackward(const ChannelLayout& l, const T* x, const T* dy, const T* scale,
                       const T* mean, const T* variance, float epsilon, bool training, T* dx,
                       T* dscale, T* doffset) {
  const int64_t C = l.channels;
  const double count = static_cast<double>(l.count());
  for (int64_t c = 0; c < C; ++c) {
    const double inv = 1.0 / std::sqrt(static_cast<double>(variance[c]) + epsilon);
    const double m = mean[c];
    double sum_dy = 0, sum_dy_xhat = 0;
    for (int64_t o = 0; o < l.outer; ++o) {
      const int64_t at = (o * C + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        const double g = dy[at + i];
        sum_dy += g;
        sum_dy_xhat += g * (static_cast<double>(x[at + i]) - m) * inv;
      }
    }
    dscale[c] = static_cast<T>(sum_dy_xhat);
    doffset[c] = static_cast<T>(sum_dy);
    const double k = static_cast<double>(scale[c]) * inv;
    for (int64_t o = 0; o < l.outer; ++o) {
      const int64_t at = (o * C + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) {
        double g = dy[at + i];
        if (training && count > 0) {
          const double xhat = (static_cast<double>(x[at + i]) - m) * inv;
          g -= (sum_dy + xhat * sum_dy_xhat) / count;
        }
        dx[at + i] = static_cast<T>(k * g);
      }
    }
  }
}

template <typename T>
void Softmax(int64_t rows, int64_t cols, bool log, const T* x, T* y) {
  ParallelFor(rows, cols * 8, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* __restrict xr = x + r * cols;
      T* __restrict yr = y + r * cols;
      T max = -std::numeric_limits<T>::infinity();
      for (int64_t j = 0; j < cols; ++j) max = std::max(max, xr[j]);
      T sum = 0;
      for (int64_t j = 0; j < cols; ++j) {
        yr[j] = std::exp(xr[j] - max);
        sum += yr[j];
      }
      if (log) {
        const T shift = max + std::log(sum);
        for (int64_t j = 0; j < cols; ++j) yr[j] = xr[j] - shift;
      } else {
        const T inv = T(1) / sum;
        for (int64_t j = 0; j < cols; ++j) yr[j] *= inv;
      }
    }
  });
}

template <typename T>
void SoftmaxBackward(int64_t rows, int64_t cols, bool log, const T* y, const T* dy, T* dx) {
  ParallelFor(rows, cols * 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* __restrict yr = y + r * cols;
      const T* __restrict gr = dy + r * cols;
      T* __restrict dr = dx + r * cols;
      T sum = 0;
      if (log) {
        // y = x - logsumexp(x): dx = dy - softmax(x) * sum(dy).
        for (int64_t j = 0; j < cols; ++j) sum += gr[j];
        for (int64_t j = 0; j < cols; ++j) dr[j] = gr[j] - std::exp(yr[j]) * sum;
      } else {
        // y = softmax(x): dx = (dy - sum(dy * y)) * y.
        for (int64_t j = 0; j < cols; ++j) sum += gr[j] * yr[j];
        for (int64_t j = 0; j < cols; ++j) dr[j] = (gr[j] - sum) * yr[j];
      }
    }
  });
}

template <typename T>
void EltwiseBackward(EltwiseKind kind, int64_t n, const T* dy, const T* value, T* dx) {
  ParallelFor(n, 1, [&](int64_t begin, int64_t end) {
    const T* __restrict g = dy;
    const T* __restrict v = value;
    T* __restrict d = dx;
    switch (kind) {
      // Both operands are loaded unconditionally so the selects vectorise.
      case EltwiseKind::kRelu:
        for (int64_t i = begin; i < end; ++i) {
          const T gi = g[i];
          d[i] = v[i] > T(0) ? gi : T(0);
        }
        break;
      case EltwiseKind::kElu:
        for (int64_t i = begin; i < end; ++i) {
          const T gi = g[i], vi = v[i];
          d[i] = vi > T(0) ? gi : gi * (vi + T(1));
        }
        break;
      case EltwiseKind::kTanh:
        for (int64_t i = begin; i < end; ++i) d[i] = g[i] * (T(1) - v[i] * v[i]);
        break;
      case EltwiseKind::kSigmoid:
        for (int64_t i = begin; i < end; ++i) d[i] = g[i] * v[i] * (T(1) - v[i]);
        break;
    }
  });
}

#define SLUICE_INSTANTIATE_PLAIN_NN(T)                                                             \
  template void Conv2D<T>(const Window2D&, const T*, const T*, T*);                                \
  template void Conv2DBackwardData<T>(const Window2D&, const T*, const T*, T*);                    \
  template void Conv2DBackwardFilter<T>(const Window2D&, const T*, const T*, T*);                  \
  template void Pool2D<T>(const Window2D&, PoolKind, const T*, T*);                                \
  template void Pool2DBackward<T>(const Window2D&, PoolKind, const T*, const T*, T*);              \
  template void BatchNormStats<T>(const ChannelLayout&, const T*, T*, T*);                         \
  template void BatchNormApply<T>(const ChannelLayout&, const T*, const T*, const T*, const T*,    \
                                  const T*, float, T*);                                            \
  template void BatchNormBackward<T>(const ChannelLayout&, const T*, const T*, const T*, const T*, \
                                     const T*, float, bool, T*, T*, T*);                           \
  template void Softmax<T>(int64_t, int64_t, bool, const T*, T*);                                  \
  template void SoftmaxBackward<T>(int64_t, int64_t, bool, const T*, const T*, T*);                \
  template void EltwiseBackward<T>(EltwiseKind, int64_t, const T*, const T*, T*);

SLUICE_INSTANTIATE_PLAIN_NN(float)
SLUICE_INSTANTIATE_PLAIN_NN(double)

#undef SLUICE_INSTANTIATE_PLAIN_NN

// Max pooling of integers (MaxPool accepts them; average pooling does not).
template void Pool2D<int8_t>(const Window2D&, PoolKind, const int8_t*, int8_t*);
template void Pool2D<uint8_t>(const Window2D&, PoolKind, const uint8_t*, uint8_t*);
template void Pool2D<int32_t>(const Window2D&, PoolKind, const int32_t*, int32_t*);
template void Pool2D<int64_t>(const Window2D&, PoolKind, const int64_t*, int64_t*);

}  // namespace sluice::cpu::plain
