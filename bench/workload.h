// One side-by-side workload as the worker runs it (bench/WORKLOADS.md): built
// once from the shared data files, then run many times.
#ifndef SLUICE_BENCH_WORKLOAD_H_
#define SLUICE_BENCH_WORKLOAD_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "graph/tensor.h"
#include "runtime/session.h"

namespace sluice::bench {

class Workload {
 public:
  virtual ~Workload() = default;
  // One run: one product, one inference, one training step or one epoch. A
  // run on a GPU returns once the device has finished it.
  virtual absl::Status Run() = 0;
  // The result of the last run for the workloads whose outputs are compared
  // across systems (inference rows; GPU matmul rows); nullopt for the others.
  // May do device work of its own (a GPU matmul row fetches its product).
  virtual absl::StatusOr<std::optional<Tensor>> LastOutput() { return std::nullopt; }
};

// What builds a workload: the directory of make_data.py's files, the
// operator threads and where Sluice's sessions run.
struct WorkloadConfig {
  std::string data_dir;
  int threads = 0;
  // kCpu: the CPU rows. Anything else puts the operands of the matmul rows
  // on the device (variables), where a GPU's product is measured.
  DevicePolicy device = DevicePolicy::kCpu;
};

// The side of the matmul rows: matmul1024 -> 1024; 0 for other workloads.
int64_t MatMulSize(const std::string& workload);

// Sluice's version of `name`; NotFound for a workload it does not know.
absl::StatusOr<std::unique_ptr<Workload>> MakeSluiceWorkload(const std::string& name,
                                                             const WorkloadConfig& config);

// oneDNN's matmul primitive called directly (matmul rows only): Unimplemented
// for every other workload.
absl::StatusOr<std::unique_ptr<Workload>> MakeOneDnnWorkload(const std::string& name,
                                                             const WorkloadConfig& config);

#ifdef SLUICE_HAVE_CUDA
// cuBLAS SGEMM called directly on device 0 (matmul rows only, operands and
// product in device memory): Unimplemented for every other workload;
// Unavailable without a usable GPU.
absl::StatusOr<std::unique_ptr<Workload>> MakeCublasWorkload(const std::string& name,
                                                             const WorkloadConfig& config);
// "cuBLAS 13.0.2 on CUDA 13.0".
std::string CublasVersion();
#endif

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_WORKLOAD_H_
