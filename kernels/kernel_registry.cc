#include "kernels/kernel_registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace sluice {

absl::string_view DeviceTypeName(DeviceType device) {
  return device == DeviceType::kCpu ? "CPU" : "CUDA";
}

void KernelRegistry::Register(absl::string_view op, DeviceType device,
                              const std::vector<DType>& dtypes, KernelFactory factory) {
  for (DType d : dtypes) {
    auto [it, inserted] = factories_.emplace(Key{std::string(op), device, d}, factory);
    if (!inserted) {
      std::fprintf(stderr, "sluice: kernel %s/%s/%s registered twice\n", std::string(op).c_str(),
                   std::string(DeviceTypeName(device)).c_str(),
                   std::string(DTypeName(d)).c_str());
      std::abort();
    }
  }
}

const KernelFactory* KernelRegistry::Find(absl::string_view op, DeviceType device,
                                          DType dtype) const {
  auto it = factories_.find(Key{std::string(op), device, dtype});
  return it == factories_.end() ? nullptr : &it->second;
}

void KernelRegistry::SetConstraint(absl::string_view op, DeviceType device,
                                   std::function<bool(const Node&)> constraint) {
  constraints_[{std::string(op), device}] = std::move(constraint);
}

bool KernelRegistry::Supports(const Node& node, DeviceType device) const {
  if (Find(node.op(), device, KernelDType(node)) == nullptr) return false;
  auto it = constraints_.find(std::pair<std::string, DeviceType>(node.op(), device));
  return it == constraints_.end() || it->second(node);
}

std::function<bool(const Node&)> InputsKnownWhileCompiling(int first, int last) {
  return [first, last](const Node& node) {
    for (int i = first; i <= last && i < node.num_inputs(); ++i) {
      const Output in = node.input(i);
      if (in.node->output_value(in.index) == nullptr) return false;
    }
    return true;
  };
}

absl::StatusOr<std::unique_ptr<OpKernel>> KernelRegistry::CreateKernel(
    const KernelInit& init) const {
  const DType dtype = KernelDType(init.node);
  const KernelFactory* factory = Find(init.node.op(), init.device, dtype);
  if (factory == nullptr) {
    return absl::NotFoundError(absl::StrCat(init.node.DebugName(), ": no ",
                                            DeviceTypeName(init.device), " kernel for dtype ",
                                            DTypeName(dtype)));
  }
  auto kernel = (*factory)(init);
  if (!kernel.ok()) {
    return absl::Status(kernel.status().code(),
                        absl::StrCat(init.node.DebugName(), ": ", kernel.status().message()));
  }
  return kernel;
}

std::vector<DType> KernelRegistry::RegisteredDTypes(absl::string_view op, DeviceType device) const {
  std::vector<DType> out;
  for (DType d : kAllDTypes) {
    if (Find(op, device, d) != nullptr) out.push_back(d);
  }
  return out;
}

DType KernelDType(const Node& node) {
  if (const AttrValue* t = node.FindAttr("T"); t != nullptr && t->type() == AttrType::kType) {
    return t->dtype();
  }
  if (const AttrValue* d = node.FindAttr("dtype"); d != nullptr && d->type() == AttrType::kType) {
    return d->dtype();
  }
  if (node.num_inputs() > 0) return node.input(0).dtype();
  if (node.num_outputs() > 0) return node.output_dtype(0);
  return DType::kInvalid;
}

}  // namespace sluice
