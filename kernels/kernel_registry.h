// Kernels keyed by (op, device, dtype).
#ifndef SLUICE_KERNELS_KERNEL_REGISTRY_H_
#define SLUICE_KERNELS_KERNEL_REGISTRY_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "kernels/kernel.h"

namespace sluice {

class KernelRegistry {
 public:
  // Registers `factory` for `op` on `device` for each dtype in `dtypes`.
  // Registering the same (op, device, dtype) twice aborts: that is a bug in
  // Sluice's own kernel lists.
  void Register(absl::string_view op, DeviceType device, const std::vector<DType>& dtypes,
                KernelFactory factory);

  // The factory for (op, device, dtype), or null.
  const KernelFactory* Find(absl::string_view op, DeviceType device, DType dtype) const;

  // A condition beyond (op, device, dtype) for `device` to run `op`: e.g.
  // that an index input is known while compiling, when the kernel plans its
  // work from it. Placement keeps nodes that fail it on the CPU.
  void SetConstraint(absl::string_view op, DeviceType device,
                     std::function<bool(const Node&)> constraint);

  // Whether `device` has a kernel for `node` (looked up by KernelDType) and
  // the node meets the op's constraint there.
  bool Supports(const Node& node, DeviceType device) const;

  // Creates the kernel for `init.node`; NotFound naming the node, op, device
  // and dtype when none is registered.
  absl::StatusOr<std::unique_ptr<OpKernel>> CreateKernel(const KernelInit& init) const;

  // Calls `fn(op, device, dtype, factory)` for every registration, in no
  // particular order (tests build derived registries with it).
  void ForEach(const std::function<void(const std::string& op, DeviceType device, DType dtype,
                                        const KernelFactory& factory)>& fn) const {
    for (const auto& [key, factory] : factories_) fn(key.op, key.device, key.dtype, factory);
  }

  // The dtypes registered for (op, device), sorted.
  std::vector<DType> RegisteredDTypes(absl::string_view op, DeviceType device) const;

  // The number of channels per block of the blocked activations
  // (graph/ops/layout.h) that `device`'s convolutions run fastest on; 0 (the
  // default) when blocked layouts do not pay there. The layout pass reads it.
  void set_channel_block(DeviceType device, int64_t block) { channel_blocks_[device] = block; }
  int64_t channel_block(DeviceType device) const {
    auto it = channel_blocks_.find(device);
    return it == channel_blocks_.end() ? 0 : it->second;
  }

 private:
  struct Key {
    std::string op;
    DeviceType device;
    DType dtype;
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.op, k.device, k.dtype);
    }
  };
  absl::flat_hash_map<Key, KernelFactory> factories_;
  absl::flat_hash_map<std::pair<std::string, DeviceType>, std::function<bool(const Node&)>>
      constraints_;
  absl::flat_hash_map<DeviceType, int64_t> channel_blocks_;
};

// A constraint (KernelRegistry::SetConstraint): inputs `first` to `last`
// (inclusive; those the node has) have values known while compiling.
std::function<bool(const Node&)> InputsKnownWhileCompiling(int first, int last);

// The dtype a node's kernel is chosen by: its "T" attr when it has one, else
// its "dtype" attr, else its first input's dtype, else its first output's;
// kInvalid for nodes with none of these (NoOp).
DType KernelDType(const Node& node);

}  // namespace sluice

#endif  // SLUICE_KERNELS_KERNEL_REGISTRY_H_
