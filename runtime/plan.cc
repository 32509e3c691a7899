#include "runtime/plan.h"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <limits>
#include <cstdlib>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "kernels/device_context.h"
#include "kernels/evaluate.h"
#include "kernels/variable_store.h"
#include "passes/memory/liveness.h"
#include "passes/memory/memory_plan.h"
#include "passes/pipeline.h"
#include "runtime/kernel_setup.h"
#include "runtime/thread_pool.h"

namespace sluice {
namespace {

// Values up to this many elements are computed while compiling when every
// input is known (shape arithmetic such as Reshape(x, Concat(Shape(y), ...))).
constexpr int64_t kMaxFoldedElements = 1024;

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Parses "node" or "node:index" and finds it in `graph`.
absl::StatusOr<Output> ResolveOutput(const Graph& graph, const std::string& name,
                                      absl::string_view role) {
  std::string node_name = name;
  int index = 0;
  if (const size_t colon = name.rfind(':'); colon != std::string::npos) {
    if (!absl::SimpleAtoi(absl::string_view(name).substr(colon + 1), &index) || index < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(role, " '", name, "': expected 'node' or 'node:index'"));
    }
    node_name = name.substr(0, colon);
  }
  Node* node = graph.FindNode(node_name);
  if (node == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(role, " '", name, "': no node named '", node_name, "' in the graph"));
  }
  if (index >= node->num_outputs()) {
    return absl::InvalidArgumentError(absl::StrCat(role, " '", name, "': ", node->DebugName(),
                                                   " has ", node->num_outputs(), " output",
                                                   node->num_outputs() == 1 ? "" : "s"));
  }
  return Output(node, index);
}

bool IsFoldable(const Node& node) {
  if (node.op_def().is_stateful() || node.num_outputs() == 0) return false;
  const std::string& op = node.op();
  if (op == "Const" || op == "Placeholder" || op == "PlaceholderWithDefault") return false;
  for (const Output& in : node.inputs()) {
    if (in.node->output_value(in.index) == nullptr) return false;
  }
  int64_t total = 0;
  for (int i = 0; i < node.num_outputs(); ++i) {
    const int64_t n = node.output_shape(i).num_elements();
    if (n < 0) return false;
    total += n;
  }
  return total <= kMaxFoldedElements;
}

// Computes `node` (all inputs known) with its kernel; empty when no kernel
// can (the node then simply runs at run time).
std::vector<Tensor> EvaluateSmallNode(const Node& node, const CompileEnv& env) {
  std::vector<const Tensor*> inputs;
  for (const Output& in : node.inputs()) inputs.push_back(in.node->output_value(in.index));
  absl::StatusOr<std::vector<Tensor>> outputs =
      EvaluateNode(*env.kernels, node, inputs, env.variables, env.options->seed);
  if (!outputs.ok()) return {};
  return *std::move(outputs);
}

// The limit a plan's arenas must fit: `limit`, or physical memory for 0.
int64_t EffectiveMemoryLimit(int64_t limit) {
  if (limit > 0) return limit;
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_size = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page_size <= 0) return std::numeric_limits<int64_t>::max();
  return static_cast<int64_t>(pages) * page_size;
}

// "a (1234 bytes), b (56 bytes)": the largest of `sizes` (bytes, name).
std::string LargestBuffers(std::vector<std::pair<int64_t, std::string>> sizes, size_t count) {
  std::sort(sizes.begin(), sizes.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string text;
  for (size_t i = 0; i < sizes.size() && i < count; ++i) {
    absl::StrAppend(&text, i == 0 ? "" : ", ", sizes[i].second, " (", sizes[i].first, " bytes)");
  }
  return text;
}

}  // namespace

absl::Status Plan::CheckMemoryLimit(const Plan& plan, int64_t limit_option,
                                   absl::Span<const std::string> slot_names) {
  const int64_t limit = EffectiveMemoryLimit(limit_option);
  std::vector<std::pair<int64_t, std::string>> sizes;
  for (const MemoryPlan* memory : {&plan.memory_plan_, &plan.device_memory_plan_}) {
    for (const PlannedBuffer& b : memory->buffers) {
      sizes.emplace_back(b.size, b.names.empty() ? std::string("?") : b.names.front());
    }
  }
  // Fetched results get buffers of their own on every run.
  int64_t need = plan.memory_plan_.arena_bytes + plan.device_memory_plan_.arena_bytes;
  for (int slot : plan.fresh_fetch_slots_) {
    const Slot& s = plan.slots_[slot];
    const int64_t bytes = s.shape.num_elements() * static_cast<int64_t>(DTypeSize(s.dtype));
    sizes.emplace_back(bytes, slot_names[slot]);
    need = bytes > std::numeric_limits<int64_t>::max() - need
               ? std::numeric_limits<int64_t>::max()
               : need + bytes;
  }
  if (need <= limit) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "the plan needs ", need, " bytes of intermediate tensors and results, over the limit of ",
      limit,
      limit_option > 0 ? " (SessionOptions::memory_limit_bytes)" : " (the machine's memory)",
      "; largest: ", LargestBuffers(std::move(sizes), 3)));
}

struct Plan::Frame {
  std::shared_ptr<void> arena;
  std::shared_ptr<void> device_arena;  // in the accelerator's memory
  std::vector<Tensor> tensors;  // one per slot
  std::vector<const Tensor*> input_ptrs;
  std::vector<Tensor*> output_ptrs;
  std::vector<std::unique_ptr<KernelState>> states;  // one per step
  // Inputs each step still waits for in a parallel execution.
  std::unique_ptr<std::atomic<int>[]> pending;
  std::vector<KernelContext> contexts;  // one per step, spans into the above
};

int SpecializedFeedValue(const Tensor& feed) {
  if (feed.dtype() != DType::kBool || feed.shape().rank() != 0 || feed.raw_data() == nullptr) {
    return -1;
  }
  return feed.data<bool>()[0] ? 1 : 0;
}

Plan::Plan() = default;
Plan::~Plan() = default;

absl::StatusOr<std::unique_ptr<Plan>> Plan::Compile(const Graph& graph, const PlanRequest& request,
                                                    const CompileEnv& env) {
  // Resolve names.
  std::vector<Output> feeds;
  absl::flat_hash_map<Output, int> feed_index;
  for (size_t i = 0; i < request.feed_names.size(); ++i) {
    ASSIGN_OR_RETURN(Output out, ResolveOutput(graph, request.feed_names[i], "feed"));
    if (!feed_index.emplace(out, static_cast<int>(i)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("feed '", request.feed_names[i], "' is given twice"));
    }
    if (out.dtype() != request.feed_dtypes[i]) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feed '", request.feed_names[i], "': fed a ", DTypeName(request.feed_dtypes[i]),
          " tensor, but ", out.node->DebugName(), " is ", DTypeName(out.dtype())));
    }
    if (!out.shape().IsCompatibleWith(request.feed_shapes[i])) {
      return absl::InvalidArgumentError(absl::StrCat(
          "feed '", request.feed_names[i], "': fed shape ", request.feed_shapes[i].ToString(),
          ", but ", out.node->DebugName(), " has shape ", out.shape().ToString()));
    }
    feeds.push_back(out);
  }
  std::vector<Output> fetches;
  for (const std::string& name : request.fetch_names) {
    ASSIGN_OR_RETURN(Output out, ResolveOutput(graph, name, "fetch"));
    fetches.push_back(out);
  }
  std::vector<Node*> targets;
  for (const std::string& name : request.target_names) {
    Node* node = graph.FindNode(name);
    if (node == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("target '", name, "': no node named '", name, "' in the graph"));
    }
    targets.push_back(node);
  }

  // Prune: walk back from fetches and targets, stopping at fed outputs.
  std::vector<bool> needed(graph.id_bound(), false);
  std::vector<Node*> stack;
  for (const Output& f : fetches) {
    if (!feed_index.contains(f)) stack.push_back(f.node);
  }
  for (Node* t : targets) stack.push_back(t);
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    if (needed[n->id()]) continue;
    needed[n->id()] = true;
    for (const Output& in : n->inputs()) {
      if (!feed_index.contains(in) && !needed[in.node->id()]) stack.push_back(in.node);
    }
    for (Node* c : n->control_inputs()) {
      if (!needed[c->id()]) stack.push_back(c);
    }
  }

  // Specialise: copy the needed nodes in order, with fed outputs replaced by
  // placeholders of the fed shapes, so every shape becomes static.
  auto plan = std::unique_ptr<Plan>(new Plan);
  plan->graph_ = std::make_unique<Graph>();
  Graph& g = *plan->graph_;
  absl::flat_hash_map<Output, Output> mapped;
  std::vector<Node*> node_map(graph.id_bound(), nullptr);
  // One per feed; null where the feed's value is a constant of this plan.
  std::vector<Node*> feed_nodes;
  for (size_t i = 0; i < feeds.size(); ++i) {
    const int value = i < request.feed_values.size() ? request.feed_values[i] : -1;
    NodeSpec spec;
    spec.name = g.UniqueName(absl::StrCat("_feed_", i));
    if (value >= 0) {
      spec.op = "Const";
      spec.attrs = {{"value", Tensor::Scalar(value == 1)}, {"dtype", DType::kBool}};
    } else {
      spec.op = "Placeholder";
      spec.attrs = {{"dtype", request.feed_dtypes[i]}, {"shape", request.feed_shapes[i]}};
    }
    ASSIGN_OR_RETURN(Node * n, g.AddNode(std::move(spec)));
    mapped[feeds[i]] = Output(n, 0);
    feed_nodes.push_back(value >= 0 ? nullptr : n);
  }
  ASSIGN_OR_RETURN(std::vector<Node*> order, graph.TopologicalOrder());
  for (Node* n : order) {
    if (!needed[n->id()]) continue;
    if (n->op() == "Placeholder") {
      return absl::InvalidArgumentError(absl::StrCat(
          "placeholder '", n->name(), "' (", DTypeName(n->output_dtype(0)),
          n->output_shape(0).ToString(), ") must be fed"));
    }
    NodeSpec spec;
    spec.name = n->name();
    spec.op = n->op();
    spec.attrs = n->attrs();
    spec.device = n->device();
    for (const Output& in : n->inputs()) {
      auto it = mapped.find(in);
      spec.inputs.push_back(it != mapped.end() ? it->second
                                               : Output(node_map[in.node->id()], in.index));
    }
    for (Node* c : n->control_inputs()) spec.control_inputs.push_back(node_map[c->id()]);
    ASSIGN_OR_RETURN(Node * copy, g.AddNode(std::move(spec)));
    if (copy->control_inputs().empty() && IsFoldable(*copy)) {
      std::vector<Tensor> values = EvaluateSmallNode(*copy, env);
      if (values.size() == 1) {
        const std::string name = copy->name();
        RETURN_IF_ERROR(g.RemoveNode(copy));
        NodeSpec c;
        c.name = name;
        c.op = "Const";
        c.attrs = {{"value", values[0]}, {"dtype", values[0].dtype()}};
        ASSIGN_OR_RETURN(copy, g.AddNode(std::move(c)));
      }
    }
    node_map[n->id()] = copy;
    for (int i = 0; i < copy->num_outputs(); ++i) {
      if (!copy->output_shape(i).IsFullyDefined()) {
        return absl::InvalidArgumentError(absl::StrCat(
            copy->DebugName(), ": the shape of output ", i, " is ",
            copy->output_shape(i).ToString(),
            " even with the fed shapes; Sluice needs every shape known before it runs"));
      }
    }
  }

  // The optimisation pipeline, on the specialised graph.
  std::vector<Output> specialised_fetches;
  for (const Output& f : fetches) {
    auto it = mapped.find(f);
    specialised_fetches.push_back(it != mapped.end() ? it->second
                                                     : Output(node_map[f.node->id()], f.index));
  }
  {
    PassContext context;
    context.fetches = specialised_fetches;
    for (Node* t : targets) context.targets.push_back(node_map[t->id()]);
    context.kernels = env.kernels;
    const DeviceType accelerator =
        env.accelerator != nullptr ? env.accelerator->type() : env.inspected_accelerator;
    context.accelerator_present = accelerator != DeviceType::kCpu;
    ASSIGN_OR_RETURN(Pipeline pipeline, StandardPipeline(env.options->optimization));
    if (env.pass_observer) pipeline.set_observer(env.pass_observer);
    ASSIGN_OR_RETURN(plan->pass_stats_, pipeline.Run(g, context));
    // Placement comes last: the rewrites above choose ops, this chooses
    // where each runs and adds the copies between devices.
    PlacementOptions placement;
    placement.accelerator = accelerator;
    if (env.variable_devices != nullptr) placement.variable_devices = *env.variable_devices;
    const int nodes_before = g.num_nodes();
    const int64_t start = NowNanos();
    ASSIGN_OR_RETURN(plan->placement_, PlaceGraph(g, context, *env.kernels, placement));
    // Reported only with an accelerator: on the CPU alone placement only
    // labels nodes.
    PassStats stats;
    stats.pass = "placement";
    stats.nodes_before = nodes_before;
    stats.nodes_after = g.num_nodes();
    stats.nodes_added = g.num_nodes() - nodes_before;
    stats.changed = stats.nodes_added > 0 || plan->placement_.on_accelerator > 0;
    stats.milliseconds = static_cast<double>(NowNanos() - start) / 1e6;
    if (accelerator != DeviceType::kCpu) {
      plan->pass_stats_.push_back(stats);
      if (env.pass_observer) env.pass_observer(stats, g);
    }
    specialised_fetches = context.fetches;
    for (Node* n : g.nodes()) {
      for (int i = 0; i < n->num_outputs(); ++i) {
        const Shape& shape = n->output_shape(i);
        if (!shape.IsFullyDefined()) {
          return absl::InternalError(absl::StrCat("after the optimisation pipeline, output ", i,
                                                  " of ", n->DebugName(), " has shape ",
                                                  shape.ToString()));
        }
        // Sizes in bytes must be representable before anything is planned.
        const absl::StatusOr<int64_t> elements = shape.CheckedNumElements();
        const int64_t element_size = static_cast<int64_t>(DTypeSize(n->output_dtype(i)));
        if (!elements.ok() || (element_size > 0 &&
                               *elements > std::numeric_limits<int64_t>::max() / element_size)) {
          return absl::InvalidArgumentError(absl::StrCat(
              n->DebugName(), ": output ", i, " of shape ", shape.ToString(),
              " has more elements than can be addressed"));
        }
      }
    }
    plan->accelerator_ = plan->placement_.on_accelerator > 0 ? env.accelerator : nullptr;
    if (env.placement_only) return plan;
  }

  // Slots and kernels, in schedule order.
  ASSIGN_OR_RETURN(std::vector<Node*> schedule, g.TopologicalOrder());
  std::vector<std::vector<int>> slot_of(g.id_bound());
  std::vector<std::string> slot_names;
  for (Node* n : schedule) {
    // A value lives where its producer runs, except a copy's host side.
    const DeviceType memory =
        n->op() == "_DeviceToHost" ? DeviceType::kCpu : PlacedDevice(*n);
    for (int i = 0; i < n->num_outputs(); ++i) {
      slot_of[n->id()].push_back(static_cast<int>(plan->slots_.size()));
      plan->slots_.push_back({n->output_dtype(i), n->output_shape(i), -1, memory});
      slot_names.push_back(absl::StrCat(n->name(), ":", i));
    }
  }
  // What the memory planner sees: each slot's size and role, each step's
  // slots and which outputs its kernel sets itself.
  Schedule memory_schedule;
  for (const Slot& slot : plan->slots_) {
    memory_schedule.slots.push_back(
        {slot.dtype, slot.shape.num_elements() * DTypeSize(slot.dtype), false, false});
  }
  for (Node* f : feed_nodes) {
    if (f != nullptr) memory_schedule.slots[slot_of[f->id()][0]].fed = true;
  }
  for (const Output& out : specialised_fetches) {
    memory_schedule.slots[slot_of[out.node->id()][out.index]].fetched = true;
  }
  const int num_threads = env.options->intra_op_threads;
  std::vector<bool> forwarded_slot(plan->slots_.size(), false);
  for (Node* n : schedule) {
    if (std::find(feed_nodes.begin(), feed_nodes.end(), n) != feed_nodes.end()) continue;
    const DeviceType device = PlacedDevice(*n);
    KernelInit init{*n,         device,     env.variables, env.options->seed, num_threads,
                    device == DeviceType::kCpu ? nullptr : env.accelerator};
    ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> kernel, env.kernels->CreateKernel(init));
    Step step;
    step.node = n;
    step.kernel = kernel.get();
    for (const Output& in : n->inputs()) step.inputs.push_back(slot_of[in.node->id()][in.index]);
    step.outputs = slot_of[n->id()];
    ScheduleStep memory_step;
    memory_step.inputs = step.inputs;
    memory_step.outputs = step.outputs;
    memory_step.forwarded.assign(n->num_outputs(), false);
    for (int i : kernel->ForwardedOutputs()) {
      memory_step.forwarded[i] = true;
      forwarded_slot[step.outputs[i]] = true;
    }
    memory_step.in_place_op = IsInPlaceOp(n->op());
    memory_schedule.steps.push_back(std::move(memory_step));
    plan->kernels_.push_back(std::move(kernel));
    plan->steps_.push_back(std::move(step));
  }
  // The inter-op executor runs steps in any order their dependencies allow,
  // not in schedule order, so lifetimes measured on the schedule do not hold
  // there: such plans give every tensor its own region.
  MemoryPlanOptions memory_options;
  memory_options.reuse =
      env.options->optimization.memory_reuse && !env.options->inter_op_parallelism;
  // One arena per memory: each plan sees the other memory's slots as
  // living outside it (like fetches).
  Schedule host_schedule = memory_schedule;
  Schedule device_schedule = memory_schedule;
  for (size_t i = 0; i < plan->slots_.size(); ++i) {
    const bool on_host = plan->slots_[i].memory == DeviceType::kCpu;
    (on_host ? device_schedule : host_schedule).slots[i].fetched = true;
  }
  ASSIGN_OR_RETURN(plan->memory_plan_,
                   BuildMemoryPlan(host_schedule, slot_names, memory_options));
  if (plan->accelerator_ != nullptr) {
    // Device kernels are not all written to read and write one buffer.
    MemoryPlanOptions device_options = memory_options;
    device_options.in_place = false;
    ASSIGN_OR_RETURN(plan->device_memory_plan_,
                     BuildMemoryPlan(device_schedule, slot_names, device_options));
  }
  for (size_t i = 0; i < plan->slots_.size(); ++i) {
    plan->slots_[i].offset = plan->slots_[i].memory == DeviceType::kCpu
                                 ? plan->memory_plan_.slot_offsets[i]
                                 : plan->device_memory_plan_.slot_offsets[i];
  }
  plan->arena_bytes_ = plan->memory_plan_.arena_bytes;
  // Dependencies between steps, for parallel execution.
  std::vector<int> step_of(g.id_bound(), -1);
  for (size_t i = 0; i < plan->steps_.size(); ++i) step_of[plan->steps_[i].node->id()] = static_cast<int>(i);
  for (size_t i = 0; i < plan->steps_.size(); ++i) {
    Step& step = plan->steps_[i];
    std::vector<int> preds;
    for (const Output& in : step.node->inputs()) preds.push_back(step_of[in.node->id()]);
    for (const Node* c : step.node->control_inputs()) preds.push_back(step_of[c->id()]);
    std::sort(preds.begin(), preds.end());
    preds.erase(std::unique(preds.begin(), preds.end()), preds.end());
    for (int p : preds) {
      if (p < 0) continue;  // a feed
      plan->steps_[p].successors.push_back(static_cast<int>(i));
      ++step.num_predecessors;
    }
  }
  for (Node* f : feed_nodes) plan->feed_slots_.push_back(f != nullptr ? slot_of[f->id()][0] : -1);
  for (const Output& out : specialised_fetches) {
    const int slot = slot_of[out.node->id()][out.index];
    plan->fetch_slots_.push_back(slot);
    // Kernel-written fetches live outside the arena (the planner left them
    // out): each run gives them a buffer of their own.
    const auto& fresh = plan->fresh_fetch_slots_;
    if (!memory_schedule.slots[slot].fed && !forwarded_slot[slot] &&
        std::find(fresh.begin(), fresh.end(), slot) == fresh.end()) {
      plan->fresh_fetch_slots_.push_back(slot);
    }
  }
  RETURN_IF_ERROR(CheckMemoryLimit(*plan, env.options->memory_limit_bytes, slot_names));
  // One frame up front, so the first execution allocates nothing more.
  ASSIGN_OR_RETURN(std::unique_ptr<Frame> frame, plan->NewFrame());
  std::lock_guard<std::mutex> lock(plan->frames_mu_);
  plan->free_frames_.push_back(std::move(frame));
  return plan;
}

absl::StatusOr<std::unique_ptr<Plan::Frame>> Plan::NewFrame() const {
  auto frame = std::make_unique<Frame>();
  const size_t bytes = static_cast<size_t>(std::max<int64_t>(arena_bytes_, kTensorAlignment));
  // Rounded up: aligned_alloc wants a multiple of the alignment.
  void* raw = std::aligned_alloc(kTensorAlignment,
                                 (bytes + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment);
  if (raw == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate the plan's host arena of ", arena_bytes_, " bytes"));
  }
  frame->arena = std::shared_ptr<void>(raw, [](void* p) { std::free(p); });
  void* device_raw = nullptr;
  if (accelerator_ != nullptr) {
    // One allocation per frame for every device tensor of a run.
    ASSIGN_OR_RETURN(frame->device_arena,
                     accelerator_->Allocate(device_memory_plan_.arena_bytes));
    device_raw = frame->device_arena.get();
  }
  frame->tensors.resize(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) {
    const Slot& s = slots_[i];
    if (s.offset < 0) continue;
    const bool on_host = s.memory == DeviceType::kCpu;
    frame->tensors[i] = Tensor::WrapBuffer(
        s.dtype, s.shape, on_host ? frame->arena : frame->device_arena,
        static_cast<char*>(on_host ? raw : device_raw) + s.offset);
  }
  size_t num_inputs = 0, num_outputs = 0;
  for (const Step& step : steps_) {
    num_inputs += step.inputs.size();
    num_outputs += step.outputs.size();
  }
  frame->pending.reset(new std::atomic<int>[steps_.size()]);
  frame->input_ptrs.reserve(num_inputs);
  frame->output_ptrs.reserve(num_outputs);
  for (const Step& step : steps_) {
    const size_t in_begin = frame->input_ptrs.size();
    const size_t out_begin = frame->output_ptrs.size();
    for (int slot : step.inputs) frame->input_ptrs.push_back(&frame->tensors[slot]);
    for (int slot : step.outputs) frame->output_ptrs.push_back(&frame->tensors[slot]);
    frame->states.push_back(step.kernel->CreateState());
    frame->contexts.push_back(KernelContext{
        absl::MakeConstSpan(frame->input_ptrs.data() + in_begin, step.inputs.size()),
        absl::MakeConstSpan(frame->output_ptrs.data() + out_begin, step.outputs.size()),
        frame->states.back().get()});
  }
  return frame;
}

absl::StatusOr<std::unique_ptr<Plan::Frame>> Plan::AcquireFrame() const {
  {
    std::lock_guard<std::mutex> lock(frames_mu_);
    if (!free_frames_.empty()) {
      std::unique_ptr<Frame> frame = std::move(free_frames_.back());
      free_frames_.pop_back();
      return frame;
    }
  }
  return NewFrame();  // another thread holds every frame: grow the pool
}

void Plan::ReleaseFrame(std::unique_ptr<Frame> frame) const {
  std::lock_guard<std::mutex> lock(frames_mu_);
  free_frames_.push_back(std::move(frame));
}

absl::Status Plan::RunSequential(Frame& frame, RunMetadata* trace) const {
  for (size_t s = 0; s < steps_.size(); ++s) {
    const int64_t start = trace != nullptr ? NowNanos() : 0;
    absl::Status status = steps_[s].kernel->Compute(frame.contexts[s]);
    if (trace != nullptr) {
      trace->steps.push_back({steps_[s].node->name(), steps_[s].node->op(), NowNanos() - start});
    }
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat(steps_[s].node->DebugName(), ": ", status.message()));
    }
  }
  return absl::OkStatus();
}

struct Plan::ParallelRun {
  ParallelRun(const Plan* p, Frame* f, ThreadPool* t, int steps)
      : plan(p), frame(f), pool(t), remaining(steps) {}
  const Plan* plan;
  Frame* frame;
  ThreadPool* pool;
  std::atomic<int> remaining;
  std::atomic<bool> failed{false};
  // Standard primitives, which ThreadSanitizer sees (docs/build.md).
  std::mutex mu;  // guards status and finished
  absl::Status status;
  bool finished = false;
  std::condition_variable done;  // signalled once finished is set
};

// Runs `step`, then whatever it makes ready: the first such step on this
// thread, the others on the pool. After a failure the remaining steps are
// only counted off, so the run still ends.
void Plan::RunFrom(ParallelRun* run, int step) {
  const Plan& plan = *run->plan;
  while (step >= 0) {
    const Step& s = plan.steps_[step];
    if (!run->failed.load(std::memory_order_relaxed)) {
      absl::Status status = s.kernel->Compute(run->frame->contexts[step]);
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(run->mu);
        if (run->status.ok()) {
          run->status = absl::Status(status.code(),
                                     absl::StrCat(s.node->DebugName(), ": ", status.message()));
        }
        run->failed.store(true, std::memory_order_relaxed);
      }
    }
    int next = -1;
    for (int succ : s.successors) {
      if (run->frame->pending[succ].fetch_sub(1, std::memory_order_acq_rel) == 1) {
        if (next < 0) {
          next = succ;
        } else {
          run->pool->Schedule([run, succ] { RunFrom(run, succ); });
        }
      }
    }
    if (run->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Signalled under the lock: once the waiter sees `finished` it
      // destroys `run`, so nothing here may touch it after unlocking.
      std::lock_guard<std::mutex> lock(run->mu);
      run->finished = true;
      run->done.notify_one();
    }
    step = next;
  }
}

absl::Status Plan::RunParallel(Frame& frame, ThreadPool& pool) const {
  if (steps_.empty()) return absl::OkStatus();
  ParallelRun run(this, &frame, &pool, static_cast<int>(steps_.size()));
  std::vector<int> roots;
  for (size_t s = 0; s < steps_.size(); ++s) {
    frame.pending[s].store(steps_[s].num_predecessors, std::memory_order_relaxed);
    if (steps_[s].num_predecessors == 0) roots.push_back(static_cast<int>(s));
  }
  for (size_t i = 1; i < roots.size(); ++i) {
    const int root = roots[i];
    pool.Schedule([&run, root] { RunFrom(&run, root); });
  }
  RunFrom(&run, roots[0]);
  std::unique_lock<std::mutex> lock(run.mu);
  run.done.wait(lock, [&run] { return run.finished; });
  return run.status;
}

absl::StatusOr<std::vector<Tensor>> Plan::Execute(absl::Span<const Tensor> feeds,
                                                  const RunOptions* options, RunMetadata* metadata,
                                                  ThreadPool* pool) const {
  ASSIGN_OR_RETURN(std::unique_ptr<Frame> frame, AcquireFrame());
  for (size_t i = 0; i < feeds.size(); ++i) {
    if (feed_slots_[i] >= 0) frame->tensors[feed_slots_[i]] = feeds[i];  // else a constant
  }
  for (int slot : fresh_fetch_slots_) frame->tensors[slot] = Tensor(slots_[slot].dtype, slots_[slot].shape);
  const bool trace = options != nullptr && options->trace && metadata != nullptr;
  absl::Status status;
  if (accelerator_ != nullptr) {
    // Device steps queue on the accelerator in schedule order; the host
    // waits where a value comes back and once at the end, so a run that
    // returns has finished (variables updated, errors reported).
    std::lock_guard<std::mutex> device_lock(accelerator_->run_mutex());
    status = accelerator_->MakeCurrent();
    if (status.ok()) status = RunSequential(*frame, trace ? metadata : nullptr);
    absl::Status synced = accelerator_->Synchronize();
    if (status.ok() && !synced.ok()) {
      status = absl::Status(synced.code(), absl::StrCat("on ", accelerator_->name(), ": ",
                                                        synced.message()));
    }
  } else {
    status = pool != nullptr && !trace ? RunParallel(*frame, *pool)
                                       : RunSequential(*frame, trace ? metadata : nullptr);
  }
  std::vector<Tensor> results;
  if (status.ok()) {
    results.reserve(fetch_slots_.size());
    for (size_t i = 0; i < fetch_slots_.size(); ++i) {
      const Tensor& value = frame->tensors[fetch_slots_[i]];
      if (!value.valid()) {
        // Only an uninitialised variable that the plan merely assigns to
        // yields no value.
        status = absl::FailedPreconditionError(absl::StrCat(
            "fetch ", i, " has no value: it reads a variable before it was initialised"));
        results.clear();
        break;
      }
      const bool fresh = std::find(fresh_fetch_slots_.begin(), fresh_fetch_slots_.end(),
                                   fetch_slots_[i]) != fresh_fetch_slots_.end();
      results.push_back(fresh ? value : value.Clone());
    }
  }
  // Drop references to the caller's feeds and results before the frame goes
  // back.
  for (int slot : feed_slots_) {
    if (slot >= 0) frame->tensors[slot] = Tensor();
  }
  for (int slot : fresh_fetch_slots_) frame->tensors[slot] = Tensor();
  ReleaseFrame(std::move(frame));
  if (!status.ok()) return status;
  return results;
}

absl::StatusOr<std::unique_ptr<Plan>> CompilePlanForInspection(
    const Graph& graph, const PlanRequest& request, const SessionOptions& options,
    std::function<void(const PassStats&, const Graph&)> pass_observer) {
  auto variables = std::make_unique<VariableStore>();
  CompileEnv env{&GlobalKernelRegistry(), variables.get(), &options, std::move(pass_observer)};
  ASSIGN_OR_RETURN(std::unique_ptr<Plan> plan, Plan::Compile(graph, request, env));
  plan->owned_variables_ = std::move(variables);
  return plan;
}

}  // namespace sluice

namespace sluice {

absl::StatusOr<std::unique_ptr<Plan>> PlacePlanForInspection(const Graph& graph,
                                                             const PlanRequest& request,
                                                             const SessionOptions& options,
                                                             DeviceType accelerator) {
  auto variables = std::make_unique<VariableStore>();
  const absl::flat_hash_map<std::string, DeviceType> variable_devices =
      PlaceVariables(graph, GlobalKernelRegistry(), accelerator);
  CompileEnv env{&GlobalKernelRegistry(), variables.get(), &options, {}, nullptr,
                 &variable_devices, accelerator, /*placement_only=*/true};
  ASSIGN_OR_RETURN(std::unique_ptr<Plan> plan, Plan::Compile(graph, request, env));
  plan->owned_variables_ = std::move(variables);
  return plan;
}

}  // namespace sluice
