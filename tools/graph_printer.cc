#include "tools/graph_printer.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace sluice {
namespace {

// Entries longer than these do not widen their column (they overflow it), so
// one long name or input list does not push every other line to the right.
constexpr size_t kMaxNameColumn = 40;
constexpr size_t kMaxCallColumn = 48;
constexpr size_t kMaxTypeColumn = 32;

// Tensors up to this many elements print every value.
constexpr int64_t kMaxFullTensor = 8;
// Larger ones show this many values from each end of the flattened data.
constexpr int kTensorPreview = 6;

std::string TypeString(DType dtype, const Shape& shape) {
  return absl::StrCat(DTypeName(dtype), shape.ToString());
}

bool AllElementsEqual(const Tensor& t) {
  const size_t size = DTypeSize(t.dtype());
  const char* bytes = static_cast<const char*>(t.raw_data());
  for (int64_t i = 1; i < t.num_elements(); ++i) {
    if (std::memcmp(bytes, bytes + i * size, size) != 0) return false;
  }
  return true;
}

// The values of a tensor without its dtype and shape (which the node's output
// type already shows): `3`, `[1, 2, 3]`, `fill(0)` when every element of a
// large tensor is the same, else `[1, 2, 3, ..., 7, 8, 9]` over the flattened
// data.
std::string CompactValues(const Tensor& t) {
  if (!t.valid()) return "<invalid>";
  if (t.num_elements() <= kMaxFullTensor) return t.ValuesString(kMaxFullTensor);
  if (AllElementsEqual(t)) {
    Tensor first(t.dtype(), Shape{});
    std::memcpy(first.raw_data(), t.raw_data(), DTypeSize(t.dtype()));
    return absl::StrCat("fill(", first.ValuesString(), ")");
  }
  auto flat = t.Reshaped(Shape{t.num_elements()});
  if (!flat.ok()) return t.ValuesString(kTensorPreview);
  return flat->ValuesString(kTensorPreview);
}

std::string AttrString(const AttrValue& value) {
  if (value.type() == AttrType::kTensor) {
    const Tensor& t = value.tensor();
    if (!t.valid()) return "<invalid>";
    return absl::StrCat(TypeString(t.dtype(), t.shape()), " ", CompactValues(t));
  }
  return value.ToString();
}

// `Op(in0, in1:1, ^ctrl)`.
std::string CallString(const Node& node) {
  std::vector<std::string> args;
  for (const Output& input : node.inputs()) args.push_back(input.name());
  for (const Node* dep : node.control_inputs()) args.push_back("^" + dep->name());
  return absl::StrCat(node.op(), "(", absl::StrJoin(args, ", "), ")");
}

// `f32[?,256]`, `f32[2], i32[2]`, or `()` for a node with no outputs.
std::string OutputTypesString(const Node& node) {
  if (node.num_outputs() == 0) return "()";
  std::vector<std::string> types;
  for (int i = 0; i < node.num_outputs(); ++i) {
    types.push_back(TypeString(node.output_dtype(i), node.output_shape(i)));
  }
  return absl::StrJoin(types, ", ");
}

// `{a=1, value=[1, 2]}`, or empty when the node has no attributes. A Const's
// value drops its dtype and shape, which its output type already shows.
std::string AttrsString(const Node& node) {
  if (node.attrs().empty()) return "";
  const bool is_const = node.op() == "Const";
  std::vector<std::string> parts;
  for (const auto& [name, value] : node.attrs()) {
    const bool compact = is_const && name == "value" && value.type() == AttrType::kTensor;
    parts.push_back(
        absl::StrCat(name, "=", compact ? CompactValues(value.tensor()) : AttrString(value)));
  }
  return absl::StrCat("{", absl::StrJoin(parts, ", "), "}");
}

void WidenColumn(size_t entry_size, size_t max_width, size_t* width) {
  if (entry_size <= max_width) *width = std::max(*width, entry_size);
}

void AppendPadded(absl::string_view text, size_t width, std::string* out) {
  absl::StrAppend(out, text);
  if (text.size() < width) out->append(width - text.size(), ' ');
}

// 1234567 -> "1,234,567".
std::string WithThousands(int64_t n) {
  std::string digits = absl::StrCat(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return n < 0 ? "-" + out : out;
}

// "803,840 bytes, 785.0 KiB".
std::string BytesString(int64_t bytes) {
  std::string out = absl::StrCat(WithThousands(bytes), bytes == 1 ? " byte" : " bytes");
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double scaled = static_cast<double>(bytes);
  int unit = -1;
  while (scaled >= 1024 && unit + 1 < 4) {
    scaled /= 1024;
    ++unit;
  }
  if (unit >= 0) absl::StrAppend(&out, ", ", absl::StrFormat("%.1f %s", scaled, kUnits[unit]));
  return out;
}

std::string Plural(int64_t n, absl::string_view singular, absl::string_view plural) {
  return absl::StrCat(WithThousands(n), " ", n == 1 ? singular : plural);
}

void AppendSummary(const Graph& graph, const std::vector<Node*>& nodes, std::string* out) {
  std::map<std::string, int64_t> op_counts;
  for (const Node* node : nodes) ++op_counts[node->op()];
  size_t op_width = 0;
  size_t count_width = 0;
  for (const auto& [op, count] : op_counts) {
    op_width = std::max(op_width, op.size() + 1);
    count_width = std::max(count_width, absl::StrCat(count).size());
  }
  absl::StrAppend(out, "nodes: ", nodes.size(), "\n");
  for (const auto& [op, count] : op_counts) {
    out->append("  ");
    AppendPadded(op + ":", op_width, out);
    absl::StrAppend(out, absl::StrFormat(" %*d\n", static_cast<int>(count_width), count));
  }

  const ParameterCount params = CountParameters(graph);
  if (params.variables == 0 && params.variables_of_unknown_size == 0) {
    out->append("parameters: 0 (no variables)\n");
    return;
  }
  absl::StrAppend(out, "parameters: ", WithThousands(params.parameters), " in ",
                  Plural(params.variables, "variable", "variables"), " (",
                  BytesString(params.bytes), ")");
  if (params.variables_of_unknown_size > 0) {
    absl::StrAppend(out, ", plus ",
                    Plural(params.variables_of_unknown_size, "variable", "variables"),
                    " of unknown shape");
  }
  out->append("\n");
}

// Escapes text for a double-quoted DOT string.
std::string DotQuoted(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        break;
      default:
        out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

absl::string_view DotShapeForOp(absl::string_view op) {
  if (op == "Placeholder" || op == "PlaceholderWithDefault") return "ellipse";
  if (op == "Variable") return "cylinder";
  if (op == "Const") return "plaintext";
  return "";
}

}  // namespace

ParameterCount CountParameters(const Graph& graph) {
  ParameterCount count;
  for (const Node* node : graph.nodes()) {
    if (node->op() != "Variable") continue;
    const AttrValue* shape_attr = node->FindAttr("shape");
    const AttrValue* dtype_attr = node->FindAttr("dtype");
    const Shape& shape = shape_attr != nullptr && shape_attr->type() == AttrType::kShape
                             ? shape_attr->shape()
                             : node->output_shape(0);
    const DType dtype = dtype_attr != nullptr && dtype_attr->type() == AttrType::kType
                            ? dtype_attr->dtype()
                            : node->output_dtype(0);
    auto elements = shape.CheckedNumElements();
    if (!elements.ok()) {
      ++count.variables_of_unknown_size;
      continue;
    }
    ++count.variables;
    count.parameters += *elements;
    count.bytes += *elements * DTypeSize(dtype);
  }
  return count;
}

std::string FormatGraphText(const Graph& graph) {
  std::string out;
  std::vector<Node*> nodes;
  if (auto order = graph.TopologicalOrder(); order.ok()) {
    nodes = *std::move(order);
  } else {
    absl::StrAppend(&out, "# not a DAG, nodes in id order: ", order.status().message(), "\n");
    nodes = graph.nodes();
  }

  struct Line {
    const Node* node;
    std::string call;
    std::string types;
    std::string attrs;
  };
  std::vector<Line> lines;
  lines.reserve(nodes.size());
  size_t name_width = 0;
  size_t call_width = 0;
  size_t type_width = 0;
  for (const Node* node : nodes) {
    Line line{node, CallString(*node), OutputTypesString(*node), AttrsString(*node)};
    WidenColumn(node->name().size(), kMaxNameColumn, &name_width);
    WidenColumn(line.call.size(), kMaxCallColumn, &call_width);
    WidenColumn(line.types.size(), kMaxTypeColumn, &type_width);
    lines.push_back(std::move(line));
  }

  for (const Line& line : lines) {
    AppendPadded(line.node->name(), name_width, &out);
    out.append(" = ");
    AppendPadded(line.call, call_width, &out);
    out.append(" : ");
    const std::string& device = line.node->device();
    if (line.attrs.empty() && device.empty()) {
      out.append(line.types);  // no padding at the end of a line
    } else {
      AppendPadded(line.types, type_width, &out);
    }
    if (!line.attrs.empty()) absl::StrAppend(&out, "  ", line.attrs);
    if (!device.empty()) absl::StrAppend(&out, "  device=", device);
    out.append("\n");
  }
  if (!lines.empty()) out.append("\n");
  AppendSummary(graph, nodes, &out);
  return out;
}

std::string FormatGraphDot(const Graph& graph) {
  std::string out =
      "digraph sluice {\n"
      "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n"
      "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  const std::vector<Node*> nodes = graph.nodes();
  for (const Node* node : nodes) {
    absl::StrAppend(&out, "  ", DotQuoted(node->name()),
                    " [label=", DotQuoted(absl::StrCat(node->name(), "\n", node->op())));
    if (absl::string_view shape = DotShapeForOp(node->op()); !shape.empty()) {
      absl::StrAppend(&out, ", shape=", shape);
    }
    if (!node->device().empty()) {
      absl::StrAppend(&out, ", tooltip=", DotQuoted(node->device()));
    }
    out.append("];\n");
  }
  for (const Node* node : nodes) {
    const std::string target = DotQuoted(node->name());
    for (const Output& input : node->inputs()) {
      std::string label = TypeString(input.dtype(), input.shape());
      if (input.index != 0) label = absl::StrCat(":", input.index, " ", label);
      absl::StrAppend(&out, "  ", DotQuoted(input.node->name()), " -> ", target,
                      " [label=", DotQuoted(label), "];\n");
    }
    for (const Node* dep : node->control_inputs()) {
      absl::StrAppend(&out, "  ", DotQuoted(dep->name()), " -> ", target, " [style=dashed];\n");
    }
  }
  out.append("}\n");
  return out;
}

}  // namespace sluice
