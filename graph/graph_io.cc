#include "graph/graph_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <queue>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/text_format.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

// Files larger than this are refused before parsing.
constexpr int64_t kMaxGraphBytes = int64_t{1} << 30;
// Protobuf nesting allowed while parsing. A valid GraphDef nests at most 7
// deep (GraphDef > NodeDef > attr entry > AttrValue > ListValue > shape >
// dim); the limit only stops crafted input (deeply nested unknown groups).
constexpr int kMaxRecursion = 100;
// Tensors with at most this many elements are written as typed value lists,
// which read well in .pbtxt files; larger ones as raw bytes.
constexpr int64_t kMaxTypedValues = 16;

// ---------------------------------------------------------------------------
// Shapes and tensors.

void ShapeToProto(const Shape& shape, proto::TensorShapeProto* p) {
  if (shape.unknown_rank()) {
    p->set_unknown_rank(true);
    return;
  }
  for (int64_t d : shape.dims()) p->add_dim()->set_size(d);
}

absl::StatusOr<Shape> ShapeFromProto(const proto::TensorShapeProto& p) {
  if (p.unknown_rank()) {
    if (p.dim_size() > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("a shape of unknown rank lists ", p.dim_size(), " dims"));
    }
    return Shape::UnknownRank();
  }
  Shape s;
  for (const auto& d : p.dim()) {
    if (d.size() < kUnknownDim) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape has dim ", d.size(), " (dims are >= 0, or -1 for unknown)"));
    }
    s.AddDim(d.size());
  }
  return s;
}

// The typed value lists of a TensorProto.
enum class ValueField { kFloat, kDouble, kInt, kInt64, kBool, kHalf };
constexpr ValueField kAllValueFields[] = {ValueField::kFloat, ValueField::kDouble,
                                          ValueField::kInt,   ValueField::kInt64,
                                          ValueField::kBool,  ValueField::kHalf};

// The list that holds elements of `dtype`.
ValueField FieldFor(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return ValueField::kFloat;
    case DType::kF64:
      return ValueField::kDouble;
    case DType::kI64:
      return ValueField::kInt64;
    case DType::kBool:
      return ValueField::kBool;
    case DType::kF16:
    case DType::kBF16:
      return ValueField::kHalf;
    default:
      return ValueField::kInt;  // i8, u8, i32
  }
}

absl::string_view FieldName(ValueField field) {
  switch (field) {
    case ValueField::kFloat:
      return "float_val";
    case ValueField::kDouble:
      return "double_val";
    case ValueField::kInt:
      return "int_val";
    case ValueField::kInt64:
      return "int64_val";
    case ValueField::kBool:
      return "bool_val";
    case ValueField::kHalf:
      return "half_val";
  }
  return "?";
}

int64_t FieldSize(const proto::TensorProto& p, ValueField field) {
  switch (field) {
    case ValueField::kFloat:
      return p.float_val_size();
    case ValueField::kDouble:
      return p.double_val_size();
    case ValueField::kInt:
      return p.int_val_size();
    case ValueField::kInt64:
      return p.int64_val_size();
    case ValueField::kBool:
      return p.bool_val_size();
    case ValueField::kHalf:
      return p.half_val_size();
  }
  return 0;
}

template <typename T>
void AppendTypedValues(const Tensor& t, proto::TensorProto* p) {
  const T* data = t.data<T>();
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    if constexpr (std::is_same_v<T, float>) {
      p->add_float_val(data[i]);
    } else if constexpr (std::is_same_v<T, double>) {
      p->add_double_val(data[i]);
    } else if constexpr (std::is_same_v<T, int64_t>) {
      p->add_int64_val(data[i]);
    } else if constexpr (std::is_same_v<T, bool>) {
      p->add_bool_val(data[i]);
    } else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      p->add_half_val(data[i].bits);
    } else {
      p->add_int_val(static_cast<int32_t>(data[i]));
    }
  }
}

// Value `i` of the typed list for T; the caller checked the range.
template <typename T>
T TypedValue(const proto::TensorProto& p, int i) {
  if constexpr (std::is_same_v<T, float>) {
    return p.float_val(i);
  } else if constexpr (std::is_same_v<T, double>) {
    return p.double_val(i);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return p.int64_val(i);
  } else if constexpr (std::is_same_v<T, bool>) {
    return p.bool_val(i);
  } else if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
    return T{static_cast<uint16_t>(p.half_val(i))};
  } else {
    return static_cast<T>(p.int_val(i));
  }
}

// i8 and u8 share int_val with i32, and the 16-bit floats keep their bit
// patterns in an int32 list: values outside the element type are errors
// rather than silently truncated.
absl::Status CheckTypedRange(const proto::TensorProto& p, DType dtype) {
  auto check = [&](const auto& values, absl::string_view field, int64_t lo, int64_t hi,
                   absl::string_view what) -> absl::Status {
    for (int i = 0; i < values.size(); ++i) {
      if (values[i] < lo || values[i] > hi) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, "[", i, "] = ", values[i], " is out of range for ", what));
      }
    }
    return absl::OkStatus();
  };
  switch (dtype) {
    case DType::kI8:
      return check(p.int_val(), "int_val", -128, 127, "i8");
    case DType::kU8:
      return check(p.int_val(), "int_val", 0, 255, "u8");
    case DType::kF16:
    case DType::kBF16:
      return check(p.half_val(), "half_val", 0, 0xffff,
                   absl::StrCat(DTypeName(dtype), " (a 16-bit pattern)"));
    default:
      return absl::OkStatus();
  }
}

}  // namespace

void TensorToProto(const Tensor& tensor, proto::TensorProto* p) {
  p->Clear();
  p->set_dtype(static_cast<proto::DataType>(tensor.dtype()));
  ShapeToProto(tensor.shape(), p->mutable_tensor_shape());
  if (tensor.num_elements() <= kMaxTypedValues) {
    VisitDType(tensor.dtype(), [&]<typename T>() { AppendTypedValues<T>(tensor, p); });
  } else {
    p->set_tensor_content(
        std::string(static_cast<const char*>(tensor.raw_data()), tensor.num_bytes()));
  }
}

absl::StatusOr<Tensor> TensorFromProto(const proto::TensorProto& p, int64_t max_bytes) {
  if (!IsValidDType(p.dtype())) {
    return absl::InvalidArgumentError(absl::StrCat("tensor has an invalid dtype ", p.dtype()));
  }
  const DType dtype = static_cast<DType>(p.dtype());
  ASSIGN_OR_RETURN(Shape shape, ShapeFromProto(p.tensor_shape()));
  if (!shape.IsFullyDefined()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a tensor value needs a fully defined shape, got ", shape.ToString()));
  }
  ASSIGN_OR_RETURN(const int64_t n, shape.CheckedNumElements());
  const int64_t element_size = DTypeSize(dtype);
  if (n > max_bytes / element_size) {
    return absl::ResourceExhaustedError(absl::StrCat("tensor ", DTypeName(dtype), shape.ToString(),
                                                     " would need more than ", max_bytes,
                                                     " bytes"));
  }
  const int64_t num_bytes = n * element_size;

  // Check the data against the dtype and shape before allocating anything.
  const ValueField field = FieldFor(dtype);
  for (ValueField other : kAllValueFields) {
    if (other != field && FieldSize(p, other) > 0) {
      return absl::InvalidArgumentError(absl::StrCat("the values of a ", DTypeName(dtype),
                                                     " tensor belong in ", FieldName(field),
                                                     ", but the file has ", FieldName(other)));
    }
  }
  const int64_t typed = FieldSize(p, field);
  const std::string& content = p.tensor_content();
  if (!content.empty()) {
    if (typed > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("tensor has both tensor_content and ", FieldName(field)));
    }
    if (static_cast<int64_t>(content.size()) != num_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("tensor_content holds ", content.size(),
                                                     " bytes but ", DTypeName(dtype),
                                                     shape.ToString(), " needs ", num_bytes));
    }
    if (dtype == DType::kBool) {
      for (size_t i = 0; i < content.size(); ++i) {
        const auto byte = static_cast<unsigned char>(content[i]);
        if (byte > 1) {
          return absl::InvalidArgumentError(absl::StrCat(
              "tensor_content byte ", i, " of a bool tensor is ", byte, ", not 0 or 1"));
        }
      }
    }
  } else {
    // The values fill the shape one by one, or a single value fills all of
    // it (TensorFlow's splat rule).
    if (!(typed == n || (typed == 1 && n > 0) || (typed == 0 && n == 0))) {
      return absl::InvalidArgumentError(absl::StrCat("tensor data holds ", typed,
                                                     " values but shape ", shape.ToString(),
                                                     " needs ", n, " (or 1 to fill it)"));
    }
    RETURN_IF_ERROR(CheckTypedRange(p, dtype));
  }

  ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, shape, max_bytes));
  if (!content.empty()) {
    std::memcpy(t.raw_data(), content.data(), static_cast<size_t>(num_bytes));
    return t;
  }
  VisitDType(dtype, [&]<typename T>() {
    T* out = t.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      out[i] = TypedValue<T>(p, typed == 1 ? 0 : static_cast<int>(i));
    }
  });
  return t;
}

namespace {

// ---------------------------------------------------------------------------
// Attributes.

void AttrToProto(const AttrValue& v, proto::AttrValue* p) {
  switch (v.type()) {
    case AttrType::kInt:
      p->set_i(v.i());
      break;
    case AttrType::kFloat:
      p->set_f(v.f());
      break;
    case AttrType::kBool:
      p->set_b(v.b());
      break;
    case AttrType::kString:
      p->set_s(v.s());
      break;
    case AttrType::kType:
      p->set_type(static_cast<proto::DataType>(v.dtype()));
      break;
    case AttrType::kShape:
      ShapeToProto(v.shape(), p->mutable_shape());
      break;
    case AttrType::kTensor:
      TensorToProto(v.tensor(), p->mutable_tensor());
      break;
    case AttrType::kIntList: {
      auto* list = p->mutable_list();
      for (int64_t x : v.ints()) list->add_i(x);
      break;
    }
    case AttrType::kFloatList: {
      auto* list = p->mutable_list();
      for (float x : v.floats()) list->add_f(x);
      break;
    }
    case AttrType::kBoolList: {
      auto* list = p->mutable_list();
      for (bool x : v.bools()) list->add_b(x);
      break;
    }
    case AttrType::kStringList: {
      auto* list = p->mutable_list();
      for (const std::string& x : v.strings()) list->add_s(x);
      break;
    }
    case AttrType::kTypeList: {
      auto* list = p->mutable_list();
      for (DType x : v.dtypes()) list->add_type(static_cast<proto::DataType>(x));
      break;
    }
    case AttrType::kShapeList: {
      auto* list = p->mutable_list();
      for (const Shape& x : v.shapes()) ShapeToProto(x, list->add_shape());
      break;
    }
  }
}

// The element kinds a ListValue holds values of, e.g. {"int"}; empty for an
// empty list.
std::vector<absl::string_view> ListElementKinds(const proto::AttrValue::ListValue& list) {
  std::vector<absl::string_view> kinds;
  if (list.s_size() > 0) kinds.push_back("string");
  if (list.i_size() > 0) kinds.push_back("int");
  if (list.f_size() > 0) kinds.push_back("float");
  if (list.b_size() > 0) kinds.push_back("bool");
  if (list.type_size() > 0) kinds.push_back("type");
  if (list.shape_size() > 0) kinds.push_back("shape");
  if (list.tensor_size() > 0) kinds.push_back("tensor");
  return kinds;
}

// What the file holds, for messages: "int", "list(float)", "an empty list".
std::string FileKind(const proto::AttrValue& p) {
  switch (p.value_case()) {
    case proto::AttrValue::kS:
      return "string";
    case proto::AttrValue::kI:
      return "int";
    case proto::AttrValue::kF:
      return "float";
    case proto::AttrValue::kB:
      return "bool";
    case proto::AttrValue::kType:
      return "type";
    case proto::AttrValue::kShape:
      return "shape";
    case proto::AttrValue::kTensor:
      return "tensor";
    case proto::AttrValue::kList: {
      const std::vector<absl::string_view> kinds = ListElementKinds(p.list());
      if (kinds.empty()) return "an empty list";
      if (kinds.size() == 1) return absl::StrCat("list(", kinds[0], ")");
      return absl::StrCat("a list mixing ", absl::StrJoin(kinds, " and "));
    }
    case proto::AttrValue::VALUE_NOT_SET:
      break;
  }
  return "no value";
}

// Converts `p` to the kind `declared` says; a value of any other kind is an
// error naming the attr.
absl::StatusOr<AttrValue> AttrFromProto(const std::string& name, const proto::AttrValue& p,
                                        const AttrDef& declared) {
  const auto mismatch = [&] {
    return absl::InvalidArgumentError(absl::StrCat("attr '", name, "' should be ",
                                                   AttrTypeName(declared.type),
                                                   " but the file has ", FileKind(p)));
  };
  const auto in_attr = [&](const absl::Status& status) {
    return absl::Status(status.code(), absl::StrCat("attr '", name, "': ", status.message()));
  };
  const auto dtype_of = [&](int value) -> absl::StatusOr<DType> {
    if (!IsValidDType(value)) {
      return absl::InvalidArgumentError(absl::StrCat("attr '", name, "': invalid dtype ", value));
    }
    return static_cast<DType>(value);
  };
  // A list must hold only elements of `element` (an empty list is fine).
  const auto is_list_of = [&](absl::string_view element) {
    if (p.value_case() != proto::AttrValue::kList) return false;
    const std::vector<absl::string_view> kinds = ListElementKinds(p.list());
    return kinds.empty() || (kinds.size() == 1 && kinds[0] == element);
  };
  const auto& list = p.list();
  switch (declared.type) {
    case AttrType::kInt:
      if (p.value_case() != proto::AttrValue::kI) return mismatch();
      return AttrValue(p.i());
    case AttrType::kFloat:
      if (p.value_case() != proto::AttrValue::kF) return mismatch();
      return AttrValue(p.f());
    case AttrType::kBool:
      if (p.value_case() != proto::AttrValue::kB) return mismatch();
      return AttrValue(p.b());
    case AttrType::kString:
      if (p.value_case() != proto::AttrValue::kS) return mismatch();
      return AttrValue(p.s());
    case AttrType::kType: {
      if (p.value_case() != proto::AttrValue::kType) return mismatch();
      ASSIGN_OR_RETURN(DType dtype, dtype_of(p.type()));
      return AttrValue(dtype);
    }
    case AttrType::kShape: {
      if (p.value_case() != proto::AttrValue::kShape) return mismatch();
      auto shape = ShapeFromProto(p.shape());
      if (!shape.ok()) return in_attr(shape.status());
      return AttrValue(*std::move(shape));
    }
    case AttrType::kTensor: {
      if (p.value_case() != proto::AttrValue::kTensor) return mismatch();
      auto tensor = TensorFromProto(p.tensor());
      if (!tensor.ok()) return in_attr(tensor.status());
      return AttrValue(*std::move(tensor));
    }
    case AttrType::kIntList:
      if (!is_list_of("int")) return mismatch();
      return AttrValue(std::vector<int64_t>(list.i().begin(), list.i().end()));
    case AttrType::kFloatList:
      if (!is_list_of("float")) return mismatch();
      return AttrValue(std::vector<float>(list.f().begin(), list.f().end()));
    case AttrType::kBoolList:
      if (!is_list_of("bool")) return mismatch();
      return AttrValue(std::vector<bool>(list.b().begin(), list.b().end()));
    case AttrType::kStringList:
      if (!is_list_of("string")) return mismatch();
      return AttrValue(std::vector<std::string>(list.s().begin(), list.s().end()));
    case AttrType::kTypeList: {
      if (!is_list_of("type")) return mismatch();
      std::vector<DType> dtypes;
      for (int value : list.type()) {
        ASSIGN_OR_RETURN(DType dtype, dtype_of(value));
        dtypes.push_back(dtype);
      }
      return AttrValue(std::move(dtypes));
    }
    case AttrType::kShapeList: {
      if (!is_list_of("shape")) return mismatch();
      std::vector<Shape> shapes;
      for (const auto& s : list.shape()) {
        auto shape = ShapeFromProto(s);
        if (!shape.ok()) return in_attr(shape.status());
        shapes.push_back(*std::move(shape));
      }
      return AttrValue(std::move(shapes));
    }
  }
  return mismatch();
}

// ---------------------------------------------------------------------------
// Loading.

// An input string: "name" (output 0), "name:3" or "^name" (control).
struct ParsedInput {
  std::string node;
  int index = 0;
  bool control = false;
  int source = -1;  // the file index of `node`
};

absl::StatusOr<ParsedInput> ParseInput(absl::string_view text) {
  const auto malformed = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed input '", text, "' (inputs are 'node', 'node:output' or '^node')"));
  };
  ParsedInput in;
  absl::string_view name = text;
  in.control = absl::ConsumePrefix(&name, "^");
  if (!in.control) {
    const size_t colon = name.rfind(':');
    if (colon != absl::string_view::npos) {
      const absl::string_view digits = name.substr(colon + 1);
      // Digits only: SimpleAtoi alone would also take "+1" or " 1".
      if (digits.empty() || digits.size() > 9 ||
          !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
          !absl::SimpleAtoi(digits, &in.index)) {
        return malformed();
      }
      name = name.substr(0, colon);
    }
  }
  if (name.empty()) return malformed();
  in.node = std::string(name);
  return in;
}

// A node of the file on its way into the graph.
struct PendingNode {
  const proto::NodeDef* def = nullptr;
  std::vector<ParsedInput> inputs;
  AttrMap attrs;
  int waiting = 0;              // inputs (data and control) not yet in the graph
  std::vector<int> dependents;  // file indices of nodes that read this one
  Node* node = nullptr;         // set once added
};

std::string NodePrefix(const proto::NodeDef& n) {
  return absl::StrCat("node '", n.name(), "' (", n.op(), "): ");
}

// Whether `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF). Names and devices are protobuf string
// fields, which a binary .pb must hold as UTF-8: accepting anything else from
// a .pbtxt (escapes like "\377") or a hand-built GraphDef would load a graph
// whose saved .pb no longer loads.
bool IsValidUtf8(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int extra;
    uint32_t min;
    uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      extra = 1, min = 0x80, code = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2, min = 0x800, code = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3, min = 0x10000, code = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i <= static_cast<size_t>(extra)) return false;
    for (int k = 1; k <= extra; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xc0) != 0x80) return false;
      code = (code << 6) | (b & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += extra + 1;
  }
  return true;
}

absl::Status NodeError(const proto::NodeDef& n, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(NodePrefix(n), message));
}

// Graph::AddNode names the node as "name (Op): "; file errors read
// "node 'name' (Op): " like every other load error.
absl::Status FromAddNodeError(const proto::NodeDef& n, const absl::Status& status) {
  absl::string_view message = status.message();
  absl::ConsumePrefix(&message, absl::StrCat(n.name(), " (", n.op(), "): "));
  return absl::Status(status.code(), absl::StrCat(NodePrefix(n), message));
}

// Checks the node's op, parses its inputs and converts its attrs; the
// inputs' file indices come from `index`.
absl::Status PrepareNode(const proto::NodeDef& n,
                         const absl::flat_hash_map<absl::string_view, int>& index,
                         PendingNode& pending) {
  pending.def = &n;
  const OpDef* op = OpRegistry::Global().Find(n.op());
  if (op == nullptr) return NodeError(n, absl::StrCat("unknown op '", n.op(), "'"));
  bool seen_control = false;
  for (int k = 0; k < n.input_size(); ++k) {
    auto in = ParseInput(n.input(k));
    if (!in.ok()) return NodeError(n, absl::StrCat("input ", k, ": ", in.status().message()));
    if (in->control) {
      seen_control = true;
    } else if (seen_control) {
      return NodeError(
          n, absl::StrCat("data input ", k, " '", n.input(k), "' comes after a control input"));
    }
    auto it = index.find(in->node);
    if (it == index.end()) {
      return NodeError(
          n, absl::StrCat("input ", k, " names '", in->node, "', which is not in the graph"));
    }
    in->source = it->second;
    pending.inputs.push_back(*std::move(in));
  }
  // Sorted by name, so the first error about attrs does not depend on the
  // map's order.
  std::vector<std::pair<absl::string_view, const proto::AttrValue*>> attrs;
  for (const auto& [name, value] : n.attr()) attrs.emplace_back(name, &value);
  std::sort(attrs.begin(), attrs.end());
  for (const auto& [name, value] : attrs) {
    const AttrDef* declared = op->FindAttr(name);
    if (declared == nullptr) {
      // Passed on so that AddNode reports the unknown name.
      pending.attrs.emplace(name, AttrValue());
      continue;
    }
    auto converted = AttrFromProto(std::string(name), *value, *declared);
    if (!converted.ok()) return NodeError(n, converted.status().message());
    pending.attrs.emplace(name, *std::move(converted));
  }
  return absl::OkStatus();
}

// Called when some nodes never became ready: follows not-yet-added inputs
// from `start` until a node repeats, and names that cycle.
absl::Status CycleError(const std::vector<PendingNode>& pending, int start) {
  std::vector<int> path;
  absl::flat_hash_map<int, size_t> position;
  int current = start;
  while (!position.contains(current)) {
    position[current] = path.size();
    path.push_back(current);
    int next = -1;
    for (const ParsedInput& in : pending[current].inputs) {
      if (pending[in.source].node == nullptr) {
        next = in.source;
        break;
      }
    }
    // A node left over waits for at least one input that is left over too,
    // so the walk always ends on a node it has seen.
    if (next < 0) break;
    current = next;
  }
  const size_t first = position[current];
  // "a reads b, which reads a" (or "a reads a").
  std::string chain = pending[path[first]].def->name();
  for (size_t i = first + 1; i <= path.size(); ++i) {
    const int node = i < path.size() ? path[i] : path[first];
    absl::StrAppend(&chain, i == first + 1 ? " reads " : ", which reads ",
                    pending[node].def->name());
  }
  return NodeError(*pending[path[first]].def, absl::StrCat("its inputs form a cycle: ", chain));
}

// Collects the first text-format parse error with its position.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (error_.empty()) {
      error_ = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ", message);
    }
  }
  void AddWarning(int, int, const std::string&) override {}
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

absl::Status ErrnoError(int error, absl::string_view path, absl::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat(path, ": ", what, ": ", std::strerror(error)));
}

}  // namespace

absl::StatusOr<proto::GraphDef> ToGraphDef(const Graph& graph) {
  ASSIGN_OR_RETURN(std::vector<Node*> order, graph.TopologicalOrder());
  proto::GraphDef def;
  def.set_version(kGraphFormatVersion);
  for (Node* n : order) {
    proto::NodeDef* nd = def.add_node();
    nd->set_name(n->name());
    nd->set_op(n->op());
    for (const Output& in : n->inputs()) nd->add_input(in.name());
    for (Node* c : n->control_inputs()) nd->add_input(absl::StrCat("^", c->name()));
    nd->set_device(n->device());
    for (const auto& [name, value] : n->attrs()) AttrToProto(value, &(*nd->mutable_attr())[name]);
  }
  return def;
}

absl::StatusOr<std::unique_ptr<Graph>> FromGraphDef(const proto::GraphDef& def) {
  if (def.version() > kGraphFormatVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("the graph was written in format version ", def.version(),
                     ", which is newer than this Sluice reads (version ", kGraphFormatVersion,
                     "); load it with a newer Sluice"));
  }
  const int count = def.node_size();
  absl::flat_hash_map<absl::string_view, int> index;
  index.reserve(count);
  for (int i = 0; i < count; ++i) {
    const proto::NodeDef& n = def.node(i);
    if (n.name().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("node ", i, " of the file (op ", n.op(), ") has no name"));
    }
    const bool bad_name = !IsValidUtf8(n.name());
    if (bad_name || !IsValidUtf8(n.device())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "node ", i, " of the file has a ", bad_name ? "name" : "device",
          " that is not valid UTF-8: \"", absl::CEscape(bad_name ? n.name() : n.device()),
          "\""));
    }
    auto [it, added] = index.emplace(n.name(), i);
    if (!added) {
      return absl::InvalidArgumentError(absl::StrCat("node '", n.name(), "' is defined twice (",
                                                     def.node(it->second).op(), " and ", n.op(),
                                                     ")"));
    }
  }

  // Everything that does not need the inputs to exist, in file order.
  std::vector<PendingNode> pending(count);
  for (int i = 0; i < count; ++i) {
    RETURN_IF_ERROR(PrepareNode(def.node(i), index, pending[i]));
    for (const ParsedInput& in : pending[i].inputs) {
      ++pending[i].waiting;
      pending[in.source].dependents.push_back(i);
    }
  }

  // Add nodes once their inputs are in, always the ready node that comes
  // first in the file: a file written by ToGraphDef (topological order) is
  // added in file order, so node ids and a re-saved file come out identical.
  auto graph = std::make_unique<Graph>();
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < count; ++i) {
    if (pending[i].waiting == 0) ready.push(i);
  }
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    PendingNode& p = pending[i];
    const proto::NodeDef& n = *p.def;
    NodeSpec spec;
    spec.name = n.name();
    spec.op = n.op();
    spec.device = n.device();
    spec.attrs = std::move(p.attrs);
    for (const ParsedInput& in : p.inputs) {
      Node* source = pending[in.source].node;
      if (in.control) {
        spec.control_inputs.push_back(source);
        continue;
      }
      if (in.index >= source->num_outputs()) {
        return NodeError(
            n, absl::StrCat("input '", in.node, ":", in.index, "' reads output ", in.index, " of ",
                            source->DebugName(), ", which has ", source->num_outputs(),
                            source->num_outputs() == 1 ? " output" : " outputs"));
      }
      spec.inputs.emplace_back(source, in.index);
    }
    auto node = graph->AddNode(std::move(spec));
    if (!node.ok()) return FromAddNodeError(n, node.status());
    p.node = *node;
    for (int d : p.dependents) {
      if (--pending[d].waiting == 0) ready.push(d);
    }
  }
  for (int i = 0; i < count; ++i) {
    if (pending[i].node == nullptr) return CycleError(pending, i);
  }
  return graph;
}

absl::StatusOr<GraphFileFormat> GraphFileFormatForPath(absl::string_view path) {
  if (absl::EndsWith(path, ".pbtxt")) return GraphFileFormat::kText;
  if (absl::EndsWith(path, ".pb")) return GraphFileFormat::kBinary;
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": unknown graph file extension; use .pb (binary) or .pbtxt (text)"));
}

absl::StatusOr<std::string> SerializeGraph(const Graph& graph, GraphFileFormat format) {
  ASSIGN_OR_RETURN(proto::GraphDef def, ToGraphDef(graph));
  std::string out;
  if (format == GraphFileFormat::kText) {
    google::protobuf::TextFormat::Printer printer;
    if (!printer.PrintToString(def, &out)) return absl::InternalError("cannot print the graph");
    return out;
  }
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    // Map entries (attrs) in key order, so equal graphs give equal bytes.
    coded.SetSerializationDeterministic(true);
    if (!def.SerializeToCodedStream(&coded)) {
      return absl::InternalError("cannot serialise the graph");
    }
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Graph>> ParseGraph(absl::string_view bytes, GraphFileFormat format) {
  if (static_cast<int64_t>(bytes.size()) > kMaxGraphBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("graph file is ", bytes.size(), " bytes; the limit is ", kMaxGraphBytes));
  }
  // Protobuf logs some problems (e.g. invalid UTF-8 in a string) to stderr;
  // the status below reports them instead.
  google::protobuf::LogSilencer silence_protobuf;
  proto::GraphDef def;
  if (format == GraphFileFormat::kText) {
    google::protobuf::TextFormat::Parser parser;
    FirstErrorCollector errors;
    parser.RecordErrorsTo(&errors);
    parser.SetRecursionLimit(kMaxRecursion);
    google::protobuf::io::ArrayInputStream input(bytes.data(), static_cast<int>(bytes.size()));
    if (!parser.Parse(&input, &def)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "not a valid text GraphDef: ", errors.error().empty() ? "parse error" : errors.error()));
    }
  } else {
    google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                 static_cast<int>(bytes.size()));
    input.SetRecursionLimit(kMaxRecursion);
    if (!def.ParseFromCodedStream(&input) || !input.ConsumedEntireMessage()) {
      return absl::InvalidArgumentError("not a valid binary GraphDef (truncated or corrupt bytes)");
    }
  }
  return FromGraphDef(def);
}

absl::Status SaveGraph(const Graph& graph, const std::string& path) {
  ASSIGN_OR_RETURN(GraphFileFormat format, GraphFileFormatForPath(path));
  ASSIGN_OR_RETURN(std::string bytes, SerializeGraph(graph, format));
  // Written next to `path` and renamed over it, so readers never see half a
  // file.
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError(errno, path, "cannot write");
  const auto fail = [&](absl::string_view what) {
    const int error = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoError(error, path, what);
  };
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return fail("write failed");
    written += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) return fail("write failed");
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(error, path, "write failed");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    return ErrnoError(error, path, "cannot write");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Graph>> LoadGraph(const std::string& path) {
  ASSIGN_OR_RETURN(GraphFileFormat format, GraphFileFormatForPath(path));
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return ErrnoError(errno, path, "cannot open");
  }
  std::string bytes;
  absl::Status read_status = [&]() -> absl::Status {
    struct stat info;
    if (::fstat(fd, &info) != 0) return ErrnoError(errno, path, "cannot read");
    if (S_ISDIR(info.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a graph file"));
    }
    if (info.st_size > kMaxGraphBytes) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": the file is ", info.st_size,
                                                     " bytes; graph files are limited to ",
                                                     kMaxGraphBytes));
    }
    bytes.resize(static_cast<size_t>(info.st_size));
    size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t r = ::read(fd, bytes.data() + got, bytes.size() - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return ErrnoError(errno, path, "cannot read");
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    bytes.resize(got);
    return absl::OkStatus();
  }();
  ::close(fd);
  RETURN_IF_ERROR(read_status);
  auto graph = ParseGraph(bytes, format);
  if (!graph.ok()) {
    return absl::Status(graph.status().code(), absl::StrCat(path, ": ", graph.status().message()));
  }
  return graph;
}

}  // namespace sluice
