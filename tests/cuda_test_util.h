// Helpers for CUDA kernel tests: run one op's CUDA kernel on host tensors and
// compare it with the op's CPU kernel. Test binaries built with
// cuda_test_main.cc exit with 77 (CTest's "skipped") when no GPU is present.
#ifndef SLUICE_TESTS_CUDA_TEST_UTIL_H_
#define SLUICE_TESTS_CUDA_TEST_UTIL_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cuda/cuda_context.h"
#include "graph/attr_value.h"
#include "graph/tensor.h"

namespace sluice::testing {

// The context every test of the binary shares (created by the main).
cuda::CudaContext& TestCudaContext();

// Builds a graph holding `op` with Const inputs of `inputs` and `attrs` (as
// RunCpuKernel does), creates the op's CUDA kernel, uploads the inputs, runs
// it once and returns every output copied back to the host.
absl::StatusOr<std::vector<Tensor>> RunCudaKernel(const std::string& op,
                                                  const std::vector<Tensor>& inputs,
                                                  const AttrMap& attrs = {});

// Runs `op` with both kernels; "" when every output agrees within
// |cuda - cpu| <= atol + rtol * |cpu|, else a description of the first
// mismatch (or of an error) for the test to print.
std::string CompareCudaWithCpu(const std::string& op, const std::vector<Tensor>& inputs,
                               const AttrMap& attrs, double rtol, double atol);

}  // namespace sluice::testing

#endif  // SLUICE_TESTS_CUDA_TEST_UTIL_H_
