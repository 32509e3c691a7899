#include "graph/attr_value.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sluice {

absl::string_view AttrTypeName(AttrType type) {
  switch (type) {
    case AttrType::kInt: return "int";
    case AttrType::kFloat: return "float";
    case AttrType::kBool: return "bool";
    case AttrType::kString: return "string";
    case AttrType::kType: return "type";
    case AttrType::kShape: return "shape";
    case AttrType::kTensor: return "tensor";
    case AttrType::kIntList: return "list(int)";
    case AttrType::kFloatList: return "list(float)";
    case AttrType::kBoolList: return "list(bool)";
    case AttrType::kStringList: return "list(string)";
    case AttrType::kTypeList: return "list(type)";
    case AttrType::kShapeList: return "list(shape)";
  }
  return "unknown";
}

namespace {

struct Printer {
  std::string operator()(int64_t v) const { return absl::StrCat(v); }
  std::string operator()(float v) const { return absl::StrCat(v); }
  std::string operator()(bool v) const { return v ? "true" : "false"; }
  std::string operator()(const std::string& v) const { return absl::StrCat("\"", v, "\""); }
  std::string operator()(DType v) const { return std::string(DTypeName(v)); }
  std::string operator()(const Shape& v) const { return v.ToString(); }
  std::string operator()(const Tensor& v) const { return v.DebugString(8); }
  template <typename T>
  std::string operator()(const std::vector<T>& v) const {
    std::vector<std::string> parts;
    for (const auto& x : v) parts.push_back((*this)(static_cast<T>(x)));
    return absl::StrCat("[", absl::StrJoin(parts, ","), "]");
  }
};

}  // namespace

std::string AttrValue::ToString() const { return std::visit(Printer{}, value_); }

bool AttrValue::operator==(const AttrValue& other) const {
  if (type() != other.type()) return false;
  return std::visit(
      [&](const auto& a) {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, Tensor>) {
          return a.BitwiseEquals(std::get<Tensor>(other.value_));
        } else {
          return a == std::get<T>(other.value_);
        }
      },
      value_);
}

}  // namespace sluice
