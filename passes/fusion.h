// Operator fusion: rewrites chains of ops into the fused ops of
// graph/ops/fused.h, so that intermediate results are never written to
// memory and fewer kernels run.
//
// A fusion is a rule (FusionRule): the op types a match starts from, a cheap
// match that only looks at the neighbourhood of one node, and an apply that
// rewrites the matched nodes. One driver (FusionPass) walks the graph in
// topological order for all rules of a phase; phases run in order, so that
// a rule of a later phase sees what an earlier one produced (batch norm is
// folded into a convolution before the convolution's epilogue is fused, and
// epilogues take their activations before element-wise chains can). Before
// the phases, what no fetch or target needs is removed (when the context
// names any), so that an unread branch does not count as a consumer.
//
// Every rule keeps results identical within float rounding, and fires only
// where no intermediate result is needed elsewhere: each intermediate has
// exactly one consumer, no control edges, and is not a fetch or target.
#ifndef SLUICE_PASSES_FUSION_H_
#define SLUICE_PASSES_FUSION_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "passes/pass.h"

namespace sluice {

// The nodes a rule matched, from the node it started at to the one whose
// output 0 replaces the pattern's result.
struct FusionMatch {
  std::vector<Node*> nodes;
};

class FusionRule {
 public:
  virtual ~FusionRule() = default;
  // For messages and statistics, e.g. "matmul-epilogue".
  virtual absl::string_view name() const = 0;
  // The ops a match may start from.
  virtual std::vector<std::string> start_ops() const = 0;
  // Whether the pattern applies at `node` (one of start_ops()). Looks only at
  // nearby nodes and edits nothing.
  virtual std::optional<FusionMatch> Match(Node* node, const PassContext& context) const = 0;
  // Rewrites the match: adds the replacement nodes, redirects every use of
  // the last matched node's output 0 to them, and removes the matched nodes.
  virtual absl::Status Apply(const FusionMatch& match, Graph& graph,
                             PassContext& context) const = 0;
};

class FusionPass final : public Pass {
 public:
  // The standard rules (passes/fusion_rules.h).
  FusionPass();
  // Phases of rules, run in order; for tests.
  explicit FusionPass(std::vector<std::vector<std::unique_ptr<FusionRule>>> phases);

  absl::string_view name() const override { return "fusion"; }

 protected:
  absl::StatusOr<bool> RunImpl(Graph& graph, PassContext& context) override;

 private:
  std::vector<std::vector<std::unique_ptr<FusionRule>>> phases_;
};

// Whether an intermediate result of a pattern may disappear: `node` has no
// control edges, is not pinned (fetch or target), and its output 0 has
// exactly one use, which is the only output it has consumers on.
bool IsFusableIntermediate(const Node& node, const PassContext& context);

// The single consumer of output 0 of `node`, or null when it has none or
// several.
const InputRef* SoleConsumer(const Node& node);

// Removes `nodes` (last first); each must have no consumers left once the
// ones after it are gone.
absl::Status RemoveMatched(Graph& graph, const std::vector<Node*>& nodes);

}  // namespace sluice

#endif  // SLUICE_PASSES_FUSION_H_
