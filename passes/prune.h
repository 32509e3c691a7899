// Dead-node removal: drops every node that no fetch or target needs.
#ifndef SLUICE_PASSES_PRUNE_H_
#define SLUICE_PASSES_PRUNE_H_

#include "passes/pass.h"

namespace sluice {

class PrunePass final : public Pass {
 public:
  absl::string_view name() const override { return "prune"; }

 protected:
  absl::StatusOr<bool> RunImpl(Graph& graph, PassContext& context) override;
};

}  // namespace sluice

#endif  // SLUICE_PASSES_PRUNE_H_
