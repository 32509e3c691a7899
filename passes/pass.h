// The pass interface: a named rewrite of a Graph.
//
// Passes run inside plan compilation on the specialised graph of one run
// signature (every shape static, fed outputs replaced by placeholders), and
// from `sluice dump --passes`. A pass returns whether it changed anything;
// "nothing to do" is never an error.
#ifndef SLUICE_PASSES_PASS_H_
#define SLUICE_PASSES_PASS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/graph.h"

namespace sluice {

class KernelRegistry;

// What a pass may not break and what it may use.
struct PassContext {
  // Outputs whose values leave the graph (a run's fetches). A pass that
  // replaces one must update it here (ReplaceOutput does both).
  std::vector<Output> fetches;
  // Nodes that must run for their effect (a run's targets).
  std::vector<Node*> targets;
  // For constant folding: the kernels that evaluate nodes. May be null, and
  // then nothing is folded.
  const KernelRegistry* kernels = nullptr;
  // Folded results above this many bytes stay computed at run time.
  int64_t max_folded_bytes = int64_t{1} << 20;
  // Whether the plan runs its compute on an accelerator (placement comes
  // after the pipeline). Host-only rewrites, such as blocked CPU layouts,
  // stay off then.
  bool accelerator_present = false;

  // Counters a pass adds to; the pipeline turns them into per-pass
  // statistics (nodes removed and added are counted by the pipeline).
  int nodes_fused = 0;

  // Whether `node` must stay (a target, or the producer of a fetch).
  bool IsPinned(const Node* node) const;
};

// Replaces every use of `from` by `to`, fetches included.
absl::Status ReplaceOutput(Graph& graph, PassContext& context, Output from, Output to);

class Pass {
 public:
  virtual ~Pass() = default;
  // Lower-case words joined by '-', e.g. "constant-folding"; what users name
  // to turn a pass off.
  virtual absl::string_view name() const = 0;
  // Rewrites `graph`; true when it changed anything.
  absl::StatusOr<bool> Run(Graph& graph, PassContext& context) { return RunImpl(graph, context); }

 protected:
  virtual absl::StatusOr<bool> RunImpl(Graph& graph, PassContext& context) = 0;
};

// Checks what every pass must leave intact: inputs refer to live nodes of
// the graph, the graph is acyclic, and each node's recorded output dtypes
// and shapes are those its shape function gives now. An error names the
// node.
absl::Status VerifyGraph(const Graph& graph);

}  // namespace sluice

#endif  // SLUICE_PASSES_PASS_H_
