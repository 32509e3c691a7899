// Evaluating one node on the CPU while compiling, with its kernel, for
// values known before any run: shape arithmetic during specialisation and
// constant folding.
#ifndef SLUICE_KERNELS_EVALUATE_H_
#define SLUICE_KERNELS_EVALUATE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "graph/graph.h"
#include "graph/tensor.h"
#include "kernels/kernel_registry.h"

namespace sluice {

class VariableStore;

// Computes every output of `node` from `inputs` (one per input of the node,
// each of that input's static shape and dtype) with its CPU kernel, on one
// thread. The node's output shapes must be fully defined. `variables` and
// `graph_seed` are what the kernel would get in a plan; the callers pass
// stateless nodes, which use neither. Errors: NotFound when the CPU has no
// kernel for the node, or the kernel's own error.
absl::StatusOr<std::vector<Tensor>> EvaluateNode(const KernelRegistry& kernels, const Node& node,
                                                 absl::Span<const Tensor* const> inputs,
                                                 VariableStore* variables = nullptr,
                                                 uint64_t graph_seed = 0);

}  // namespace sluice

#endif  // SLUICE_KERNELS_EVALUATE_H_
