#include "runtime/session.h"

#include <chrono>
#include <mutex>
#include <shared_mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cpu/cpu_threads.h"
#include "graph/status_macros.h"
#include "kernels/device_context.h"
#include "kernels/variable_store.h"
#include "passes/placement.h"
#include "runtime/checkpoint.h"
#include "runtime/devices.h"
#include "runtime/kernel_setup.h"
#include "runtime/plan.h"
#include "runtime/plan_cache.h"
#include "runtime/thread_pool.h"

namespace sluice {
namespace {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct Session::Impl {
  struct Callable {
    PlanRequest request;  // names only; dtypes and shapes come with each run
    std::mutex mu;  // guards the three below
    std::shared_ptr<const Plan> last_plan;
    std::vector<DType> last_dtypes;
    std::vector<Shape> last_shapes;
    std::vector<int> last_values;  // SpecializedFeedValue of each feed
  };

  Impl(std::unique_ptr<Graph> g, const SessionOptions& o, const KernelRegistry* k,
       std::unique_ptr<DeviceContext> a)
      : accelerator(std::move(a)),
        kernels(k),
        graph(std::move(g)),
        options(o),
        plans(o.plan_cache_capacity) {
    variable_devices = PlaceVariables(
        *graph, *kernels, accelerator != nullptr ? accelerator->type() : DeviceType::kCpu);
    if (options.inter_op_parallelism) {
      // The calling thread runs steps too, so one worker fewer than cores.
      inter_op_pool = std::make_unique<ThreadPool>(std::max(1, cpu::AvailableCores() - 1));
    }
  }

  // The plan for this signature, compiled on a miss.
  absl::StatusOr<std::shared_ptr<const Plan>> GetPlan(const SignatureView& sig,
                                                      RunMetadata* metadata) {
    if (std::shared_ptr<const Plan> plan = plans.Find(sig)) {
      if (metadata != nullptr) metadata->plan_compiled = false;
      return plan;
    }
    const int64_t start = NowNanos();
    PlanRequest request;
    for (size_t i = 0; i < sig.feed_names.size(); ++i) {
      request.feed_names.push_back(*sig.feed_names[i]);
      request.feed_dtypes.push_back(sig.feed_values[i]->dtype());
      request.feed_shapes.push_back(sig.feed_values[i]->shape());
      request.feed_values.push_back(SpecializedFeedValue(*sig.feed_values[i]));
    }
    request.fetch_names.assign(sig.fetch_names.begin(), sig.fetch_names.end());
    request.target_names.assign(sig.target_names.begin(), sig.target_names.end());
    CompileEnv env{kernels, &variables, &options, {}, accelerator.get(), &variable_devices};
    ASSIGN_OR_RETURN(std::unique_ptr<Plan> plan, Plan::Compile(*graph, request, env));
    std::shared_ptr<const Plan> cached = plans.Insert(request, std::move(plan));
    if (metadata != nullptr) {
      metadata->plan_compiled = true;
      metadata->compile_nanoseconds = NowNanos() - start;
    }
    return cached;
  }

  absl::StatusOr<std::vector<Tensor>> Execute(const Plan& plan, absl::Span<const Tensor> feeds,
                                              const RunOptions* run_options,
                                              RunMetadata* metadata) {
    cpu::UseThreadsInThisThread(options.intra_op_threads);
    if (metadata == nullptr) return plan.Execute(feeds, run_options, nullptr, inter_op_pool.get());
    const int64_t start = NowNanos();
    auto result = plan.Execute(feeds, run_options, metadata, inter_op_pool.get());
    metadata->run_nanoseconds = NowNanos() - start;
    return result;
  }

  // Declared first, so that plans and variables (which hold its memory) go
  // before it.
  std::unique_ptr<DeviceContext> accelerator;
  const KernelRegistry* kernels;
  std::unique_ptr<Graph> graph;
  SessionOptions options;
  // Where each variable lives; fixed for the session.
  absl::flat_hash_map<std::string, DeviceType> variable_devices;
  VariableStore variables;
  PlanCache plans;
  // Set when independent branches may run at the same time.
  std::unique_ptr<ThreadPool> inter_op_pool;

  // Standard mutexes on the run path: Debian's Abseil is built with deadlock
  // detection, whose bookkeeping costs more than a whole tiny run.
  std::shared_mutex callables_mu;  // guards the two below
  absl::flat_hash_map<CallableHandle, std::shared_ptr<Callable>> callables;
  CallableHandle next_handle = 1;
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

absl::StatusOr<std::unique_ptr<Session>> Session::Create(const Graph& graph,
                                                         const SessionOptions& options) {
  ASSIGN_OR_RETURN(std::unique_ptr<DeviceContext> accelerator, OpenAccelerator(options.device));
  return CreateWith(graph, options, &GlobalKernelRegistry(), std::move(accelerator));
}

absl::StatusOr<std::unique_ptr<Session>> Session::CreateWith(
    const Graph& graph, const SessionOptions& options, const KernelRegistry* kernels,
    std::unique_ptr<DeviceContext> accelerator) {
  if (options.intra_op_threads < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "SessionOptions.intra_op_threads must be >= 0 (0: every core), got ",
        options.intra_op_threads));
  }
  if (!graph.build_status().ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the graph holds a build error, fix it first: ", graph.build_status().message()));
  }
  RETURN_IF_ERROR(graph.TopologicalOrder().status());
  auto impl = std::make_unique<Impl>(graph.Clone(), options, kernels, std::move(accelerator));
  return std::unique_ptr<Session>(new Session(std::move(impl)));
}

// Checkpoints hold host bytes: variables in device memory are copied to the
// host to save and back to restore. The copies go through a host-side store
// so that the file format code never sees device memory.
absl::Status Session::SaveCheckpoint(const std::string& path) {
  bool any_on_device = false;
  for (VariableSlot* slot : impl_->variables.List()) any_on_device |= slot->device() != nullptr;
  if (!any_on_device) return sluice::SaveCheckpoint(impl_->variables, path, impl_->graph.get());
  VariableStore host;
  for (VariableSlot* slot : impl_->variables.List()) {
    ASSIGN_OR_RETURN(VariableSlot * copy,
                     host.GetOrCreate(slot->name(), slot->dtype(), slot->declared_shape()));
    if (!slot->initialized()) continue;
    if (slot->device() == nullptr) {
      copy->Set(slot->value());
    } else {
      ASSIGN_OR_RETURN(Tensor value, CopyTensorToHost(*slot->device(), slot->value()));
      copy->Set(std::move(value));
    }
  }
  return sluice::SaveCheckpoint(host, path, impl_->graph.get());
}

absl::Status Session::RestoreCheckpoint(const std::string& path) {
  if (impl_->accelerator == nullptr) {
    return sluice::RestoreCheckpoint(path, *impl_->graph, impl_->variables);
  }
  // Read and check the whole file first, as the host-only path does, so
  // that an error leaves every variable unchanged.
  VariableStore host;
  RETURN_IF_ERROR(sluice::RestoreCheckpoint(path, *impl_->graph, host));
  std::vector<std::pair<VariableSlot*, Tensor>> values;
  for (VariableSlot* restored : host.List()) {
    ASSIGN_OR_RETURN(VariableSlot * slot,
                     impl_->variables.GetOrCreate(restored->name(), restored->dtype(),
                                                  restored->declared_shape()));
    auto where = impl_->variable_devices.find(restored->name());
    const bool on_device =
        where != impl_->variable_devices.end() && where->second != DeviceType::kCpu;
    DeviceContext* device = on_device ? impl_->accelerator.get() : nullptr;
    RETURN_IF_ERROR(slot->BindDevice(device));
    if (device == nullptr) {
      values.emplace_back(slot, restored->value());
    } else {
      ASSIGN_OR_RETURN(Tensor value, CopyTensorToDevice(*device, restored->value()));
      values.emplace_back(slot, std::move(value));
    }
  }
  if (impl_->accelerator != nullptr) RETURN_IF_ERROR(impl_->accelerator->Synchronize());
  for (auto& [slot, value] : values) slot->Set(std::move(value));
  return absl::OkStatus();
}

const DeviceContext* Session::accelerator() const { return impl_->accelerator.get(); }

const Graph& Session::graph() const { return *impl_->graph; }
const SessionOptions& Session::options() const { return impl_->options; }

absl::StatusOr<std::vector<Tensor>> Session::Run(const FeedList& feeds,
                                                 const std::vector<std::string>& fetches,
                                                 const std::vector<std::string>& targets,
                                                 const RunOptions* options,
                                                 RunMetadata* metadata) {
  absl::InlinedVector<const std::string*, 8> names;
  absl::InlinedVector<const Tensor*, 8> values;
  absl::InlinedVector<Tensor, 8> tensors;
  for (const auto& [name, value] : feeds) {
    if (!value.valid()) {
      return absl::InvalidArgumentError(absl::StrCat("feed '", name, "' is an empty tensor"));
    }
    names.push_back(&name);
    values.push_back(&value);
    tensors.push_back(value);
  }
  const SignatureView sig{names, values, fetches, targets};
  ASSIGN_OR_RETURN(std::shared_ptr<const Plan> plan, impl_->GetPlan(sig, metadata));
  return impl_->Execute(*plan, tensors, options, metadata);
}

absl::StatusOr<std::vector<Tensor>> Session::Run(
    const std::vector<std::pair<Output, Tensor>>& feeds, const std::vector<Output>& fetches,
    const std::vector<Node*>& targets, const RunOptions* options, RunMetadata* metadata) {
  FeedList named;
  for (const auto& [out, value] : feeds) {
    if (!out.valid()) return absl::InvalidArgumentError("a feed names a null Output");
    named.emplace_back(out.name(), value);
  }
  std::vector<std::string> fetch_names;
  for (const Output& f : fetches) {
    if (!f.valid()) return absl::InvalidArgumentError("a fetch names a null Output");
    fetch_names.push_back(f.name());
  }
  std::vector<std::string> target_names;
  for (Node* t : targets) {
    if (t == nullptr) return absl::InvalidArgumentError("a target is a null Node");
    target_names.push_back(t->name());
  }
  return Run(named, fetch_names, target_names, options, metadata);
}

absl::StatusOr<Session::CallableHandle> Session::MakeCallable(
    const std::vector<std::string>& feeds, const std::vector<std::string>& fetches,
    const std::vector<std::string>& targets) {
  // Check the names now, so mistakes surface here rather than on first run.
  for (const std::string& name : feeds) {
    const std::string node = name.substr(0, name.rfind(':'));
    if (impl_->graph->FindNode(node) == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("feed '", name, "': no node named '", node, "' in the graph"));
    }
  }
  auto callable = std::make_shared<Impl::Callable>();
  callable->request.feed_names = feeds;
  callable->request.fetch_names = fetches;
  callable->request.target_names = targets;
  std::unique_lock lock(impl_->callables_mu);
  const CallableHandle handle = impl_->next_handle++;
  impl_->callables.emplace(handle, std::move(callable));
  return handle;
}

absl::StatusOr<std::vector<Tensor>> Session::RunCallable(CallableHandle handle,
                                                         const std::vector<Tensor>& feeds,
                                                         RunMetadata* metadata) {
  std::shared_ptr<Impl::Callable> callable;  // kept alive if released meanwhile
  {
    std::shared_lock lock(impl_->callables_mu);
    auto it = impl_->callables.find(handle);
    if (it == impl_->callables.end()) {
      return absl::InvalidArgumentError(absl::StrCat("no callable with handle ", handle));
    }
    callable = it->second;
  }
  const PlanRequest& request = callable->request;
  if (feeds.size() != request.feed_names.size()) {
    return absl::InvalidArgumentError(absl::StrCat("callable ", handle, " takes ",
                                                   request.feed_names.size(), " feeds, got ",
                                                   feeds.size()));
  }
  std::shared_ptr<const Plan> plan;
  {
    std::lock_guard<std::mutex> lock(callable->mu);
    if (callable->last_plan != nullptr) {
      bool same = true;
      for (size_t i = 0; i < feeds.size() && same; ++i) {
        same = feeds[i].dtype() == callable->last_dtypes[i] &&
               feeds[i].shape() == callable->last_shapes[i] &&
               SpecializedFeedValue(feeds[i]) == callable->last_values[i];
      }
      if (same) plan = callable->last_plan;
    }
  }
  if (plan == nullptr) {
    absl::InlinedVector<const std::string*, 8> names;
    absl::InlinedVector<const Tensor*, 8> values;
    for (size_t i = 0; i < feeds.size(); ++i) {
      if (!feeds[i].valid()) {
        return absl::InvalidArgumentError(
            absl::StrCat("feed '", request.feed_names[i], "' is an empty tensor"));
      }
      names.push_back(&request.feed_names[i]);
      values.push_back(&feeds[i]);
    }
    const SignatureView sig{names, values, request.fetch_names, request.target_names};
    ASSIGN_OR_RETURN(plan, impl_->GetPlan(sig, metadata));
    std::lock_guard<std::mutex> lock(callable->mu);
    callable->last_plan = plan;
    callable->last_dtypes.clear();
    callable->last_shapes.clear();
    callable->last_values.clear();
    for (const Tensor& t : feeds) {
      callable->last_dtypes.push_back(t.dtype());
      callable->last_shapes.push_back(t.shape());
      callable->last_values.push_back(SpecializedFeedValue(t));
    }
  } else if (metadata != nullptr) {
    metadata->plan_compiled = false;
  }
  return impl_->Execute(*plan, feeds, nullptr, metadata);
}

absl::Status Session::ReleaseCallable(CallableHandle handle) {
  std::unique_lock lock(impl_->callables_mu);
  if (impl_->callables.erase(handle) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("no callable with handle ", handle));
  }
  return absl::OkStatus();
}

}  // namespace sluice
