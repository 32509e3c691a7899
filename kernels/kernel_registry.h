// Kernels keyed by (op, device, dtype).
#ifndef SLUICE_KERNELS_KERNEL_REGISTRY_H_
#define SLUICE_KERNELS_KERNEL_REGISTRY_H_

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

  // Whether `device` has a kernel for `node` (looked up by KernelDType).
  bool Supports(const Node& node, DeviceType device) const;

  // Creates the kernel for `init.node`; NotFound naming the node, op, device
  // and dtype when none is registered.
  absl::StatusOr<std::unique_ptr<OpKernel>> CreateKernel(const KernelInit& init) const;

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
  absl::flat_hash_map<DeviceType, int64_t> channel_blocks_;
};

// The dtype a node's kernel is chosen by: its "T" attr when it has one, else
// its "dtype" attr, else its first input's dtype, else its first output's;
// kInvalid for nodes with none of these (NoOp).
DType KernelDType(const Node& node);

}  // namespace sluice

#endif  // SLUICE_KERNELS_KERNEL_REGISTRY_H_
