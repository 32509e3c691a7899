#include "graph/scope.h"

#include "absl/strings/str_cat.h"

namespace sluice {

Scope Scope::NewRootScope() { return Scope(std::make_shared<Graph>()); }

Scope Scope::ForGraph(Graph* graph) {
  // Aliasing constructor: shares no ownership, so the graph is not deleted.
  return Scope(std::shared_ptr<Graph>(std::shared_ptr<Graph>(), graph));
}

std::string Scope::Qualify(absl::string_view name) const {
  return name_scope_.empty() ? std::string(name) : absl::StrCat(name_scope_, "/", name);
}

Scope Scope::NewSubScope(absl::string_view name) const {
  Scope s = *this;
  s.op_name_.clear();
  if (name.empty()) return s;
  s.name_scope_ = graph_->UniqueName(Qualify(name));
  return s;
}

Scope Scope::WithOpName(absl::string_view name) const {
  Scope s = *this;
  s.op_name_ = std::string(name);
  return s;
}

Scope Scope::WithDevice(absl::string_view device) const {
  Scope s = *this;
  s.device_ = std::string(device);
  return s;
}

Scope Scope::WithControlDependencies(const std::vector<Node*>& deps) const {
  Scope s = *this;
  for (Node* d : deps) {
    if (d != nullptr) s.control_deps_.push_back(d);
  }
  return s;
}

Scope Scope::WithControlDependencies(const std::vector<Output>& deps) const {
  std::vector<Node*> nodes;
  for (const Output& d : deps) nodes.push_back(d.node);
  return WithControlDependencies(nodes);
}

std::string Scope::GetUniqueNameForOp(absl::string_view op) const {
  return graph_->UniqueName(Qualify(op_name_.empty() ? op : absl::string_view(op_name_)));
}

Node* AddOpNode(const Scope& scope, absl::string_view op, const std::vector<Output>& inputs,
                AttrMap attrs) {
  if (!scope.ok()) return nullptr;
  for (const Output& in : inputs) {
    if (!in.valid()) return nullptr;  // an earlier builder call failed
  }
  NodeSpec spec;
  spec.name = scope.GetUniqueNameForOp(op);
  spec.op = std::string(op);
  spec.inputs = inputs;
  spec.control_inputs = scope.control_dependencies();
  spec.attrs = std::move(attrs);
  spec.device = scope.device();
  auto node = scope.graph()->AddNode(std::move(spec));
  if (!node.ok()) {
    scope.UpdateStatus(node.status());
    return nullptr;
  }
  return *node;
}

Output AddOp(const Scope& scope, absl::string_view op, const std::vector<Output>& inputs,
             AttrMap attrs) {
  Node* n = AddOpNode(scope, op, inputs, std::move(attrs));
  if (n == nullptr || n->num_outputs() == 0) return Output();
  return Output(n, 0);
}

std::vector<Output> AddOpOutputs(const Scope& scope, absl::string_view op,
                                 const std::vector<Output>& inputs, AttrMap attrs) {
  Node* n = AddOpNode(scope, op, inputs, std::move(attrs));
  std::vector<Output> out;
  if (n == nullptr) return out;
  for (int i = 0; i < n->num_outputs(); ++i) out.emplace_back(n, i);
  return out;
}

Scope ScopeOf(Output x) {
  Scope s = Scope::ForGraph(x.node->graph());
  const std::string& name = x.node->name();
  const size_t slash = name.rfind('/');
  if (slash != std::string::npos) s.name_scope_ = name.substr(0, slash);
  return s;
}

}  // namespace sluice
