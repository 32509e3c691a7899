#include "graph/shape.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sluice {

Shape Shape::UnknownRank() {
  Shape s;
  s.unknown_rank_ = true;
  return s;
}

Shape Shape::Unknown(int rank) {
  Shape s;
  s.dims_.assign(rank, kUnknownDim);
  return s;
}

bool Shape::IsFullyDefined() const {
  if (unknown_rank_) return false;
  for (int64_t d : dims_) {
    if (d < 0) return false;
  }
  return true;
}

int64_t Shape::num_elements() const {
  auto n = CheckedNumElements();
  return n.ok() ? *n : -1;
}

absl::StatusOr<int64_t> Shape::CheckedNumElements() const {
  if (!IsFullyDefined()) {
    return absl::InvalidArgumentError(
        absl::StrCat("shape ", ToString(), " is not fully defined"));
  }
  for (int64_t d : dims_) {
    if (d == 0) return 0;
  }
  int64_t n = 1;
  for (int64_t d : dims_) {
    if (n > std::numeric_limits<int64_t>::max() / d) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", ToString(), " has more elements than int64 can count"));
    }
    n *= d;
  }
  return n;
}

bool Shape::IsCompatibleWith(const Shape& other) const {
  if (unknown_rank_ || other.unknown_rank_) return true;
  if (dims_.size() != other.dims_.size()) return false;
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (dims_[i] >= 0 && other.dims_[i] >= 0 && dims_[i] != other.dims_[i]) return false;
  }
  return true;
}

absl::StatusOr<Shape> Shape::Merge(const Shape& other) const {
  if (!IsCompatibleWith(other)) {
    return absl::InvalidArgumentError(
        absl::StrCat("shapes are incompatible: ", ToString(), " vs ", other.ToString()));
  }
  if (unknown_rank_) return other;
  if (other.unknown_rank_) return *this;
  Shape out = *this;
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (out.dims_[i] < 0) out.dims_[i] = other.dims_[i];
  }
  return out;
}

std::string Shape::ToString() const {
  if (unknown_rank_) return "<unknown>";
  return absl::StrCat("[", absl::StrJoin(dims_, ",", [](std::string* out, int64_t d) {
                        if (d < 0) {
                          out->append("?");
                        } else {
                          absl::StrAppend(out, d);
                        }
                      }),
                      "]");
}

absl::StatusOr<Shape> BroadcastShapes(const Shape& a, const Shape& b) {
  if (a.unknown_rank() || b.unknown_rank()) return Shape::UnknownRank();
  const int rank = std::max(a.rank(), b.rank());
  Shape out = Shape::Unknown(rank);
  for (int i = 0; i < rank; ++i) {
    const int ia = a.rank() - rank + i;
    const int ib = b.rank() - rank + i;
    const int64_t da = ia >= 0 ? a.dim(ia) : 1;
    const int64_t db = ib >= 0 ? b.dim(ib) : 1;
    int64_t d;
    if (da == 1) {
      d = db;
    } else if (db == 1) {
      d = da;
    } else if (da < 0 && db < 0) {
      d = kUnknownDim;
    } else if (da < 0) {
      d = db;  // the unknown side must be 1 or equal to db
    } else if (db < 0) {
      d = da;
    } else if (da == db) {
      d = da;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "shapes cannot be broadcast: ", a.ToString(), " vs ", b.ToString()));
    }
    out.set_dim(i, d);
  }
  return out;
}

absl::StatusOr<int> CanonicalAxis(int64_t axis, int rank) {
  if (axis < -rank || axis >= rank) {
    return absl::InvalidArgumentError(absl::StrCat(
        "axis ", axis, " is out of range for rank ", rank, " (expected [", -rank, ", ", rank, "))"));
  }
  return static_cast<int>(axis < 0 ? axis + rank : axis);
}

absl::StatusOr<BroadcastReductionAxes> ComputeBroadcastReductionAxes(
    absl::Span<const int64_t> s0, absl::Span<const int64_t> s1) {
  const size_t rank = std::max(s0.size(), s1.size());
  BroadcastReductionAxes axes;
  for (size_t i = 0; i < rank; ++i) {
    // Align the shapes at their last dims; a missing leading dim acts as 1.
    const size_t pad0 = rank - s0.size(), pad1 = rank - s1.size();
    const int64_t d0 = i < pad0 ? 1 : s0[i - pad0];
    const int64_t d1 = i < pad1 ? 1 : s1[i - pad1];
    if (d0 == d1) {
      if (i < pad0) axes.r0.push_back(static_cast<int64_t>(i));
      if (i < pad1) axes.r1.push_back(static_cast<int64_t>(i));
      continue;
    }
    if (d0 == 1) {
      axes.r0.push_back(static_cast<int64_t>(i));
    } else if (d1 == 1) {
      axes.r1.push_back(static_cast<int64_t>(i));
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "shapes [", absl::StrJoin(s0, ","), "] and [", absl::StrJoin(s1, ","),
          "] do not broadcast (dim ", i, ": ", d0, " vs ", d1, ")"));
    }
  }
  return axes;
}

}  // namespace sluice
