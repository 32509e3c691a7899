#include "graph/graph_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <queue>
#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/text_format.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

// Binary files larger than this are refused before parsing.
constexpr int kMaxGraphBytes = 1 << 30;
// Protobuf nesting allowed in files (AttrValue lists of shapes nest ~4 deep).
constexpr int kMaxRecursion = 64;

// ---------------------------------------------------------------------------
// Tensors.

template <typename T>
void AppendTyped(const Tensor& t, proto::TensorProto* p) {
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

void ShapeToProto(const Shape& shape, proto::TensorShapeProto* p) {
  if (shape.unknown_rank()) {
    p->set_unknown_rank(true);
    return;
  }
  for (int64_t d : shape.dims()) p->add_dim()->set_size(d);
}

absl::StatusOr<Shape> ShapeFromProto(const proto::TensorShapeProto& p) {
  if (p.unknown_rank()) {
    if (p.dim_size() > 0) return absl::InvalidArgumentError("a shape of unknown rank lists dims");
    return Shape::UnknownRank();
  }
  Shape s;
  for (const auto& d : p.dim()) {
    if (d.size() < -1) {
      return absl::InvalidArgumentError(absl::StrCat("shape has a negative dim ", d.size()));
    }
    s.AddDim(d.size());
  }
  return s;
}

// How many values a typed field holds for `dtype`, and which field that is.
int TypedCount(const proto::TensorProto& p, DType dtype, std::string* field) {
  switch (dtype) {
    case DType::kF32: *field = "float_val"; return p.float_val_size();
    case DType::kF64: *field = "double_val"; return p.double_val_size();
    case DType::kI64: *field = "int64_val"; return p.int64_val_size();
    case DType::kBool: *field = "bool_val"; return p.bool_val_size();
    case DType::kF16: case DType::kBF16: *field = "half_val"; return p.half_val_size();
    default: *field = "int_val"; return p.int_val_size();
  }
}

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

}  // namespace

void TensorToProto(const Tensor& tensor, proto::TensorProto* p) {
  p->Clear();
  p->set_dtype(static_cast<proto::DataType>(tensor.dtype()));
  ShapeToProto(tensor.shape(), p->mutable_tensor_shape());
  // Small tensors use the typed lists, which read well in .pbtxt files.
  if (tensor.num_elements() <= 16) {
    VisitDType(tensor.dtype(), [&]<typename T>() { AppendTyped<T>(tensor, p); });
  } else {
    p->set_tensor_content(std::string(static_cast<const char*>(tensor.raw_data()),
                                      tensor.num_bytes()));
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
  ASSIGN_OR_RETURN(Tensor t, Tensor::Allocate(dtype, shape, max_bytes));
  std::string field;
  const int typed = TypedCount(p, dtype, &field);
  const int64_t n = t.num_elements();
  if (!p.tensor_content().empty()) {
    if (typed > 0) {
      return absl::InvalidArgumentError("tensor has both tensor_content and " + field);
    }
    if (static_cast<int64_t>(p.tensor_content().size()) != static_cast<int64_t>(t.num_bytes())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor_content holds ", p.tensor_content().size(), " bytes but ", DTypeName(dtype),
          shape.ToString(), " needs ", t.num_bytes()));
    }
    std::memcpy(t.raw_data(), p.tensor_content().data(), t.num_bytes());
    if (dtype == DType::kBool) {
      const auto* b = reinterpret_cast<const unsigned char*>(p.tensor_content().data());
      for (int64_t i = 0; i < n; ++i) {
        if (b[i] > 1) return absl::InvalidArgumentError("tensor_content holds a bool that is not 0 or 1");
      }
    }
    return t;
  }
  // Values in any other typed field are a mismatch with the dtype.
  const int others = p.float_val_size() + p.double_val_size() + p.int_val_size() +
                     p.int64_val_size() + p.bool_val_size() + p.half_val_size() - typed;
  if (others > 0) {
    return absl::InvalidArgumentError(absl::StrCat("a ", DTypeName(dtype), " tensor keeps its values in ",
                                                   field, ", but the file uses another field"));
  }
  if (!(typed == n || (typed == 1 && n > 0) || (typed == 0 && n == 0))) {
    return absl::InvalidArgumentError(absl::StrCat("tensor data holds ", typed,
                                                   " values but shape ", shape.ToString(),
                                                   " needs ", n));
  }
  VisitDType(dtype, [&]<typename T>() {
    T* out = t.data<T>();
    for (int64_t i = 0; i < n; ++i) out[i] = TypedValue<T>(p, typed == 1 ? 0 : static_cast<int>(i));
  });
  return t;
}

namespace {

// ---------------------------------------------------------------------------
// Attributes.

void AttrToProto(const AttrValue& v, proto::AttrValue* p) {
  switch (v.type()) {
    case AttrType::kInt: p->set_i(v.i()); break;
    case AttrType::kFloat: p->set_f(v.f()); break;
    case AttrType::kBool: p->set_b(v.b()); break;
    case AttrType::kString: p->set_s(v.s()); break;
    case AttrType::kType: p->set_type(static_cast<proto::DataType>(v.dtype())); break;
    case AttrType::kShape: ShapeToProto(v.shape(), p->mutable_shape()); break;
    case AttrType::kTensor: TensorToProto(v.tensor(), p->mutable_tensor()); break;
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

absl::string_view ProtoKindName(const proto::AttrValue& p) {
  switch (p.value_case()) {
    case proto::AttrValue::kS: return "string";
    case proto::AttrValue::kI: return "int";
    case proto::AttrValue::kF: return "float";
    case proto::AttrValue::kB: return "bool";
    case proto::AttrValue::kType: return "type";
    case proto::AttrValue::kShape: return "shape";
    case proto::AttrValue::kTensor: return "tensor";
    case proto::AttrValue::kList: return "list";
    case proto::AttrValue::VALUE_NOT_SET: break;
  }
  return "nothing";
}

absl::StatusOr<DType> DTypeFromProto(int value) {
  if (!IsValidDType(value)) return absl::InvalidArgumentError(absl::StrCat("invalid dtype ", value));
  return static_cast<DType>(value);
}

// Converts `p` to the kind the OpDef declares; `declared` is null for attrs
// the op does not know (passed through so AddNode names them).
absl::StatusOr<AttrValue> AttrFromProto(const std::string& name, const proto::AttrValue& p,
                                        const AttrDef* declared) {
  auto mismatch = [&](absl::string_view want) {
    return absl::InvalidArgumentError(absl::StrCat("attr '", name, "' should be ", want,
                                                   " but the file has ", ProtoKindName(p)));
  };
  const AttrType type = declared != nullptr ? declared->type : AttrType::kInt;
  if (declared == nullptr) {
    // Unknown attr: any value will do; AddNode rejects the name.
    return AttrValue(int64_t{0});
  }
  const auto& list = p.list();
  const bool is_list = p.value_case() == proto::AttrValue::kList;
  switch (type) {
    case AttrType::kInt:
      if (p.value_case() != proto::AttrValue::kI) return mismatch("int");
      return AttrValue(p.i());
    case AttrType::kFloat:
      if (p.value_case() == proto::AttrValue::kI) return AttrValue(static_cast<float>(p.i()));
      if (p.value_case() != proto::AttrValue::kF) return mismatch("float");
      return AttrValue(p.f());
    case AttrType::kBool:
      if (p.value_case() != proto::AttrValue::kB) return mismatch("bool");
      return AttrValue(p.b());
    case AttrType::kString:
      if (p.value_case() != proto::AttrValue::kS) return mismatch("string");
      return AttrValue(p.s());
    case AttrType::kType: {
      if (p.value_case() != proto::AttrValue::kType) return mismatch("type");
      ASSIGN_OR_RETURN(DType d, DTypeFromProto(p.type()));
      return AttrValue(d);
    }
    case AttrType::kShape: {
      if (p.value_case() != proto::AttrValue::kShape) return mismatch("shape");
      ASSIGN_OR_RETURN(Shape s, ShapeFromProto(p.shape()));
      return AttrValue(std::move(s));
    }
    case AttrType::kTensor: {
      if (p.value_case() != proto::AttrValue::kTensor) return mismatch("tensor");
      auto t = TensorFromProto(p.tensor());
      if (!t.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("attr '", name, "': ", t.status().message()));
      }
      return AttrValue(std::move(*t));
    }
    case AttrType::kIntList:
      if (!is_list) return mismatch("list(int)");
      return AttrValue(std::vector<int64_t>(list.i().begin(), list.i().end()));
    case AttrType::kFloatList:
      if (!is_list) return mismatch("list(float)");
      return AttrValue(std::vector<float>(list.f().begin(), list.f().end()));
    case AttrType::kBoolList:
      if (!is_list) return mismatch("list(bool)");
      return AttrValue(std::vector<bool>(list.b().begin(), list.b().end()));
    case AttrType::kStringList:
      if (!is_list) return mismatch("list(string)");
      return AttrValue(std::vector<std::string>(list.s().begin(), list.s().end()));
    case AttrType::kTypeList: {
      if (!is_list) return mismatch("list(type)");
      std::vector<DType> v;
      for (int x : list.type()) {
        ASSIGN_OR_RETURN(DType d, DTypeFromProto(x));
        v.push_back(d);
      }
      return AttrValue(std::move(v));
    }
    case AttrType::kShapeList: {
      if (!is_list) return mismatch("list(shape)");
      std::vector<Shape> v;
      for (const auto& s : list.shape()) {
        ASSIGN_OR_RETURN(Shape shape, ShapeFromProto(s));
        v.push_back(std::move(shape));
      }
      return AttrValue(std::move(v));
    }
  }
  return mismatch("a known kind");
}

// "name", "name:3" or "^name".
struct ParsedInput {
  std::string node;
  int index = 0;
  bool control = false;
};

absl::StatusOr<ParsedInput> ParseInput(const std::string& text) {
  ParsedInput in;
  absl::string_view s = text;
  if (absl::ConsumePrefix(&s, "^")) in.control = true;
  const size_t colon = s.rfind(':');
  if (colon != absl::string_view::npos && !in.control) {
    if (!absl::SimpleAtoi(s.substr(colon + 1), &in.index) || in.index < 0) {
      return absl::InvalidArgumentError(absl::StrCat("malformed input '", text, "'"));
    }
    s = s.substr(0, colon);
  }
  if (s.empty()) return absl::InvalidArgumentError(absl::StrCat("malformed input '", text, "'"));
  in.node = std::string(s);
  return in;
}

absl::Status NodeError(const proto::NodeDef& n, absl::string_view message) {
  return absl::InvalidArgumentError(
      absl::StrCat("node '", n.name(), "' (", n.op(), "): ", message));
}

// Collects the first text-format parse error with its position.
class FirstErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, int column, const std::string& message) override {
    if (error_.empty()) error_ = absl::StrCat("line ", line + 1, ", column ", column + 1, ": ", message);
  }
  void AddWarning(int, int, const std::string&) override {}
  const std::string& error() const { return error_; }

 private:
  std::string error_;
};

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
    for (Node* c : n->control_inputs()) nd->add_input("^" + c->name());
    if (!n->device().empty()) nd->set_device(n->device());
    for (const auto& [name, value] : n->attrs()) AttrToProto(value, &(*nd->mutable_attr())[name]);
  }
  return def;
}

absl::StatusOr<std::unique_ptr<Graph>> FromGraphDef(const proto::GraphDef& def) {
  if (def.version() > kGraphFormatVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the graph was written in format version ", def.version(), ", newer than this Sluice (",
        kGraphFormatVersion, "); use a newer Sluice to read it"));
  }
  const int count = def.node_size();
  absl::flat_hash_map<std::string, int> index;
  for (int i = 0; i < count; ++i) {
    const proto::NodeDef& n = def.node(i);
    if (n.name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("node #", i, " (", n.op(), ") has no name"));
    }
    if (!index.emplace(n.name(), i).second) {
      return absl::InvalidArgumentError(absl::StrCat("node '", n.name(), "' is defined twice"));
    }
  }
  // Parse every input and count what each node waits for.
  std::vector<std::vector<ParsedInput>> inputs(count);
  std::vector<int> waiting(count, 0);
  std::vector<std::vector<int>> dependents(count);
  for (int i = 0; i < count; ++i) {
    const proto::NodeDef& n = def.node(i);
    bool seen_control = false;
    for (int k = 0; k < n.input_size(); ++k) {
      auto in = ParseInput(n.input(k));
      if (!in.ok()) return NodeError(n, in.status().message());
      if (in->control) {
        seen_control = true;
      } else if (seen_control) {
        return NodeError(n, absl::StrCat("data input '", n.input(k),
                                         "' comes after a control input"));
      }
      auto it = index.find(in->node);
      if (it == index.end()) {
        return NodeError(n, absl::StrCat("input ", k, " names '", in->node,
                                         "', which is not in the graph"));
      }
      ++waiting[i];
      dependents[it->second].push_back(i);
      inputs[i].push_back(*std::move(in));
    }
  }
  auto graph = std::make_unique<Graph>();
  std::vector<Node*> created(count, nullptr);
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < count; ++i) {
    if (waiting[i] == 0) ready.push(i);
  }
  int added = 0;
  while (!ready.empty()) {
    const int i = ready.top();
    ready.pop();
    const proto::NodeDef& n = def.node(i);
    const OpDef* op = OpRegistry::Global().Find(n.op());
    if (op == nullptr) return NodeError(n, absl::StrCat("unknown op '", n.op(), "'"));
    NodeSpec spec;
    spec.name = n.name();
    spec.op = n.op();
    spec.device = n.device();
    for (const ParsedInput& in : inputs[i]) {
      Node* source = created[index.at(in.node)];
      if (in.control) {
        spec.control_inputs.push_back(source);
        continue;
      }
      if (in.index >= source->num_outputs()) {
        return NodeError(n, absl::StrCat("input '", in.node, ":", in.index, "' reads output ",
                                         in.index, " of ", source->DebugName(), ", which has ",
                                         source->num_outputs()));
      }
      spec.inputs.emplace_back(source, in.index);
    }
    // Sorted, so any error about attrs is deterministic.
    std::vector<std::pair<std::string, const proto::AttrValue*>> attrs;
    for (const auto& [name, value] : n.attr()) attrs.emplace_back(name, &value);
    std::sort(attrs.begin(), attrs.end());
    for (const auto& [name, value] : attrs) {
      auto v = AttrFromProto(name, *value, op->FindAttr(name));
      if (!v.ok()) return NodeError(n, v.status().message());
      spec.attrs.emplace(name, *std::move(v));
    }
    auto node = graph->AddNode(std::move(spec));
    if (!node.ok()) {
      return absl::Status(node.status().code(), absl::StrCat("node '", n.name(), "': ",
                                                             node.status().message()));
    }
    created[i] = *node;
    ++added;
    for (int d : dependents[i]) {
      if (--waiting[d] == 0) ready.push(d);
    }
  }
  if (added < count) {
    for (int i = 0; i < count; ++i) {
      if (created[i] == nullptr) {
        return NodeError(def.node(i), "is part of a cycle (its inputs depend on it)");
      }
    }
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
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  if (!def.SerializeToCodedStream(&coded)) return absl::InternalError("cannot serialise the graph");
  coded.Trim();
  return out;
}

absl::StatusOr<std::unique_ptr<Graph>> ParseGraph(absl::string_view bytes, GraphFileFormat format) {
  // Protobuf logs some problems (e.g. invalid UTF-8) to stderr; our caller
  // reports the failure itself, as one line.
  google::protobuf::LogSilencer silence_protobuf;
  proto::GraphDef def;
  if (format == GraphFileFormat::kText) {
    google::protobuf::TextFormat::Parser parser;
    FirstErrorCollector errors;
    parser.RecordErrorsTo(&errors);
    parser.SetRecursionLimit(kMaxRecursion);
    google::protobuf::io::ArrayInputStream input(bytes.data(), static_cast<int>(bytes.size()));
    if (bytes.size() > static_cast<size_t>(kMaxGraphBytes) || !parser.Parse(&input, &def)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "not a valid text GraphDef: ", errors.error().empty() ? "too large" : errors.error()));
    }
  } else {
    if (bytes.size() > static_cast<size_t>(kMaxGraphBytes)) {
      return absl::InvalidArgumentError("not a valid binary GraphDef: larger than 1 GiB");
    }
    google::protobuf::io::CodedInputStream input(reinterpret_cast<const uint8_t*>(bytes.data()),
                                                 static_cast<int>(bytes.size()));
    input.SetRecursionLimit(kMaxRecursion);
    if (!def.ParseFromCodedStream(&input) || !input.ConsumedEntireMessage()) {
      return absl::InvalidArgumentError(
          "not a valid binary GraphDef (truncated or corrupt bytes)");
    }
  }
  return FromGraphDef(def);
}

absl::Status SaveGraph(const Graph& graph, const std::string& path) {
  ASSIGN_OR_RETURN(GraphFileFormat format, GraphFileFormatForPath(path));
  ASSIGN_OR_RETURN(std::string bytes, SerializeGraph(graph, format));
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot write: ", std::strerror(errno)));
  }
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return absl::DataLossError(absl::StrCat(path, ": write failed: ", std::strerror(err)));
    }
    written += static_cast<size_t>(w);
  }
  if (::close(fd) != 0 || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return absl::DataLossError(absl::StrCat(path, ": cannot write: ", std::strerror(err)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Graph>> LoadGraph(const std::string& path) {
  ASSIGN_OR_RETURN(GraphFileFormat format, GraphFileFormatForPath(path));
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a graph file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::PermissionDeniedError(absl::StrCat(path, ": cannot open: ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  auto graph = ParseGraph(contents.str(), format);
  if (!graph.ok()) {
    return absl::Status(graph.status().code(), absl::StrCat(path, ": ", graph.status().message()));
  }
  return graph;
}

}  // namespace sluice
