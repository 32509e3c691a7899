// The values of a session's variables, kept between runs outside any plan.
#ifndef SLUICE_KERNELS_VARIABLE_STORE_H_
#define SLUICE_KERNELS_VARIABLE_STORE_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "graph/tensor.h"

namespace sluice {

class DeviceContext;

// One variable. Kernels hold a pointer to their slot from plan compile on, so
// a run never looks a variable up by name.
class VariableSlot {
 public:
  VariableSlot(std::string name, DType dtype, Shape shape)
      : name_(std::move(name)), dtype_(dtype), shape_(std::move(shape)) {}

  const std::string& name() const { return name_; }
  DType dtype() const { return dtype_; }
  const Shape& declared_shape() const { return shape_; }

  bool initialized() const { return initialized_.load(std::memory_order_acquire); }
  // The current value; only valid once initialized(). Shares the buffer, so
  // in-place updates by later steps are visible through it, as with TF1's
  // ref variables.
  Tensor value() const {
    std::shared_lock lock(mu_);
    return value_;
  }
  // A FailedPrecondition naming the variable when it was never assigned.
  absl::Status CheckInitialized() const;

  // The device whose memory holds the value; null for host memory. The
  // session places each variable once (with the users of its value), and
  // its kernels on that device bind it here when they are created.
  DeviceContext* device() const { return device_.load(std::memory_order_acquire); }
  // FailedPrecondition naming the variable when it is already bound to
  // another device (host included, once it holds a host value).
  absl::Status BindDevice(DeviceContext* device);

  // Replaces the value (first assignment or a shape change).
  void Set(Tensor value);
  // The buffer to update in place; the caller has checked initialized().
  // Updates follow TF1: without `use_locking` concurrent updates may
  // interleave; with it they hold the slot's update lock.
  Tensor& mutable_value_unlocked() { return value_; }
  std::mutex& update_mutex() { return update_mu_; }

 private:
  const std::string name_;
  const DType dtype_;
  const Shape shape_;
  // Standard locks: read on every run, where the deadlock bookkeeping of
  // Debian's debug-mode Abseil costs, and seen by ThreadSanitizer
  // (docs/build.md).
  mutable std::shared_mutex mu_;  // guards value_ against Set()
  std::mutex update_mu_;          // held by in-place updates with use_locking
  Tensor value_;
  std::atomic<bool> initialized_{false};
  std::atomic<DeviceContext*> device_{nullptr};
  std::atomic<bool> bound_{false};
};

class VariableStore {
 public:
  // The slot for `name`, created on first use. A later call with another
  // dtype or shape is an error naming the variable and both.
  absl::StatusOr<VariableSlot*> GetOrCreate(absl::string_view name, DType dtype,
                                            const Shape& shape);
  // Null when no such variable exists.
  VariableSlot* Find(absl::string_view name) const;
  // Every slot, sorted by name.
  std::vector<VariableSlot*> List() const;

 private:
  mutable std::mutex mu_;  // guards slots_ (the map; slots lock themselves)
  absl::flat_hash_map<std::string, std::unique_ptr<VariableSlot>> slots_;
};

}  // namespace sluice

#endif  // SLUICE_KERNELS_VARIABLE_STORE_H_
