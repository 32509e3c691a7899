// Gradients of the math family. Each function opens with the derivative it
// builds; g is the gradient of the op's output z.
#include "absl/strings/str_cat.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/status_macros.h"
#include "passes/autodiff/grad_util.h"
#include "passes/autodiff/gradient_registry.h"

namespace sluice {
namespace {

// z = x + y: dx = g, dy = g (each summed back over its broadcast axes).
absl::Status AddGrad(GradContext& c) {
  c.grad_inputs[0] = SumToShapeOf(c.scope, c.grad_outputs[0], c.input(0));
  c.grad_inputs[1] = SumToShapeOf(c.scope, c.grad_outputs[0], c.input(1));
  return absl::OkStatus();
}

// z = x - y: dx = g, dy = -g.
absl::Status SubGrad(GradContext& c) {
  c.grad_inputs[0] = SumToShapeOf(c.scope, c.grad_outputs[0], c.input(0));
  c.grad_inputs[1] = SumToShapeOf(c.scope, Neg(c.scope, c.grad_outputs[0]), c.input(1));
  return absl::OkStatus();
}

// z = x * y: dx = g * y, dy = g * x.
absl::Status MulGrad(GradContext& c) {
  const Output g = c.grad_outputs[0];
  c.grad_inputs[0] = SumToShapeOf(c.scope, Mul(c.scope, g, c.input(1)), c.input(0));
  c.grad_inputs[1] = SumToShapeOf(c.scope, Mul(c.scope, c.input(0), g), c.input(1));
  return absl::OkStatus();
}

// z = x / y: dx = g / y, dy = -g * x / y^2.
absl::Status DivGrad(GradContext& c) {
  const Output g = c.grad_outputs[0];
  const Output x = c.input(0), y = c.input(1);
  c.grad_inputs[0] = SumToShapeOf(c.scope, Div(c.scope, g, y), x);
  const Output x_over_y2 = Div(c.scope, Div(c.scope, x, y), y);
  c.grad_inputs[1] = SumToShapeOf(c.scope, Neg(c.scope, Mul(c.scope, g, x_over_y2)), y);
  return absl::OkStatus();
}

// z = x ^ y: dx = g * y * x^(y-1), dy = g * z * log(x) (0 where x <= 0,
// where the real logarithm does not exist).
absl::Status PowGrad(GradContext& c) {
  const Output g = c.grad_outputs[0];
  const Output x = c.input(0), y = c.input(1), z = c.output(0);
  const DType t = x.dtype();
  const Output y_minus_1 = Sub(c.scope, y, ScalarConst(c.scope, t, 1));
  c.grad_inputs[0] =
      SumToShapeOf(c.scope, Mul(c.scope, g, Mul(c.scope, y, Pow(c.scope, x, y_minus_1))), x);
  const Output positive = Greater(c.scope, x, ScalarConst(c.scope, t, 0));
  // Log of a safe value, so that no NaN appears even where it is masked out.
  const Output safe_x = Select(c.scope, positive, x, OnesLike(c.scope, x));
  const Output log_x = Select(c.scope, positive, Log(c.scope, safe_x), ZerosLike(c.scope, x));
  c.grad_inputs[1] = SumToShapeOf(c.scope, Mul(c.scope, g, Mul(c.scope, z, log_x)), y);
  return absl::OkStatus();
}

// z = max(x, y): dx = g where x >= y, dy = g elsewhere (ties go to x).
// z = min(x, y): dx = g where x <= y, dy = g elsewhere.
absl::Status MaximumMinimumGrad(GradContext& c, bool maximum) {
  const Output g = c.grad_outputs[0];
  const Output x = c.input(0), y = c.input(1);
  const Output x_wins = maximum ? GreaterEqual(c.scope, x, y) : LessEqual(c.scope, x, y);
  const Output zeros = ZerosLike(c.scope, g);
  c.grad_inputs[0] = SumToShapeOf(c.scope, Select(c.scope, x_wins, g, zeros), x);
  c.grad_inputs[1] = SumToShapeOf(c.scope, Select(c.scope, x_wins, zeros, g), y);
  return absl::OkStatus();
}

// z = sum_i x_i: dx_i = g.
absl::Status AddNGrad(GradContext& c) {
  for (int i = 0; i < c.node.num_inputs(); ++i) c.grad_inputs[i] = c.grad_outputs[0];
  return absl::OkStatus();
}

// z = -x: dx = -g.
absl::Status NegGrad(GradContext& c) {
  c.grad_inputs[0] = Neg(c.scope, c.grad_outputs[0]);
  return absl::OkStatus();
}

// z = x^2: dx = 2 g x.
absl::Status SquareGrad(GradContext& c) {
  const Output two_x = Mul(c.scope, ScalarConst(c.scope, c.input(0).dtype(), 2), c.input(0));
  c.grad_inputs[0] = Mul(c.scope, c.grad_outputs[0], two_x);
  return absl::OkStatus();
}

// z = |x|: dx = g sign(x).
absl::Status AbsGrad(GradContext& c) {
  c.grad_inputs[0] = Mul(c.scope, c.grad_outputs[0], Sign(c.scope, c.input(0)));
  return absl::OkStatus();
}

// z = sign(x): dx = 0 (almost everywhere).
absl::Status SignGrad(GradContext& c) {
  c.grad_inputs[0] = ZerosLike(c.scope, c.input(0));
  return absl::OkStatus();
}

// z = sqrt(x): dx = g / (2 z).
absl::Status SqrtGrad(GradContext& c) {
  const Output z = c.output(0);
  c.grad_inputs[0] =
      Div(c.scope, c.grad_outputs[0], Mul(c.scope, ScalarConst(c.scope, z.dtype(), 2), z));
  return absl::OkStatus();
}

// z = x^(-1/2): dx = -g z^3 / 2.
absl::Status RsqrtGrad(GradContext& c) {
  const Output z = c.output(0);
  const Output z3 = Mul(c.scope, Square(c.scope, z), z);
  c.grad_inputs[0] =
      Mul(c.scope, c.grad_outputs[0], Mul(c.scope, ScalarConst(c.scope, z.dtype(), -0.5), z3));
  return absl::OkStatus();
}

// z = e^x: dx = g z.
absl::Status ExpGrad(GradContext& c) {
  c.grad_inputs[0] = Mul(c.scope, c.grad_outputs[0], c.output(0));
  return absl::OkStatus();
}

// z = log(x): dx = g / x.
absl::Status LogGrad(GradContext& c) {
  c.grad_inputs[0] = Div(c.scope, c.grad_outputs[0], c.input(0));
  return absl::OkStatus();
}

// z = a · b with optional transposes:
//   z = a b:     da = g b^T,   db = a^T g
//   z = a b^T:   da = g b,     db = g^T a
//   z = a^T b:   da = b g^T,   db = a g
//   z = a^T b^T: da = b^T g^T, db = g^T a^T
absl::Status MatMulGrad(GradContext& c) {
  const Output g = c.grad_outputs[0];
  const Output a = c.input(0), b = c.input(1);
  const bool ta = c.attr("transpose_a").b(), tb = c.attr("transpose_b").b();
  if (!ta && !tb) {
    c.grad_inputs[0] = MatMul(c.scope, g, b, {.transpose_b = true});
    c.grad_inputs[1] = MatMul(c.scope, a, g, {.transpose_a = true});
  } else if (!ta && tb) {
    c.grad_inputs[0] = MatMul(c.scope, g, b);
    c.grad_inputs[1] = MatMul(c.scope, g, a, {.transpose_a = true});
  } else if (ta && !tb) {
    c.grad_inputs[0] = MatMul(c.scope, b, g, {.transpose_b = true});
    c.grad_inputs[1] = MatMul(c.scope, a, g);
  } else {
    c.grad_inputs[0] = MatMul(c.scope, b, g, {.transpose_a = true, .transpose_b = true});
    c.grad_inputs[1] = MatMul(c.scope, g, a, {.transpose_a = true, .transpose_b = true});
  }
  return absl::OkStatus();
}

// The same per batch, with adjoints for transposes; the batch dims of x or y
// that were broadcast are summed back.
absl::Status BatchMatMulGrad(GradContext& c) {
  const Output g = c.grad_outputs[0];
  const Output x = c.input(0), y = c.input(1);
  const bool ax = c.attr("adj_x").b(), ay = c.attr("adj_y").b();
  Output dx, dy;
  if (!ax && !ay) {
    dx = BatchMatMul(c.scope, g, y, {.adj_y = true});
    dy = BatchMatMul(c.scope, x, g, {.adj_x = true});
  } else if (!ax && ay) {
    dx = BatchMatMul(c.scope, g, y);
    dy = BatchMatMul(c.scope, g, x, {.adj_x = true});
  } else if (ax && !ay) {
    dx = BatchMatMul(c.scope, y, g, {.adj_y = true});
    dy = BatchMatMul(c.scope, x, g);
  } else {
    dx = BatchMatMul(c.scope, y, g, {.adj_x = true, .adj_y = true});
    dy = BatchMatMul(c.scope, g, x, {.adj_x = true, .adj_y = true});
  }
  c.grad_inputs[0] = SumToShapeOf(c.scope, dx, x);
  c.grad_inputs[1] = SumToShapeOf(c.scope, dy, y);
  return absl::OkStatus();
}

// z = sum over axes of x: dx = g broadcast back over the axes.
absl::Status SumGrad(GradContext& c) {
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, ReductionAxes(c.node));
  ASSIGN_OR_RETURN(c.grad_inputs[0],
                   BroadcastReducedGradient(c.scope, c.grad_outputs[0], c.input(0), axes));
  return absl::OkStatus();
}

// The number of elements each output element of a reduction averages.
Output ReducedCount(const Scope& scope, Output x, Output z, const std::vector<int64_t>& axes) {
  const Shape& xs = x.shape();
  int64_t count = 1;
  bool known = true;
  for (int64_t a : axes) {
    if (xs.dim(static_cast<int>(a)) < 0) known = false;
    count *= std::max<int64_t>(xs.dim(static_cast<int>(a)), 0);
  }
  if (known) return ScalarConst(scope, x.dtype(), static_cast<double>(count));
  const Output ratio = Div(scope, Size(scope, x, {.out_type = DType::kI64}),
                           Maximum(scope, Size(scope, z, {.out_type = DType::kI64}),
                                   Const(scope, int64_t{1})));
  return Cast(scope, ratio, x.dtype());
}

// z = mean over axes of x: dx = g broadcast back, divided by the count.
absl::Status MeanGrad(GradContext& c) {
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, ReductionAxes(c.node));
  ASSIGN_OR_RETURN(Output spread,
                   BroadcastReducedGradient(c.scope, c.grad_outputs[0], c.input(0), axes));
  c.grad_inputs[0] = Div(c.scope, spread, ReducedCount(c.scope, c.input(0), c.output(0), axes));
  return absl::OkStatus();
}

// z = max (min) over axes of x: the gradient is shared equally by the
// elements equal to the extreme: dx = g [x == z] / #{x == z}.
absl::Status MaxMinGrad(GradContext& c) {
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, ReductionAxes(c.node));
  const Output x = c.input(0);
  ASSIGN_OR_RETURN(Output z_kept, ReshapeToKeptDims(c.scope, c.output(0), x, axes));
  const Output hits = Cast(c.scope, Equal(c.scope, x, z_kept), x.dtype());
  ASSIGN_OR_RETURN(Output count,
                   ReshapeToKeptDims(c.scope, Sum(c.scope, hits, axes), x, axes));
  ASSIGN_OR_RETURN(Output spread, BroadcastReducedGradient(c.scope, c.grad_outputs[0], x, axes));
  c.grad_inputs[0] = Mul(c.scope, Div(c.scope, hits, count), spread);
  return absl::OkStatus();
}

// z = prod over axes of x: dx_i = g * prod_{j != i} x_j, computed exactly
// with zeros: with no zero in the group it is z / x_i; with one zero, the
// zero element gets the product of the others and every other element 0;
// with more zeros, every element gets 0.
absl::Status ProdGrad(GradContext& c) {
  ASSIGN_OR_RETURN(std::vector<int64_t> axes, ReductionAxes(c.node));
  const Scope& s = c.scope;
  const Output x = c.input(0);
  const DType t = x.dtype();
  const Output zero = ScalarConst(s, t, 0), one = ScalarConst(s, t, 1);
  const Output is_zero = Equal(s, x, zero);
  const Output x_no_zeros = Select(s, is_zero, OnesLike(s, x), x);
  ASSIGN_OR_RETURN(Output prod_nonzero,
                   BroadcastReducedGradient(s, Prod(s, x_no_zeros, axes), x, axes));
  ASSIGN_OR_RETURN(Output zeros_count,
                   BroadcastReducedGradient(s, Sum(s, Cast(s, is_zero, t), axes), x, axes));
  const Output no_zero = Equal(s, zeros_count, zero);
  const Output one_zero = Equal(s, zeros_count, one);
  const Output others_if_no_zero = Div(s, prod_nonzero, x_no_zeros);
  const Output zeros = ZerosLike(s, x);
  const Output others = Select(s, no_zero, others_if_no_zero,
                               Select(s, LogicalAnd(s, one_zero, is_zero), prod_nonzero, zeros));
  ASSIGN_OR_RETURN(Output spread, BroadcastReducedGradient(s, c.grad_outputs[0], x, axes));
  c.grad_inputs[0] = Mul(s, spread, others);
  return absl::OkStatus();
}

// z = c ? t : e: dt = g where c, de = g elsewhere; c has none.
absl::Status SelectGrad(GradContext& c) {
  const Output g = c.grad_outputs[0];
  const Output zeros = ZerosLike(c.scope, g);
  c.grad_inputs[1] = SumToShapeOf(c.scope, Select(c.scope, c.input(0), g, zeros), c.input(1));
  c.grad_inputs[2] = SumToShapeOf(c.scope, Select(c.scope, c.input(0), zeros, g), c.input(2));
  return absl::OkStatus();
}

// z = cast(x): dx = cast(g) back to x's type, between floating types only.
absl::Status CastGrad(GradContext& c) {
  const DType src = c.input(0).dtype();
  const DType dst = c.output(0).dtype();
  if (IsFloating(src) && IsFloating(dst)) c.grad_inputs[0] = Cast(c.scope, c.grad_outputs[0], src);
  return absl::OkStatus();
}

}  // namespace

void RegisterMathGradients(GradientRegistry& r) {
  r.Register("Add", AddGrad);
  r.Register("Sub", SubGrad);
  r.Register("Mul", MulGrad);
  r.Register("Div", DivGrad);
  r.Register("Pow", PowGrad);
  r.Register("Maximum", [](GradContext& c) { return MaximumMinimumGrad(c, true); });
  r.Register("Minimum", [](GradContext& c) { return MaximumMinimumGrad(c, false); });
  r.Register("AddN", AddNGrad);
  r.Register("Neg", NegGrad);
  r.Register("Square", SquareGrad);
  r.Register("Abs", AbsGrad);
  r.Register("Sign", SignGrad);
  r.Register("Sqrt", SqrtGrad);
  r.Register("Rsqrt", RsqrtGrad);
  r.Register("Exp", ExpGrad);
  r.Register("Log", LogGrad);
  r.Register("MatMul", MatMulGrad);
  r.Register("BatchMatMul", BatchMatMulGrad);
  r.Register("Sum", SumGrad);
  r.Register("Mean", MeanGrad);
  r.Register("Max", MaxMinGrad);
  r.Register("Min", MaxMinGrad);
  r.Register("Prod", ProdGrad);
  r.Register("Select", SelectGrad);
  r.Register("Cast", CastGrad);
  for (const char* op : {"ArgMax", "Equal", "NotEqual", "Less", "LessEqual", "Greater",
                         "GreaterEqual", "LogicalAnd", "LogicalOr", "LogicalNot"}) {
    r.RegisterNoGradient(op);
  }
}

}  // namespace sluice
