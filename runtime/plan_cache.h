// Compiled plans by run signature, bounded, least recently used dropped first.
#ifndef SLUICE_RUNTIME_PLAN_CACHE_H_
#define SLUICE_RUNTIME_PLAN_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "runtime/plan.h"

namespace sluice {

// A signature seen through spans, so a lookup copies nothing.
struct SignatureView {
  absl::Span<const std::string* const> feed_names;
  absl::Span<const Tensor* const> feed_values;  // dtype and shape are what count
  absl::Span<const std::string> fetch_names;
  absl::Span<const std::string> target_names;

  uint64_t Hash() const;
};

class PlanCache {
 public:
  explicit PlanCache(int capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // The plan for `signature`, or null.
  std::shared_ptr<const Plan> Find(const SignatureView& signature) const;
  // Adds `plan` for the signature described by `request`; drops the least
  // recently used plan when full. Returns the plan now cached for it (an
  // equal one another thread added first wins).
  std::shared_ptr<const Plan> Insert(const PlanRequest& request, std::shared_ptr<const Plan> plan);
  int size() const;

 private:
  struct Entry {
    PlanRequest request;
    std::shared_ptr<const Plan> plan;
    mutable std::atomic<int64_t> last_used{0};
  };
  static bool Matches(const Entry& entry, const SignatureView& signature);

  const int capacity_;
  mutable std::atomic<int64_t> clock_{0};
  // Looked up on every run: a standard reader-writer lock, without the
  // deadlock bookkeeping of Debian's debug-mode Abseil.
  mutable std::shared_mutex mu_;  // guards the two below
  absl::flat_hash_map<uint64_t, std::vector<std::unique_ptr<Entry>>> entries_;
  int count_ = 0;
};

}  // namespace sluice

#endif  // SLUICE_RUNTIME_PLAN_CACHE_H_
