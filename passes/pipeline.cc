#include "passes/pipeline.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"

namespace sluice {

void Pipeline::Add(std::unique_ptr<Pass> pass) {
  Group group;
  group.passes.push_back(std::move(pass));
  groups_.push_back(std::move(group));
}

void Pipeline::AddFixedPoint(std::vector<std::unique_ptr<Pass>> passes, int max_iterations) {
  Group group;
  group.passes = std::move(passes);
  group.max_iterations = std::max(1, max_iterations);
  groups_.push_back(std::move(group));
}

std::vector<std::string> Pipeline::PassNames() const {
  std::vector<std::string> names;
  for (const Group& g : groups_) {
    for (const auto& p : g.passes) names.emplace_back(p->name());
  }
  return names;
}

absl::StatusOr<std::vector<PassStats>> Pipeline::Run(Graph& graph, PassContext& context) const {
  std::vector<PassStats> all;
  for (const Group& group : groups_) {
    std::vector<PassStats> stats(group.passes.size());
    for (size_t i = 0; i < group.passes.size(); ++i) {
      stats[i].pass = std::string(group.passes[i]->name());
      stats[i].iterations = 0;
      stats[i].nodes_before = graph.num_nodes();
    }
    for (int iteration = 0; iteration < group.max_iterations; ++iteration) {
      bool any = false;
      for (size_t i = 0; i < group.passes.size(); ++i) {
        const Pass& pass = *group.passes[i];
        PassStats& s = stats[i];
        const int before = graph.num_nodes();
        const int bound = graph.id_bound();
        context.nodes_fused = 0;
        const auto start = std::chrono::steady_clock::now();
        absl::StatusOr<bool> changed = const_cast<Pass&>(pass).Run(graph, context);
        s.milliseconds +=
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                .count();
        if (!changed.ok()) {
          return absl::Status(changed.status().code(), absl::StrCat("pass ", pass.name(), ": ",
                                                                    changed.status().message()));
        }
        int added = 0;
        for (int id = bound; id < graph.id_bound(); ++id) added += graph.node(id) != nullptr;
        s.nodes_added += added;
        s.nodes_removed += before + added - graph.num_nodes();
        s.nodes_fused += context.nodes_fused;
        s.changed |= *changed;
        s.iterations += 1;
        s.nodes_after = graph.num_nodes();
        any |= *changed;
        if (verify_) {
          absl::Status ok = VerifyGraph(graph);
          if (!ok.ok()) {
            return absl::InternalError(
                absl::StrCat("after pass ", pass.name(), " the graph is broken: ", ok.message()));
          }
        }
        if (observer_) observer_(s, graph);
      }
      if (!any) break;
    }
    all.insert(all.end(), stats.begin(), stats.end());
  }
  return all;
}

}  // namespace sluice
