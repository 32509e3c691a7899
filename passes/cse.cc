#include "passes/cse.h"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "graph/status_macros.h"
#include "passes/rewrite_util.h"

namespace sluice {
namespace {

bool IsMergeable(const Node& node) {
  if (node.op_def().is_stateful() || node.num_outputs() == 0) return false;
  const std::string& op = node.op();
  return op != "Placeholder" && op != "PlaceholderWithDefault";
}

size_t HashTensor(const Tensor& t) {
  if (!t.valid()) return 0;
  return absl::HashOf(
      t.dtype(), t.shape().dims(),
      absl::string_view(static_cast<const char*>(t.raw_data()), t.num_bytes()));
}

size_t HashAttr(const AttrValue& value) {
  return std::visit(
      [](const auto& v) -> size_t {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, Tensor>) {
          return HashTensor(v);
        } else if constexpr (std::is_same_v<T, Shape>) {
          return absl::HashOf(v.unknown_rank(), v.dims());
        } else if constexpr (std::is_same_v<T, std::vector<Shape>>) {
          size_t h = v.size();
          for (const Shape& s : v) h = absl::HashOf(h, s.unknown_rank(), s.dims());
          return h;
        } else if constexpr (std::is_same_v<T, float>) {
          // Bitwise, as the equality test compares: 0.0 and -0.0 differ.
          uint32_t bits;
          std::memcpy(&bits, &v, sizeof bits);
          return absl::HashOf(bits);
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          // Equal vectors hash equal; the size is enough to spread buckets.
          return absl::HashOf(v.size());
        } else {
          return absl::HashOf(v);
        }
      },
      value.value());
}

std::vector<Node*> SortedControlInputs(const Node& node) {
  std::vector<Node*> c = node.control_inputs();
  std::sort(c.begin(), c.end(), [](const Node* a, const Node* b) { return a->id() < b->id(); });
  return c;
}

size_t HashNode(const Node& node) {
  size_t h = absl::HashOf(node.op(), node.device(), node.inputs());
  for (const auto& [name, value] : node.attrs()) h = absl::HashOf(h, name, value.type(), HashAttr(value));
  for (const Node* c : SortedControlInputs(node)) h = absl::HashOf(h, c);
  return h;
}

bool SameComputation(const Node& a, const Node& b) {
  return a.op() == b.op() && a.device() == b.device() && a.inputs() == b.inputs() &&
         a.attrs() == b.attrs() && SortedControlInputs(a) == SortedControlInputs(b);
}

// Moves every reader of `from` (data, control and fetches) to `to`, which
// computes the same, and removes `from`.
absl::Status Merge(Graph& graph, PassContext& context, Node* from, Node* to) {
  for (int i = 0; i < from->num_outputs(); ++i) {
    RETURN_IF_ERROR(ReplaceOutput(graph, context, Output(from, i), Output(to, i)));
  }
  const std::vector<Node*> dependents = from->control_outputs();
  for (Node* d : dependents) {
    graph.RemoveControlInput(d, from);
    graph.AddControlInput(d, to);
  }
  return graph.RemoveNode(from);
}

}  // namespace

absl::StatusOr<bool> CsePass::RunImpl(Graph& graph, PassContext& context) {
  // In topological order a node's inputs are already merged when it is
  // visited, so equal chains merge in one run.
  ASSIGN_OR_RETURN(std::vector<Node*> order, graph.TopologicalOrder());
  absl::flat_hash_map<size_t, std::vector<Node*>> seen;
  bool changed = false;
  for (Node* node : order) {
    if (!IsMergeable(*node)) continue;
    std::vector<Node*>& bucket = seen[HashNode(*node)];
    auto same = std::find_if(bucket.begin(), bucket.end(),
                             [&](const Node* n) { return SameComputation(*n, *node); });
    // A target must stay and run; it can still serve as the survivor.
    if (same == bucket.end() || IsTarget(context, node)) {
      bucket.push_back(node);
      continue;
    }
    RETURN_IF_ERROR(Merge(graph, context, node, *same));
    changed = true;
  }
  return changed;
}

}  // namespace sluice
