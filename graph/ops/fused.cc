// The fused family: _FusedMatMul, _FusedConv2D and _FusedElementwise.
#include "graph/ops/fused.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/op_def.h"
#include "graph/ops/op_families.h"
#include "graph/shape_inference.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

// The output shape `base_op` (MatMul or Conv2D) gives for inputs 0 and 1 of
// `c` with c's attributes, which include every attribute of the base op. The
// base op's own shape function is the one definition of that shape.
absl::StatusOr<Shape> BaseOutputShape(const InferenceContext& c, absl::string_view base_op) {
  const OpDef* def = OpRegistry::Global().Find(base_op);
  if (def == nullptr) return absl::InternalError(absl::StrCat("no op ", base_op));
  InferenceContext base(*def, c.attrs(), {c.input_dtype(0), c.input_dtype(1)},
                        {c.input_shape(0), c.input_shape(1)},
                        {c.input_value(0), c.input_value(1)}, {&c.input_op(0), &c.input_op(1)},
                        {c.output_dtype(0)});
  RETURN_IF_ERROR(def->shape_fn()(base));
  return base.output_shape(0);
}

// Checks fused_ops and the args against `output`, whose channels are dim
// `channel_dim` (when the rank is known).
absl::Status CheckEpilogue(const InferenceContext& c, const Shape& output, int channel_dim) {
  return CheckFusedEpilogue(c, output,
                            output.unknown_rank() ? kUnknownDim : output.dim(channel_dim));
}

}  // namespace

absl::Status CheckFusedEpilogue(const InferenceContext& c, const Shape& output,
                                int64_t channels) {
  const std::vector<std::string>& ops = c.attr("fused_ops").strings();
  const auto& activations = FusedActivations();
  size_t i = 0;
  const bool bias = i < ops.size() && ops[i] == "BiasAdd";
  if (!bias) {
    return c.Error("fused_ops [", absl::StrJoin(ops, ","),
                   "] must start with BiasAdd, optionally followed by Add and one of ",
                   absl::StrJoin(activations, ", "));
  }
  ++i;
  const bool add = i < ops.size() && ops[i] == "Add";
  if (add) ++i;
  if (i < ops.size() &&
      std::find(activations.begin(), activations.end(), ops[i]) != activations.end()) {
    ++i;
  }
  if (i != ops.size()) {
    return c.Error("fused_ops [", absl::StrJoin(ops, ","), "]: unsupported '", ops[i],
                   "'; expected BiasAdd, optionally Add, then one of ",
                   absl::StrJoin(activations, ", "));
  }
  const int args = c.num_inputs() - 2;
  const int expected = add ? 2 : 1;
  if (args != expected) {
    return c.Error("fused_ops [", absl::StrJoin(ops, ","), "] take ", expected,
                   " args, got ", args);
  }
  RETURN_IF_ERROR(c.CheckRank(2, 1));
  const Shape& bias_shape = c.input_shape(2);
  const int64_t bias_size = bias_shape.unknown_rank() ? kUnknownDim : bias_shape.dim(0);
  if (channels >= 0 && bias_size >= 0 && channels != bias_size) {
    return c.Error("bias ", bias_shape.ToString(), " does not match output ", output.ToString(),
                   ": it needs one entry per channel");
  }
  if (add && !output.Merge(c.input_shape(3)).ok()) {
    return c.Error("the Add operand ", c.input_shape(3).ToString(),
                   " must have the output's shape ", output.ToString());
  }
  return absl::OkStatus();
}

namespace {

absl::Status FusedMatMulShape(InferenceContext& c) {
  ASSIGN_OR_RETURN(Shape output, BaseOutputShape(c, "MatMul"));
  RETURN_IF_ERROR(CheckEpilogue(c, output, 1));
  c.set_output(0, std::move(output));
  return absl::OkStatus();
}

absl::Status FusedConv2DShape(InferenceContext& c) {
  ASSIGN_OR_RETURN(Shape output, BaseOutputShape(c, "Conv2D"));
  RETURN_IF_ERROR(CheckEpilogue(c, output, c.GetString("data_format") == "NCHW" ? 1 : 3));
  c.set_output(0, std::move(output));
  return absl::OkStatus();
}

absl::Status FusedElementwiseShape(InferenceContext& c) {
  const std::vector<std::string>& ops = c.attr("fused_ops").strings();
  const std::vector<int64_t>& operands = c.GetInts("operands");
  const std::vector<bool>& reversed = c.attr("reversed").bools();
  const std::vector<float>& alphas = c.attr("alphas").floats();
  if (ops.empty()) return c.Error("fused_ops is empty");
  if (operands.size() != ops.size() || reversed.size() != ops.size() ||
      alphas.size() != ops.size()) {
    return c.Error("fused_ops, operands, reversed and alphas need one entry per step; got ",
                   ops.size(), ", ", operands.size(), ", ", reversed.size(), " and ",
                   alphas.size());
  }
  const int num_args = c.num_inputs() - 1;
  for (size_t s = 0; s < ops.size(); ++s) {
    int arity = 0;
    if (!IsFusableElementwiseOp(ops[s], &arity)) {
      return c.Error("step ", s, ": '", ops[s], "' is not an element-wise op that can be fused");
    }
    const int64_t operand = operands[s];
    if (arity == 1 && operand != -1) {
      return c.Error("step ", s, ": unary ", ops[s], " takes no operand, got ", operand);
    }
    if (arity == 2 && (operand < 0 || operand >= num_args)) {
      return c.Error("step ", s, ": ", ops[s], " needs an operand in [0, ", num_args, "), got ",
                     operand);
    }
  }
  const Shape& x = c.input_shape(0);
  for (int i = 1; i < c.num_inputs(); ++i) {
    const Shape& a = c.input_shape(i);
    const int64_t n = a.num_elements();
    if (n == 1 && (x.unknown_rank() || a.unknown_rank() || a.rank() <= x.rank())) continue;
    if (!x.Merge(a).ok()) {
      return c.Error("args[", i - 1, "] ", a.ToString(),
                     " must be a single element or have x's shape ", x.ToString());
    }
  }
  c.set_output(0, x);
  return absl::OkStatus();
}

// The attributes both _FusedMatMul and _FusedConv2D add to their base op's.
void AddEpilogueAttrs(OpDefBuilder& b) {
  b.Input("args: num_args * T")
      .Attr("num_args: int >= 0")
      .Attr("fused_ops: list(string) = []")
      .Attr("epsilon: float = 0.0001")
      .Attr("leakyrelu_alpha: float = 0.2");
}

AttrMap EpilogueAttrs(const FusedEpilogueOptions& options) {
  return {{"fused_ops", options.fused_ops},
          {"epsilon", options.epsilon},
          {"leakyrelu_alpha", options.leakyrelu_alpha}};
}

std::vector<Output> Concat(std::vector<Output> a, const std::vector<Output>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

const std::vector<std::string>& FusedActivations() {
  static const auto* names =
      new std::vector<std::string>{"Relu", "Relu6", "Elu", "Sigmoid", "Tanh", "LeakyRelu"};
  return *names;
}

bool IsFusableElementwiseOp(absl::string_view op, int* arity) {
  static constexpr absl::string_view kUnary[] = {
      "Neg",  "Square", "Abs",  "Sqrt", "Rsqrt",   "Exp",      "Log",      "Relu",
      "Relu6", "Elu",   "Sigmoid", "Tanh", "Softplus", "LeakyRelu"};
  static constexpr absl::string_view kBinary[] = {"Add",     "Sub",     "Mul", "Div",
                                                  "Maximum", "Minimum", "Pow"};
  for (absl::string_view u : kUnary) {
    if (op == u) {
      *arity = 1;
      return true;
    }
  }
  for (absl::string_view b : kBinary) {
    if (op == b) {
      *arity = 2;
      return true;
    }
  }
  return false;
}

void RegisterFusedOps(OpRegistry& registry) {
  OpDefBuilder matmul("_FusedMatMul");
  matmul.Input("a: T").Input("b: T");
  AddEpilogueAttrs(matmul);
  matmul.Output("product: T")
      .Attr("T: {f32}")
      .Attr("transpose_a: bool = false")
      .Attr("transpose_b: bool = false")
      .SetShapeFn(FusedMatMulShape)
      .Doc("MatMul followed by BiasAdd, an optional Add and an optional activation.");
  registry.Register(matmul);

  OpDefBuilder conv("_FusedConv2D");
  conv.Input("input: T").Input("filter: T");
  AddEpilogueAttrs(conv);
  conv.Output("output: T")
      .Attr("T: {f32}")
      .Attr("strides: list(int)")
      .Attr("padding: {'SAME', 'VALID', 'EXPLICIT'}")
      .Attr("explicit_paddings: list(int) = []")
      .Attr("data_format: {'NHWC', 'NCHW'} = 'NHWC'")
      .Attr("dilations: list(int) = [1, 1, 1, 1]")
      .SetShapeFn(FusedConv2DShape)
      .Doc("Conv2D followed by BiasAdd, an optional Add and an optional activation.");
  registry.Register(conv);

  registry.Register(OpDefBuilder("_FusedElementwise")
                        .Input("x: T")
                        .Input("args: num_args * T")
                        .Output("y: T")
                        .Attr("T: {f32}")
                        .Attr("num_args: int >= 0")
                        .Attr("fused_ops: list(string)")
                        .Attr("operands: list(int)")
                        .Attr("reversed: list(bool)")
                        .Attr("alphas: list(float)")
                        .SetShapeFn(FusedElementwiseShape)
                        .Doc("A chain of element-wise ops evaluated in one pass over memory."));
}

Output FusedMatMul(const Scope& scope, Output a, Output b, const std::vector<Output>& args,
                   const FusedMatMulOptions& options) {
  AttrMap attrs = EpilogueAttrs(options);
  attrs["transpose_a"] = options.transpose_a;
  attrs["transpose_b"] = options.transpose_b;
  return AddOp(scope, "_FusedMatMul", Concat({a, b}, args), std::move(attrs));
}

Output FusedConv2D(const Scope& scope, Output input, Output filter,
                   const std::vector<Output>& args, const FusedConv2DOptions& options) {
  AttrMap attrs = EpilogueAttrs(options);
  attrs["strides"] = options.conv.strides;
  attrs["padding"] = options.conv.padding;
  attrs["explicit_paddings"] = options.conv.explicit_paddings;
  attrs["data_format"] = options.conv.data_format;
  attrs["dilations"] = options.conv.dilations;
  return AddOp(scope, "_FusedConv2D", Concat({input, filter}, args), std::move(attrs));
}

AttrMap FusedElementwiseAttrs(const std::vector<ElementwiseStep>& steps) {
  std::vector<std::string> ops;
  std::vector<int64_t> operands;
  std::vector<bool> reversed;
  std::vector<float> alphas;
  for (const ElementwiseStep& s : steps) {
    ops.push_back(s.op);
    operands.push_back(s.operand);
    reversed.push_back(s.reversed);
    alphas.push_back(s.alpha);
  }
  return {{"fused_ops", std::move(ops)},
          {"operands", std::move(operands)},
          {"reversed", std::move(reversed)},
          {"alphas", std::move(alphas)}};
}

Output FusedElementwise(const Scope& scope, Output x, const std::vector<Output>& args,
                        const std::vector<ElementwiseStep>& steps) {
  return AddOp(scope, "_FusedElementwise", Concat({x}, args), FusedElementwiseAttrs(steps));
}

}  // namespace sluice
