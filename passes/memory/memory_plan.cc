#include "passes/memory/memory_plan.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/status_macros.h"

namespace sluice {

std::string MemoryPlan::ToString() const {
  std::string out;
  for (const PlannedBuffer& b : buffers) {
    absl::StrAppend(&out, b.names.empty() ? "?" : b.names[0], " ", b.size, " ", b.offset, " [",
                    b.lifetime.first, ",", b.lifetime.last, "]");
    if (b.names.size() > 1) {
      absl::StrAppend(&out, " in_place=",
                      absl::StrJoin(b.names.begin() + 1, b.names.end(), ","));
    }
    out.push_back('\n');
  }
  absl::StrAppend(&out, "memory: arena_bytes=", arena_bytes,
                  " lower_bound_bytes=", lower_bound_bytes, " no_reuse_bytes=", no_reuse_bytes,
                  "\n");
  return out;
}

absl::StatusOr<MemoryPlan> BuildMemoryPlan(const Schedule& schedule,
                                           absl::Span<const std::string> slot_names,
                                           const MemoryPlanOptions& options) {
  if (slot_names.size() != schedule.slots.size()) {
    return absl::InvalidArgumentError(absl::StrCat(slot_names.size(), " names for ",
                                                   schedule.slots.size(), " slots"));
  }
  LivenessOptions liveness_options;
  liveness_options.in_place = options.reuse && options.in_place;
  ASSIGN_OR_RETURN(Liveness liveness, ComputeLiveness(schedule, liveness_options));

  std::vector<AllocationRequest> requests;
  requests.reserve(liveness.buffers.size());
  for (const LiveBuffer& b : liveness.buffers) {
    requests.push_back({b.bytes, b.lifetime.first, b.lifetime.last});
  }
  MemoryPlan plan;
  Allocation allocation;
  if (options.reuse) {
    ASSIGN_OR_RETURN(allocation, Allocate(requests, AllocationStrategy::kGreedyBySize));
    plan.strategy = AllocationStrategy::kGreedyBySize;
    for (AllocationStrategy other :
         {AllocationStrategy::kBestFit, AllocationStrategy::kGreedyByBreadth}) {
      ASSIGN_OR_RETURN(Allocation candidate, Allocate(requests, other));
      if (candidate.peak < allocation.peak) {
        allocation = std::move(candidate);
        plan.strategy = other;
      }
    }
  } else {
    ASSIGN_OR_RETURN(allocation, Allocate(requests, AllocationStrategy::kNoReuse));
    plan.strategy = AllocationStrategy::kNoReuse;
  }

  plan.arena_bytes = allocation.peak;
  plan.lower_bound_bytes = LowerBoundBytes(requests);
  // Without reuse every slot, in-place ones included, has its own region.
  std::vector<AllocationRequest> per_slot;
  for (const LiveBuffer& b : liveness.buffers) {
    per_slot.insert(per_slot.end(), b.slots.size(), {b.bytes, b.lifetime.first, b.lifetime.last});
  }
  plan.no_reuse_bytes = NoReuseBytes(per_slot);
  plan.slot_offsets.assign(schedule.slots.size(), -1);
  for (int i : liveness.in_place_input) plan.num_in_place += i >= 0 ? 1 : 0;
  for (size_t i = 0; i < liveness.buffers.size(); ++i) {
    const LiveBuffer& b = liveness.buffers[i];
    PlannedBuffer planned;
    planned.slots = b.slots;
    for (int slot : b.slots) {
      planned.names.push_back(slot_names[slot]);
      plan.slot_offsets[slot] = allocation.offsets[i];
    }
    planned.size = b.bytes;
    planned.offset = allocation.offsets[i];
    planned.lifetime = b.lifetime;
    plan.buffers.push_back(std::move(planned));
  }
  return plan;
}

}  // namespace sluice
