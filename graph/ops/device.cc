// Copies between the host and a device, inserted by the placement pass
// (passes/placement.h) wherever a value crosses devices. Both run on the
// device; `_HostToDevice` reads host memory and `_DeviceToHost` writes it.
#include "graph/op_def.h"
#include "graph/ops/op_families.h"
#include "graph/shape_inference.h"

namespace sluice {
namespace {

// A copy holds the same value: what was known about it while compiling
// (a shape input, an axis) stays known on the other side.
absl::Status CopyShape(InferenceContext& c) {
  c.set_output(0, c.input_shape(0));
  if (const Tensor* value = c.input_value(0); value != nullptr) c.set_output_value(0, *value);
  return absl::OkStatus();
}

}  // namespace

void RegisterDeviceOps(OpRegistry& registry) {
  registry.Register(OpDefBuilder("_HostToDevice")
                        .Input("input: T")
                        .Output("output: T")
                        .Attr("T: {any}")
                        .SetShapeFn(CopyShape)
                        .Doc("Copies a host tensor into the memory of the node's device."));
  registry.Register(OpDefBuilder("_DeviceToHost")
                        .Input("input: T")
                        .Output("output: T")
                        .Attr("T: {any}")
                        .SetShapeFn(CopyShape)
                        .Doc("Copies a tensor of the node's device into host memory."));
}

}  // namespace sluice
