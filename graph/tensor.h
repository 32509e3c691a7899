// Tensor: a dtype, a fully known shape and a shared, 64-byte aligned buffer.
#ifndef SLUICE_GRAPH_TENSOR_H_
#define SLUICE_GRAPH_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/dtype.h"
#include "graph/shape.h"

namespace sluice {

inline constexpr size_t kTensorAlignment = 64;

// Copies share the buffer (like TensorFlow's Tensor); use Clone() for a deep
// copy. A default-constructed Tensor is empty and invalid (dtype kInvalid).
class Tensor {
 public:
  Tensor() = default;
  // Allocates an uninitialised buffer. `shape` must be fully defined.
  Tensor(DType dtype, const Shape& shape);

  // Allocates, checking the shape and the byte count (at most `max_bytes`);
  // the error names the shape. Use for sizes that come from users or files.
  static absl::StatusOr<Tensor> Allocate(DType dtype, const Shape& shape,
                                         int64_t max_bytes = int64_t{1} << 40);
  // A tensor over memory owned by `owner` (which keeps it alive), starting at
  // `data`, e.g. a slice of a plan's arena. `shape` must be fully defined.
  static Tensor WrapBuffer(DType dtype, const Shape& shape, std::shared_ptr<void> owner,
                           void* data);
  // A zero-filled tensor.
  static Tensor Zeros(DType dtype, const Shape& shape);

  template <typename T>
  static Tensor Scalar(T value) {
    Tensor t(DTypeOf<T>::value, Shape{});
    t.data<T>()[0] = value;
    return t;
  }
  // Copies `values` into a tensor of `shape` (a 1-D shape when omitted). The
  // element count must match the shape.
  template <typename T>
  static absl::StatusOr<Tensor> FromVector(const std::vector<T>& values, const Shape& shape);
  template <typename T>
  static Tensor FromVector(const std::vector<T>& values) {
    return *FromVector(values, Shape{static_cast<int64_t>(values.size())});
  }

  bool valid() const { return dtype_ != DType::kInvalid; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t num_elements() const { return num_elements_; }
  size_t num_bytes() const { return static_cast<size_t>(num_elements_) * DTypeSize(dtype_); }

  void* raw_data() { return data_; }
  const void* raw_data() const { return data_; }
  // Typed access; T must match dtype() (checked in debug builds).
  template <typename T>
  T* data();
  template <typename T>
  const T* data() const;
  template <typename T>
  absl::Span<T> flat() { return absl::Span<T>(data<T>(), num_elements_); }
  template <typename T>
  absl::Span<const T> flat() const { return absl::Span<const T>(data<T>(), num_elements_); }
  template <typename T>
  std::vector<T> ToVector() const {
    auto f = flat<T>();
    return std::vector<T>(f.begin(), f.end());
  }
  // Element `i` converted to double (any dtype); handy for printing and tests.
  double ElementAsDouble(int64_t i) const;

  // A view sharing this buffer with another shape of the same element count.
  absl::StatusOr<Tensor> Reshaped(const Shape& shape) const;
  // A deep copy with its own buffer.
  Tensor Clone() const;
  // Whether both share the same buffer.
  bool SharesBufferWith(const Tensor& other) const { return buffer_ == other.buffer_; }
  // Same dtype, shape and bytes.
  bool BitwiseEquals(const Tensor& other) const;

  // `f32[2,3] [[1, 2, 3], [4, 5, 6]]`, eliding the middle past `max_elements`.
  std::string DebugString(int max_elements = 16) const;
  // The values alone, nested by dims, as DebugString prints them.
  std::string ValuesString(int max_elements = 16) const;

 private:
  template <typename T>
  void CheckType() const;

  DType dtype_ = DType::kInvalid;
  Shape shape_;
  int64_t num_elements_ = 0;
  std::shared_ptr<void> buffer_;
  void* data_ = nullptr;
};

template <typename T>
void Tensor::CheckType() const {
#ifndef NDEBUG
  if (DTypeOf<T>::value != dtype_) __builtin_trap();
#endif
}

template <typename T>
T* Tensor::data() {
  CheckType<T>();
  return static_cast<T*>(data_);
}

template <typename T>
const T* Tensor::data() const {
  CheckType<T>();
  return static_cast<const T*>(data_);
}

template <typename T>
absl::StatusOr<Tensor> Tensor::FromVector(const std::vector<T>& values, const Shape& shape) {
  auto n = shape.CheckedNumElements();
  if (!n.ok()) return n.status();
  if (*n != static_cast<int64_t>(values.size())) {
    return absl::InvalidArgumentError("tensor of shape " + shape.ToString() + " needs " +
                                      std::to_string(*n) + " values, got " +
                                      std::to_string(values.size()));
  }
  Tensor t(DTypeOf<T>::value, shape);
  T* out = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) out[i] = values[i];
  return t;
}

}  // namespace sluice

#endif  // SLUICE_GRAPH_TENSOR_H_
