// Builders for placeholders, constants, variables and plumbing ops.
#ifndef SLUICE_GRAPH_OPS_STATE_H_
#define SLUICE_GRAPH_OPS_STATE_H_

#include <initializer_list>
#include <vector>

#include "graph/scope.h"

namespace sluice {

// An integer argument (axes, a shape, a permutation) given either as a tensor
// of the graph or as values, which become an i32 Const:
//   Sum(scope, x, {0, 1});  Reshape(scope, x, ShapeOf(scope, y));
class IntsArg {
 public:
  IntsArg(Output tensor) : tensor_(tensor), is_tensor_(true) {}
  IntsArg(std::initializer_list<int64_t> values) : values_(values) {}
  IntsArg(std::vector<int64_t> values) : values_(std::move(values)) {}

  // The tensor, or a new Const `name` (in a sub-scope of `scope`) holding the
  // values.
  Output ToOutput(const Scope& scope, absl::string_view name) const;

 private:
  Output tensor_;
  std::vector<int64_t> values_;
  bool is_tensor_ = false;
};

// A value fed at run time. Unknown dims are kUnknownDim (-1); the default
// shape is unknown rank.
Output Placeholder(const Scope& scope, DType dtype, const Shape& shape = Shape::UnknownRank());
// Like Placeholder, but yields `input` when nothing is fed.
Output PlaceholderWithDefault(const Scope& scope, Output input, const Shape& shape);

// Constants from a tensor, a scalar, a list (1-D) or a nested list (2-D).
Output Const(const Scope& scope, const Tensor& value);
Output Const(const Scope& scope, float value);
Output Const(const Scope& scope, double value);
Output Const(const Scope& scope, int32_t value);
Output Const(const Scope& scope, int64_t value);
Output Const(const Scope& scope, bool value);
Output Const(const Scope& scope, std::initializer_list<float> values);
Output Const(const Scope& scope, std::initializer_list<std::initializer_list<float>> rows);
Output Const(const Scope& scope, const std::vector<float>& values, const Shape& shape);
Output Const(const Scope& scope, const std::vector<double>& values, const Shape& shape);
Output Const(const Scope& scope, const std::vector<int32_t>& values);
Output Const(const Scope& scope, const std::vector<int64_t>& values);

struct VariableOptions {
  // Whether optimizers update it by default.
  bool trainable = true;
};
// A variable of `shape` and `dtype` whose value persists between runs. It is
// initialised by an Assign node named `<variable>/Assign` that writes
// `initializer` (which must have the same dtype and a compatible shape); the
// variable's `initializer` attribute names that node. Returns the variable's
// value.
Output Variable(const Scope& scope, const Shape& shape, DType dtype, Output initializer,
                const VariableOptions& options = {});

// Writes `value` into `variable` (an output of a Variable node) and yields the
// new value.
Output Assign(const Scope& scope, Output variable, Output value);
Output AssignAdd(const Scope& scope, Output variable, Output value);
Output AssignSub(const Scope& scope, Output variable, Output value);

// A NoOp named "init" (made unique) that runs the initializer of every
// Variable in the scope's graph (TF1's global_variables_initializer). A
// variable whose initializer attr names no node is an error naming it.
Node* InitAllVariables(const Scope& scope);

Output Identity(const Scope& scope, Output input);
// Identity in the forward pass; gradients do not flow through it.
Output StopGradient(const Scope& scope, Output input);
// Does nothing; with control inputs it groups other nodes into one target.
Node* NoOp(const Scope& scope);

}  // namespace sluice

#endif  // SLUICE_GRAPH_OPS_STATE_H_
