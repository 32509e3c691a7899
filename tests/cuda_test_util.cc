#include "tests/cuda_test_util.h"

#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "graph/graph.h"
#include "graph/status_macros.h"
#include "kernels/device_context.h"
#include "kernels/variable_store.h"
#include "runtime/kernel_setup.h"
#include "tests/kernel_test_util.h"

namespace sluice::testing {

cuda::CudaContext& TestCudaContext() {
  static cuda::CudaContext* context = [] {
    auto created = cuda::CudaContext::Create(0);
    if (!created.ok()) {
      // cuda_test_main.cc checks for a GPU before any test runs.
      std::fprintf(stderr, "no CUDA context: %s\n", created.status().ToString().c_str());
      std::abort();
    }
    return created->release();
  }();
  return *context;
}

absl::StatusOr<std::vector<Tensor>> RunCudaKernel(const std::string& op,
                                                  const std::vector<Tensor>& inputs,
                                                  const AttrMap& attrs) {
  cuda::CudaContext& context = TestCudaContext();
  Graph graph;
  ASSIGN_OR_RETURN(Node * node, AddSingleOpNode(graph, op, inputs, attrs));
  VariableStore variables;
  KernelInit init{*node, DeviceType::kCuda, &variables, 87654321, 1, &context};
  ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> kernel, GlobalKernelRegistry().CreateKernel(init));
  std::vector<Tensor> device_inputs;
  for (const Tensor& t : inputs) {
    ASSIGN_OR_RETURN(Tensor d, CopyTensorToDevice(context, t));
    device_inputs.push_back(std::move(d));
  }
  std::vector<Tensor> outputs(node->num_outputs());
  std::vector<bool> forwarded(node->num_outputs(), false);
  for (int i : kernel->ForwardedOutputs()) forwarded[i] = true;
  for (int i = 0; i < node->num_outputs(); ++i) {
    if (forwarded[i]) continue;
    ASSIGN_OR_RETURN(outputs[i],
                     AllocateOnDevice(context, node->output_dtype(i), node->output_shape(i)));
    // A pattern, so a kernel that forgets to write shows up.
    Tensor pattern(node->output_dtype(i), node->output_shape(i));
    std::memset(pattern.raw_data(), 0xA5, pattern.num_bytes());
    if (pattern.num_bytes() > 0) {
      RETURN_IF_ERROR(context.CopyFromHost(pattern.raw_data(), outputs[i].raw_data(),
                                           static_cast<int64_t>(pattern.num_bytes())));
    }
  }
  std::vector<const Tensor*> input_ptrs;
  for (const Tensor& t : device_inputs) input_ptrs.push_back(&t);
  std::vector<Tensor*> output_ptrs;
  for (Tensor& t : outputs) output_ptrs.push_back(&t);
  std::unique_ptr<KernelState> state = kernel->CreateState();
  RETURN_IF_ERROR(kernel->Compute(KernelContext{input_ptrs, output_ptrs, state.get()}));
  RETURN_IF_ERROR(context.Synchronize());
  std::vector<Tensor> host;
  for (const Tensor& t : outputs) {
    if (!t.valid()) {
      host.emplace_back();
      continue;
    }
    ASSIGN_OR_RETURN(Tensor h, CopyTensorToHost(context, t));
    host.push_back(std::move(h));
  }
  return host;
}

std::string CompareCudaWithCpu(const std::string& op, const std::vector<Tensor>& inputs,
                               const AttrMap& attrs, double rtol, double atol) {
  absl::StatusOr<std::vector<Tensor>> cpu = RunCpuKernel(op, inputs, attrs);
  if (!cpu.ok()) return absl::StrCat("CPU kernel: ", cpu.status().ToString());
  absl::StatusOr<std::vector<Tensor>> gpu = RunCudaKernel(op, inputs, attrs);
  if (!gpu.ok()) return absl::StrCat("CUDA kernel: ", gpu.status().ToString());
  if (cpu->size() != gpu->size()) return "different numbers of outputs";
  for (size_t i = 0; i < cpu->size(); ++i) {
    const std::string mismatch = CompareTensors((*gpu)[i], (*cpu)[i], rtol, atol);
    if (!mismatch.empty()) return absl::StrCat(op, " output ", i, ": ", mismatch);
  }
  return "";
}

}  // namespace sluice::testing
