// A pure offset allocator: buffers described by (size, first use, last use)
// go to offsets in one arena so that no two buffers alive at the same step
// share a byte. It knows nothing of graphs or tensors.
#ifndef SLUICE_PASSES_MEMORY_ALLOCATOR_H_
#define SLUICE_PASSES_MEMORY_ALLOCATOR_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "graph/tensor.h"

namespace sluice {

// One buffer: `size` bytes (>= 0) in use from step `first` to step `last`,
// both included (first <= last).
struct AllocationRequest {
  int64_t size = 0;
  int first = 0;
  int last = 0;
};

enum class AllocationStrategy {
  // Largest first, each at the lowest offset clear of every placed buffer
  // whose lifetime overlaps (TFLite's "greedy by size"). Several orders are
  // placed this way and the lowest peak kept: largest first with equal sizes
  // by longest lifetime, and by first use; largest size x lifetime first;
  // longest lifetime first; first use first.
  kGreedyBySize,
  // In order of first use, each in the smallest gap between placed buffers
  // whose lifetimes overlap that holds it, else on top of them.
  kBestFit,
  // The steps with the most bytes alive first; at each, its unplaced buffers
  // largest first, each at the lowest offset that fits (TFLite's "greedy by
  // breadth").
  kGreedyByBreadth,
  // Each buffer its own region, in request order.
  kNoReuse,
};

absl::string_view AllocationStrategyName(AllocationStrategy strategy);

struct Allocation {
  std::vector<int64_t> offsets;  // per request, multiples of the alignment
  int64_t peak = 0;              // arena bytes: the end of the highest buffer
};

// Sizes are rounded up to `alignment` (a power of two) before placing, so
// every offset is a multiple of it. The result is verified before it is
// returned; an error means a bad request (negative size, first > last, bad
// alignment) or a bug.
absl::StatusOr<Allocation> Allocate(absl::Span<const AllocationRequest> requests,
                                    AllocationStrategy strategy,
                                    int64_t alignment = kTensorAlignment);

// Checks that every offset is aligned and that buffers whose lifetimes
// overlap do not overlap in memory, and that all lie below the peak. The
// error names the two buffers at fault.
absl::Status VerifyAllocation(absl::Span<const AllocationRequest> requests,
                              const Allocation& allocation, int64_t alignment = kTensorAlignment);

// The most aligned bytes alive at any one step: no placement can do better.
int64_t LowerBoundBytes(absl::Span<const AllocationRequest> requests,
                        int64_t alignment = kTensorAlignment);

// The sum of all aligned sizes: the arena without any reuse.
int64_t NoReuseBytes(absl::Span<const AllocationRequest> requests,
                     int64_t alignment = kTensorAlignment);

}  // namespace sluice

#endif  // SLUICE_PASSES_MEMORY_ALLOCATOR_H_
