#include "graph/shape_inference.h"

#include <cstdlib>

#include "graph/status_macros.h"

namespace sluice {

InferenceContext::InferenceContext(const OpDef& op_def, const AttrMap& attrs,
                                   std::vector<DType> input_dtypes,
                                   std::vector<Shape> input_shapes,
                                   std::vector<const Tensor*> input_values,
                                   std::vector<const OpDef*> input_ops,
                                   std::vector<DType> output_dtypes)
    : op_def_(op_def),
      attrs_(attrs),
      input_dtypes_(std::move(input_dtypes)),
      input_shapes_(std::move(input_shapes)),
      input_values_(std::move(input_values)),
      input_ops_(std::move(input_ops)),
      output_dtypes_(std::move(output_dtypes)),
      output_shapes_(output_dtypes_.size(), Shape::UnknownRank()),
      output_values_(output_dtypes_.size()) {}

const AttrValue& InferenceContext::attr(absl::string_view name) const {
  auto it = attrs_.find(name);
  if (it == attrs_.end()) {
    // Attributes are validated before shape functions run; reaching this is
    // a bug in an op's registration.
    std::abort();
  }
  return it->second;
}

std::string InferenceContext::InputName(int i) const {
  // Walk the declared args, expanding "N * T" lists, to find the arg of input i.
  int index = 0;
  for (const ArgDef& arg : op_def_.inputs()) {
    const int count = arg.number_attr.empty() ? 1 : static_cast<int>(GetInt(arg.number_attr));
    if (i < index + count) {
      return arg.number_attr.empty() ? arg.name : absl::StrCat(arg.name, "[", i - index, "]");
    }
    index += count;
  }
  return absl::StrCat("input ", i);
}

absl::Status InferenceContext::CheckRank(int i, int rank) const {
  const Shape& s = input_shapes_[i];
  if (s.unknown_rank() || s.rank() == rank) return absl::OkStatus();
  return Error(InputName(i), " must have rank ", rank, ", got ", s.ToString());
}

absl::Status InferenceContext::CheckRankAtLeast(int i, int rank) const {
  const Shape& s = input_shapes_[i];
  if (s.unknown_rank() || s.rank() >= rank) return absl::OkStatus();
  return Error(InputName(i), " must have rank at least ", rank, ", got ", s.ToString());
}

std::optional<std::vector<int64_t>> InferenceContext::IntValuesOfInput(int i) const {
  const Tensor* t = input_values_[i];
  if (t == nullptr || !IsInteger(t->dtype())) return std::nullopt;
  std::vector<int64_t> out(t->num_elements());
  for (int64_t k = 0; k < t->num_elements(); ++k) {
    out[k] = static_cast<int64_t>(t->ElementAsDouble(k));
  }
  return out;
}

absl::StatusOr<Shape> InferenceContext::ShapeFromInput(int i) const {
  if (!IsInteger(input_dtypes_[i])) {
    return Error(InputName(i), " must be an integer tensor, got ", DTypeName(input_dtypes_[i]));
  }
  const Shape& s = input_shapes_[i];
  if (s.rank() > 1) return Error(InputName(i), " must be a 1-D shape tensor, got ", s.ToString());
  if (auto values = IntValuesOfInput(i)) {
    Shape out;
    for (int64_t v : *values) out.AddDim(v < 0 ? kUnknownDim : v);
    return out;
  }
  if (s.rank() == 1 && s.dim(0) >= 0) return Shape::Unknown(static_cast<int>(s.dim(0)));
  if (s.rank() == 0) return Shape{};
  return Shape::UnknownRank();
}

namespace shape_fns {

absl::Status Unchanged(InferenceContext& c) {
  c.set_output(0, c.input_shape(0));
  return absl::OkStatus();
}

absl::Status BroadcastBinary(InferenceContext& c) {
  auto s = BroadcastShapes(c.input_shape(0), c.input_shape(1));
  if (!s.ok()) return c.Error(s.status().message());
  c.set_output(0, *s);
  return absl::OkStatus();
}

absl::Status Scalars(InferenceContext& c) {
  for (int i = 0; i < c.num_outputs(); ++i) c.set_output(i, Shape{});
  return absl::OkStatus();
}

absl::Status Unknown(InferenceContext& c) { return absl::OkStatus(); }

absl::Status NoOutputs(InferenceContext& c) { return absl::OkStatus(); }

}  // namespace shape_fns
}  // namespace sluice
