#include "passes/autodiff/gradient_registry.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace sluice {

const GradientRegistry& GradientRegistry::Global() {
  static const GradientRegistry* registry = [] {
    auto* r = new GradientRegistry;
    RegisterMathGradients(*r);
    RegisterArrayGradients(*r);
    RegisterNnGradients(*r);
    RegisterStateGradients(*r);
    return r;
  }();
  return *registry;
}

void GradientRegistry::Register(const std::string& op, GradFn fn) {
  if (functions_.contains(op) || no_gradient_.contains(op)) {
    // Two registrations for one op are a bug in Sluice, not user input.
    std::cerr << "gradient for op " << op << " registered twice\n";
    std::abort();
  }
  functions_.emplace(op, std::move(fn));
}

void GradientRegistry::RegisterNoGradient(const std::string& op) {
  if (functions_.contains(op) || no_gradient_.contains(op)) {
    std::cerr << "gradient for op " << op << " registered twice\n";
    std::abort();
  }
  no_gradient_.emplace(op, true);
}

const GradFn* GradientRegistry::Find(absl::string_view op) const {
  auto it = functions_.find(op);
  return it == functions_.end() ? nullptr : &it->second;
}

bool GradientRegistry::HasNoGradient(absl::string_view op) const {
  return no_gradient_.contains(op);
}

std::vector<std::string> GradientRegistry::OpsWithGradients() const {
  std::vector<std::string> ops;
  for (const auto& [op, fn] : functions_) ops.push_back(op);
  std::sort(ops.begin(), ops.end());
  return ops;
}

}  // namespace sluice
