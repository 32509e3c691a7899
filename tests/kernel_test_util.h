// Helpers for kernel tests: run one op's CPU kernel on given tensors, make
// random inputs, compare against references.
#ifndef SLUICE_TESTS_KERNEL_TEST_UTIL_H_
#define SLUICE_TESTS_KERNEL_TEST_UTIL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/attr_value.h"
#include "graph/graph.h"
#include "graph/tensor.h"

namespace sluice::testing {

// Adds to `graph` a node "node" of `op` with `attrs`, reading Const nodes
// that hold `inputs`; InvalidArgument when an output shape is not fully
// defined. The single-op graph kernel tests create kernels from.
absl::StatusOr<Node*> AddSingleOpNode(Graph& graph, const std::string& op,
                                      const std::vector<Tensor>& inputs, const AttrMap& attrs);

// Builds a graph holding `op` with Const inputs of `inputs` and `attrs`,
// creates the op's CPU kernel exactly as a plan would (static shapes), runs
// it once and returns every output. Errors come from graph validation, kernel
// creation or Compute.
absl::StatusOr<std::vector<Tensor>> RunCpuKernel(const std::string& op,
                                                 const std::vector<Tensor>& inputs,
                                                 const AttrMap& attrs = {});

// Like RunCpuKernel, except that the inputs listed in `fed` come from
// Placeholders, so their values are unknown when the kernel is made (the
// kernel must read them at run time); outputs get `output_shapes`.
absl::StatusOr<std::vector<Tensor>> RunWithFedInputs(const std::string& op,
                                                     const std::vector<Tensor>& inputs,
                                                     const std::vector<int>& fed,
                                                     const AttrMap& attrs,
                                                     const std::vector<Shape>& output_shapes);

// Uniform values in [lo, hi) (integers: whole numbers in that range; bool:
// true with probability 1/2), reproducible from `seed`.
Tensor RandomTensor(DType dtype, const Shape& shape, uint64_t seed, double lo = -1.0,
                    double hi = 1.0);

// Element-wise |actual - expected| <= atol + rtol * |expected|, same dtype
// and shape. Returns an empty string when close, else a description of the
// first mismatch (index, both values) for the test to print.
std::string CompareTensors(const Tensor& actual, const Tensor& expected, double rtol,
                           double atol);

}  // namespace sluice::testing

#endif  // SLUICE_TESTS_KERNEL_TEST_UTIL_H_
