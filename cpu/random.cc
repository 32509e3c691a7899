// Random kernels: RandomUniform, RandomNormal and TruncatedNormal on Philox
// (kernels/philox.h).
//
// Each kernel owns a key (from the seeds, see philox::RandomKey) and a 64-bit
// block counter. A step reserves the blocks it needs with one atomic
// fetch_add, so consecutive steps draw fresh numbers and concurrent steps
// never share any; the values of a block depend only on (key, block index),
// so the work splits across threads without changing the result.
//
// Block layout (the CUDA kernels follow the same one):
//  - uniform f32/f16/bf16: 4 values per block, one per word;
//  - uniform f64: 2 values per block, one per word pair;
//  - normal f32/f16/bf16: 4 values per block, Box-Muller on word pairs;
//  - normal f64: 2 values per block, Box-Muller on the two word pairs;
//  - truncated normal: groups of 4 values (2 for f64), each group drawing
//    candidates from its own kTruncatedBlocksPerGroup blocks in order.
#include <atomic>
#include <cmath>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "cpu/cpu_kernels.h"
#include "cpu/parallel.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"
#include "kernels/philox.h"

namespace sluice::cpu {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

enum class Distribution { kUniform, kNormal, kTruncatedNormal };

// Work items of one block, for ParallelFor's cost model.
constexpr int64_t kBlockCost = 16;

template <typename T>
T FromFloat(float x) {
  if constexpr (std::is_same_v<T, Half>) {
    return FloatToHalf(x);
  } else if constexpr (std::is_same_v<T, BFloat16>) {
    return FloatToBFloat16(x);
  } else {
    return static_cast<T>(x);
  }
}

// Significant bits of a uniform value of T, so that it is exact in T and
// never rounds up to 1.
template <typename T>
constexpr int kUniformBits = std::is_same_v<T, Half> ? 11 : (std::is_same_v<T, BFloat16> ? 8 : 24);

template <typename T>
constexpr int64_t kValuesPerBlock = std::is_same_v<T, double> ? 2 : 4;

// The values of block `block` (kValuesPerBlock<T> of them) for the plain
// distributions.
template <typename T, Distribution D>
void BlockValues(const philox::Key& key, uint64_t block, T* out) {
  const philox::Block w = philox::BlockAt(key, block);
  if constexpr (std::is_same_v<T, double>) {
    if constexpr (D == Distribution::kUniform) {
      out[0] = philox::UniformDouble(w[0], w[1]);
      out[1] = philox::UniformDouble(w[2], w[3]);
    } else {
      philox::BoxMullerDouble(w[0], w[1], w[2], w[3], &out[0], &out[1]);
    }
  } else if constexpr (D == Distribution::kUniform) {
    for (int k = 0; k < 4; ++k)
      out[k] = FromFloat<T>(philox::UniformWithBits(w[k], kUniformBits<T>));
  } else {
    float z[4];
    philox::BoxMullerFloat(w[0], w[1], &z[0], &z[1]);
    philox::BoxMullerFloat(w[2], w[3], &z[2], &z[3]);
    for (int k = 0; k < 4; ++k) out[k] = FromFloat<T>(z[k]);
  }
}

// Candidate normals of one block: 4 floats or 2 doubles.
// Candidates are computed in double for f64 and in float otherwise.
template <typename T>
using SampleType = std::conditional_t<std::is_same_v<T, double>, double, float>;

template <typename T>
int Candidates(const philox::Block& w, SampleType<T>* z) {
  if constexpr (std::is_same_v<T, double>) {
    philox::BoxMullerDouble(w[0], w[1], w[2], w[3], &z[0], &z[1]);
    return 2;
  } else {
    philox::BoxMullerFloat(w[0], w[1], &z[0], &z[1]);
    philox::BoxMullerFloat(w[2], w[3], &z[2], &z[3]);
    return 4;
  }
}

// The values of truncated normal group `group` (first block `first_block`).
template <typename T>
void TruncatedGroup(const philox::Key& key, uint64_t first_block, T* out, int64_t count) {
  using F = SampleType<T>;
  int64_t filled = 0;
  F z[4];
  for (uint64_t t = 0; filled < count; ++t) {
    // The group's own blocks first, then (almost never) a private stream.
    const philox::Block w = t < philox::kTruncatedBlocksPerGroup
                                ? philox::BlockAt(key, first_block + t)
                                : philox::BlockAt(key, first_block, t);
    const int n = Candidates<T>(w, z);
    for (int k = 0; k < n && filled < count; ++k) {
      if (std::fabs(z[k]) < static_cast<F>(philox::kTruncationBound)) {
        if constexpr (std::is_same_v<T, double>) {
          out[filled++] = z[k];
        } else {
          out[filled++] = FromFloat<T>(z[k]);
        }
      }
    }
  }
}

template <typename T, Distribution D>
class RandomKernel final : public OpKernel {
 public:
  explicit RandomKernel(philox::Key key) : key_(key) {}

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    T* y = out.data<T>();
    const int64_t n = out.num_elements();
    constexpr int64_t per = kValuesPerBlock<T>;
    const int64_t groups = (n + per - 1) / per;
    const int64_t blocks_per_group =
        D == Distribution::kTruncatedNormal ? philox::kTruncatedBlocksPerGroup : 1;
    const uint64_t base = counter_.fetch_add(static_cast<uint64_t>(groups * blocks_per_group),
                                             std::memory_order_relaxed);
    ParallelFor(groups, kBlockCost * blocks_per_group, [&](int64_t begin, int64_t end) {
      for (int64_t g = begin; g < end; ++g) {
        const uint64_t block = base + static_cast<uint64_t>(g * blocks_per_group);
        const int64_t count = std::min(per, n - g * per);
        if constexpr (D == Distribution::kTruncatedNormal) {
          TruncatedGroup<T>(key_, block, y + g * per, count);
        } else if (count == per) {
          BlockValues<T, D>(key_, block, y + g * per);
        } else {
          T tail[per];
          BlockValues<T, D>(key_, block, tail);
          for (int64_t k = 0; k < count; ++k) y[g * per + k] = tail[k];
        }
      }
    });
    return absl::OkStatus();
  }

 private:
  const philox::Key key_;
  std::atomic<uint64_t> counter_{0};
};

template <Distribution D>
KernelOr MakeRandom(const KernelInit& init) {
  const philox::Key key = philox::RandomKey(init.graph_seed, init.attr("seed").i(),
                                            init.attr("seed2").i(), init.node.name());
  const DType dtype = init.attr("dtype").dtype();
  switch (dtype) {
    case DType::kF32:
      return std::make_unique<RandomKernel<float, D>>(key);
    case DType::kF64:
      return std::make_unique<RandomKernel<double, D>>(key);
    case DType::kF16:
      return std::make_unique<RandomKernel<Half, D>>(key);
    case DType::kBF16:
      return std::make_unique<RandomKernel<BFloat16, D>>(key);
    default:
      break;
  }
  return absl::UnimplementedError(absl::StrCat("no random kernel for ", DTypeName(dtype)));
}

}  // namespace

void RegisterRandomKernels(KernelRegistry& r) {
  // Kernels are looked up by the `T` attr, which for these ops is the dtype
  // of the shape input; the output dtype is the `dtype` attr.
  const std::vector<DType> shape_types = {DType::kI32, DType::kI64};
  r.Register("RandomUniform", DeviceType::kCpu, shape_types, MakeRandom<Distribution::kUniform>);
  r.Register("RandomNormal", DeviceType::kCpu, shape_types, MakeRandom<Distribution::kNormal>);
  r.Register("TruncatedNormal", DeviceType::kCpu, shape_types,
             MakeRandom<Distribution::kTruncatedNormal>);
}

}  // namespace sluice::cpu
