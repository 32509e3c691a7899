// The kernel interface: a kernel is created once per compiled plan, with the
// node's attributes and fully static shapes, and then computes many times.
#ifndef SLUICE_KERNELS_KERNEL_H_
#define SLUICE_KERNELS_KERNEL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "graph/tensor.h"

namespace sluice {

class DeviceContext;
class VariableStore;

enum class DeviceType { kCpu, kCuda };
absl::string_view DeviceTypeName(DeviceType device);

// What a kernel factory sees. `node` lives in the plan's specialised graph:
// every input and output shape is fully defined.
struct KernelInit {
  const Node& node;
  DeviceType device = DeviceType::kCpu;
  // The session's variables (for Variable and the Assign ops).
  VariableStore* variables = nullptr;
  // Graph-level random seed (SessionOptions::seed); random kernels combine it
  // with their op's seed and seed2 attrs.
  uint64_t graph_seed = 0;
  // Threads a kernel may use for one step.
  int intra_op_threads = 1;
  // The session's context for `device` (its stream and library handles on
  // CUDA); null on the CPU.
  DeviceContext* device_context = nullptr;

  int num_inputs() const { return node.num_inputs(); }
  const Shape& input_shape(int i) const { return node.input(i).shape(); }
  DType input_dtype(int i) const { return node.input(i).dtype(); }
  const Shape& output_shape(int i) const { return node.output_shape(i); }
  DType output_dtype(int i) const { return node.output_dtype(i); }
  const AttrValue& attr(absl::string_view name) const { return node.attr(name); }
  // The value of input i when the graph knows it while compiling (a Const or
  // a folded shape computation), else null.
  const Tensor* input_value(int i) const {
    const Output in = node.input(i);
    return in.node->output_value(in.index);
  }
};

// Element i of an integer tensor (axes, indices, shapes) as int64.
inline int64_t IndexValueAt(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::kI32: return t.data<int32_t>()[i];
    case DType::kI64: return t.data<int64_t>()[i];
    case DType::kU8: return t.data<uint8_t>()[i];
    default: return static_cast<int64_t>(t.ElementAsDouble(i));
  }
}

// Mutable per-frame state of a kernel, e.g. oneDNN memory objects and
// argument maps bound to one frame's buffers. A plan keeps one state per
// kernel per frame (frames are the per-execution working sets and never run
// concurrently), so Compute may change its state without locking.
class KernelState {
 public:
  virtual ~KernelState() = default;
};

// The tensors of one step. Inputs are read-only. Outputs arrive allocated
// with their static shape, except those the kernel declared as forwarded,
// which it must set itself (usually to a view of an input).
struct KernelContext {
  absl::Span<const Tensor* const> inputs;
  absl::Span<Tensor* const> outputs;
  // This frame's state for the kernel; null when CreateState returned null.
  KernelState* state = nullptr;

  const Tensor& input(int i) const { return *inputs[i]; }
  Tensor& output(int i) const { return *outputs[i]; }
};

class OpKernel {
 public:
  virtual ~OpKernel() = default;

  // Runs one step. Errors name what went wrong with the data (e.g. an index
  // out of range); the executor prefixes the node.
  virtual absl::Status Compute(const KernelContext& ctx) = 0;

  // Outputs this kernel sets itself instead of writing into a preallocated
  // buffer (views, variable reads). Queried once, after creation.
  virtual std::vector<int> ForwardedOutputs() const { return {}; }

  // A fresh per-frame state (see KernelState), or null when the kernel needs
  // none. Called once per frame when the frame is created, never on a run.
  virtual std::unique_ptr<KernelState> CreateState() const { return nullptr; }
};

using KernelFactory = std::function<absl::StatusOr<std::unique_ptr<OpKernel>>(const KernelInit&)>;

}  // namespace sluice

#endif  // SLUICE_KERNELS_KERNEL_H_
