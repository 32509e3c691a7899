// Device code of the reduction family (cuda/reduction.cu).
//
// A reduction arrives here already collapsed (cuda/reduction.cc): the input
// dims are merged into groups that are all kept or all reduced, and the two
// kinds of groups are walked apart. Output element q lies at the kept
// groups' offset of q (row-major over the kept groups), and its inputs at
// that offset plus the reduced groups' offset of r, r in [0, reduce_count).
#ifndef SLUICE_CUDA_REDUCTION_LAUNCH_H_
#define SLUICE_CUDA_REDUCTION_LAUNCH_H_

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sluice::cuda {

// Groups of each kind after collapsing (the CPU kernel's limit, so that
// every reduction it runs runs here too).
inline constexpr int kMaxReduceGroups = 16;

enum class ReduceOp { kSum, kMean, kMax, kMin, kProd };
enum class ReduceType { kF32, kF64, kF16, kBF16, kI8, kU8, kI32, kI64 };

// Some groups of the input, outermost first: their sizes and element strides.
struct ReduceGroups {
  int rank = 0;
  int64_t dims[kMaxReduceGroups] = {};
  int64_t strides[kMaxReduceGroups] = {};
};

struct ReduceGeometry {
  ReduceGroups kept;
  ReduceGroups reduced;
  int64_t out_elements = 1;
  int64_t reduce_count = 1;  // inputs per output element
};

// How the work is spread, decided once when the kernel is made. per_thread:
// one thread per output element (coalesced when the innermost input dim is
// kept). Otherwise one block of kThreadsPerBlock threads per output element
// and part; with parts > 1 each block reduces `chunk` consecutive reduced
// positions into a partial result in the workspace, and a second kernel
// combines the parts in a fixed order (results do not depend on timing).
struct ReduceSchedule {
  bool per_thread = false;
  int64_t parts = 1;
  int64_t chunk = 0;  // reduced positions per part (parts > 1 only)
};

// Workspace bytes `schedule` needs (0 without parts).
int64_t ReduceWorkspaceBytes(const ReduceGeometry& geometry, const ReduceSchedule& schedule);

// y[q] = the `op` reduction of x over the reduced positions of q, for every
// q < out_elements. 16-bit floats accumulate in f32, integers wrap (Mean of
// integers sums in 64 bits and truncates toward zero), Max and Min propagate
// NaN, an empty reduction stores the op's identity (Mean of floats: NaN).
// `workspace` holds ReduceWorkspaceBytes bytes.
cudaError_t LaunchReduce(ReduceOp op, ReduceType type, const ReduceGeometry& geometry,
                         const ReduceSchedule& schedule, const void* x, void* y, void* workspace,
                         cudaStream_t stream);

enum class ArgIndexType { kI32, kI64 };

// For x viewed as [outer, n, inner] (n >= 1): y[o * inner + i] = the first
// j of the largest x[o, j, i] (a NaN counts as the largest, the first NaN
// wins). per_block: a block of threads per output element (for long, few
// reductions); otherwise a thread per output element.
cudaError_t LaunchArgMax(ReduceType type, ArgIndexType index_type, int64_t outer, int64_t n,
                         int64_t inner, bool per_block, const void* x, void* y,
                         cudaStream_t stream);

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_REDUCTION_LAUNCH_H_
