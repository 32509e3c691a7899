#include "tests/kernel_test_util.h"

#include <cmath>
#include <cstring>
#include <algorithm>
#include <random>

#include "absl/strings/str_cat.h"
#include "graph/graph.h"
#include "graph/status_macros.h"
#include "kernels/variable_store.h"
#include "runtime/kernel_setup.h"

namespace sluice::testing {

absl::StatusOr<Node*> AddSingleOpNode(Graph& graph, const std::string& op,
                                      const std::vector<Tensor>& inputs, const AttrMap& attrs) {
  NodeSpec spec;
  spec.name = "node";
  spec.op = op;
  spec.attrs = attrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    NodeSpec c;
    c.name = absl::StrCat("input_", i);
    c.op = "Const";
    c.attrs = {{"value", inputs[i]}, {"dtype", inputs[i].dtype()}};
    ASSIGN_OR_RETURN(Node * n, graph.AddNode(std::move(c)));
    spec.inputs.emplace_back(n, 0);
  }
  ASSIGN_OR_RETURN(Node * node, graph.AddNode(std::move(spec)));
  for (int i = 0; i < node->num_outputs(); ++i) {
    if (!node->output_shape(i).IsFullyDefined()) {
      return absl::InvalidArgumentError(absl::StrCat("output ", i, " of ", op, " has shape ",
                                                     node->output_shape(i).ToString()));
    }
  }
  return node;
}

absl::StatusOr<std::vector<Tensor>> RunCpuKernel(const std::string& op,
                                                 const std::vector<Tensor>& inputs,
                                                 const AttrMap& attrs) {
  Graph graph;
  ASSIGN_OR_RETURN(Node * node, AddSingleOpNode(graph, op, inputs, attrs));
  VariableStore variables;
  KernelInit init{*node, DeviceType::kCpu, &variables, 87654321, 1};
  ASSIGN_OR_RETURN(std::unique_ptr<OpKernel> kernel, GlobalKernelRegistry().CreateKernel(init));
  std::vector<Tensor> outputs(node->num_outputs());
  std::vector<bool> forwarded(node->num_outputs(), false);
  for (int i : kernel->ForwardedOutputs()) forwarded[i] = true;
  for (int i = 0; i < node->num_outputs(); ++i) {
    if (!forwarded[i]) {
      // Filled with a pattern so a kernel that forgets to write shows up.
      outputs[i] = Tensor(node->output_dtype(i), node->output_shape(i));
      std::memset(outputs[i].raw_data(), 0xA5, outputs[i].num_bytes());
    }
  }
  std::vector<const Tensor*> input_ptrs;
  for (const Tensor& t : inputs) input_ptrs.push_back(&t);
  std::vector<Tensor*> output_ptrs;
  for (Tensor& t : outputs) output_ptrs.push_back(&t);
  std::unique_ptr<KernelState> state = kernel->CreateState();
  RETURN_IF_ERROR(kernel->Compute(KernelContext{input_ptrs, output_ptrs, state.get()}));
  return outputs;
}

absl::StatusOr<std::vector<Tensor>> RunWithFedInputs(const std::string& op,
                                                     const std::vector<Tensor>& inputs,
                                                     const std::vector<int>& fed,
                                                     const AttrMap& attrs,
                                                     const std::vector<Shape>& output_shapes) {
  Graph graph;
  NodeSpec spec;
  spec.name = "node";
  spec.op = op;
  spec.attrs = attrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const bool is_fed = std::find(fed.begin(), fed.end(), static_cast<int>(i)) != fed.end();
    NodeSpec c;
    c.name = absl::StrCat("input_", i);
    c.op = is_fed ? "Placeholder" : "Const";
    c.attrs = {{"dtype", inputs[i].dtype()}};
    c.attrs[is_fed ? "shape" : "value"] =
        is_fed ? AttrValue(inputs[i].shape()) : AttrValue(inputs[i]);
    auto n = graph.AddNode(std::move(c));
    if (!n.ok()) return n.status();
    spec.inputs.emplace_back(*n, 0);
  }
  auto node = graph.AddNode(std::move(spec));
  if (!node.ok()) return node.status();
  VariableStore variables;
  KernelInit init{**node, DeviceType::kCpu, &variables, 1, 1};
  auto kernel = GlobalKernelRegistry().CreateKernel(init);
  if (!kernel.ok()) return kernel.status();
  std::vector<Tensor> outputs;
  for (size_t i = 0; i < output_shapes.size(); ++i) {
    outputs.emplace_back((*node)->output_dtype(static_cast<int>(i)), output_shapes[i]);
  }
  std::vector<const Tensor*> in_ptrs;
  for (const Tensor& t : inputs) in_ptrs.push_back(&t);
  std::vector<Tensor*> out_ptrs;
  for (Tensor& t : outputs) out_ptrs.push_back(&t);
  auto state = (*kernel)->CreateState();
  absl::Status status = (*kernel)->Compute(KernelContext{in_ptrs, out_ptrs, state.get()});
  if (!status.ok()) return status;
  return outputs;
}

Tensor RandomTensor(DType dtype, const Shape& shape, uint64_t seed, double lo, double hi) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(lo, hi);
  Tensor t(dtype, shape);
  VisitDType(dtype, [&]<typename T>() {
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      const double v = uniform(rng);
      if constexpr (std::is_same_v<T, bool>) {
        p[i] = (rng() & 1) != 0;
      } else if constexpr (std::is_same_v<T, Half>) {
        p[i] = FloatToHalf(static_cast<float>(v));
      } else if constexpr (std::is_same_v<T, BFloat16>) {
        p[i] = FloatToBFloat16(static_cast<float>(v));
      } else if constexpr (std::is_integral_v<T>) {
        p[i] = static_cast<T>(std::floor(v));
      } else {
        p[i] = static_cast<T>(v);
      }
    }
  });
  return t;
}

std::string CompareTensors(const Tensor& actual, const Tensor& expected, double rtol,
                           double atol) {
  if (actual.dtype() != expected.dtype() || actual.shape() != expected.shape()) {
    return absl::StrCat("got ", DTypeName(actual.dtype()), actual.shape().ToString(),
                        ", expected ", DTypeName(expected.dtype()), expected.shape().ToString());
  }
  for (int64_t i = 0; i < actual.num_elements(); ++i) {
    const double a = actual.ElementAsDouble(i);
    const double e = expected.ElementAsDouble(i);
    if (std::isnan(e) && std::isnan(a)) continue;
    if (std::isinf(e) && a == e) continue;
    if (!(std::fabs(a - e) <= atol + rtol * std::fabs(e))) {
      return absl::StrCat("element ", i, ": got ", a, ", expected ", e, " (", actual.num_elements(),
                          " elements)");
    }
  }
  return "";
}

}  // namespace sluice::testing
