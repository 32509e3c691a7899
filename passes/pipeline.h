// A pipeline of passes with per-pass statistics, optional verification
// between passes, and fixed-point groups.
#ifndef SLUICE_PASSES_PIPELINE_H_
#define SLUICE_PASSES_PIPELINE_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "passes/pass.h"

namespace sluice {

struct PassStats {
  std::string pass;
  bool changed = false;
  int iterations = 1;  // runs of a fixed-point group member
  int nodes_before = 0;
  int nodes_after = 0;
  int nodes_added = 0;
  int nodes_removed = 0;
  int nodes_fused = 0;
  double milliseconds = 0;
};

// How much to optimise: level 0 runs nothing, level 1 the standard pipeline;
// `disabled` names passes to skip.
struct OptimizationOptions {
  int level = 1;
  std::vector<std::string> disabled;
  // Verify the graph after every pass (tests and debug builds turn it on).
  bool verify = false;
  // Let the memory plan reuse arena bytes and run ops in place (off: a region per tensor).
  bool memory_reuse = true;
};

class Pipeline {
 public:
  // Adds a pass run once.
  void Add(std::unique_ptr<Pass> pass);
  // Adds passes repeated in order until none changes anything, at most
  // `max_iterations` times.
  void AddFixedPoint(std::vector<std::unique_ptr<Pass>> passes, int max_iterations = 8);

  void set_verify(bool verify) { verify_ = verify; }
  // Called after each pass run with the graph it left and its statistics.
  void set_observer(std::function<void(const PassStats&, const Graph&)> observer) {
    observer_ = std::move(observer);
  }

  // Runs every pass; the statistics are one entry per pass (fixed-point
  // members summed over their iterations). Errors name the pass.
  absl::StatusOr<std::vector<PassStats>> Run(Graph& graph, PassContext& context) const;

  // The names of the passes, in order.
  std::vector<std::string> PassNames() const;

 private:
  struct Group {
    std::vector<std::unique_ptr<Pass>> passes;
    int max_iterations = 1;
  };
  std::vector<Group> groups_;
  bool verify_ = false;
  std::function<void(const PassStats&, const Graph&)> observer_;
};

// The passes of the standard pipeline, in order (for help texts and checks
// of user-given names).
std::vector<std::string> StandardPassNames();

// The standard pipeline for `options`; an unknown name in `disabled` is an
// error listing the known ones.
absl::StatusOr<Pipeline> StandardPipeline(const OptimizationOptions& options);

}  // namespace sluice

#endif  // SLUICE_PASSES_PIPELINE_H_
