// Builders for arithmetic, matrix products, reductions, comparisons and logic.
#ifndef SLUICE_GRAPH_OPS_MATH_H_
#define SLUICE_GRAPH_OPS_MATH_H_

#include <vector>

#include "graph/ops/state.h"
#include "graph/scope.h"

namespace sluice {

// Element-wise with NumPy broadcasting.
Output Add(const Scope& scope, Output x, Output y);
Output Sub(const Scope& scope, Output x, Output y);
Output Mul(const Scope& scope, Output x, Output y);
Output Div(const Scope& scope, Output x, Output y);
Output Pow(const Scope& scope, Output x, Output y);
Output Maximum(const Scope& scope, Output x, Output y);
Output Minimum(const Scope& scope, Output x, Output y);
// The sum of same-shaped tensors.
Output AddN(const Scope& scope, const std::vector<Output>& inputs);

Output Neg(const Scope& scope, Output x);
Output Square(const Scope& scope, Output x);
Output Abs(const Scope& scope, Output x);
// -1, 0 or 1 by the sign of each element.
Output Sign(const Scope& scope, Output x);
Output Sqrt(const Scope& scope, Output x);
Output Rsqrt(const Scope& scope, Output x);
Output Exp(const Scope& scope, Output x);
Output Log(const Scope& scope, Output x);

struct MatMulOptions {
  bool transpose_a = false;
  bool transpose_b = false;
};
// a [M,K] times b [K,N] (after the optional transposes).
Output MatMul(const Scope& scope, Output a, Output b, const MatMulOptions& options = {});
struct BatchMatMulOptions {
  bool adj_x = false;
  bool adj_y = false;
};
// Batched products over the leading dims, which broadcast.
Output BatchMatMul(const Scope& scope, Output x, Output y, const BatchMatMulOptions& options = {});

struct ReduceOptions {
  bool keep_dims = false;
};
// Reductions over `axes` (an integer scalar or vector; negative axes count
// from the end).
Output Sum(const Scope& scope, Output input, IntsArg axes, const ReduceOptions& options = {});
Output Mean(const Scope& scope, Output input, IntsArg axes, const ReduceOptions& options = {});
Output Max(const Scope& scope, Output input, IntsArg axes, const ReduceOptions& options = {});
Output Min(const Scope& scope, Output input, IntsArg axes, const ReduceOptions& options = {});
Output Prod(const Scope& scope, Output input, IntsArg axes, const ReduceOptions& options = {});
// Index of the largest value along `dimension` (an integer scalar).
Output ArgMax(const Scope& scope, Output input, Output dimension, DType output_type = DType::kI64);
Output ArgMax(const Scope& scope, Output input, int64_t dimension, DType output_type = DType::kI64);

Output Equal(const Scope& scope, Output x, Output y);
Output NotEqual(const Scope& scope, Output x, Output y);
Output Less(const Scope& scope, Output x, Output y);
Output LessEqual(const Scope& scope, Output x, Output y);
Output Greater(const Scope& scope, Output x, Output y);
Output GreaterEqual(const Scope& scope, Output x, Output y);
Output LogicalAnd(const Scope& scope, Output x, Output y);
Output LogicalOr(const Scope& scope, Output x, Output y);
Output LogicalNot(const Scope& scope, Output x);
// condition ? t : e, element-wise, all three broadcast.
Output Select(const Scope& scope, Output condition, Output t, Output e);
Output Cast(const Scope& scope, Output x, DType to);

// Arithmetic operators build next to their left operand (ScopeOf). A float
// operand becomes a scalar Const of the other operand's dtype.
Output operator+(Output x, Output y);
Output operator-(Output x, Output y);
Output operator*(Output x, Output y);
Output operator/(Output x, Output y);
Output operator-(Output x);
Output operator+(Output x, float y);
Output operator-(Output x, float y);
Output operator*(Output x, float y);
Output operator/(Output x, float y);
Output operator+(float x, Output y);
Output operator-(float x, Output y);
Output operator*(float x, Output y);
Output operator/(float x, Output y);

}  // namespace sluice

#endif  // SLUICE_GRAPH_OPS_MATH_H_
