#include "kernels/epilogue_params.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sluice {

absl::StatusOr<Epilogue> ParseEpilogue(const std::vector<std::string>& ops, float leakyrelu_alpha) {
  Epilogue e;
  e.alpha = leakyrelu_alpha;
  size_t i = 0;
  if (ops.empty() || ops[0] != "BiasAdd") {
    return absl::UnimplementedError("fused_ops must start with BiasAdd");
  }
  ++i;
  if (i < ops.size() && ops[i] == "Add") {
    e.add = true;
    ++i;
  }
  if (i < ops.size()) {
    static constexpr std::pair<absl::string_view, Activation> kActivations[] = {
        {"Relu", Activation::kRelu}, {"Relu6", Activation::kRelu6},
        {"Elu", Activation::kElu},   {"Sigmoid", Activation::kSigmoid},
        {"Tanh", Activation::kTanh}, {"LeakyRelu", Activation::kLeakyRelu}};
    const std::string& a = ops[i++];
    bool known = false;
    for (const auto& [name, activation] : kActivations) {
      if (name == a) {
        e.activation = activation;
        known = true;
      }
    }
    if (!known) return absl::UnimplementedError(absl::StrCat("unsupported fused activation ", a));
  }
  if (i != ops.size()) return absl::UnimplementedError("unsupported fused_ops");
  return e;
}

absl::StatusOr<Epilogue> ParseEpilogue(const KernelInit& init) {
  return ParseEpilogue(init.attr("fused_ops").strings(), init.attr("leakyrelu_alpha").f());
}

}  // namespace sluice
