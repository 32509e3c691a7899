// Tensor shapes with unknown dimensions and unknown rank.
#ifndef SLUICE_GRAPH_SHAPE_H_
#define SLUICE_GRAPH_SHAPE_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace sluice {

inline constexpr int64_t kUnknownDim = -1;

// A shape: a list of dims, each >= 0 or kUnknownDim, or "unknown rank" when
// nothing is known. Printed like `[?,784]`; unknown rank prints as `<unknown>`.
class Shape {
 public:
  using Dims = absl::InlinedVector<int64_t, 6>;

  // A scalar (rank 0).
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
  explicit Shape(absl::Span<const int64_t> dims) : dims_(dims.begin(), dims.end()) {}

  static Shape UnknownRank();
  // `rank` dims, all unknown.
  static Shape Unknown(int rank);

  bool unknown_rank() const { return unknown_rank_; }
  // The number of dims; -1 when the rank is unknown.
  int rank() const { return unknown_rank_ ? -1 : static_cast<int>(dims_.size()); }
  // Dim `i` (0 <= i < rank()), possibly kUnknownDim.
  int64_t dim(int i) const { return dims_[i]; }
  absl::Span<const int64_t> dims() const { return dims_; }
  void set_dim(int i, int64_t value) { dims_[i] = value; }
  void AddDim(int64_t value) { dims_.push_back(value); }

  // True when the rank and every dim are known.
  bool IsFullyDefined() const;
  // Product of the dims; -1 if any dim or the rank is unknown, or if the product
  // overflows int64 (use CheckedNumElements to tell these apart).
  int64_t num_elements() const;
  // Product of the dims, or an error when the shape is not fully defined or the
  // product overflows int64.
  absl::StatusOr<int64_t> CheckedNumElements() const;

  // Whether some fully known shape could match both.
  bool IsCompatibleWith(const Shape& other) const;
  // The most specific shape compatible with both, or an error naming both.
  absl::StatusOr<Shape> Merge(const Shape& other) const;

  std::string ToString() const;

  bool operator==(const Shape& other) const {
    return unknown_rank_ == other.unknown_rank_ && dims_ == other.dims_;
  }
  bool operator!=(const Shape& other) const { return !(*this == other); }

 private:
  Dims dims_;
  bool unknown_rank_ = false;
};

// The NumPy broadcast of two shapes; unknown dims broadcast to unknown unless
// the other side is a known dim > 1. An error names both shapes.
absl::StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b);

// For two fully known shapes broadcast together, the axes of the result along
// which each was stretched from 1 or which it lacked: summing the result's
// gradient over r0 (r1) and reshaping gives input 0's (1's) gradient. An
// error names both shapes when they do not broadcast.
struct BroadcastReductionAxes {
  std::vector<int64_t> r0;
  std::vector<int64_t> r1;
};
absl::StatusOr<BroadcastReductionAxes> ComputeBroadcastReductionAxes(
    absl::Span<const int64_t> s0, absl::Span<const int64_t> s1);

// Normalises a possibly negative axis against `rank` (-rank <= axis < rank),
// or returns an error naming the axis and the rank.
absl::StatusOr<int> CanonicalAxis(int64_t axis, int rank);

}  // namespace sluice

#endif  // SLUICE_GRAPH_SHAPE_H_
