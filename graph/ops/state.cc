// Placeholders, constants, variables and plumbing ops.
#include "graph/ops/state.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

#include "graph/op_def.h"
#include "graph/ops/op_families.h"
#include "graph/shape_inference.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

absl::Status PlaceholderShape(InferenceContext& c) {
  c.set_output(0, c.GetShape("shape"));
  return absl::OkStatus();
}

absl::Status PlaceholderWithDefaultShape(InferenceContext& c) {
  const Shape& declared = c.GetShape("shape");
  if (!c.input_shape(0).IsCompatibleWith(declared)) {
    return c.Error("default value has shape ", c.input_shape(0).ToString(),
                   ", which does not fit the declared shape ", declared.ToString());
  }
  c.set_output(0, declared);
  return absl::OkStatus();
}

absl::Status ConstShape(InferenceContext& c) {
  const AttrValue& value = c.attr("value");
  const Tensor& t = value.tensor();
  if (!t.valid()) return c.Error("attr 'value' holds no tensor");
  if (t.dtype() != c.GetType("dtype")) {
    return c.Error("value is ", DTypeName(t.dtype()), " but dtype is ",
                   DTypeName(c.GetType("dtype")));
  }
  c.set_output(0, t.shape());
  c.set_output_value(0, t);
  return absl::OkStatus();
}

absl::Status VariableShape(InferenceContext& c) {
  const Shape& shape = c.GetShape("shape");
  if (!shape.IsFullyDefined()) {
    return c.Error("a variable needs a fully defined shape, got ", shape.ToString());
  }
  RETURN_IF_ERROR(shape.CheckedNumElements().status());
  c.set_output(0, shape);
  return absl::OkStatus();
}

// Assign, AssignAdd, AssignSub: input 0 must be a variable; the value must fit
// its shape (Assign with validate_shape=false may change it, as in TF).
absl::Status AssignShape(InferenceContext& c) {
  if (c.input_op(0).name() != "Variable") {
    return c.Error("input 0 (ref) must be a Variable, got an output of ", c.input_op(0).name());
  }
  const bool validate =
      c.op_def().FindAttr("validate_shape") == nullptr || c.GetBool("validate_shape");
  if (validate && !c.input_shape(0).IsCompatibleWith(c.input_shape(1))) {
    return c.Error("value of shape ", c.input_shape(1).ToString(),
                   " does not fit the variable's shape ", c.input_shape(0).ToString());
  }
  c.set_output(0, validate ? c.input_shape(0) : c.input_shape(1));
  return absl::OkStatus();
}

}  // namespace

void RegisterStateOps(OpRegistry& r) {
  r.Register(OpDefBuilder("Placeholder")
                 .Output("output: dtype")
                 .Attr("dtype: type")
                 .Attr("shape: shape = <unknown>")
                 .SetShapeFn(PlaceholderShape)
                 .Doc("A tensor fed at run time; running without a feed is an error."));
  r.Register(OpDefBuilder("PlaceholderWithDefault")
                 .Input("input: dtype")
                 .Output("output: dtype")
                 .Attr("dtype: type")
                 .Attr("shape: shape")
                 .SetShapeFn(PlaceholderWithDefaultShape)
                 .Differentiable()
                 .Doc("A placeholder that yields its input when nothing is fed."));
  r.Register(OpDefBuilder("Const")
                 .Output("output: dtype")
                 .Attr("value: tensor")
                 .Attr("dtype: type")
                 .SetShapeFn(ConstShape)
                 .Doc("A constant tensor."));
  r.Register(OpDefBuilder("Variable")
                 .Output("ref: dtype")
                 .Attr("shape: shape")
                 .Attr("dtype: type")
                 .Attr("trainable: bool = true")
                 .Attr("initializer: string = ''")
                 .SetShapeFn(VariableShape)
                 .Stateful()
                 .Doc("A tensor kept by the session between runs; yields its current value."));
  for (const char* name : {"Assign", "AssignAdd", "AssignSub"}) {
    OpDefBuilder b(name);
    b.Input("ref: T").Input("value: T").Output("output_ref: T").Attr("use_locking: bool = false");
    if (absl::string_view(name) == "Assign") {
      b.Attr("T: {any}").Attr("validate_shape: bool = true");
    } else {
      b.Attr("T: {numeric}");
    }
    r.Register(b.SetShapeFn(AssignShape).Stateful().Doc("Updates a variable; yields its new value."));
  }
  r.Register(OpDefBuilder("Identity")
                 .Input("input: T")
                 .Output("output: T")
                 .Attr("T: {any}")
                 .SetShapeFn(shape_fns::Unchanged)
                 .Differentiable());
  r.Register(OpDefBuilder("StopGradient")
                 .Input("input: T")
                 .Output("output: T")
                 .Attr("T: {any}")
                 .SetShapeFn(shape_fns::Unchanged)
                 .Doc("Identity whose gradient is zero."));
  r.Register(OpDefBuilder("NoOp").SetShapeFn(shape_fns::NoOutputs).Doc("Does nothing."));
}

Output IntsArg::ToOutput(const Scope& scope, absl::string_view name) const {
  if (is_tensor_) return tensor_;
  // i32 like TensorFlow's shape constants, unless a value needs 64 bits.
  const bool fits = std::all_of(values_.begin(), values_.end(), [](int64_t v) {
    return v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
  });
  if (!fits) return Const(scope.NewSubScope(name), values_);
  std::vector<int32_t> v(values_.begin(), values_.end());
  return Const(scope.NewSubScope(name), v);
}

Output Placeholder(const Scope& scope, DType dtype, const Shape& shape) {
  return AddOp(scope, "Placeholder", {}, {{"dtype", dtype}, {"shape", shape}});
}

Output PlaceholderWithDefault(const Scope& scope, Output input, const Shape& shape) {
  if (!input.valid()) return Output();
  return AddOp(scope, "PlaceholderWithDefault", {input},
               {{"dtype", input.dtype()}, {"shape", shape}});
}

Output Const(const Scope& scope, const Tensor& value) {
  if (!scope.ok()) return Output();
  if (!value.valid()) {
    scope.UpdateStatus(absl::InvalidArgumentError("Const: the value tensor is empty"));
    return Output();
  }
  return AddOp(scope, "Const", {}, {{"value", value}, {"dtype", value.dtype()}});
}

Output Const(const Scope& scope, float value) { return Const(scope, Tensor::Scalar(value)); }
Output Const(const Scope& scope, double value) { return Const(scope, Tensor::Scalar(value)); }
Output Const(const Scope& scope, int32_t value) { return Const(scope, Tensor::Scalar(value)); }
Output Const(const Scope& scope, int64_t value) { return Const(scope, Tensor::Scalar(value)); }
Output Const(const Scope& scope, bool value) { return Const(scope, Tensor::Scalar(value)); }

Output Const(const Scope& scope, std::initializer_list<float> values) {
  return Const(scope, Tensor::FromVector(std::vector<float>(values)));
}

Output Const(const Scope& scope, std::initializer_list<std::initializer_list<float>> rows) {
  std::vector<float> flat;
  const size_t width = rows.size() == 0 ? 0 : rows.begin()->size();
  for (const auto& row : rows) {
    if (row.size() != width) {
      scope.UpdateStatus(absl::InvalidArgumentError(
          absl::StrCat("Const: rows have different lengths (", width, " and ", row.size(), ")")));
      return Output();
    }
    flat.insert(flat.end(), row.begin(), row.end());
  }
  return Const(scope, flat,
               Shape{static_cast<int64_t>(rows.size()), static_cast<int64_t>(width)});
}

namespace {
template <typename T>
Output ConstFromVector(const Scope& scope, const std::vector<T>& values, const Shape& shape) {
  if (!scope.ok()) return Output();
  auto t = Tensor::FromVector(values, shape);
  if (!t.ok()) {
    scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat("Const: ", t.status().message())));
    return Output();
  }
  return Const(scope, *t);
}
}  // namespace

Output Const(const Scope& scope, const std::vector<float>& values, const Shape& shape) {
  return ConstFromVector(scope, values, shape);
}
Output Const(const Scope& scope, const std::vector<double>& values, const Shape& shape) {
  return ConstFromVector(scope, values, shape);
}
Output Const(const Scope& scope, const std::vector<int32_t>& values) {
  return Const(scope, Tensor::FromVector(values));
}
Output Const(const Scope& scope, const std::vector<int64_t>& values) {
  return Const(scope, Tensor::FromVector(values));
}

Output Variable(const Scope& scope, const Shape& shape, DType dtype, Output initializer,
                const VariableOptions& options) {
  if (!scope.ok() || !initializer.valid()) return Output();
  Graph* g = scope.graph();
  const std::string name = scope.GetUniqueNameForOp("Variable");
  const std::string init_name = g->UniqueName(name + "/Assign");
  if (initializer.dtype() != dtype || !initializer.shape().IsCompatibleWith(shape)) {
    scope.UpdateStatus(absl::InvalidArgumentError(absl::StrCat(
        name, " (Variable): initializer ", initializer.name(), " is ",
        DTypeName(initializer.dtype()), initializer.shape().ToString(), " but the variable is ",
        DTypeName(dtype), shape.ToString())));
    return Output();
  }
  NodeSpec spec;
  spec.name = name;
  spec.op = "Variable";
  spec.attrs = {{"shape", shape},
                {"dtype", dtype},
                {"trainable", options.trainable},
                {"initializer", init_name}};
  spec.device = scope.device();
  spec.control_inputs = scope.control_dependencies();
  auto var = g->AddNode(std::move(spec));
  if (!var.ok()) {
    scope.UpdateStatus(var.status());
    return Output();
  }
  NodeSpec assign;
  assign.name = init_name;
  assign.op = "Assign";
  assign.inputs = {Output(*var, 0), initializer};
  assign.device = scope.device();
  auto init = g->AddNode(std::move(assign));
  if (!init.ok()) {
    scope.UpdateStatus(init.status());
    return Output();
  }
  return Output(*var, 0);
}

Output Assign(const Scope& scope, Output variable, Output value) {
  return AddOp(scope, "Assign", {variable, value});
}
Output AssignAdd(const Scope& scope, Output variable, Output value) {
  return AddOp(scope, "AssignAdd", {variable, value});
}
Output AssignSub(const Scope& scope, Output variable, Output value) {
  return AddOp(scope, "AssignSub", {variable, value});
}
Node* InitAllVariables(const Scope& scope) {
  if (!scope.ok()) return nullptr;
  std::vector<Node*> initializers;
  for (Node* n : scope.graph()->nodes()) {
    if (n->op() != "Variable") continue;
    const std::string& init = n->attr("initializer").s();
    Node* init_node = init.empty() ? nullptr : scope.graph()->FindNode(init);
    if (init_node == nullptr) {
      scope.UpdateStatus(absl::FailedPreconditionError(absl::StrCat(
          n->DebugName(), ": its initializer '", init, "' is not a node of the graph")));
      return nullptr;
    }
    initializers.push_back(init_node);
  }
  return AddOpNode(scope.WithOpName("init").WithControlDependencies(initializers), "NoOp", {});
}

Output Identity(const Scope& scope, Output input) { return AddOp(scope, "Identity", {input}); }
Output StopGradient(const Scope& scope, Output input) {
  return AddOp(scope, "StopGradient", {input});
}
Node* NoOp(const Scope& scope) { return AddOpNode(scope, "NoOp", {}); }

}  // namespace sluice
