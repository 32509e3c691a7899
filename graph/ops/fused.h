// Fused ops: what the fusion pass (passes/fusion.h) rewrites chains of ops
// into, so that intermediate results are never written to memory. Named,
// laid out and attributed like TensorFlow's internal ops of the same names.
//
// None of them is differentiable: fusion runs on compiled plans, after
// gradients were built from the unfused ops.
#ifndef SLUICE_GRAPH_OPS_FUSED_H_
#define SLUICE_GRAPH_OPS_FUSED_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "graph/ops/nn.h"
#include "graph/scope.h"

namespace sluice {

// The epilogue of _FusedMatMul and _FusedConv2D, in the order it is applied:
// "BiasAdd" (always first; args[0] is the [channels] bias), optionally "Add"
// (args[1], a tensor of the output's shape, added after the bias: a residual
// connection), optionally one activation of FusedActivations().
struct FusedEpilogueOptions {
  std::vector<std::string> fused_ops = {"BiasAdd"};
  // Unused by the fusions above (kept for TensorFlow's attribute set).
  float epsilon = 0.0001f;
  // The negative slope when the activation is "LeakyRelu".
  float leakyrelu_alpha = 0.2f;
};

// The activations the epilogue can end with: Relu, Relu6, Elu, Sigmoid,
// Tanh, LeakyRelu.
const std::vector<std::string>& FusedActivations();

class InferenceContext;

// Checks the epilogue of a node shaped like _FusedConv2D (inputs 0 and 1 the
// operands, then the args): fused_ops as FusedEpilogueOptions says, args[0]
// a bias of `channels` entries (unknown: kUnknownDim), args[1] (with "Add")
// of `output`'s shape. For the shape functions of the fused families.
absl::Status CheckFusedEpilogue(const InferenceContext& c, const Shape& output, int64_t channels);

struct FusedMatMulOptions : FusedEpilogueOptions {
  bool transpose_a = false;
  bool transpose_b = false;
};
// epilogue(op(a) x op(b)) for 2-D a and b; `args` as FusedEpilogueOptions
// says (1 or 2 tensors).
Output FusedMatMul(const Scope& scope, Output a, Output b, const std::vector<Output>& args,
                   const FusedMatMulOptions& options = {});

struct FusedConv2DOptions : FusedEpilogueOptions {
  Conv2DOptions conv;
};
// epilogue(conv2d(input, filter)) with Conv2D's layouts and attributes.
Output FusedConv2D(const Scope& scope, Output input, Output filter,
                   const std::vector<Output>& args, const FusedConv2DOptions& options = {});

// One step of _FusedElementwise: `op` applied to the running value v (the
// chain's input x for the first step). Unary ops: op(v). Binary ops:
// op(v, args[operand]), or op(args[operand], v) when `reversed`; each arg is
// a single element (broadcast) or has x's shape.
struct ElementwiseStep {
  std::string op;
  int operand = -1;  // -1 for unary ops
  bool reversed = false;
  float alpha = 0;  // LeakyRelu's slope; 0 for every other op
};

// Whether _FusedElementwise can hold `op`; sets `arity` to 1 or 2.
bool IsFusableElementwiseOp(absl::string_view op, int* arity);

// The chain of `steps` over x (f32), evaluated in one pass over memory.
// Attributes: fused_ops (each step's op), operands, reversed, alphas (one
// entry per step each).
Output FusedElementwise(const Scope& scope, Output x, const std::vector<Output>& args,
                        const std::vector<ElementwiseStep>& steps);
// The attributes of a _FusedElementwise running `steps` (fused_ops,
// operands, reversed, alphas), for code that adds the node itself.
AttrMap FusedElementwiseAttrs(const std::vector<ElementwiseStep>& steps);

}  // namespace sluice

#endif  // SLUICE_GRAPH_OPS_FUSED_H_
