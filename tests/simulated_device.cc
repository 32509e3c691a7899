#include "tests/simulated_device.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "cpu/cpu_kernels.h"
#include "graph/status_macros.h"
#include "kernels/device_kernels.h"
#include "runtime/kernel_setup.h"

namespace sluice::testing {

absl::StatusOr<std::shared_ptr<void>> SimulatedDevice::Allocate(int64_t bytes) {
  const size_t size = static_cast<size_t>((std::max<int64_t>(bytes, 1) + 255) / 256 * 256);
  char* p = static_cast<char*>(std::aligned_alloc(256, size));
  if (p == nullptr) return absl::ResourceExhaustedError("simulated device out of memory");
  {
    std::lock_guard<std::mutex> lock(mu_);
    live_[p] = static_cast<int64_t>(size);
  }
  ++allocations_;
  return std::shared_ptr<void>(p, [this](void* q) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      live_.erase(static_cast<const char*>(q));
    }
    std::free(q);
  });
}

bool SimulatedDevice::Owns(const void* p) const {
  const char* c = static_cast<const char*>(p);
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.upper_bound(c);
  if (it == live_.begin()) return false;
  --it;
  return c < it->first + it->second;
}

absl::Status SimulatedDevice::CopyFromHost(const void* host, void* device, int64_t bytes) {
  if (Owns(host) || !Owns(device)) {
    return absl::InternalError("CopyFromHost between the wrong memories");
  }
  std::memcpy(device, host, static_cast<size_t>(bytes));
  bytes_to_device_ += bytes;
  return absl::OkStatus();
}

absl::Status SimulatedDevice::CopyToHost(const void* device, void* host, int64_t bytes) {
  if (!Owns(device) || Owns(host)) {
    return absl::InternalError("CopyToHost between the wrong memories");
  }
  std::memcpy(host, device, static_cast<size_t>(bytes));
  bytes_to_host_ += bytes;
  return absl::OkStatus();
}

absl::Status SimulatedDevice::CopyOnDevice(const void* from, void* to, int64_t bytes) {
  if (!Owns(from) || !Owns(to)) return absl::InternalError("CopyOnDevice outside device memory");
  std::memmove(to, from, static_cast<size_t>(bytes));
  return absl::OkStatus();
}

absl::Status SimulatedDevice::Synchronize() {
  ++synchronizations_;
  return absl::OkStatus();
}

namespace {

// Runs a kernel after checking that every tensor it is given lives on the
// side it runs on, and checks its forwarded outputs after.
class MemoryCheckingKernel final : public OpKernel {
 public:
  MemoryCheckingKernel(std::unique_ptr<OpKernel> inner, const SimulatedDevice* device,
                       bool on_device, std::string node)
      : inner_(std::move(inner)), device_(device), on_device_(on_device), node_(std::move(node)) {
    for (int i : inner_->ForwardedOutputs()) forwarded_.insert(i);
  }

  absl::Status Compute(const KernelContext& ctx) override {
    for (size_t i = 0; i < ctx.inputs.size(); ++i) {
      RETURN_IF_ERROR(Check(*ctx.inputs[i], absl::StrCat("input ", i)));
    }
    for (size_t i = 0; i < ctx.outputs.size(); ++i) {
      if (!forwarded_.contains(static_cast<int>(i))) {
        RETURN_IF_ERROR(Check(*ctx.outputs[i], absl::StrCat("output ", i)));
      }
    }
    RETURN_IF_ERROR(inner_->Compute(ctx));
    for (int i : forwarded_) RETURN_IF_ERROR(Check(*ctx.outputs[i], absl::StrCat("output ", i)));
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return inner_->ForwardedOutputs(); }
  std::unique_ptr<KernelState> CreateState() const override { return inner_->CreateState(); }

 private:
  absl::Status Check(const Tensor& t, const std::string& what) const {
    if (!t.valid() || t.num_bytes() == 0) return absl::OkStatus();
    if (device_->Owns(t.raw_data()) == on_device_) return absl::OkStatus();
    return absl::InternalError(absl::StrCat(node_, " runs on the ", on_device_ ? "device" : "host",
                                            " but its ", what, " is in ",
                                            on_device_ ? "host" : "device", " memory"));
  }

  std::unique_ptr<OpKernel> inner_;
  const SimulatedDevice* device_;
  const bool on_device_;
  const std::string node_;
  std::set<int> forwarded_;
};

KernelFactory Checked(KernelFactory factory, const SimulatedDevice* device, bool on_device) {
  return [factory = std::move(factory), device,
          on_device](const KernelInit& init) -> absl::StatusOr<std::unique_ptr<OpKernel>> {
    ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> inner, factory(init));
    return std::make_unique<MemoryCheckingKernel>(std::move(inner), device, on_device,
                                                  init.node.name());
  };
}

}  // namespace

std::unique_ptr<KernelRegistry> SimulatedDeviceRegistry(const SimulatedDevice* device,
                                                        const std::set<std::string>& device_ops) {
  KernelRegistry cpu;
  cpu::RegisterCpuKernels(cpu);
  auto registry = std::make_unique<KernelRegistry>();
  registry->set_channel_block(DeviceType::kCpu, cpu.channel_block(DeviceType::kCpu));
  RegisterDeviceKernels(*registry, DeviceType::kCuda);
  cpu.ForEach([&](const std::string& op, DeviceType d, DType dtype, const KernelFactory& factory) {
    registry->Register(op, d, {dtype}, Checked(factory, device, false));
    // The shared device kernels (Const, Variable, ...) stay as registered.
    if (device_ops.contains(op) && registry->Find(op, DeviceType::kCuda, dtype) == nullptr) {
      registry->Register(op, DeviceType::kCuda, {dtype}, Checked(factory, device, true));
    }
  });
  return registry;
}

}  // namespace sluice::testing
