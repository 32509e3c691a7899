#include "kernels/variable_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace sluice {

absl::Status VariableSlot::CheckInitialized() const {
  if (initialized()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "variable '", name_, "' is read before it was initialised; run its initializer (or the "
      "op that initialises all variables) first"));
}

absl::Status VariableSlot::BindDevice(DeviceContext* device) {
  std::unique_lock lock(mu_);
  if (bound_.load(std::memory_order_relaxed) && device_.load(std::memory_order_relaxed) != device) {
    return absl::FailedPreconditionError(absl::StrCat(
        "variable '", name_, "' lives in ", device_.load() == nullptr ? "host" : "device",
        " memory, but this plan places it in ", device == nullptr ? "host" : "device",
        " memory"));
  }
  device_.store(device, std::memory_order_release);
  bound_.store(true, std::memory_order_relaxed);
  return absl::OkStatus();
}

void VariableSlot::Set(Tensor value) {
  std::unique_lock lock(mu_);
  value_ = std::move(value);
  initialized_.store(true, std::memory_order_release);
}

absl::StatusOr<VariableSlot*> VariableStore::GetOrCreate(absl::string_view name, DType dtype,
                                                         const Shape& shape) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(name);
  if (it != slots_.end()) {
    VariableSlot* slot = it->second.get();
    if (slot->dtype() != dtype || slot->declared_shape() != shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          "variable '", name, "' is ", DTypeName(slot->dtype()),
          slot->declared_shape().ToString(), " in this session but the graph declares ",
          DTypeName(dtype), shape.ToString()));
    }
    return slot;
  }
  auto slot = std::make_unique<VariableSlot>(std::string(name), dtype, shape);
  VariableSlot* raw = slot.get();
  slots_.emplace(std::string(name), std::move(slot));
  return raw;
}

VariableSlot* VariableStore::Find(absl::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(name);
  return it == slots_.end() ? nullptr : it->second.get();
}

std::vector<VariableSlot*> VariableStore::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<VariableSlot*> out;
  for (const auto& [name, slot] : slots_) out.push_back(slot.get());
  std::sort(out.begin(), out.end(),
            [](const VariableSlot* a, const VariableSlot* b) { return a->name() < b->name(); });
  return out;
}

}  // namespace sluice
