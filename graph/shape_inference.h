// What a shape function sees: the node's attributes, its inputs' dtypes,
// shapes and (when known while building) values; what it sets: output shapes.
#ifndef SLUICE_GRAPH_SHAPE_INFERENCE_H_
#define SLUICE_GRAPH_SHAPE_INFERENCE_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "graph/attr_value.h"
#include "graph/op_def.h"
#include "graph/shape.h"
#include "graph/tensor.h"

namespace sluice {

class InferenceContext {
 public:
  // `input_values[i]` is null when input i's value is unknown while building.
  // Output dtypes come already resolved from the OpDef; output shapes start
  // as unknown rank.
  InferenceContext(const OpDef& op_def, const AttrMap& attrs, std::vector<DType> input_dtypes,
                   std::vector<Shape> input_shapes, std::vector<const Tensor*> input_values,
                   std::vector<const OpDef*> input_ops, std::vector<DType> output_dtypes);

  const OpDef& op_def() const { return op_def_; }
  const AttrMap& attrs() const { return attrs_; }

  int num_inputs() const { return static_cast<int>(input_shapes_.size()); }
  DType input_dtype(int i) const { return input_dtypes_[i]; }
  const Shape& input_shape(int i) const { return input_shapes_[i]; }
  // The value of input i when it is known while building (a Const, or the
  // result of Shape or Size on a fully known shape); null otherwise.
  const Tensor* input_value(int i) const { return input_values_[i]; }
  // The op of the node that produces input i (e.g. to require a Variable).
  const OpDef& input_op(int i) const { return *input_ops_[i]; }

  int num_outputs() const { return static_cast<int>(output_shapes_.size()); }
  DType output_dtype(int i) const { return output_dtypes_[i]; }
  void set_output(int i, Shape shape) { output_shapes_[i] = std::move(shape); }
  const Shape& output_shape(int i) const { return output_shapes_[i]; }
  // Records output i's value when a shape function can compute it cheaply
  // (Const, Shape, Size); consumers then see it through input_value().
  void set_output_value(int i, Tensor value) { output_values_[i] = std::move(value); }
  const Tensor& output_value(int i) const { return output_values_[i]; }

  // Attribute accessors. Attributes are validated against the OpDef before a
  // shape function runs, so the named attribute exists with the declared type.
  const AttrValue& attr(absl::string_view name) const;
  int64_t GetInt(absl::string_view name) const { return attr(name).i(); }
  float GetFloat(absl::string_view name) const { return attr(name).f(); }
  bool GetBool(absl::string_view name) const { return attr(name).b(); }
  const std::string& GetString(absl::string_view name) const { return attr(name).s(); }
  DType GetType(absl::string_view name) const { return attr(name).dtype(); }
  const Shape& GetShape(absl::string_view name) const { return attr(name).shape(); }
  const std::vector<int64_t>& GetInts(absl::string_view name) const { return attr(name).ints(); }

  // Checks input i's rank (unknown rank passes); the error names the input.
  absl::Status CheckRank(int i, int rank) const;
  absl::Status CheckRankAtLeast(int i, int rank) const;
  // Reads a shape from a 1-D integer input (like Reshape's `shape`): its
  // values when known (negative entries become unknown dims), a shape of
  // unknown dims when only the input's length is known, or unknown rank
  // otherwise. An error when the input is not a 1-D integer tensor.
  absl::StatusOr<Shape> ShapeFromInput(int i) const;
  // The integer values of input i (any integer dtype) when known.
  std::optional<std::vector<int64_t>> IntValuesOfInput(int i) const;

  // The name of input or output arg i as the OpDef declares it, for messages.
  std::string InputName(int i) const;

  // InvalidArgument with the message parts concatenated; the graph prefixes
  // the node's name and op.
  template <typename... Args>
  absl::Status Error(const Args&... args) const {
    return absl::InvalidArgumentError(absl::StrCat(args...));
  }

 private:
  const OpDef& op_def_;
  const AttrMap& attrs_;
  std::vector<DType> input_dtypes_;
  std::vector<Shape> input_shapes_;
  std::vector<const Tensor*> input_values_;
  std::vector<const OpDef*> input_ops_;
  std::vector<DType> output_dtypes_;
  std::vector<Shape> output_shapes_;
  std::vector<Tensor> output_values_;
};

// Shape functions shared by many ops.
namespace shape_fns {
// Output 0 has input 0's shape.
absl::Status Unchanged(InferenceContext& c);
// Output 0 is the NumPy broadcast of inputs 0 and 1.
absl::Status BroadcastBinary(InferenceContext& c);
// Every output is a scalar.
absl::Status Scalars(InferenceContext& c);
// Every output has unknown rank.
absl::Status Unknown(InferenceContext& c);
// No outputs to shape.
absl::Status NoOutputs(InferenceContext& c);
}  // namespace shape_fns

}  // namespace sluice

#endif  // SLUICE_GRAPH_SHAPE_INFERENCE_H_
