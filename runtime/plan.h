// A compiled plan: the specialised graph of one run signature, its kernels,
// the order they run in and the memory their tensors live in. Immutable once
// compiled; any number of threads may execute it at once.
#ifndef SLUICE_RUNTIME_PLAN_H_
#define SLUICE_RUNTIME_PLAN_H_

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "kernels/kernel.h"
#include "kernels/kernel_registry.h"
#include "passes/memory/memory_plan.h"
#include "passes/pipeline.h"
#include "passes/placement.h"
#include "runtime/session.h"

namespace sluice {

class DeviceContext;
class ThreadPool;
class VariableStore;

// What a plan is compiled for. Names are "node" or "node:index" for feeds and
// fetches, "node" for targets.
struct PlanRequest {
  std::vector<std::string> feed_names;
  std::vector<DType> feed_dtypes;
  std::vector<Shape> feed_shapes;
  std::vector<std::string> fetch_names;
  std::vector<std::string> target_names;
  // Per feed, the value the plan is specialised on (see SpecializedFeedValue)
  // or -1; may be empty (no feed specialised).
  std::vector<int> feed_values;
};

// Plans are specialised on the value of a fed scalar bool, such as the
// training flag of batch normalisation and dropout: it becomes a constant,
// constant folding picks the Select branch it chooses, and the other branch
// is pruned instead of computed and thrown away on every run. A flag has
// two values, so this costs at most two plans. Returns 0 or 1 for such a
// feed, -1 for any other.
int SpecializedFeedValue(const Tensor& feed);

struct CompileEnv {
  const KernelRegistry* kernels = nullptr;
  VariableStore* variables = nullptr;
  const SessionOptions* options = nullptr;
  // Called after every pass of the optimisation pipeline (sluice dump --passes).
  std::function<void(const PassStats&, const Graph&)> pass_observer;
  // The session's accelerator, or null when it runs on the CPU alone.
  DeviceContext* accelerator = nullptr;
  // Where each variable lives (PlaceVariables); null: all on the host.
  const absl::flat_hash_map<std::string, DeviceType>* variable_devices = nullptr;
  // For inspection (PlacePlanForInspection): the accelerator to place for
  // when `accelerator` is null, and stopping once the graph is placed,
  // before any kernel or memory exists.
  DeviceType inspected_accelerator = DeviceType::kCpu;
  bool placement_only = false;
};

class Plan {
 public:
  // Prunes `graph` to what the request needs, specialises every shape from
  // the feeds, schedules the nodes and creates their kernels. Errors name the
  // feed, fetch, target or node at fault.
  static absl::StatusOr<std::unique_ptr<Plan>> Compile(const Graph& graph,
                                                       const PlanRequest& request,
                                                       const CompileEnv& env);
  ~Plan();

  // Runs the plan. `feeds` are in request order and must have the request's
  // dtypes and shapes (the caller matched them). Returns the fetches in order.
  // With a `pool`, steps whose inputs are ready run at the same time on its
  // threads (and the calling thread); without one they run in schedule order
  // on the calling thread. Tracing always runs in schedule order.
  absl::StatusOr<std::vector<Tensor>> Execute(absl::Span<const Tensor> feeds,
                                              const RunOptions* options, RunMetadata* metadata,
                                              ThreadPool* pool = nullptr) const;

  // The specialised graph the plan was made from (for dumps and tests).
  const Graph& graph() const { return *graph_; }
  int num_steps() const { return static_cast<int>(steps_.size()); }
  // Bytes of intermediate tensors one execution needs in host memory.
  int64_t arena_bytes() const { return arena_bytes_; }
  // The same in the accelerator's memory (0 without one).
  int64_t device_arena_bytes() const { return device_memory_plan_.arena_bytes; }
  // What each pass of the optimisation pipeline did while compiling.
  const std::vector<PassStats>& pass_stats() const { return pass_stats_; }
  // Where each intermediate tensor lives in the arena and for which steps.
  // Slots are numbered in schedule order, a node's outputs in turn.
  const MemoryPlan& memory_plan() const { return memory_plan_; }
  // The accelerator's arena: the slots placed there (other slots -1).
  const MemoryPlan& device_memory_plan() const { return device_memory_plan_; }
  // Nodes placed on each side and copies inserted between them.
  const PlacementStats& placement() const { return placement_; }

 private:
  struct Slot {
    DType dtype;
    Shape shape;
    int64_t offset = -1;  // in its arena; -1 for feeds and forwarded outputs
    DeviceType memory = DeviceType::kCpu;  // whose arena
  };
  struct Step {
    const Node* node = nullptr;
    OpKernel* kernel = nullptr;
    std::vector<int> inputs;   // slot per input
    std::vector<int> outputs;  // slot per output
    std::vector<int> successors;  // steps that wait for this one
    int num_predecessors = 0;
  };
  struct Frame;
  struct ParallelRun;

  absl::Status RunSequential(Frame& frame, RunMetadata* trace) const;
  absl::Status RunParallel(Frame& frame, ThreadPool& pool) const;
  static void RunFrom(ParallelRun* run, int step);

  Plan();
  friend absl::StatusOr<std::unique_ptr<Plan>> PlacePlanForInspection(
      const Graph& graph, const PlanRequest& request, const SessionOptions& options,
      DeviceType accelerator);
  friend absl::StatusOr<std::unique_ptr<Plan>> CompilePlanForInspection(
      const Graph& graph, const PlanRequest& request, const SessionOptions& options,
      std::function<void(const PassStats&, const Graph&)> pass_observer);
  // ResourceExhausted naming the largest buffers when the arenas exceed
  // SessionOptions::memory_limit_bytes.
  static absl::Status CheckMemoryLimit(const Plan& plan, int64_t limit_option,
                                       absl::Span<const std::string> slot_names);
  absl::StatusOr<std::unique_ptr<Frame>> NewFrame() const;
  absl::StatusOr<std::unique_ptr<Frame>> AcquireFrame() const;
  void ReleaseFrame(std::unique_ptr<Frame> frame) const;

  // Set by CompilePlanForInspection: the store the kernels of a plan made
  // outside any Session refer to. Declared first so it outlives them.
  std::unique_ptr<VariableStore> owned_variables_;
  std::unique_ptr<Graph> graph_;
  std::vector<std::unique_ptr<OpKernel>> kernels_;
  std::vector<Step> steps_;
  std::vector<Slot> slots_;
  std::vector<int> feed_slots_;
  std::vector<int> fetch_slots_;
  // Fetched slots a kernel writes (not forwarded, not fed): each execution
  // gives them a new buffer that goes to the caller as is, instead of a
  // copy out of the reused arena.
  std::vector<int> fresh_fetch_slots_;
  int64_t arena_bytes_ = 0;
  MemoryPlan memory_plan_;
  MemoryPlan device_memory_plan_;
  PlacementStats placement_;
  // Not owned: the session's accelerator, when a step runs there.
  DeviceContext* accelerator_ = nullptr;
  std::vector<PassStats> pass_stats_;

  // A plain mutex: held for a push or pop on every run, where Abseil's
  // debug-mode deadlock bookkeeping (on in Debian's build) costs more.
  mutable std::mutex frames_mu_;
  mutable std::vector<std::unique_ptr<Frame>> free_frames_;
};

// Compiles the plan a Session with `options` would compile for `request`,
// without running it (for `sluice dump --memory` and tests). The plan has its
// own, empty variable store: executing it needs no variable's value only.
// Errors are those of Plan::Compile. `pass_observer`, when set, sees the
// graph after every pass of the optimisation pipeline.
absl::StatusOr<std::unique_ptr<Plan>> CompilePlanForInspection(
    const Graph& graph, const PlanRequest& request, const SessionOptions& options = {},
    std::function<void(const PassStats&, const Graph&)> pass_observer = {});

// The placed graph of the plan a Session would compile for `request` with
// `accelerator` present (kCpu: none), without creating kernels or memory,
// so no GPU is needed (`sluice dump --placement`). Only graph(),
// pass_stats() and placement() of the result are meaningful.
absl::StatusOr<std::unique_ptr<Plan>> PlacePlanForInspection(const Graph& graph,
                                                             const PlanRequest& request,
                                                             const SessionOptions& options,
                                                             DeviceType accelerator);

}  // namespace sluice

#endif  // SLUICE_RUNTIME_PLAN_H_
