// The epilogue of the fused convolution and matmul kernels (cpu/fused.cc,
// cpu/layout.cc): what follows the product, parsed from fused_ops and run as
// oneDNN post-ops.
#ifndef SLUICE_CPU_EPILOGUE_H_
#define SLUICE_CPU_EPILOGUE_H_

#include "absl/status/statusor.h"
#include "kernels/kernel.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace sluice::cpu {

enum class Activation { kNone, kRelu, kRelu6, kElu, kSigmoid, kTanh, kLeakyRelu };

// What follows the product: bias (always), the residual add, the activation.
struct Epilogue {
  bool add = false;
  Activation activation = Activation::kNone;
  float alpha = 0;  // LeakyRelu's slope
};

// The epilogue of init's fused_ops ("BiasAdd"[, "Add"][, activation]) and
// leakyrelu_alpha attributes.
absl::StatusOr<Epilogue> ParseEpilogue(const KernelInit& init);

// Primitive attributes (with UserScratchpad()) whose post-ops run `e` after
// the bias, which the primitive adds itself: a sum post-op for the residual,
// an eltwise post-op for the activation.
dnnl::primitive_attr EpilogueAttr(const Epilogue& e);

// Copies the residual (input `residual_input`) into output 0, where the sum
// post-op reads it. Nothing to do without "Add" or when they share a buffer.
void PrepareResidual(const Epilogue& e, const KernelContext& ctx, int residual_input);

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_EPILOGUE_H_
