#include "passes/placement.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

bool UserPinnedToHost(const Node& node) {
  const std::string& d = node.device();
  return absl::EqualsIgnoreCase(d, "cpu") || absl::StartsWithIgnoreCase(d, "/cpu") ||
         absl::StartsWithIgnoreCase(d, "/device:cpu") || absl::StartsWithIgnoreCase(d, "cpu:");
}

// The stateful consumers of a variable update it in place (Assign*, Apply*).
bool UpdatesInPlace(const Node& consumer) { return consumer.op_def().is_stateful(); }

// The variable `node` updates in place through one of its inputs, or null.
const Node* UpdatedVariable(const Node& node) {
  if (!UpdatesInPlace(node)) return nullptr;
  for (const Output& in : node.inputs()) {
    if (in.node->op() == "Variable") return in.node;
  }
  return nullptr;
}

class Placer {
 public:
  Placer(Graph& graph, PassContext& context, const KernelRegistry& kernels,
         const PlacementOptions& options)
      : graph_(graph), context_(context), kernels_(kernels), options_(options) {}

  absl::StatusOr<PlacementStats> Run() {
    const DeviceType acc = options_.accelerator;
    ASSIGN_OR_RETURN(std::vector<Node*> order, graph_.TopologicalOrder());
    device_.assign(graph_.id_bound(), DeviceType::kCpu);
    if (acc != DeviceType::kCpu) {
      std::vector<Node*> consts;
      for (Node* n : order) {
        if (n->op() == "Const") {
          consts.push_back(n);
          continue;
        }
        device_[n->id()] = ChooseDevice(*n);
      }
      for (Node* c : consts) RETURN_IF_ERROR(PlaceConst(c));
      RETURN_IF_ERROR(InsertCopies(order));
    }
    PlacementStats stats;
    for (Node* n : graph_.nodes()) {
      const DeviceType d = DeviceOf(n);
      n->set_device(PlacementDeviceName(d));
      if (d == DeviceType::kCpu) {
        ++stats.on_host;
      } else {
        ++stats.on_accelerator;
      }
    }
    stats.copies_to_device = static_cast<int>(to_device_.size());
    stats.copies_to_host = static_cast<int>(to_host_.size());
    return stats;
  }

 private:
  DeviceType DeviceOf(const Node* n) const {
    return n->id() < static_cast<int>(device_.size()) ? device_[n->id()] : DeviceType::kCpu;
  }
  void SetDevice(const Node* n, DeviceType d) {
    if (n->id() >= static_cast<int>(device_.size())) device_.resize(n->id() + 1, DeviceType::kCpu);
    device_[n->id()] = d;
  }

  DeviceType VariableDevice(const Node& variable) const {
    auto it = options_.variable_devices.find(variable.name());
    return it == options_.variable_devices.end() ? DeviceType::kCpu : it->second;
  }

  DeviceType ChooseDevice(const Node& n) const {
    const DeviceType acc = options_.accelerator;
    if (n.op() == "Placeholder") return DeviceType::kCpu;  // feeds are host tensors
    if (n.op() == "Variable") return VariableDevice(n);
    if (const Node* variable = UpdatedVariable(n)) return VariableDevice(*variable);
    if (UserPinnedToHost(n)) return DeviceType::kCpu;
    return kernels_.Supports(n, acc) ? acc : DeviceType::kCpu;
  }

  // A constant goes to its consumers; one read on both devices is split.
  absl::Status PlaceConst(Node* c) {
    const DeviceType acc = options_.accelerator;
    bool host_reads = UserPinnedToHost(*c) || !kernels_.Supports(*c, acc);
    bool device_reads = false;
    for (const Output& f : context_.fetches) host_reads |= f.node == c;
    for (const InputRef& use : c->out_edges()) {
      (DeviceOf(use.node) == acc ? device_reads : host_reads) = true;
    }
    if (!device_reads) {
      SetDevice(c, DeviceType::kCpu);
      return absl::OkStatus();
    }
    if (!host_reads) {
      SetDevice(c, acc);
      return absl::OkStatus();
    }
    NodeSpec spec;
    spec.name = graph_.UniqueName(absl::StrCat(c->name(), "/", PlacementDeviceName(acc)));
    spec.op = "Const";
    spec.attrs = c->attrs();
    ASSIGN_OR_RETURN(Node * copy, graph_.AddNode(std::move(spec)));
    SetDevice(copy, acc);
    SetDevice(c, DeviceType::kCpu);
    const std::vector<InputRef> uses = c->out_edges();
    for (const InputRef& use : uses) {
      if (DeviceOf(use.node) == acc) RETURN_IF_ERROR(graph_.UpdateInput(use.node, use.index, Output(copy, 0)));
    }
    return absl::OkStatus();
  }

  // The copy of `value` into the memory of `to`, made on first use.
  absl::StatusOr<Output> CopyOf(Output value, DeviceType to) {
    auto& copies = to == DeviceType::kCpu ? to_host_ : to_device_;
    if (auto it = copies.find(value); it != copies.end()) return Output(it->second, 0);
    NodeSpec spec;
    const bool to_host = to == DeviceType::kCpu;
    spec.op = to_host ? "_DeviceToHost" : "_HostToDevice";
    spec.name = graph_.UniqueName(absl::StrCat(value.node->name(), "/", spec.op,
                                               value.index == 0 ? "" : absl::StrCat("_", value.index)));
    spec.inputs = {value};
    spec.attrs = {{"T", value.dtype()}};
    ASSIGN_OR_RETURN(Node * copy, graph_.AddNode(std::move(spec)));
    // Both copies run on the accelerator's queue.
    SetDevice(copy, options_.accelerator);
    copies.emplace(value, copy);
    return Output(copy, 0);
  }

  // The memory a value lives in: its producer's, except for the host copy.
  DeviceType MemoryOf(Output value) const {
    if (value.node->op() == "_DeviceToHost") return DeviceType::kCpu;
    return DeviceOf(value.node);
  }
  DeviceType InputMemoryOf(const Node& consumer) const {
    return consumer.op() == "_HostToDevice" ? DeviceType::kCpu : DeviceOf(&consumer);
  }

  absl::Status InsertCopies(const std::vector<Node*>& order) {
    for (Node* n : order) {
      for (int i = 0; i < n->num_inputs(); ++i) {
        const Output in = n->input(i);
        const DeviceType need = InputMemoryOf(*n);
        if (MemoryOf(in) == need) continue;
        ASSIGN_OR_RETURN(Output copy, CopyOf(in, need));
        RETURN_IF_ERROR(graph_.UpdateInput(n, i, copy));
      }
    }
    // Split constants were added after `order` was taken; their consumers
    // were rewired to them directly, on the right device.
    for (Output& f : context_.fetches) {
      if (MemoryOf(f) == DeviceType::kCpu) continue;
      ASSIGN_OR_RETURN(f, CopyOf(f, DeviceType::kCpu));
    }
    return absl::OkStatus();
  }

  Graph& graph_;
  PassContext& context_;
  const KernelRegistry& kernels_;
  const PlacementOptions& options_;
  std::vector<DeviceType> device_;
  absl::flat_hash_map<Output, Node*> to_device_;
  absl::flat_hash_map<Output, Node*> to_host_;
};

}  // namespace

std::string PlacementDeviceName(DeviceType device) {
  return device == DeviceType::kCpu ? "cpu" : "cuda:0";
}

DeviceType PlacedDevice(const Node& node) {
  return absl::StartsWith(node.device(), "cuda") ? DeviceType::kCuda : DeviceType::kCpu;
}

absl::flat_hash_map<std::string, DeviceType> PlaceVariables(const Graph& graph,
                                                            const KernelRegistry& kernels,
                                                            DeviceType accelerator) {
  absl::flat_hash_map<std::string, DeviceType> devices;
  for (Node* n : graph.nodes()) {
    if (n->op() != "Variable") continue;
    bool on_accelerator = accelerator != DeviceType::kCpu && !UserPinnedToHost(*n) &&
                          kernels.Supports(*n, accelerator);
    for (const InputRef& use : n->out_edges()) {
      if (!on_accelerator) break;
      if (UpdatesInPlace(*use.node)) {
        on_accelerator = !UserPinnedToHost(*use.node) && kernels.Supports(*use.node, accelerator);
      }
    }
    devices[n->name()] = on_accelerator ? accelerator : DeviceType::kCpu;
  }
  return devices;
}

absl::StatusOr<PlacementStats> PlaceGraph(Graph& graph, PassContext& context,
                                          const KernelRegistry& kernels,
                                          const PlacementOptions& options) {
  return Placer(graph, context, kernels, options).Run();
}

}  // namespace sluice
