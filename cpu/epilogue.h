// The epilogue of the fused convolution and matmul kernels (cpu/fused.cc,
// cpu/layout.cc): what follows the product, parsed from fused_ops
// (kernels/epilogue_params.h) and run as oneDNN post-ops.
#ifndef SLUICE_CPU_EPILOGUE_H_
#define SLUICE_CPU_EPILOGUE_H_

#include "absl/status/statusor.h"
#include "kernels/epilogue_params.h"
#include "kernels/kernel.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace sluice::cpu {

using ::sluice::Activation;
using ::sluice::Epilogue;
using ::sluice::ParseEpilogue;

// Primitive attributes (with UserScratchpad()) whose post-ops run `e` after
// the bias, which the primitive adds itself: a sum post-op for the residual,
// an eltwise post-op for the activation.
dnnl::primitive_attr EpilogueAttr(const Epilogue& e);

// Copies the residual (input `residual_input`) into output 0, where the sum
// post-op reads it. Nothing to do without "Add" or when they share a buffer.
void PrepareResidual(const Epilogue& e, const KernelContext& ctx, int residual_input);

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_EPILOGUE_H_
