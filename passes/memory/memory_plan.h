// The memory plan of a compiled schedule, as data: where each intermediate
// tensor lives in the per-run arena, for how long, and how that compares
// with the best and the worst possible. Built by liveness (liveness.h) and
// the allocator (allocator.h); kept by the Plan and printed by
// `sluice dump --memory`.
#ifndef SLUICE_PASSES_MEMORY_MEMORY_PLAN_H_
#define SLUICE_PASSES_MEMORY_MEMORY_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "passes/memory/allocator.h"
#include "passes/memory/liveness.h"

namespace sluice {

struct PlannedBuffer {
  // The slots that use the buffer in turn (more than one through in-place
  // execution) and their names ("node:index").
  std::vector<int> slots;
  std::vector<std::string> names;
  int64_t size = 0;    // bytes, before alignment
  int64_t offset = 0;  // in the arena
  Lifetime lifetime;
};

struct MemoryPlan {
  std::vector<PlannedBuffer> buffers;  // in order of first step
  // Per slot of the schedule: its arena offset, or -1 outside the arena.
  std::vector<int64_t> slot_offsets;
  // The arena one run needs.
  int64_t arena_bytes = 0;
  // The most bytes alive at one step: what any placement needs at least.
  int64_t lower_bound_bytes = 0;
  // The arena with a region per slot (no reuse, no in-place execution).
  int64_t no_reuse_bytes = 0;
  // Steps that write their output over an input.
  int num_in_place = 0;
  AllocationStrategy strategy = AllocationStrategy::kNoReuse;

  // One line per buffer, `name size offset [first,last]` (followed by
  // ` in_place=a:0,b:0` when later slots share it), then exactly
  // `memory: arena_bytes=N lower_bound_bytes=N no_reuse_bytes=N`.
  std::string ToString() const;
};

struct MemoryPlanOptions {
  // Off: every buffer gets its own region (what the inter-op parallel
  // executor needs, and a baseline for tests).
  bool reuse = true;
  // Lets allow-listed ops overwrite an input that dies at their step; only
  // with `reuse`.
  bool in_place = true;
};

// Plans `schedule`; `slot_names` has one name per slot. With reuse,
// greedy-by-size, best-fit and greedy-by-breadth all run and the smallest
// arena wins (ties go to the earlier in that list).
absl::StatusOr<MemoryPlan> BuildMemoryPlan(const Schedule& schedule,
                                           absl::Span<const std::string> slot_names,
                                           const MemoryPlanOptions& options = {});

}  // namespace sluice

#endif  // SLUICE_PASSES_MEMORY_MEMORY_PLAN_H_
