// Session: runs a graph with TensorFlow 1.x semantics. The first Run of a
// signature (feed names, dtypes and shapes; fetches; targets) compiles a Plan;
// later Runs of that signature reuse it.
#ifndef SLUICE_RUNTIME_SESSION_H_
#define SLUICE_RUNTIME_SESSION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "passes/pipeline.h"

namespace sluice {

// Where a session runs its ops.
enum class DevicePolicy {
  // The GPU when one is present: every op with a CUDA kernel runs there, the
  // rest on the CPU. Without a GPU (or a build without the CUDA layer), the
  // CPU.
  kAuto,
  kCpu,
  // As kAuto, but Session::Create fails when there is no usable GPU.
  kCuda,
};
// "auto", "cpu", "cuda".
absl::string_view DevicePolicyName(DevicePolicy policy);
// Parses one of those names; InvalidArgument listing them otherwise.
absl::StatusOr<DevicePolicy> ParseDevicePolicy(absl::string_view name);

struct SessionOptions {
  // Where ops run (see DevicePolicy).
  DevicePolicy device = DevicePolicy::kAuto;
  // Threads one kernel may use; 0 means every core.
  int intra_op_threads = 0;
  // Whether independent branches of a plan may run at the same time. Off by
  // default: kernels already use every core, and branch parallelism on top
  // would oversubscribe them.
  bool inter_op_parallelism = false;
  // Compiled plans kept per session; the least recently used is dropped.
  int plan_cache_capacity = 32;
  // Graph-level seed combined with each random op's seed and seed2.
  uint64_t seed = 87654321;
  // The most bytes one plan's arena (host and device together) may take; a
  // plan over it fails to compile with ResourceExhausted naming its largest
  // buffers. 0: the machine's physical memory.
  int64_t memory_limit_bytes = 0;
  // The graph optimisation pipeline run on every compiled plan.
  OptimizationOptions optimization;
};

struct RunOptions {
  // Record each step's time in RunMetadata.
  bool trace = false;
};

struct StepStats {
  std::string node;
  std::string op;
  int64_t nanoseconds = 0;
};

struct RunMetadata {
  // True when this run compiled its plan, false when it reused one.
  bool plan_compiled = false;
  int64_t compile_nanoseconds = 0;
  int64_t run_nanoseconds = 0;
  // Per step, in execution order; filled when RunOptions::trace is set.
  std::vector<StepStats> steps;
};

// Feeds name a node output ("x" or "x:1"); fetches too; targets name nodes.
using FeedList = std::vector<std::pair<std::string, Tensor>>;

class DeviceContext;
class KernelRegistry;
class Plan;
class PlanCache;

class Session {
 public:
  // The session keeps its own copy of `graph`; later edits to `graph` are not
  // seen. Variables start uninitialised.
  static absl::StatusOr<std::unique_ptr<Session>> Create(const Graph& graph,
                                                         const SessionOptions& options = {});
  ~Session();

  // Runs what `fetches` and `targets` need, with `feeds` replacing the values
  // of the outputs they name, and returns the fetched values in order.
  absl::StatusOr<std::vector<Tensor>> Run(const FeedList& feeds,
                                          const std::vector<std::string>& fetches,
                                          const std::vector<std::string>& targets = {},
                                          const RunOptions* options = nullptr,
                                          RunMetadata* metadata = nullptr);
  // The same with Outputs and Nodes of the graph the session was created from
  // (they are matched by name).
  absl::StatusOr<std::vector<Tensor>> Run(const std::vector<std::pair<Output, Tensor>>& feeds,
                                          const std::vector<Output>& fetches,
                                          const std::vector<Node*>& targets = {},
                                          const RunOptions* options = nullptr,
                                          RunMetadata* metadata = nullptr);

  // A fixed signature run without any name lookup (TF1's MakeCallable).
  using CallableHandle = int64_t;
  absl::StatusOr<CallableHandle> MakeCallable(const std::vector<std::string>& feeds,
                                              const std::vector<std::string>& fetches,
                                              const std::vector<std::string>& targets = {});
  // `feeds` in the order given to MakeCallable.
  absl::StatusOr<std::vector<Tensor>> RunCallable(CallableHandle handle,
                                                  const std::vector<Tensor>& feeds,
                                                  RunMetadata* metadata = nullptr);
  absl::Status ReleaseCallable(CallableHandle handle);

  // Saves every variable of this session to the checkpoint at `path` (see
  // runtime/checkpoint.h); each Variable of the graph must hold a value. Must
  // not overlap a Run that updates variables.
  absl::Status SaveCheckpoint(const std::string& path);
  // Sets every Variable of the graph from the checkpoint at `path`, leaving all
  // of them unchanged on any error. Must not overlap a Run that uses variables.
  absl::Status RestoreCheckpoint(const std::string& path);

  const Graph& graph() const;
  const SessionOptions& options() const;
  // The session's GPU (its name, e.g. "cuda:0"), or null on the CPU alone.
  const DeviceContext* accelerator() const;

 private:
  struct Impl;
  explicit Session(std::unique_ptr<Impl> impl);
  static absl::StatusOr<std::unique_ptr<Session>> CreateWith(
      const Graph& graph, const SessionOptions& options, const KernelRegistry* kernels,
      std::unique_ptr<DeviceContext> accelerator);
  friend absl::StatusOr<std::unique_ptr<Session>> CreateSessionWithDevice(
      const Graph& graph, const SessionOptions& options, const KernelRegistry* kernels,
      std::unique_ptr<DeviceContext> accelerator);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice

#endif  // SLUICE_RUNTIME_SESSION_H_
