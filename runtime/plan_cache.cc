#include "runtime/plan_cache.h"

#include "absl/hash/hash.h"

namespace sluice {
namespace {

int RequestedFeedValue(const PlanRequest& r, size_t i) {
  return i < r.feed_values.size() ? r.feed_values[i] : -1;
}

}  // namespace

uint64_t SignatureView::Hash() const {
  // Combined by hand so hashing a view never materialises a key.
  uint64_t h = absl::HashOf(feed_names.size(), fetch_names.size(), target_names.size());
  for (const std::string* n : feed_names) h = absl::HashOf(h, *n);
  for (const Tensor* t : feed_values) {
    h = absl::HashOf(h, static_cast<int>(t->dtype()), t->shape().dims(), SpecializedFeedValue(*t));
  }
  for (const std::string& n : fetch_names) h = absl::HashOf(h, n);
  for (const std::string& n : target_names) h = absl::HashOf(h, n);
  return h;
}

bool PlanCache::Matches(const Entry& entry, const SignatureView& sig) {
  const PlanRequest& r = entry.request;
  if (r.feed_names.size() != sig.feed_names.size() ||
      r.fetch_names.size() != sig.fetch_names.size() ||
      r.target_names.size() != sig.target_names.size()) {
    return false;
  }
  for (size_t i = 0; i < sig.feed_names.size(); ++i) {
    if (r.feed_names[i] != *sig.feed_names[i] || r.feed_dtypes[i] != sig.feed_values[i]->dtype() ||
        r.feed_shapes[i] != sig.feed_values[i]->shape() ||
        RequestedFeedValue(r, i) != SpecializedFeedValue(*sig.feed_values[i])) {
      return false;
    }
  }
  for (size_t i = 0; i < sig.fetch_names.size(); ++i) {
    if (r.fetch_names[i] != sig.fetch_names[i]) return false;
  }
  for (size_t i = 0; i < sig.target_names.size(); ++i) {
    if (r.target_names[i] != sig.target_names[i]) return false;
  }
  return true;
}

std::shared_ptr<const Plan> PlanCache::Find(const SignatureView& signature) const {
  const uint64_t h = signature.Hash();
  std::shared_lock lock(mu_);
  auto it = entries_.find(h);
  if (it == entries_.end()) return nullptr;
  for (const auto& e : it->second) {
    if (Matches(*e, signature)) {
      e->last_used.store(clock_.fetch_add(1, std::memory_order_relaxed),
                         std::memory_order_relaxed);
      return e->plan;
    }
  }
  return nullptr;
}

std::shared_ptr<const Plan> PlanCache::Insert(const PlanRequest& request,
                                              std::shared_ptr<const Plan> plan) {
  std::vector<const Tensor*> shapes_only;
  std::vector<Tensor> probes;
  probes.reserve(request.feed_names.size());
  for (size_t i = 0; i < request.feed_names.size(); ++i) {
    // Stand-ins without data carry the dtype and shape for matching, and a
    // specialised feed's value.
    const int value = RequestedFeedValue(request, i);
    probes.push_back(value >= 0 ? Tensor::Scalar(value == 1)
                                : Tensor::WrapBuffer(request.feed_dtypes[i],
                                                     request.feed_shapes[i], nullptr, nullptr));
  }
  for (const Tensor& t : probes) shapes_only.push_back(&t);
  std::vector<const std::string*> names;
  for (const std::string& n : request.feed_names) names.push_back(&n);
  const SignatureView view{names, shapes_only, request.fetch_names,
                           request.target_names};
  const uint64_t h = view.Hash();
  std::unique_lock lock(mu_);
  auto& bucket = entries_[h];
  for (const auto& e : bucket) {
    if (Matches(*e, view)) return e->plan;
  }
  if (count_ >= capacity_) {
    // Evict the least recently used entry.
    uint64_t victim_hash = 0;
    size_t victim_index = 0;
    int64_t oldest = INT64_MAX;
    for (const auto& [key, list] : entries_) {
      for (size_t i = 0; i < list.size(); ++i) {
        const int64_t used = list[i]->last_used.load(std::memory_order_relaxed);
        if (used < oldest) {
          oldest = used;
          victim_hash = key;
          victim_index = i;
        }
      }
    }
    auto& list = entries_[victim_hash];
    list.erase(list.begin() + victim_index);
    if (list.empty() && victim_hash != h) entries_.erase(victim_hash);
    --count_;
  }
  auto entry = std::make_unique<Entry>();
  entry->request = request;
  entry->plan = std::move(plan);
  entry->last_used.store(clock_.fetch_add(1, std::memory_order_relaxed));
  std::shared_ptr<const Plan> result = entry->plan;
  entries_[h].push_back(std::move(entry));
  ++count_;
  return result;
}

int PlanCache::size() const {
  std::shared_lock lock(mu_);
  return count_;
}

}  // namespace sluice
