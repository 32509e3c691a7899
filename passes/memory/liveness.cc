#include "passes/memory/liveness.h"

#include <algorithm>
#include <iterator>

#include "absl/strings/str_cat.h"

namespace sluice {

// The allow-list of in-place ops. Each was checked against its CPU kernel:
//  - unary ops (cpu/elementwise.cc, UnaryKernel): y[i] = op(x[i]); element i
//    is read before it is written, and no other index reads it;
//  - binary ops and BiasAdd (BinaryKernel/BinaryRun): out[i] = op(a[i], b[i])
//    per contiguous run; a broadcast operand is read through stride 0 or
//    through row offsets, but only an input with as many elements as the
//    output can be aliased, and such an input is laid out exactly like the
//    output (broadcasting can only add size-1 dims to it), so again each
//    element is read at its own index just before that index is written;
//  - activation gradients (cpu/nn_grad.cc, ActivationGradKernel):
//    d[i] = op(g[i], v[i]), the same pattern.
// The loops use __restrict; aliasing an input exactly (same base pointer,
// same index) keeps every read of an element before the one write to it, so
// no reordering the compiler may do changes a result. Not listed on purpose:
// AddN (reads the output back), Select, Cast (different dtypes in general),
// Softmax and reductions (read other elements after writing).
bool IsInPlaceOp(absl::string_view op) {
  static constexpr absl::string_view kOps[] = {
      // Unary.
      "Abs", "Elu", "Exp", "Gelu", "LeakyRelu", "Log", "Neg", "Relu", "Relu6", "Rsqrt",
      "Sigmoid", "Sign", "Softplus", "Sqrt", "Square", "Tanh",
      // Binary, broadcasting.
      "Add", "BiasAdd", "Div", "Maximum", "Minimum", "Mul", "Pow", "Sub",
      // Activation gradients.
      "EluGrad", "GeluGrad", "LeakyReluGrad", "Relu6Grad", "ReluGrad", "SigmoidGrad",
      "SoftplusGrad", "TanhGrad"};
  return std::find(std::begin(kOps), std::end(kOps), op) != std::end(kOps);
}

absl::StatusOr<Liveness> ComputeLiveness(const Schedule& schedule,
                                         const LivenessOptions& options) {
  const int num_slots = static_cast<int>(schedule.slots.size());
  const int num_steps = static_cast<int>(schedule.steps.size());
  Liveness result;
  result.slot_lifetimes.assign(num_slots, Lifetime{});
  result.buffer_of_slot.assign(num_slots, -1);
  result.in_place_input.assign(num_steps, -1);

  // Who writes each slot; forwarded slots own no memory.
  std::vector<int> producer(num_slots, -1);
  std::vector<bool> forwarded(num_slots, false);
  for (int s = 0; s < num_steps; ++s) {
    const ScheduleStep& step = schedule.steps[s];
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      const int slot = step.outputs[o];
      if (slot < 0 || slot >= num_slots) {
        return absl::InvalidArgumentError(
            absl::StrCat("step ", s, " writes slot ", slot, " of ", num_slots));
      }
      if (producer[slot] >= 0 || schedule.slots[slot].fed) {
        return absl::InvalidArgumentError(
            absl::StrCat("slot ", slot, " is written by step ", s, " and by an earlier step or a feed"));
      }
      producer[slot] = s;
      forwarded[slot] = o < step.forwarded.size() && step.forwarded[o];
      result.slot_lifetimes[slot] = {s, s};
    }
  }
  for (int s = 0; s < num_steps; ++s) {
    for (int slot : schedule.steps[s].inputs) {
      if (slot < 0 || slot >= num_slots) {
        return absl::InvalidArgumentError(
            absl::StrCat("step ", s, " reads slot ", slot, " of ", num_slots));
      }
      if (!schedule.slots[slot].fed && (producer[slot] < 0 || producer[slot] >= s)) {
        return absl::InvalidArgumentError(
            absl::StrCat("step ", s, " reads slot ", slot, " before any step writes it"));
      }
      result.slot_lifetimes[slot].last = std::max(result.slot_lifetimes[slot].last, s);
    }
  }
  // The caller reads fetches once every step has run.
  for (int slot = 0; slot < num_slots; ++slot) {
    if (schedule.slots[slot].fetched) result.slot_lifetimes[slot].last = num_steps;
  }
  // A forwarded output may view any input of its step, so each input lives as
  // long as the output. Walking the steps backwards sees every use of an
  // output (all later) before its own step, which makes the extension
  // transitive through chains of views in one pass.
  for (int s = num_steps - 1; s >= 0; --s) {
    const ScheduleStep& step = schedule.steps[s];
    int view_last = -1;
    for (int slot : step.outputs) {
      if (forwarded[slot]) view_last = std::max(view_last, result.slot_lifetimes[slot].last);
    }
    for (int slot : step.inputs) {
      result.slot_lifetimes[slot].last = std::max(result.slot_lifetimes[slot].last, view_last);
    }
  }

  auto in_arena = [&](int slot) {
    const SlotInfo& info = schedule.slots[slot];
    return !info.fed && !info.fetched && !forwarded[slot] && producer[slot] >= 0;
  };
  // Buffers in step order; an in-place output joins its input's buffer when
  // that buffer's last reader is this very step.
  for (int s = 0; s < num_steps; ++s) {
    const ScheduleStep& step = schedule.steps[s];
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      const int slot = step.outputs[o];
      if (!in_arena(slot)) continue;
      const SlotInfo& info = schedule.slots[slot];
      int shared = -1;
      if (options.in_place && o == 0 && step.in_place_op) {
        for (size_t i = 0; i < step.inputs.size() && shared < 0; ++i) {
          const int in = step.inputs[i];
          const int buffer = result.buffer_of_slot[in];
          if (buffer < 0) continue;
          const SlotInfo& in_info = schedule.slots[in];
          if (in_info.dtype != info.dtype || in_info.bytes != info.bytes) continue;
          if (result.buffers[buffer].lifetime.last != s) continue;
          shared = buffer;
          result.in_place_input[s] = static_cast<int>(i);
        }
      }
      if (shared >= 0) {
        LiveBuffer& buffer = result.buffers[shared];
        buffer.slots.push_back(slot);
        buffer.lifetime.last = std::max(buffer.lifetime.last, result.slot_lifetimes[slot].last);
        result.buffer_of_slot[slot] = shared;
        continue;
      }
      result.buffer_of_slot[slot] = static_cast<int>(result.buffers.size());
      result.buffers.push_back(LiveBuffer{{slot}, info.bytes, result.slot_lifetimes[slot]});
    }
  }
  return result;
}

}  // namespace sluice
