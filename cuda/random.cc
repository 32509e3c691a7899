// CUDA kernels of the random family: RandomUniform, RandomNormal and
// TruncatedNormal (device code in cuda/random.cu).
//
// As on the CPU (cpu/random.cc), each kernel owns its Philox key (from the
// graph seed, the op's seed and seed2, or its name) and a block counter that
// every step advances by the blocks it draws, so consecutive steps draw fresh
// numbers and the n-th step of a CUDA kernel yields the n-th step's values of
// the CPU kernel. The counter lives on the host: a step reserves its blocks
// when it is queued, and steps queued on the one stream run in that order.
#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "cuda/cuda_kernel_util.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_status.h"
#include "cuda/random_launch.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"
#include "kernels/philox.h"

namespace sluice::cuda {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

class RandomKernel final : public OpKernel {
 public:
  RandomKernel(CudaContext* context, RandomDistribution distribution, RandomType type,
               philox::Key key, int64_t n)
      : context_(context),
        distribution_(distribution),
        type_(type),
        key_(key),
        n_(n),
        blocks_per_step_(static_cast<uint64_t>((n + RandomValuesPerGroup(type) - 1) /
                                               RandomValuesPerGroup(type) *
                                               RandomBlocksPerGroup(distribution))) {}

  absl::Status Compute(const KernelContext& ctx) override {
    const uint64_t first_block = counter_.fetch_add(blocks_per_step_, std::memory_order_relaxed);
    SLUICE_CUDA_RETURN_IF_ERROR(LaunchRandom(distribution_, type_, key_, first_block,
                                             ctx.output(0).raw_data(), n_, context_->stream()));
    return absl::OkStatus();
  }

 private:
  CudaContext* const context_;
  const RandomDistribution distribution_;
  const RandomType type_;
  const philox::Key key_;
  const int64_t n_;
  const uint64_t blocks_per_step_;
  std::atomic<uint64_t> counter_{0};
};

template <RandomDistribution D>
KernelOr MakeRandom(const KernelInit& init) {
  ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
  const philox::Key key = philox::RandomKey(init.graph_seed, init.attr("seed").i(),
                                            init.attr("seed2").i(), init.node.name());
  const DType dtype = init.attr("dtype").dtype();
  RandomType type;
  switch (dtype) {
    case DType::kF32:
      type = RandomType::kF32;
      break;
    case DType::kF64:
      type = RandomType::kF64;
      break;
    case DType::kF16:
      type = RandomType::kF16;
      break;
    case DType::kBF16:
      type = RandomType::kBF16;
      break;
    default:
      return absl::UnimplementedError(absl::StrCat("no random kernel for ", DTypeName(dtype)));
  }
  return std::make_unique<RandomKernel>(context, D, type, key, init.output_shape(0).num_elements());
}

}  // namespace

void RegisterRandomKernels(KernelRegistry& r) {
  // Kernels are looked up by the `T` attr, which for these ops is the dtype
  // of the shape input; the output dtype is the `dtype` attr. The shape
  // input is never read: the output shape is static.
  const std::vector<DType> shape_types = {DType::kI32, DType::kI64};
  r.Register("RandomUniform", DeviceType::kCuda, shape_types,
             MakeRandom<RandomDistribution::kUniform>);
  r.Register("RandomNormal", DeviceType::kCuda, shape_types,
             MakeRandom<RandomDistribution::kNormal>);
  r.Register("TruncatedNormal", DeviceType::kCuda, shape_types,
             MakeRandom<RandomDistribution::kTruncatedNormal>);
}

}  // namespace sluice::cuda
