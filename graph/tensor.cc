#include "graph/tensor.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sluice {
namespace {

std::shared_ptr<void> AllocateAligned(size_t bytes) {
  // aligned_alloc needs a size that is a multiple of the alignment; always
  // allocate at least one block so data() is never null.
  size_t rounded = (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment;
  if (rounded == 0) rounded = kTensorAlignment;
  void* p = std::aligned_alloc(kTensorAlignment, rounded);
  if (p == nullptr) return nullptr;
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

}  // namespace

Tensor::Tensor(DType dtype, const Shape& shape)
    : dtype_(dtype), shape_(shape), num_elements_(shape.num_elements()) {
  if (num_elements_ < 0) __builtin_trap();  // callers pass fully defined shapes
  buffer_ = AllocateAligned(num_bytes());
  if (buffer_ == nullptr) __builtin_trap();
  data_ = buffer_.get();
}

absl::StatusOr<Tensor> Tensor::Allocate(DType dtype, const Shape& shape, int64_t max_bytes) {
  if (DTypeSize(dtype) == 0) return absl::InvalidArgumentError("cannot allocate an invalid dtype");
  auto n = shape.CheckedNumElements();
  if (!n.ok()) return n.status();
  const int64_t size = DTypeSize(dtype);
  if (*n > max_bytes / size) {
    return absl::ResourceExhaustedError(absl::StrCat("tensor ", DTypeName(dtype), shape.ToString(),
                                                     " would need more than ", max_bytes,
                                                     " bytes"));
  }
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.num_elements_ = *n;
  t.buffer_ = AllocateAligned(static_cast<size_t>(*n * size));
  if (t.buffer_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("out of memory allocating tensor ", DTypeName(dtype), shape.ToString()));
  }
  t.data_ = t.buffer_.get();
  return t;
}

Tensor Tensor::WrapBuffer(DType dtype, const Shape& shape, std::shared_ptr<void> owner,
                          void* data) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.num_elements_ = shape.num_elements();
  t.buffer_ = std::move(owner);
  t.data_ = data;
  return t;
}

Tensor Tensor::Zeros(DType dtype, const Shape& shape) {
  Tensor t(dtype, shape);
  std::memset(t.data_, 0, t.num_bytes());
  return t;
}

double Tensor::ElementAsDouble(int64_t i) const {
  return VisitDType(dtype_, [&]<typename T>() -> double {
    const T v = static_cast<const T*>(data_)[i];
    if constexpr (std::is_same_v<T, Half>) {
      return HalfToFloat(v);
    } else if constexpr (std::is_same_v<T, BFloat16>) {
      return BFloat16ToFloat(v);
    } else {
      return static_cast<double>(v);
    }
  });
}

absl::StatusOr<Tensor> Tensor::Reshaped(const Shape& shape) const {
  auto n = shape.CheckedNumElements();
  if (!n.ok()) return n.status();
  if (*n != num_elements_) {
    return absl::InvalidArgumentError(absl::StrCat("cannot reshape ", shape_.ToString(), " (",
                                                   num_elements_, " elements) to ",
                                                   shape.ToString(), " (", *n, " elements)"));
  }
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::Clone() const {
  if (!valid()) return Tensor();
  Tensor t(dtype_, shape_);
  std::memcpy(t.data_, data_, num_bytes());
  return t;
}

bool Tensor::BitwiseEquals(const Tensor& other) const {
  return dtype_ == other.dtype_ && shape_ == other.shape_ &&
         std::memcmp(data_, other.data_, num_bytes()) == 0;
}

namespace {

void AppendElement(const Tensor& t, int64_t i, std::string* out) {
  if (t.dtype() == DType::kBool) {
    out->append(t.data<bool>()[i] ? "true" : "false");
  } else if (IsInteger(t.dtype())) {
    absl::StrAppend(out, static_cast<int64_t>(t.ElementAsDouble(i)));
  } else {
    absl::StrAppend(out, t.ElementAsDouble(i));
  }
}

// Prints dims [dim, rank) starting at flat offset `offset`, showing at most
// `max_elements` entries per dimension.
void AppendNested(const Tensor& t, int dim, int64_t offset, int64_t stride_product,
                  int max_elements, std::string* out) {
  const Shape& s = t.shape();
  if (dim == s.rank()) {
    AppendElement(t, offset, out);
    return;
  }
  const int64_t n = s.dim(dim);
  const int64_t inner = stride_product / std::max<int64_t>(n, 1);
  out->push_back('[');
  const bool elide = n > max_elements;
  const int64_t head = elide ? (max_elements + 1) / 2 : n;
  const int64_t tail_start = elide ? n - max_elements / 2 : n;
  for (int64_t i = 0; i < n; ++i) {
    if (i > 0) out->append(", ");
    if (i == head && elide) {
      out->append("...");
      i = tail_start - 1;
      continue;
    }
    AppendNested(t, dim + 1, offset + i * inner, inner, max_elements, out);
  }
  out->push_back(']');
}

}  // namespace

std::string Tensor::ValuesString(int max_elements) const {
  if (!valid()) return "<invalid>";
  std::string out;
  AppendNested(*this, 0, 0, num_elements_, std::max(max_elements, 2), &out);
  return out;
}

std::string Tensor::DebugString(int max_elements) const {
  if (!valid()) return "<invalid tensor>";
  return absl::StrCat(DTypeName(dtype_), shape_.ToString(), " ", ValuesString(max_elements));
}

}  // namespace sluice
