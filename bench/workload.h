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

namespace sluice::bench {

class Workload {
 public:
  virtual ~Workload() = default;
  // One run: one product, one inference, one training step or one epoch.
  virtual absl::Status Run() = 0;
  // The result of the last run for inference workloads (compared across
  // systems); nullopt for the others.
  virtual std::optional<Tensor> LastOutput() const { return std::nullopt; }
};

// What builds a workload: the directory of make_data.py's files and the
// operator threads.
struct WorkloadConfig {
  std::string data_dir;
  int threads = 0;
};

// Sluice's version of `name`; NotFound for a workload it does not know.
absl::StatusOr<std::unique_ptr<Workload>> MakeSluiceWorkload(const std::string& name,
                                                             const WorkloadConfig& config);

// oneDNN's matmul primitive called directly (matmul rows only): Unimplemented
// for every other workload.
absl::StatusOr<std::unique_ptr<Workload>> MakeOneDnnWorkload(const std::string& name,
                                                             const WorkloadConfig& config);

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_WORKLOAD_H_
