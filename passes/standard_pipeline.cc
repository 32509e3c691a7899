// The standard pipeline: which passes run, in which order. Each pass is one
// line in kPasses.
#include <functional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "passes/algebraic_simplifier.h"
#include "passes/constant_folding.h"
#include "passes/cse.h"
#include "passes/fusion.h"
#include "passes/layout.h"
#include "passes/pipeline.h"
#include "passes/prune.h"

namespace sluice {
namespace {

struct PassEntry {
  const char* name;
  std::function<std::unique_ptr<Pass>()> make;
  // Passes of one fixed-point group share a group number (0: runs once).
  int fixed_point_group;
};

const std::vector<PassEntry>& Passes() {
  static const auto* passes = new std::vector<PassEntry>{
      {"prune", [] { return std::make_unique<PrunePass>(); }, 0},
      // Folding exposes identities and duplicates, and merging or
      // simplifying exposes more constants: repeated until none changes.
      {"constant-folding", [] { return std::make_unique<ConstantFoldingPass>(); }, 1},
      {"cse", [] { return std::make_unique<CsePass>(); }, 1},
      {"simplify", [] { return std::make_unique<AlgebraicSimplifierPass>(); }, 1},
      {"fusion", [] { return std::make_unique<FusionPass>(); }, 0},
      // After fusion: a convolution region is rewritten with its epilogues.
      {"layout", [] { return std::make_unique<LayoutPass>(); }, 0},
      // What the rewrites left unread (the unchosen branch of a Select, the
      // constants of x*1) goes.
      {"prune", [] { return std::make_unique<PrunePass>(); }, 0},
  };
  return *passes;
}

}  // namespace

std::vector<std::string> StandardPassNames() {
  std::vector<std::string> names;
  for (const PassEntry& e : Passes()) names.push_back(e.name);
  return names;
}

absl::StatusOr<Pipeline> StandardPipeline(const OptimizationOptions& options) {
  const std::vector<std::string> known = StandardPassNames();
  for (const std::string& name : options.disabled) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown pass '", name, "' (passes: ",
                                                     absl::StrJoin(known, ", "), ")"));
    }
  }
  if (options.level < 0 || options.level > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("optimisation level must be 0 or 1, got ", options.level));
  }
  Pipeline pipeline;
  pipeline.set_verify(options.verify);
  if (options.level == 0) return pipeline;
  auto enabled = [&](const PassEntry& e) {
    return std::find(options.disabled.begin(), options.disabled.end(), e.name) ==
           options.disabled.end();
  };
  const std::vector<PassEntry>& passes = Passes();
  for (size_t i = 0; i < passes.size();) {
    const int group = passes[i].fixed_point_group;
    if (group == 0) {
      if (enabled(passes[i])) pipeline.Add(passes[i].make());
      ++i;
      continue;
    }
    std::vector<std::unique_ptr<Pass>> members;
    for (; i < passes.size() && passes[i].fixed_point_group == group; ++i) {
      if (enabled(passes[i])) members.push_back(passes[i].make());
    }
    if (!members.empty()) pipeline.AddFixedPoint(std::move(members));
  }
  return pipeline;
}

}  // namespace sluice
