// Algebraic simplification: local rewrites that remove work without changing
// any value, dtype or static shape.
//
//   x*1, 1*x, x+0, 0+x, x-0, x/1 -> x   (the constant of any shape whose
//                                        broadcast leaves x's shape)
//   AddN(x), Cast(x) to x's dtype     -> x
//   Neg(Neg(x))                       -> x
//   Transpose(x, identity)            -> x
//   Transpose(Transpose(x, p), q)     -> Transpose(x, p∘q), or x
//   Reshape/Squeeze/ExpandDims of x to x's own shape -> x, also through
//   another of them (so cancelling Squeeze/ExpandDims pairs go);
//   Reshape(Reshape(x)) -> Reshape(x)
//   MatMul(Transpose(a), b)           -> MatMul(a, b, transpose_a = !transpose_a)
//                                        (and the same for b)
//   Identity, StopGradient            -> their input
//   NoOp                              -> gone, its dependents waiting for what
//                                        it waited for
//
// A node with control inputs, and a target, is never rewritten: its readers
// rely on the order it imposes, and a target must run. A node is not replaced
// by an output that may share a variable's storage when the node itself made
// a copy (see MayAliasVariable).
#ifndef SLUICE_PASSES_ALGEBRAIC_SIMPLIFIER_H_
#define SLUICE_PASSES_ALGEBRAIC_SIMPLIFIER_H_

#include "passes/pass.h"

namespace sluice {

class AlgebraicSimplifierPass final : public Pass {
 public:
  absl::string_view name() const override { return "simplify"; }

 protected:
  absl::StatusOr<bool> RunImpl(Graph& graph, PassContext& context) override;
};

}  // namespace sluice

#endif  // SLUICE_PASSES_ALGEBRAIC_SIMPLIFIER_H_
