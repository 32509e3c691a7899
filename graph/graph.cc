#include "graph/graph.h"

#include <algorithm>
#include <cstdlib>
#include <queue>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/shape_inference.h"
#include "graph/status_macros.h"

namespace sluice {

DType Output::dtype() const { return node->output_dtype(index); }
const Shape& Output::shape() const { return node->output_shape(index); }
std::string Output::name() const {
  if (node == nullptr) return "<null>";
  return index == 0 ? node->name() : absl::StrCat(node->name(), ":", index);
}

const AttrValue& Node::attr(absl::string_view name) const {
  auto it = attrs_.find(name);
  if (it == attrs_.end()) std::abort();  // only declared names are asked for
  return it->second;
}

const AttrValue* Node::FindAttr(absl::string_view name) const {
  auto it = attrs_.find(name);
  return it == attrs_.end() ? nullptr : &it->second;
}

std::vector<InputRef> Node::consumers(int index) const {
  std::vector<InputRef> out;
  for (const InputRef& e : out_edges_) {
    if (e.node->input(e.index).index == index) out.push_back(e);
  }
  return out;
}

Graph::Graph() = default;
Graph::~Graph() = default;

namespace {

absl::Status NodeError(const std::string& name, const OpDef& op, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(name, " (", op.name(), "): ", message));
}

std::string AllowedTypesString(const std::vector<DType>& types) {
  return absl::StrJoin(types, ", ", [](std::string* out, DType d) { absl::StrAppend(out, DTypeName(d)); });
}

// Converts values a builder may reasonably pass for the declared kind: an int
// literal for a float attr, or an empty list of another element kind.
bool CoerceAttr(AttrType declared, AttrValue& value) {
  if (value.type() == declared) return true;
  if (declared == AttrType::kFloat && value.type() == AttrType::kInt) {
    value = AttrValue(static_cast<float>(value.i()));
    return true;
  }
  auto empty_list = [&]() {
    return std::visit(
        [](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (requires { v.empty(); } && !std::is_same_v<T, std::string>) {
            return v.empty();
          } else {
            return false;
          }
        },
        value.value());
  };
  if (empty_list()) {
    switch (declared) {
      case AttrType::kIntList: value = AttrValue(std::vector<int64_t>{}); return true;
      case AttrType::kFloatList: value = AttrValue(std::vector<float>{}); return true;
      case AttrType::kBoolList: value = AttrValue(std::vector<bool>{}); return true;
      case AttrType::kStringList: value = AttrValue(std::vector<std::string>{}); return true;
      case AttrType::kTypeList: value = AttrValue(std::vector<DType>{}); return true;
      case AttrType::kShapeList: value = AttrValue(std::vector<Shape>{}); return true;
      default: break;
    }
  }
  if (declared == AttrType::kFloatList && value.type() == AttrType::kIntList) {
    std::vector<float> v(value.ints().begin(), value.ints().end());
    value = AttrValue(std::move(v));
    return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<Node*> Graph::AddNode(NodeSpec spec) {
  if (spec.name.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("a node of op ", spec.op, " has an empty name"));
  }
  if (names_.contains(spec.name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("duplicate node name '", spec.name, "' (op ", spec.op, ")"));
  }
  const OpDef* op = OpRegistry::Global().Find(spec.op);
  if (op == nullptr) {
    return absl::NotFoundError(absl::StrCat(spec.name, ": unknown op '", spec.op, "'"));
  }
  auto error = [&](auto&&... parts) { return NodeError(spec.name, *op, absl::StrCat(parts...)); };

  // Inputs must be live outputs of this graph.
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const Output& in = spec.inputs[i];
    if (in.node == nullptr) return error("input ", i, " is null");
    if (in.node->graph_ != this || in.node->id_ < 0 || in.node->id_ >= id_bound() ||
        nodes_[in.node->id_].get() != in.node) {
      return error("input ", i, " (", in.node->name(), ") is not a node of this graph");
    }
    if (in.index < 0 || in.index >= in.node->num_outputs()) {
      return error("input ", i, " reads output ", in.index, " of ", in.node->DebugName(),
                   ", which has ", in.node->num_outputs(), " outputs");
    }
  }
  for (Node* c : spec.control_inputs) {
    if (c == nullptr || c->graph_ != this || nodes_[c->id_].get() != c) {
      return error("a control input is not a node of this graph");
    }
  }

  AttrMap attrs = std::move(spec.attrs);
  for (const auto& [name, value] : attrs) {
    if (op->FindAttr(name) == nullptr) return error("unknown attr '", name, "'");
  }

  // Match inputs to the declared args; a list arg without its count attr takes
  // whatever the other args leave.
  int fixed_inputs = 0;
  int list_args = 0;
  for (const ArgDef& arg : op->inputs()) {
    if (arg.number_attr.empty()) {
      ++fixed_inputs;
    } else if (!attrs.contains(arg.number_attr)) {
      ++list_args;
    } else if (attrs.at(arg.number_attr).type() == AttrType::kInt) {
      fixed_inputs += static_cast<int>(attrs.at(arg.number_attr).i());
    }
  }
  const int num_inputs = static_cast<int>(spec.inputs.size());
  if (list_args == 1 && num_inputs >= fixed_inputs) {
    for (const ArgDef& arg : op->inputs()) {
      if (!arg.number_attr.empty() && !attrs.contains(arg.number_attr)) {
        attrs[arg.number_attr] = AttrValue(int64_t{num_inputs - fixed_inputs});
      }
    }
  } else if (list_args > 1 || num_inputs != fixed_inputs) {
    return error("expects ", fixed_inputs, " inputs, got ", num_inputs);
  }

  // Resolve type attrs from the inputs and check every input's dtype.
  int input_index = 0;
  for (const ArgDef& arg : op->inputs()) {
    const int count = arg.number_attr.empty() ? 1 : static_cast<int>(attrs.at(arg.number_attr).i());
    for (int k = 0; k < count; ++k, ++input_index) {
      const DType actual = spec.inputs[input_index].dtype();
      DType expected = arg.fixed_type;
      std::string source = "";
      if (!arg.type_attr.empty()) {
        auto it = attrs.find(arg.type_attr);
        if (it == attrs.end()) {
          attrs[arg.type_attr] = AttrValue(actual);
          continue;
        }
        if (it->second.type() != AttrType::kType) {
          return error("attr '", arg.type_attr, "' must be type, got ",
                       AttrTypeName(it->second.type()));
        }
        expected = it->second.dtype();
        source = absl::StrCat(" (attr ", arg.type_attr, ")");
      }
      if (actual != expected) {
        return error("input ", input_index, " (", arg.name, ") is ", DTypeName(actual),
                     " but should be ", DTypeName(expected), source);
      }
    }
  }

  // Defaults, kinds and allowed values.
  for (const AttrDef& def : op->attrs()) {
    auto it = attrs.find(def.name);
    if (it == attrs.end()) {
      if (!def.default_value.has_value()) return error("missing required attr '", def.name, "'");
      attrs.emplace(def.name, *def.default_value);
      continue;
    }
    AttrValue& value = it->second;
    if (!CoerceAttr(def.type, value)) {
      return error("attr '", def.name, "' must be ", AttrTypeName(def.type), ", got ",
                   AttrTypeName(value.type()));
    }
    if (def.type == AttrType::kType && !def.allowed_types.empty() &&
        std::find(def.allowed_types.begin(), def.allowed_types.end(), value.dtype()) ==
            def.allowed_types.end()) {
      return error("attr '", def.name, "' = ", DTypeName(value.dtype()),
                   " is not allowed; allowed: ", AllowedTypesString(def.allowed_types));
    }
    if (def.type == AttrType::kString && !def.allowed_strings.empty() &&
        std::find(def.allowed_strings.begin(), def.allowed_strings.end(), value.s()) ==
            def.allowed_strings.end()) {
      return error("attr '", def.name, "' = \"", value.s(), "\" is not one of '",
                   absl::StrJoin(def.allowed_strings, "', '"), "'");
    }
    if (def.type == AttrType::kInt && def.minimum.has_value() && value.i() < *def.minimum) {
      return error("attr '", def.name, "' = ", value.i(), " is below its minimum ", *def.minimum);
    }
  }

  auto node = std::unique_ptr<Node>(new Node);
  node->name_ = std::move(spec.name);
  node->op_def_ = op;
  node->graph_ = this;
  node->inputs_ = std::move(spec.inputs);
  node->attrs_ = std::move(attrs);
  node->device_ = std::move(spec.device);
  for (Node* c : spec.control_inputs) {
    if (std::find(node->control_inputs_.begin(), node->control_inputs_.end(), c) ==
        node->control_inputs_.end()) {
      node->control_inputs_.push_back(c);
    }
  }
  for (const ArgDef& arg : op->outputs()) {
    const int count = arg.number_attr.empty() ? 1 : static_cast<int>(node->attr(arg.number_attr).i());
    const DType dtype = arg.type_attr.empty() ? arg.fixed_type : node->attr(arg.type_attr).dtype();
    for (int k = 0; k < count; ++k) node->output_dtypes_.push_back(dtype);
  }
  RETURN_IF_ERROR(RunShapeFn(node.get()));

  Node* n = node.get();
  n->id_ = id_bound();
  nodes_.push_back(std::move(node));
  ++num_live_;
  names_[n->name_] = n;
  next_suffix_.try_emplace(n->name_, 1);
  for (int i = 0; i < n->num_inputs(); ++i) n->inputs_[i].node->out_edges_.push_back({n, i});
  for (Node* c : n->control_inputs_) c->control_outputs_.push_back(n);
  return n;
}

absl::Status Graph::RunShapeFn(Node* node) {
  std::vector<DType> in_dtypes;
  std::vector<Shape> in_shapes;
  std::vector<const Tensor*> in_values;
  std::vector<const OpDef*> in_ops;
  for (const Output& in : node->inputs_) {
    in_dtypes.push_back(in.dtype());
    in_shapes.push_back(in.shape());
    in_values.push_back(in.node->output_value(in.index));
    in_ops.push_back(in.node->op_def_);
  }
  InferenceContext context(*node->op_def_, node->attrs_, std::move(in_dtypes),
                           std::move(in_shapes), std::move(in_values), std::move(in_ops),
                           node->output_dtypes_);
  absl::Status status = node->op_def_->shape_fn()(context);
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat(node->DebugName(), ": ", status.message()));
  }
  node->output_shapes_.clear();
  node->output_values_.clear();
  for (int i = 0; i < context.num_outputs(); ++i) {
    node->output_shapes_.push_back(context.output_shape(i));
    node->output_values_.push_back(context.output_value(i));
  }
  return absl::OkStatus();
}

absl::Status Graph::InferShapes(Node* node) { return RunShapeFn(node); }

Node* Graph::FindNode(absl::string_view name) const {
  auto it = names_.find(name);
  return it == names_.end() ? nullptr : it->second;
}

std::string Graph::UniqueName(absl::string_view base) {
  auto [it, inserted] = next_suffix_.try_emplace(base, 1);
  if (inserted) return std::string(base);
  int k = it->second;
  std::string candidate;
  do {
    candidate = absl::StrCat(base, "_", k++);
  } while (next_suffix_.contains(candidate));
  next_suffix_[base] = k;
  next_suffix_.emplace(candidate, 1);
  return candidate;
}

std::vector<Node*> Graph::nodes() const {
  std::vector<Node*> out;
  out.reserve(num_live_);
  for (const auto& n : nodes_) {
    if (n) out.push_back(n.get());
  }
  return out;
}

absl::StatusOr<std::vector<Node*>> Graph::TopologicalOrder() const {
  std::vector<int> pending(nodes_.size(), 0);
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (const auto& n : nodes_) {
    if (!n) continue;
    pending[n->id_] = n->num_inputs() + static_cast<int>(n->control_inputs_.size());
    if (pending[n->id_] == 0) ready.push(n->id_);
  }
  std::vector<Node*> order;
  order.reserve(num_live_);
  while (!ready.empty()) {
    Node* n = nodes_[ready.top()].get();
    ready.pop();
    order.push_back(n);
    for (const InputRef& e : n->out_edges_) {
      if (--pending[e.node->id_] == 0) ready.push(e.node->id_);
    }
    for (Node* c : n->control_outputs_) {
      if (--pending[c->id_] == 0) ready.push(c->id_);
    }
  }
  if (static_cast<int>(order.size()) == num_live_) return order;
  // Walk back through unfinished inputs from any unfinished node; the first
  // node seen twice lies on a cycle.
  Node* start = nullptr;
  for (const auto& n : nodes_) {
    if (n && pending[n->id_] > 0) {
      start = n.get();
      break;
    }
  }
  std::vector<bool> seen(nodes_.size(), false);
  Node* cur = start;
  while (!seen[cur->id_]) {
    seen[cur->id_] = true;
    Node* next = nullptr;
    for (const Output& in : cur->inputs_) {
      if (pending[in.node->id_] > 0) next = in.node;
    }
    for (Node* c : cur->control_inputs_) {
      if (next == nullptr && pending[c->id_] > 0) next = c;
    }
    if (next == nullptr) break;
    cur = next;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("the graph has a cycle through node ", cur->DebugName()));
}

absl::Status Graph::RemoveNode(Node* node) {
  if (!node->out_edges_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot remove ", node->DebugName(), ": ",
                     node->out_edges_.front().node->name(), " reads it"));
  }
  if (!node->control_outputs_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot remove ", node->DebugName(), ": ",
                     node->control_outputs_.front()->name(), " has it as a control input"));
  }
  for (int i = 0; i < node->num_inputs(); ++i) {
    auto& edges = node->inputs_[i].node->out_edges_;
    edges.erase(std::find(edges.begin(), edges.end(), InputRef{node, i}));
  }
  for (Node* c : node->control_inputs_) {
    auto& outs = c->control_outputs_;
    outs.erase(std::find(outs.begin(), outs.end(), node));
  }
  names_.erase(node->name_);
  --num_live_;
  nodes_[node->id_].reset();
  return absl::OkStatus();
}

absl::Status Graph::UpdateInput(Node* node, int index, Output source) {
  if (index < 0 || index >= node->num_inputs()) {
    return absl::InvalidArgumentError(
        absl::StrCat(node->DebugName(), " has no input ", index));
  }
  if (source.node == nullptr || source.node->graph_ != this ||
      nodes_[source.node->id_].get() != source.node || source.index < 0 ||
      source.index >= source.node->num_outputs()) {
    return absl::InvalidArgumentError(
        absl::StrCat(node->DebugName(), ": new input ", index, " is not an output of this graph"));
  }
  const Output old = node->inputs_[index];
  if (source.dtype() != old.dtype()) {
    return absl::InvalidArgumentError(absl::StrCat(
        node->DebugName(), ": input ", index, " is ", DTypeName(old.dtype()), ", cannot read ",
        source.name(), " of dtype ", DTypeName(source.dtype())));
  }
  auto rewire = [&](Output from, Output to) {
    auto& edges = from.node->out_edges_;
    edges.erase(std::find(edges.begin(), edges.end(), InputRef{node, index}));
    node->inputs_[index] = to;
    to.node->out_edges_.push_back({node, index});
  };
  rewire(old, source);
  absl::Status status = RunShapeFn(node);
  if (!status.ok()) {
    rewire(source, old);
    RunShapeFn(node).IgnoreError();
  }
  return status;
}

absl::Status Graph::ReplaceAllUsesWith(Output from, Output to) {
  if (from.dtype() != to.dtype()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot replace ", from.name(), " (",
                                                   DTypeName(from.dtype()), ") with ", to.name(),
                                                   " (", DTypeName(to.dtype()), ")"));
  }
  for (const InputRef& use : from.node->consumers(from.index)) {
    if (use.node == to.node) continue;  // `to` may itself read `from`
    RETURN_IF_ERROR(UpdateInput(use.node, use.index, to));
  }
  return absl::OkStatus();
}

void Graph::AddControlInput(Node* node, Node* dependency) {
  auto& deps = node->control_inputs_;
  if (std::find(deps.begin(), deps.end(), dependency) != deps.end()) return;
  deps.push_back(dependency);
  dependency->control_outputs_.push_back(node);
}

void Graph::RemoveControlInput(Node* node, Node* dependency) {
  auto& deps = node->control_inputs_;
  auto it = std::find(deps.begin(), deps.end(), dependency);
  if (it == deps.end()) return;
  deps.erase(it);
  auto& outs = dependency->control_outputs_;
  outs.erase(std::find(outs.begin(), outs.end(), node));
}

std::unique_ptr<Graph> Graph::Clone() const {
  auto g = std::make_unique<Graph>();
  std::vector<Node*> map(nodes_.size(), nullptr);
  for (const auto& n : nodes_) {
    if (!n) continue;
    auto copy = std::unique_ptr<Node>(new Node);
    copy->id_ = g->id_bound();
    copy->name_ = n->name_;
    copy->op_def_ = n->op_def_;
    copy->graph_ = g.get();
    copy->attrs_ = n->attrs_;
    copy->device_ = n->device_;
    copy->output_dtypes_ = n->output_dtypes_;
    copy->output_shapes_ = n->output_shapes_;
    copy->output_values_ = n->output_values_;
    map[n->id_] = copy.get();
    g->names_[copy->name_] = copy.get();
    g->nodes_.push_back(std::move(copy));
  }
  for (const auto& n : nodes_) {
    if (!n) continue;
    Node* copy = map[n->id_];
    for (const Output& in : n->inputs_) copy->inputs_.emplace_back(map[in.node->id_], in.index);
    for (Node* c : n->control_inputs_) copy->control_inputs_.push_back(map[c->id_]);
    for (const InputRef& e : n->out_edges_) copy->out_edges_.push_back({map[e.node->id_], e.index});
    for (Node* c : n->control_outputs_) copy->control_outputs_.push_back(map[c->id_]);
  }
  g->num_live_ = num_live_;
  g->next_suffix_ = next_suffix_;
  g->build_status_ = build_status_;
  return g;
}

}  // namespace sluice
