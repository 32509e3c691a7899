// Op definitions: signature, attributes with defaults, shape function, flags.
//
// Ops are declared with TensorFlow-style spec strings, e.g.
//
//   OpDefBuilder("MatMul")
//       .Input("a: T").Input("b: T").Output("product: T")
//       .Attr("transpose_a: bool = false").Attr("transpose_b: bool = false")
//       .Attr("T: {floating, i32, i64}")
//       .SetShapeFn(MatMulShape).Differentiable();
//
// Input/output specs: "name: T" (the type attr T), "name: f32" (a fixed
// dtype) or "name: N * T" (a list of N tensors of type T; N is an int attr).
// Attr specs: "name: TYPE [= DEFAULT]" where TYPE is int, float, bool,
// string, type, shape, tensor, list(int|float|bool|string|type|shape),
// a set of allowed dtypes "{f32, f64}" (group names floating, integer, numeric,
// index and any expand), or a set of allowed strings "{'SAME', 'VALID'}";
// "int >= 1" sets a minimum. Defaults are literals: 3, 0.5, true, 'SAME',
// f32, [?,3] for shapes, [1, 1] for lists.
#ifndef SLUICE_GRAPH_OP_DEF_H_
#define SLUICE_GRAPH_OP_DEF_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "graph/attr_value.h"

namespace sluice {

class InferenceContext;
using ShapeFn = std::function<absl::Status(InferenceContext&)>;

struct ArgDef {
  std::string name;
  DType fixed_type = DType::kInvalid;  // set when the spec names a dtype
  std::string type_attr;               // set when the spec names a type attr
  std::string number_attr;             // set for "N * T" lists
};

struct AttrDef {
  std::string name;
  AttrType type = AttrType::kInt;
  std::optional<AttrValue> default_value;
  std::vector<DType> allowed_types;          // kType / kTypeList; empty means any
  std::vector<std::string> allowed_strings;  // kString; empty means any
  std::optional<int64_t> minimum;            // kInt
};

class OpDef {
 public:
  const std::string& name() const { return name_; }
  const std::vector<ArgDef>& inputs() const { return inputs_; }
  const std::vector<ArgDef>& outputs() const { return outputs_; }
  const std::vector<AttrDef>& attrs() const { return attrs_; }
  const AttrDef* FindAttr(absl::string_view name) const;
  const ShapeFn& shape_fn() const { return shape_fn_; }
  // Stateful ops (variables, assignments, random ops) are never merged,
  // folded or pruned as pure computations.
  bool is_stateful() const { return stateful_; }
  // Whether autodiff may need a gradient for this op.
  bool is_differentiable() const { return differentiable_; }
  const std::string& summary() const { return summary_; }

 private:
  friend class OpDefBuilder;
  std::string name_;
  std::vector<ArgDef> inputs_;
  std::vector<ArgDef> outputs_;
  std::vector<AttrDef> attrs_;
  ShapeFn shape_fn_;
  bool stateful_ = false;
  bool differentiable_ = false;
  std::string summary_;
};

class OpDefBuilder {
 public:
  explicit OpDefBuilder(std::string name);
  OpDefBuilder& Input(absl::string_view spec);
  OpDefBuilder& Output(absl::string_view spec);
  OpDefBuilder& Attr(absl::string_view spec);
  OpDefBuilder& SetShapeFn(ShapeFn fn);
  OpDefBuilder& Stateful();
  OpDefBuilder& Differentiable();
  OpDefBuilder& Doc(absl::string_view summary);

  // Parses the specs and checks that every type and number attr they name is
  // declared with the right kind.
  absl::StatusOr<OpDef> Build() const;

 private:
  std::string name_;
  std::vector<std::string> input_specs_;
  std::vector<std::string> output_specs_;
  std::vector<std::string> attr_specs_;
  ShapeFn shape_fn_;
  bool stateful_ = false;
  bool differentiable_ = false;
  std::string summary_;
};

// Every op Sluice knows. The global registry is filled once, on first use, by
// the op families listed in graph/ops/op_list.cc.
class OpRegistry {
 public:
  static const OpRegistry& Global();

  // Registers an op; aborts on a malformed spec or a duplicate name, which are
  // programming errors in Sluice itself.
  void Register(const OpDefBuilder& builder);
  // Null when no op has that name.
  const OpDef* Find(absl::string_view name) const;
  // Every op, sorted by name.
  std::vector<const OpDef*> ListOps() const;

 private:
  absl::flat_hash_map<std::string, std::unique_ptr<OpDef>> ops_;
};

// The allowed-type groups used in specs.
std::vector<DType> DTypeGroup(absl::string_view group);

}  // namespace sluice

#endif  // SLUICE_GRAPH_OP_DEF_H_
