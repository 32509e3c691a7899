// Scope: where builder calls put their nodes (graph, name scope, device,
// control dependencies), and the first error any of them hit.
//
//   Scope root = Scope::NewRootScope();
//   Scope dense = root.NewSubScope("dense");
//   Output y = MatMul(dense, x, w);        // node "dense/MatMul"
//   ...
//   if (!root.ok()) return root.status();  // the first error, if any
//
// After an error every later builder call does nothing and returns a null
// Output, so a chain of calls is checked once at the end.
#ifndef SLUICE_GRAPH_SCOPE_H_
#define SLUICE_GRAPH_SCOPE_H_

#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "graph/graph.h"

namespace sluice {

class Scope {
 public:
  // A scope over a new, empty graph that the scope (and its copies) own.
  static Scope NewRootScope();
  // A scope over an existing graph owned elsewhere; it must outlive the scope.
  static Scope ForGraph(Graph* graph);

  // A child scope; its name is made unique among the graph's names, like
  // TensorFlow's ("dense", then "dense_1").
  Scope NewSubScope(absl::string_view name) const;
  // The next node built with this scope gets this name (made unique).
  Scope WithOpName(absl::string_view name) const;
  Scope WithDevice(absl::string_view device) const;
  // Nodes built with the returned scope run after `deps` (added to those this
  // scope already has).
  Scope WithControlDependencies(const std::vector<Node*>& deps) const;
  Scope WithControlDependencies(const std::vector<Output>& deps) const;

  Graph* graph() const { return graph_.get(); }
  std::shared_ptr<Graph> graph_as_shared_ptr() const { return graph_; }
  bool ok() const { return graph_->build_status().ok(); }
  absl::Status status() const { return graph_->build_status(); }
  // Records `status` when it is the first error.
  void UpdateStatus(absl::Status status) const { graph_->RecordBuildError(std::move(status)); }

  const std::string& name_scope() const { return name_scope_; }
  const std::string& device() const { return device_; }
  const std::vector<Node*>& control_dependencies() const { return control_deps_; }
  // The name for a node of `op`: the WithOpName name or `op`, inside the name
  // scope, made unique.
  std::string GetUniqueNameForOp(absl::string_view op) const;

 private:
  friend Scope ScopeOf(Output x);
  explicit Scope(std::shared_ptr<Graph> graph) : graph_(std::move(graph)) {}
  std::string Qualify(absl::string_view name) const;

  std::shared_ptr<Graph> graph_;
  std::string name_scope_;
  std::string op_name_;
  std::string device_;
  std::vector<Node*> control_deps_;
};

// Adds a node of `op` as `scope` directs. Returns null, doing nothing, when
// the scope already holds an error or any input is null; on a new error it
// records it in the scope and returns null.
Node* AddOpNode(const Scope& scope, absl::string_view op, const std::vector<Output>& inputs,
                AttrMap attrs = {});
// Output 0 of AddOpNode, or a null Output.
Output AddOp(const Scope& scope, absl::string_view op, const std::vector<Output>& inputs,
             AttrMap attrs = {});
// Every output of AddOpNode (empty on error).
std::vector<Output> AddOpOutputs(const Scope& scope, absl::string_view op,
                                 const std::vector<Output>& inputs, AttrMap attrs = {});
// A scope that builds next to `x` (same graph, `x`'s name scope), used by the
// arithmetic operators, which have no scope argument. Requires a valid x.
Scope ScopeOf(Output x);

}  // namespace sluice

#endif  // SLUICE_GRAPH_SCOPE_H_
