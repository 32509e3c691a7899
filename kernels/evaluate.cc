#include "kernels/evaluate.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"

namespace sluice {

absl::StatusOr<std::vector<Tensor>> EvaluateNode(const KernelRegistry& kernels, const Node& node,
                                                 absl::Span<const Tensor* const> inputs,
                                                 VariableStore* variables, uint64_t graph_seed) {
  if (static_cast<int>(inputs.size()) != node.num_inputs()) {
    return absl::InvalidArgumentError(absl::StrCat(node.DebugName(), ": ", inputs.size(),
                                                   " input values for ", node.num_inputs(),
                                                   " inputs"));
  }
  KernelInit init{node, DeviceType::kCpu, variables, graph_seed, 1};
  ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> kernel, kernels.CreateKernel(init));
  std::vector<Tensor> outputs;
  outputs.reserve(node.num_outputs());
  for (int i = 0; i < node.num_outputs(); ++i) {
    outputs.emplace_back(node.output_dtype(i), node.output_shape(i));
  }
  std::vector<Tensor*> output_ptrs;
  for (Tensor& t : outputs) output_ptrs.push_back(&t);
  std::unique_ptr<KernelState> state = kernel->CreateState();
  KernelContext ctx{inputs, output_ptrs, state.get()};
  RETURN_IF_ERROR(kernel->Compute(ctx));
  return outputs;
}

}  // namespace sluice
