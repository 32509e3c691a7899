#include "graph/op_def.h"
#include "graph/ops/op_families.h"

namespace sluice {

const OpRegistry& OpRegistry::Global() {
  static const OpRegistry* registry = [] {
    auto* r = new OpRegistry;
    RegisterStateOps(*r);
    RegisterMathOps(*r);
    RegisterNnOps(*r);
    RegisterArrayOps(*r);
    RegisterRandomOps(*r);
    RegisterTrainingOps(*r);
    RegisterFusedOps(*r);
    RegisterLayoutOps(*r);
    RegisterDeviceOps(*r);
    return r;
  }();
  return *registry;
}

}  // namespace sluice
