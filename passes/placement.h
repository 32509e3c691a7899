// Placement: which device runs each node of a plan, and the copies between
// them.
//
// With an accelerator present, every node that has a kernel there runs
// there; the rest stay on the host. Feeds arrive and fetches leave in host
// memory. Where a value crosses devices the pass inserts one `_HostToDevice`
// or `_DeviceToHost` per value and direction, shared by all its consumers.
// Constants go where their consumers are (split in two when both devices
// read one), so they are uploaded once when the plan is compiled instead of
// copied on every run. Variables stay where the session put them
// (PlaceVariables), and the ops that update a variable in place run where it
// lives. A node whose device is set to "cpu" by the user stays on the host.
//
// Afterwards every node's device() is "cpu" or the accelerator's name, which
// is what the plan reads (PlacedDevice).
#ifndef SLUICE_PASSES_PLACEMENT_H_
#define SLUICE_PASSES_PLACEMENT_H_

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "kernels/kernel.h"
#include "kernels/kernel_registry.h"
#include "passes/pass.h"

namespace sluice {

// "cpu" or "cuda:0": what placement writes into Node::device().
std::string PlacementDeviceName(DeviceType device);
// The device a placed node runs on.
DeviceType PlacedDevice(const Node& node);

// Where each Variable of a session's graph lives when `accelerator` is
// present (kCpu: all on the host): on the accelerator when it has a kernel
// for the variable and for every stateful op that takes it as an input (the
// ops that update it in place), else on the host. Decided once per session
// over the whole graph, so that every plan agrees.
absl::flat_hash_map<std::string, DeviceType> PlaceVariables(const Graph& graph,
                                                            const KernelRegistry& kernels,
                                                            DeviceType accelerator);

struct PlacementOptions {
  // The device nodes go to when it has a kernel for them; kCpu places every
  // node on the host.
  DeviceType accelerator = DeviceType::kCpu;
  // From PlaceVariables; a variable not listed lives on the host.
  absl::flat_hash_map<std::string, DeviceType> variable_devices;
};

struct PlacementStats {
  int on_accelerator = 0;
  int on_host = 0;
  int copies_to_device = 0;
  int copies_to_host = 0;
};

// Places every node of `graph` (a plan's specialised, optimised graph) and
// inserts the copies; fetches that end up on the accelerator are redirected
// to their `_DeviceToHost` copy in `context`.
absl::StatusOr<PlacementStats> PlaceGraph(Graph& graph, PassContext& context,
                                          const KernelRegistry& kernels,
                                          const PlacementOptions& options);

}  // namespace sluice

#endif  // SLUICE_PASSES_PLACEMENT_H_
