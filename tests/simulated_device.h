// A device simulated in host memory, for testing placement, copies, device
// arenas and device-resident variables on machines without a GPU. Its
// memory is ordinary host memory from allocations it tracks, so every kernel
// can be checked to touch only the memory of the side it runs on: a missing
// or misplaced copy fails the run instead of passing unnoticed.
#ifndef SLUICE_TESTS_SIMULATED_DEVICE_H_
#define SLUICE_TESTS_SIMULATED_DEVICE_H_

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "kernels/device_context.h"
#include "kernels/kernel_registry.h"

namespace sluice::testing {

class SimulatedDevice final : public DeviceContext {
 public:
  DeviceType type() const override { return DeviceType::kCuda; }
  std::string name() const override { return "cuda:0"; }
  absl::StatusOr<std::shared_ptr<void>> Allocate(int64_t bytes) override;
  absl::Status CopyFromHost(const void* host, void* device, int64_t bytes) override;
  absl::Status CopyToHost(const void* device, void* host, int64_t bytes) override;
  absl::Status CopyOnDevice(const void* from, void* to, int64_t bytes) override;
  absl::Status Synchronize() override;

  // Whether `p` points into memory this device handed out.
  bool Owns(const void* p) const;

  int64_t allocations() const { return allocations_.load(); }
  int64_t bytes_to_device() const { return bytes_to_device_.load(); }
  int64_t bytes_to_host() const { return bytes_to_host_.load(); }
  int64_t synchronizations() const { return synchronizations_.load(); }

 private:
  mutable std::mutex mu_;
  std::map<const char*, int64_t> live_;  // start -> bytes
  std::atomic<int64_t> allocations_{0};
  std::atomic<int64_t> bytes_to_device_{0};
  std::atomic<int64_t> bytes_to_host_{0};
  std::atomic<int64_t> synchronizations_{0};
};

// A registry with every CPU kernel, each wrapped to fail when it reads or
// writes device memory; the same CPU kernels registered on the simulated
// device for the ops in `device_ops`, wrapped to fail on host memory; and the
// kernels every device shares (kernels/device_kernels.h). `device` must
// outlive the registry.
std::unique_ptr<KernelRegistry> SimulatedDeviceRegistry(const SimulatedDevice* device,
                                                        const std::set<std::string>& device_ops);

}  // namespace sluice::testing

#endif  // SLUICE_TESTS_SIMULATED_DEVICE_H_
