#include "cpu/window.h"

namespace sluice::cpu {
namespace {

std::array<int64_t, 4> DenseStrides(DataFormat format, int64_t h, int64_t w, int64_t c) {
  // (n, c, h, w) strides.
  if (format == DataFormat::kNhwc) return {h * w * c, 1, w * c, c};
  return {c * h * w, h * w, w, 1};
}

}  // namespace

std::array<int64_t, 4> InputStrides(const Window2D& w) {
  return DenseStrides(w.format, w.in_h, w.in_w, w.in_c);
}

std::array<int64_t, 4> OutputStrides(const Window2D& w) {
  return DenseStrides(w.format, w.out_h, w.out_w, w.out_c);
}

}  // namespace sluice::cpu
