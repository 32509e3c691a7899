// The plumbing kernels every device shares, because they only hand tensors
// on: constants, views, no-ops and variable reads. A constant's tensor lives
// in the memory of the device it was made for (host or uploaded once).
#ifndef SLUICE_KERNELS_STATE_KERNELS_H_
#define SLUICE_KERNELS_STATE_KERNELS_H_

#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/status_macros.h"
#include "kernels/kernel.h"
#include "kernels/variable_store.h"

namespace sluice {

// Yields the constant itself; nothing is copied per run.
class ConstKernel final : public OpKernel {
 public:
  explicit ConstKernel(Tensor value) : value_(std::move(value)) {}
  absl::Status Compute(const KernelContext& ctx) override {
    ctx.output(0) = value_;
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }

 private:
  const Tensor value_;
};

// Identity, StopGradient and an unfed PlaceholderWithDefault: a view of the
// input.
class ForwardKernel final : public OpKernel {
 public:
  absl::Status Compute(const KernelContext& ctx) override {
    ctx.output(0) = ctx.input(0);
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }
};

// Reshape, Squeeze, ExpandDims and copies that move no element: the input
// with another shape, sharing its buffer.
class ViewKernel final : public OpKernel {
 public:
  explicit ViewKernel(Shape shape) : shape_(std::move(shape)) {}
  absl::Status Compute(const KernelContext& ctx) override {
    ASSIGN_OR_RETURN(ctx.output(0), ctx.input(0).Reshaped(shape_));
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }

 private:
  const Shape shape_;
};

class NoOpKernel final : public OpKernel {
 public:
  absl::Status Compute(const KernelContext&) override { return absl::OkStatus(); }
};

// Reads the variable's current value (sharing its buffer). When the plan
// only assigns to the variable (every consumer is an Assign op's ref input),
// nothing reads the value, so an uninitialised variable is no error: that is
// how its initializer runs.
class VariableKernel final : public OpKernel {
 public:
  VariableKernel(VariableSlot* slot, bool value_read) : slot_(slot), value_read_(value_read) {}
  absl::Status Compute(const KernelContext& ctx) override {
    if (!slot_->initialized()) {
      if (value_read_) return slot_->CheckInitialized();
      ctx.output(0) = Tensor();
      return absl::OkStatus();
    }
    ctx.output(0) = slot_->value();
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }

 private:
  VariableSlot* const slot_;
  const bool value_read_;
};

inline bool IsAssignOp(const std::string& op) {
  return op == "Assign" || op == "AssignAdd" || op == "AssignSub";
}

// Whether a plan reads the value of `variable` (anything beyond being the
// ref input of an Assign op); a plan holding it without consumers fetches it.
inline bool VariableValueRead(const Node& variable) {
  bool value_read = variable.out_edges().empty();
  for (const InputRef& use : variable.out_edges()) {
    if (!(use.index == 0 && IsAssignOp(use.node->op()))) value_read = true;
  }
  return value_read;
}

}  // namespace sluice

#endif  // SLUICE_KERNELS_STATE_KERNELS_H_
