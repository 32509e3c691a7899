// In-memory attribute values of nodes.
#ifndef SLUICE_GRAPH_ATTR_VALUE_H_
#define SLUICE_GRAPH_ATTR_VALUE_H_

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "graph/dtype.h"
#include "graph/shape.h"
#include "graph/tensor.h"

namespace sluice {

// The kinds an attribute may have; an OpDef declares one per attribute.
enum class AttrType {
  kInt,
  kFloat,
  kBool,
  kString,
  kType,
  kShape,
  kTensor,
  kIntList,
  kFloatList,
  kBoolList,
  kStringList,
  kTypeList,
  kShapeList,
};

// "int", "float", ..., "list(int)" as written in op specs.
absl::string_view AttrTypeName(AttrType type);

class AttrValue {
 public:
  using Value = std::variant<int64_t, float, bool, std::string, DType, Shape, Tensor,
                             std::vector<int64_t>, std::vector<float>, std::vector<bool>,
                             std::vector<std::string>, std::vector<DType>, std::vector<Shape>>;

  AttrValue() : value_(int64_t{0}) {}
  AttrValue(int v) : value_(int64_t{v}) {}
  AttrValue(int64_t v) : value_(v) {}
  AttrValue(float v) : value_(v) {}
  AttrValue(double v) : value_(static_cast<float>(v)) {}
  AttrValue(bool v) : value_(v) {}
  AttrValue(const char* v) : value_(std::string(v)) {}
  AttrValue(std::string v) : value_(std::move(v)) {}
  AttrValue(DType v) : value_(v) {}
  AttrValue(Shape v) : value_(std::move(v)) {}
  AttrValue(Tensor v) : value_(std::move(v)) {}
  AttrValue(std::vector<int64_t> v) : value_(std::move(v)) {}
  AttrValue(std::initializer_list<int64_t> v) : value_(std::vector<int64_t>(v)) {}
  AttrValue(std::vector<float> v) : value_(std::move(v)) {}
  AttrValue(std::vector<bool> v) : value_(std::move(v)) {}
  AttrValue(std::vector<std::string> v) : value_(std::move(v)) {}
  AttrValue(std::vector<DType> v) : value_(std::move(v)) {}
  AttrValue(std::vector<Shape> v) : value_(std::move(v)) {}

  AttrType type() const { return static_cast<AttrType>(value_.index()); }
  const Value& value() const { return value_; }

  // Typed access; the caller checks type() first (or uses Node::GetAttr).
  int64_t i() const { return std::get<int64_t>(value_); }
  float f() const { return std::get<float>(value_); }
  bool b() const { return std::get<bool>(value_); }
  const std::string& s() const { return std::get<std::string>(value_); }
  DType dtype() const { return std::get<DType>(value_); }
  const Shape& shape() const { return std::get<Shape>(value_); }
  const Tensor& tensor() const { return std::get<Tensor>(value_); }
  const std::vector<int64_t>& ints() const { return std::get<std::vector<int64_t>>(value_); }
  const std::vector<float>& floats() const { return std::get<std::vector<float>>(value_); }
  const std::vector<bool>& bools() const { return std::get<std::vector<bool>>(value_); }
  const std::vector<std::string>& strings() const {
    return std::get<std::vector<std::string>>(value_);
  }
  const std::vector<DType>& dtypes() const { return std::get<std::vector<DType>>(value_); }
  const std::vector<Shape>& shapes() const { return std::get<std::vector<Shape>>(value_); }

  // A short, readable rendering: `true`, `[1,2,2,1]`, `f32`, `"SAME"`,
  // `f32[2] [1, 2]`.
  std::string ToString() const;

  bool operator==(const AttrValue& other) const;

 private:
  Value value_;
};

// Attributes sorted by name, so printing and serialisation are deterministic.
using AttrMap = std::map<std::string, AttrValue, std::less<>>;

}  // namespace sluice

#endif  // SLUICE_GRAPH_ATTR_VALUE_H_
