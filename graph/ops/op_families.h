// The op families. Each registers its ops into the registry; op_list.cc calls
// every one of them, so that file is the single list of what Sluice knows.
#ifndef SLUICE_GRAPH_OPS_OP_FAMILIES_H_
#define SLUICE_GRAPH_OPS_OP_FAMILIES_H_

namespace sluice {

class OpRegistry;

void RegisterStateOps(OpRegistry& registry);   // graph/ops/state.cc
void RegisterMathOps(OpRegistry& registry);    // graph/ops/math.cc
void RegisterNnOps(OpRegistry& registry);      // graph/ops/nn.cc
void RegisterArrayOps(OpRegistry& registry);   // graph/ops/array.cc
void RegisterRandomOps(OpRegistry& registry);  // graph/ops/random.cc
void RegisterTrainingOps(OpRegistry& registry);  // graph/ops/training.cc
void RegisterFusedOps(OpRegistry& registry);     // graph/ops/fused.cc
void RegisterLayoutOps(OpRegistry& registry);    // graph/ops/layout.cc
void RegisterDeviceOps(OpRegistry& registry);    // graph/ops/device.cc

}  // namespace sluice

#endif  // SLUICE_GRAPH_OPS_OP_FAMILIES_H_
