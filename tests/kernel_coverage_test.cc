// Every op the graph layer knows has a CPU kernel.
#include <catch2/catch.hpp>

#include <algorithm>

#include "graph/op_def.h"
#include "kernels/kernel_registry.h"
#include "runtime/kernel_setup.h"

namespace sluice {
namespace {

// The dtype a typical node of `op` selects its kernel by (see KernelDType):
// f32 where the op allows it.
DType RepresentativeDType(const OpDef& op) {
  for (const char* attr : {"T", "dtype"}) {
    if (const AttrDef* a = op.FindAttr(attr); a != nullptr && a->type == AttrType::kType) {
      const auto& allowed = a->allowed_types;
      if (allowed.empty() || std::find(allowed.begin(), allowed.end(), DType::kF32) != allowed.end()) {
        return DType::kF32;
      }
      return allowed.front();
    }
  }
  if (!op.inputs().empty()) {
    const ArgDef& first = op.inputs().front();
    if (first.fixed_type != DType::kInvalid) return first.fixed_type;
    return DType::kF32;  // e.g. Cast's SrcT, Gather's Tparams
  }
  return DType::kInvalid;  // NoOp
}

TEST_CASE("Every registered op has a CPU kernel") {
  const KernelRegistry& kernels = GlobalKernelRegistry();
  for (const OpDef* op : OpRegistry::Global().ListOps()) {
    if (op->name() == "Placeholder") continue;  // fed, never computed
    // Copies between host and device run on the device only.
    if (op->name() == "_HostToDevice" || op->name() == "_DeviceToHost") continue;
    const DType dtype = RepresentativeDType(*op);
    INFO(op->name() << " for " << DTypeName(dtype));
    CHECK(kernels.Find(op->name(), DeviceType::kCpu, dtype) != nullptr);
  }
}

TEST_CASE("Integer and bool kernels exist where the op makes sense") {
  const KernelRegistry& kernels = GlobalKernelRegistry();
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Maximum", "Minimum", "Neg", "Abs", "Sum",
                         "Max", "Min", "Prod", "Reshape", "Transpose", "Concat", "Gather",
                         "Equal", "Less", "Select", "Cast", "Fill", "Shape", "Identity"}) {
    INFO(op);
    CHECK(kernels.Find(op, DeviceType::kCpu, DType::kI32) != nullptr);
    CHECK(kernels.Find(op, DeviceType::kCpu, DType::kI64) != nullptr);
  }
  for (const char* op : {"LogicalAnd", "LogicalOr", "LogicalNot", "Equal", "Select", "Identity",
                         "Reshape", "Concat", "Cast"}) {
    INFO(op);
    CHECK(kernels.Find(op, DeviceType::kCpu, DType::kBool) != nullptr);
  }
}

}  // namespace
}  // namespace sluice
