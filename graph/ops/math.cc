// The math family: element-wise arithmetic, matrix products, reductions,
// comparisons, logic, Select and Cast.
#include "graph/ops/math.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/op_def.h"
#include "graph/ops/op_families.h"
#include "graph/ops/state.h"
#include "graph/shape_inference.h"
#include "graph/status_macros.h"

namespace sluice {
namespace {

// "true"/"false" for messages (StrCat would print a bool as 1 or 0).
const char* BoolName(bool b) { return b ? "true" : "false"; }

absl::Status AddNShape(InferenceContext& c) {
  Shape merged = c.input_shape(0);
  for (int i = 1; i < c.num_inputs(); ++i) {
    auto m = merged.Merge(c.input_shape(i));
    if (m.ok()) {
      merged = *m;
      continue;
    }
    // Dims and ranks merge one by one, so some single earlier input conflicts
    // with input i; naming it shows the user two shapes they actually passed.
    int earlier = 0;
    while (c.input_shape(earlier).IsCompatibleWith(c.input_shape(i))) ++earlier;
    return c.Error("inputs must have the same shape: input ", earlier, " is ",
                   c.input_shape(earlier).ToString(), " but input ", i, " is ",
                   c.input_shape(i).ToString());
  }
  c.set_output(0, merged);
  return absl::OkStatus();
}

absl::Status MatMulShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRank(0, 2));
  RETURN_IF_ERROR(c.CheckRank(1, 2));
  const Shape& a = c.input_shape(0);
  const Shape& b = c.input_shape(1);
  const bool ta = c.GetBool("transpose_a");
  const bool tb = c.GetBool("transpose_b");
  const int64_t m = a.unknown_rank() ? kUnknownDim : a.dim(ta ? 1 : 0);
  const int64_t ka = a.unknown_rank() ? kUnknownDim : a.dim(ta ? 0 : 1);
  const int64_t kb = b.unknown_rank() ? kUnknownDim : b.dim(tb ? 1 : 0);
  const int64_t n = b.unknown_rank() ? kUnknownDim : b.dim(tb ? 0 : 1);
  if (ka >= 0 && kb >= 0 && ka != kb) {
    return c.Error(
        "inner dimensions differ: ", a.ToString(), " vs ", b.ToString(),
        ta || tb ? absl::StrCat(" (transpose_a=", BoolName(ta), ", transpose_b=", BoolName(tb), ")")
                 : "");
  }
  c.set_output(0, Shape{m, n});
  return absl::OkStatus();
}

absl::Status BatchMatMulShape(InferenceContext& c) {
  RETURN_IF_ERROR(c.CheckRankAtLeast(0, 2));
  RETURN_IF_ERROR(c.CheckRankAtLeast(1, 2));
  const Shape& x = c.input_shape(0);
  const Shape& y = c.input_shape(1);
  // Without both ranks the number of broadcast batch dims is unknown.
  if (x.unknown_rank() || y.unknown_rank()) return absl::OkStatus();
  const bool adj_x = c.GetBool("adj_x");
  const bool adj_y = c.GetBool("adj_y");
  const int rx = x.rank(), ry = y.rank();
  const int64_t m = x.dim(adj_x ? rx - 1 : rx - 2);
  const int64_t kx = x.dim(adj_x ? rx - 2 : rx - 1);
  const int64_t ky = y.dim(adj_y ? ry - 1 : ry - 2);
  const int64_t n = y.dim(adj_y ? ry - 2 : ry - 1);
  if (kx >= 0 && ky >= 0 && kx != ky) {
    return c.Error("inner dimensions differ: ", x.ToString(), " vs ", y.ToString(),
                   adj_x || adj_y
                       ? absl::StrCat(" (adj_x=", BoolName(adj_x), ", adj_y=", BoolName(adj_y), ")")
                       : "");
  }
  auto batch =
      BroadcastShapes(Shape(x.dims().subspan(0, rx - 2)), Shape(y.dims().subspan(0, ry - 2)));
  if (!batch.ok()) {
    return c.Error("batch dimensions cannot be broadcast: ", x.ToString(), " vs ", y.ToString());
  }
  Shape out = *batch;
  out.AddDim(m);
  out.AddDim(n);
  c.set_output(0, out);
  return absl::OkStatus();
}

// Reads the axes of a reduction (`what` = "reduction axis") or ArgMax
// ("dimension") from input `input`, normalised against input 0's rank.
// nullopt when the values, or the rank they refer to, are unknown; values
// repeated literally are rejected even then.
absl::StatusOr<std::optional<std::vector<int>>> ReadAxes(InferenceContext& c, int input,
                                                         absl::string_view what) {
  const Shape& in = c.input_shape(0);
  auto values = c.IntValuesOfInput(input);
  if (!values.has_value()) return std::optional<std::vector<int>>();
  const auto repeated = [&](int64_t v) {
    return c.Error(what, " ", v, " is repeated in [", absl::StrJoin(*values, ","), "]");
  };
  if (in.unknown_rank()) {
    for (size_t i = 0; i < values->size(); ++i) {
      if (std::find(values->begin(), values->begin() + i, (*values)[i]) != values->begin() + i) {
        return repeated((*values)[i]);
      }
    }
    return std::optional<std::vector<int>>();
  }
  std::vector<int> axes;
  for (int64_t v : *values) {
    auto axis = CanonicalAxis(v, in.rank());
    if (!axis.ok()) {
      return c.Error(what, " ", v, " is out of range for input of shape ", in.ToString());
    }
    if (std::find(axes.begin(), axes.end(), *axis) != axes.end()) return repeated(v);
    axes.push_back(*axis);
  }
  return std::optional<std::vector<int>>(axes);
}

absl::Status ReductionShape(InferenceContext& c) {
  const Shape& in = c.input_shape(0);
  const Shape& axes_shape = c.input_shape(1);
  const bool keep_dims = c.GetBool("keep_dims");
  if (axes_shape.rank() > 1) {
    return c.Error("reduction_indices must be a scalar or a vector, got ", axes_shape.ToString());
  }
  ASSIGN_OR_RETURN(auto axes, ReadAxes(c, 1, "reduction axis"));
  if (axes.has_value()) {
    Shape out;
    for (int d = 0; d < in.rank(); ++d) {
      const bool reduced = std::find(axes->begin(), axes->end(), d) != axes->end();
      if (!reduced) {
        out.AddDim(in.dim(d));
      } else if (keep_dims) {
        out.AddDim(1);
      }
    }
    c.set_output(0, out);
    return absl::OkStatus();
  }
  if (in.unknown_rank()) {
    c.set_output(0, Shape::UnknownRank());
    return absl::OkStatus();
  }
  // Which axes is unknown, but how many may be known; they must be distinct
  // valid axes, so that count fixes the output rank.
  const int64_t count = axes_shape.rank() == 0   ? 1
                        : axes_shape.rank() == 1 ? axes_shape.dim(0)
                                                 : kUnknownDim;
  if (count > in.rank()) {
    return c.Error("reduction_indices of shape ", axes_shape.ToString(),
                   " names more axes than the input of shape ", in.ToString(), " has");
  }
  if (count == 0) {
    c.set_output(0, in);
  } else if (keep_dims) {
    // A dim of 1 stays 1 whether reduced or not.
    Shape out = Shape::Unknown(in.rank());
    for (int d = 0; d < in.rank(); ++d) {
      if (count == in.rank() || in.dim(d) == 1) out.set_dim(d, 1);
    }
    c.set_output(0, out);
  } else if (count > 0) {
    c.set_output(0, Shape::Unknown(in.rank() - static_cast<int>(count)));
  } else {
    c.set_output(0, Shape::UnknownRank());
  }
  return absl::OkStatus();
}

absl::Status ArgMaxShape(InferenceContext& c) {
  const Shape& in = c.input_shape(0);
  RETURN_IF_ERROR(c.CheckRankAtLeast(0, 1));
  RETURN_IF_ERROR(c.CheckRank(1, 0));
  ASSIGN_OR_RETURN(auto axes, ReadAxes(c, 1, "dimension"));
  if (!axes.has_value()) {
    c.set_output(0, in.unknown_rank() ? Shape::UnknownRank() : Shape::Unknown(in.rank() - 1));
    return absl::OkStatus();
  }
  Shape out;
  for (int d = 0; d < in.rank(); ++d) {
    if (d != (*axes)[0]) out.AddDim(in.dim(d));
  }
  c.set_output(0, out);
  return absl::OkStatus();
}

absl::Status SelectShape(InferenceContext& c) {
  auto te = BroadcastShapes(c.input_shape(1), c.input_shape(2));
  if (!te.ok()) return c.Error("t and e: ", te.status().message());
  auto all = BroadcastShapes(c.input_shape(0), *te);
  if (!all.ok()) return c.Error("condition: ", all.status().message());
  c.set_output(0, *all);
  return absl::OkStatus();
}

void RegisterBinary(OpRegistry& r, const char* name, const char* types, bool differentiable,
                    const char* out_type = "T") {
  OpDefBuilder b(name);
  b.Input("x: T").Input("y: T").Output(absl::StrCat("z: ", out_type)).Attr(types);
  b.SetShapeFn(shape_fns::BroadcastBinary);
  if (differentiable) b.Differentiable();
  r.Register(b);
}

void RegisterUnary(OpRegistry& r, const char* name, const char* types) {
  r.Register(OpDefBuilder(name)
                 .Input("x: T")
                 .Output("y: T")
                 .Attr(types)
                 .SetShapeFn(shape_fns::Unchanged)
                 .Differentiable());
}

}  // namespace

void RegisterMathOps(OpRegistry& r) {
  for (const char* name : {"Add", "Sub", "Mul", "Div", "Pow", "Maximum", "Minimum"}) {
    RegisterBinary(r, name, "T: {numeric}", true);
  }
  r.Register(OpDefBuilder("AddN")
                 .Input("inputs: N * T")
                 .Output("sum: T")
                 .Attr("N: int >= 1")
                 .Attr("T: {numeric}")
                 .SetShapeFn(AddNShape)
                 .Differentiable());
  for (const char* name : {"Neg", "Square", "Abs", "Sign"}) RegisterUnary(r, name, "T: {numeric}");
  for (const char* name : {"Sqrt", "Rsqrt", "Exp", "Log"}) RegisterUnary(r, name, "T: {floating}");

  r.Register(OpDefBuilder("MatMul")
                 .Input("a: T")
                 .Input("b: T")
                 .Output("product: T")
                 .Attr("transpose_a: bool = false")
                 .Attr("transpose_b: bool = false")
                 .Attr("T: {floating, i32, i64}")
                 .SetShapeFn(MatMulShape)
                 .Differentiable());
  r.Register(OpDefBuilder("BatchMatMul")
                 .Input("x: T")
                 .Input("y: T")
                 .Output("output: T")
                 .Attr("adj_x: bool = false")
                 .Attr("adj_y: bool = false")
                 .Attr("T: {floating, i32, i64}")
                 .SetShapeFn(BatchMatMulShape)
                 .Differentiable());

  for (const char* name : {"Sum", "Mean", "Max", "Min", "Prod"}) {
    r.Register(OpDefBuilder(name)
                   .Input("input: T")
                   .Input("reduction_indices: Tidx")
                   .Output("output: T")
                   .Attr("keep_dims: bool = false")
                   .Attr("T: {numeric}")
                   .Attr("Tidx: {index} = i32")
                   .SetShapeFn(ReductionShape)
                   .Differentiable());
  }
  r.Register(OpDefBuilder("ArgMax")
                 .Input("input: T")
                 .Input("dimension: Tidx")
                 .Output("output: output_type")
                 .Attr("T: {numeric}")
                 .Attr("Tidx: {index} = i32")
                 .Attr("output_type: {index} = i64")
                 .SetShapeFn(ArgMaxShape));

  RegisterBinary(r, "Equal", "T: {any}", false, "bool");
  RegisterBinary(r, "NotEqual", "T: {any}", false, "bool");
  for (const char* name : {"Less", "LessEqual", "Greater", "GreaterEqual"}) {
    RegisterBinary(r, name, "T: {numeric}", false, "bool");
  }
  for (const char* name : {"LogicalAnd", "LogicalOr"}) {
    r.Register(OpDefBuilder(name).Input("x: bool").Input("y: bool").Output("z: bool").SetShapeFn(
        shape_fns::BroadcastBinary));
  }
  r.Register(OpDefBuilder("LogicalNot")
                 .Input("x: bool")
                 .Output("y: bool")
                 .SetShapeFn(shape_fns::Unchanged));
  r.Register(OpDefBuilder("Select")
                 .Input("condition: bool")
                 .Input("t: T")
                 .Input("e: T")
                 .Output("output: T")
                 .Attr("T: {any}")
                 .SetShapeFn(SelectShape)
                 .Differentiable());
  r.Register(OpDefBuilder("Cast")
                 .Input("x: SrcT")
                 .Output("y: DstT")
                 .Attr("SrcT: type")
                 .Attr("DstT: type")
                 .Attr("Truncate: bool = false")
                 .SetShapeFn(shape_fns::Unchanged)
                 .Differentiable());
}

#define SLUICE_BINARY_BUILDER(Name) \
  Output Name(const Scope& scope, Output x, Output y) { return AddOp(scope, #Name, {x, y}); }
SLUICE_BINARY_BUILDER(Add)
SLUICE_BINARY_BUILDER(Sub)
SLUICE_BINARY_BUILDER(Mul)
SLUICE_BINARY_BUILDER(Div)
SLUICE_BINARY_BUILDER(Pow)
SLUICE_BINARY_BUILDER(Maximum)
SLUICE_BINARY_BUILDER(Minimum)
SLUICE_BINARY_BUILDER(Equal)
SLUICE_BINARY_BUILDER(NotEqual)
SLUICE_BINARY_BUILDER(Less)
SLUICE_BINARY_BUILDER(LessEqual)
SLUICE_BINARY_BUILDER(Greater)
SLUICE_BINARY_BUILDER(GreaterEqual)
SLUICE_BINARY_BUILDER(LogicalAnd)
SLUICE_BINARY_BUILDER(LogicalOr)
#undef SLUICE_BINARY_BUILDER

#define SLUICE_UNARY_BUILDER(Name) \
  Output Name(const Scope& scope, Output x) { return AddOp(scope, #Name, {x}); }
SLUICE_UNARY_BUILDER(Neg)
SLUICE_UNARY_BUILDER(Square)
SLUICE_UNARY_BUILDER(Abs)
SLUICE_UNARY_BUILDER(Sign)
SLUICE_UNARY_BUILDER(Sqrt)
SLUICE_UNARY_BUILDER(Rsqrt)
SLUICE_UNARY_BUILDER(Exp)
SLUICE_UNARY_BUILDER(Log)
SLUICE_UNARY_BUILDER(LogicalNot)
#undef SLUICE_UNARY_BUILDER

Output AddN(const Scope& scope, const std::vector<Output>& inputs) {
  if (scope.ok() && inputs.empty()) {
    scope.UpdateStatus(absl::InvalidArgumentError("AddN needs at least one input"));
    return Output();
  }
  return AddOp(scope, "AddN", inputs);
}

Output MatMul(const Scope& scope, Output a, Output b, const MatMulOptions& options) {
  return AddOp(scope, "MatMul", {a, b},
               {{"transpose_a", options.transpose_a}, {"transpose_b", options.transpose_b}});
}

Output BatchMatMul(const Scope& scope, Output x, Output y, const BatchMatMulOptions& options) {
  return AddOp(scope, "BatchMatMul", {x, y}, {{"adj_x", options.adj_x}, {"adj_y", options.adj_y}});
}

#define SLUICE_REDUCE_BUILDER(Name)                                                           \
  Output Name(const Scope& scope, Output input, IntsArg axes, const ReduceOptions& options) { \
    if (!scope.ok() || !input.valid()) return Output();                                       \
    return AddOp(scope, #Name, {input, axes.ToOutput(scope, "axes")},                         \
                 {{"keep_dims", options.keep_dims}});                                         \
  }
SLUICE_REDUCE_BUILDER(Sum)
SLUICE_REDUCE_BUILDER(Mean)
SLUICE_REDUCE_BUILDER(Max)
SLUICE_REDUCE_BUILDER(Min)
SLUICE_REDUCE_BUILDER(Prod)
#undef SLUICE_REDUCE_BUILDER

Output ArgMax(const Scope& scope, Output input, Output dimension, DType output_type) {
  return AddOp(scope, "ArgMax", {input, dimension}, {{"output_type", output_type}});
}
Output ArgMax(const Scope& scope, Output input, int64_t dimension, DType output_type) {
  if (!scope.ok() || !input.valid()) return Output();
  return ArgMax(scope, input,
                Const(scope.NewSubScope("dimension"), static_cast<int32_t>(dimension)),
                output_type);
}

Output Select(const Scope& scope, Output condition, Output t, Output e) {
  return AddOp(scope, "Select", {condition, t, e});
}

Output Cast(const Scope& scope, Output x, DType to) {
  return AddOp(scope, "Cast", {x}, {{"DstT", to}});
}

namespace {
// A scalar of `like`'s dtype holding `value`, next to `like`. For an integer
// or bool `like`, a value that does not convert exactly (0.5, or 300 for u8)
// is an error rather than a silent truncation. `op` is the operator, for the
// message.
Output ScalarLike(Output like, float value, absl::string_view op) {
  Scope s = ScopeOf(like);
  if (!s.ok()) return Output();
  const DType dtype = like.dtype();
  Tensor t(dtype, Shape{});
  const bool exact = VisitDType(dtype, [&]<typename T>() {
    if constexpr (std::is_same_v<T, Half>) {
      t.data<T>()[0] = FloatToHalf(value);
      return true;
    } else if constexpr (std::is_same_v<T, BFloat16>) {
      t.data<T>()[0] = FloatToBFloat16(value);
      return true;
    } else if constexpr (std::is_floating_point_v<T>) {
      t.data<T>()[0] = static_cast<T>(value);
      return true;
    } else {
      // Compared in double, which holds every float and the limits of T
      // closely enough for a range check.
      const double v = value;
      if (v != std::trunc(v) || v < static_cast<double>(std::numeric_limits<T>::lowest()) ||
          v > static_cast<double>(std::numeric_limits<T>::max())) {
        return false;
      }
      t.data<T>()[0] = static_cast<T>(value);
      return true;
    }
  });
  if (!exact) {
    s.UpdateStatus(absl::InvalidArgumentError(
        absl::StrCat("operator", op, " with ", like.name(), " (", DTypeName(dtype), "): ", value,
                     " is not exactly representable as ", DTypeName(dtype))));
    return Output();
  }
  return Const(s, t);
}
}  // namespace

Output operator+(Output x, Output y) { return x.valid() ? Add(ScopeOf(x), x, y) : Output(); }
Output operator-(Output x, Output y) { return x.valid() ? Sub(ScopeOf(x), x, y) : Output(); }
Output operator*(Output x, Output y) { return x.valid() ? Mul(ScopeOf(x), x, y) : Output(); }
Output operator/(Output x, Output y) { return x.valid() ? Div(ScopeOf(x), x, y) : Output(); }
Output operator-(Output x) { return x.valid() ? Neg(ScopeOf(x), x) : Output(); }
Output operator+(Output x, float y) { return x.valid() ? x + ScalarLike(x, y, "+") : Output(); }
Output operator-(Output x, float y) { return x.valid() ? x - ScalarLike(x, y, "-") : Output(); }
Output operator*(Output x, float y) { return x.valid() ? x * ScalarLike(x, y, "*") : Output(); }
Output operator/(Output x, float y) { return x.valid() ? x / ScalarLike(x, y, "/") : Output(); }
Output operator+(float x, Output y) { return y.valid() ? ScalarLike(y, x, "+") + y : Output(); }
Output operator-(float x, Output y) { return y.valid() ? ScalarLike(y, x, "-") - y : Output(); }
Output operator*(float x, Output y) { return y.valid() ? ScalarLike(y, x, "*") * y : Output(); }
Output operator/(float x, Output y) { return y.valid() ? ScalarLike(y, x, "/") / y : Output(); }

}  // namespace sluice
