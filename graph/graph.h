// The graph IR: nodes, their inputs and outputs, and the edits passes make.
#ifndef SLUICE_GRAPH_GRAPH_H_
#define SLUICE_GRAPH_GRAPH_H_

#include <cstdint>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/attr_value.h"
#include "graph/op_def.h"
#include "graph/shape.h"

namespace sluice {

class Graph;
class Node;

// One output of a node. A null Output (node == nullptr) stands for "none",
// e.g. after a builder error.
struct Output {
  Node* node = nullptr;
  int index = 0;

  Output() = default;
  explicit Output(Node* n, int i = 0) : node(n), index(i) {}

  bool valid() const { return node != nullptr; }
  DType dtype() const;
  const Shape& shape() const;
  // "name" for output 0, "name:i" otherwise.
  std::string name() const;

  bool operator==(const Output& o) const { return node == o.node && index == o.index; }
  bool operator!=(const Output& o) const { return !(*this == o); }
  template <typename H>
  friend H AbslHashValue(H h, const Output& o) {
    return H::combine(std::move(h), o.node, o.index);
  }
};

// A use of an output: input `index` of node `node`.
struct InputRef {
  Node* node = nullptr;
  int index = 0;
  bool operator==(const InputRef& o) const { return node == o.node && index == o.index; }
};

class Node {
 public:
  int id() const { return id_; }
  const std::string& name() const { return name_; }
  const std::string& op() const { return op_def_->name(); }
  const OpDef& op_def() const { return *op_def_; }
  Graph* graph() const { return graph_; }

  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  Output input(int i) const { return inputs_[i]; }
  const std::vector<Output>& inputs() const { return inputs_; }
  const std::vector<Node*>& control_inputs() const { return control_inputs_; }

  int num_outputs() const { return static_cast<int>(output_dtypes_.size()); }
  DType output_dtype(int i) const { return output_dtypes_[i]; }
  const Shape& output_shape(int i) const { return output_shapes_[i]; }
  // The value of output i when it is known while building; null otherwise.
  const Tensor* output_value(int i) const {
    return output_values_[i].valid() ? &output_values_[i] : nullptr;
  }

  const AttrMap& attrs() const { return attrs_; }
  // The attribute named `name`; every attribute the OpDef declares is present
  // on a node in a graph, so this is valid for declared names.
  const AttrValue& attr(absl::string_view name) const;
  const AttrValue* FindAttr(absl::string_view name) const;

  const std::string& device() const { return device_; }
  void set_device(std::string device) { device_ = std::move(device); }

  // Every (consumer, input index) that reads an output of this node.
  const std::vector<InputRef>& out_edges() const { return out_edges_; }
  // The consumers of output `index` only.
  std::vector<InputRef> consumers(int index) const;
  // Nodes that list this one as a control input.
  const std::vector<Node*>& control_outputs() const { return control_outputs_; }

  // `name (Op)`, the prefix of every message about this node.
  std::string DebugName() const { return name_ + " (" + op() + ")"; }

 private:
  friend class Graph;
  Node() = default;

  int id_ = -1;
  std::string name_;
  const OpDef* op_def_ = nullptr;
  Graph* graph_ = nullptr;
  std::vector<Output> inputs_;
  std::vector<Node*> control_inputs_;
  AttrMap attrs_;
  std::string device_;
  std::vector<DType> output_dtypes_;
  std::vector<Shape> output_shapes_;
  std::vector<Tensor> output_values_;
  std::vector<InputRef> out_edges_;
  std::vector<Node*> control_outputs_;
};

// What AddNode needs to create a node.
struct NodeSpec {
  std::string name;
  std::string op;
  std::vector<Output> inputs;
  std::vector<Node*> control_inputs;
  AttrMap attrs;
  std::string device;
};

class Graph {
 public:
  Graph();
  ~Graph();
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Adds a node after validating it against its OpDef: the op exists; the
  // inputs are valid outputs of this graph and their count matches the
  // signature; type attrs missing from `spec.attrs` are inferred from the
  // inputs; other missing attrs take their defaults; no unknown attrs; every
  // attr has its declared kind and an allowed value; input dtypes match; the
  // shape function accepts the inputs. The name must be non-empty and unused.
  // Errors name the node and the op: `dense/MatMul (MatMul): ...`.
  absl::StatusOr<Node*> AddNode(NodeSpec spec);

  // Null when no live node has that name.
  Node* FindNode(absl::string_view name) const;
  // `base` when unused, else the first free `base_1`, `base_2`, ...
  std::string UniqueName(absl::string_view base);

  // Live nodes, in id order (ids are assigned in creation order).
  std::vector<Node*> nodes() const;
  int num_nodes() const { return num_live_; }
  // One past the largest id ever assigned; ids of removed nodes are not reused.
  int id_bound() const { return static_cast<int>(nodes_.size()); }
  // The node with this id, or null when it was removed.
  Node* node(int id) const { return nodes_[id].get(); }

  // Every live node in an order where each node follows its data and control
  // inputs. Ties go to the smaller id, so the order is deterministic. A cycle
  // is an error naming a node on it.
  absl::StatusOr<std::vector<Node*>> TopologicalOrder() const;

  // Removes a node that nothing reads (data or control); otherwise an error
  // naming a consumer.
  absl::Status RemoveNode(Node* node);
  // Makes input `index` of `node` read `source`; the dtype must stay the same.
  // The node's output shapes are inferred again.
  absl::Status UpdateInput(Node* node, int index, Output source);
  // Makes every reader of `from` read `to` instead (same dtype required).
  absl::Status ReplaceAllUsesWith(Output from, Output to);
  void AddControlInput(Node* node, Node* dependency);
  void RemoveControlInput(Node* node, Node* dependency);
  // Runs the node's shape function again with its current inputs.
  absl::Status InferShapes(Node* node);

  // A deep copy: same names, ops, attrs, devices and edges; ids are compacted
  // in id order.
  std::unique_ptr<Graph> Clone() const;

  // The first error recorded by builder calls on this graph (see Scope).
  const absl::Status& build_status() const { return build_status_; }
  void RecordBuildError(absl::Status status) {
    if (build_status_.ok()) build_status_ = std::move(status);
  }

 private:
  absl::Status RunShapeFn(Node* node);

  std::vector<std::unique_ptr<Node>> nodes_;
  absl::flat_hash_map<std::string, Node*> names_;
  absl::flat_hash_map<std::string, int> next_suffix_;
  int num_live_ = 0;
  absl::Status build_status_;
};

}  // namespace sluice

#endif  // SLUICE_GRAPH_GRAPH_H_
