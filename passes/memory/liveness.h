// Liveness of the tensors of a schedule: which slots need arena memory, which
// of them can share one buffer (in-place execution), and the steps during
// which each buffer must keep its contents.
//
// The analysis reads plain structs, not a Graph, so that tests can describe a
// schedule by hand (the way ONNX Runtime's planner reads shapes through an
// interface its tests fake).
#ifndef SLUICE_PASSES_MEMORY_LIVENESS_H_
#define SLUICE_PASSES_MEMORY_LIVENESS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/dtype.h"

namespace sluice {

// One slot (one tensor value of a run) as the planner sees it.
struct SlotInfo {
  DType dtype = DType::kF32;
  int64_t bytes = 0;
  // Bound by the caller for each run: lives outside the arena.
  bool fed = false;
  // Returned to the caller: the plan gives a kernel-written fetched slot a
  // fresh buffer per run, so it lives outside the arena; a fetched forwarded
  // slot keeps whatever it views alive until the run ends.
  bool fetched = false;
};

// One step of the schedule.
struct ScheduleStep {
  std::vector<int> inputs;   // slot per input; a slot may repeat
  std::vector<int> outputs;  // slot per output, each produced by this step only
  // Per output (may be empty: none): the kernel sets that output itself (a
  // view of an input such as Reshape's, a variable's value, a constant), so it
  // owns no arena memory, and it may view any input of this step.
  std::vector<bool> forwarded;
  // The op may write output 0 into the buffer of an input of the same dtype
  // and size (see IsInPlaceOp).
  bool in_place_op = false;
};

struct Schedule {
  std::vector<SlotInfo> slots;
  std::vector<ScheduleStep> steps;  // in execution order
};

struct Lifetime {
  int first = -1;  // the step that writes the buffer
  int last = -1;   // the last step that reads it; steps.size() when a fetch
                   // reads it after the last step
};

// A region of arena memory and the slots that use it in turn: the first
// writes it, each later one is an in-place output of a step whose input was
// the previous one.
struct LiveBuffer {
  std::vector<int> slots;
  int64_t bytes = 0;
  Lifetime lifetime;
};

struct Liveness {
  std::vector<LiveBuffer> buffers;  // in order of first step
  // Per slot: its buffer, or -1 outside the arena (fed, fetched, forwarded).
  std::vector<int> buffer_of_slot;
  // Per slot: the steps it must stay valid over, with forwarded views
  // extending what they view; {-1, last} for fed slots.
  std::vector<Lifetime> slot_lifetimes;
  // Per step: the input index whose buffer output 0 is written into, or -1.
  std::vector<int> in_place_input;
};

struct LivenessOptions {
  // Let allow-listed ops write their output over an input that dies there.
  bool in_place = true;
};

// Whether `op`'s CPU kernel may write its output into the buffer of an input
// of the same dtype and element count. See liveness.cc for why each is safe.
bool IsInPlaceOp(absl::string_view op);

// Computes the buffers of `schedule`. Errors: a slot out of range, a slot
// written by two steps or never written and not fed, a step reading a slot
// before it is written.
absl::StatusOr<Liveness> ComputeLiveness(const Schedule& schedule,
                                         const LivenessOptions& options = {});

}  // namespace sluice

#endif  // SLUICE_PASSES_MEMORY_LIVENESS_H_
