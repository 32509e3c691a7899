// The epilogue of the fused convolution and matmul ops (_FusedConv2D,
// _FusedMatMul): what follows the product, as their fused_ops and
// leakyrelu_alpha attributes describe it. Every device parses it here and
// runs it its own way.
#ifndef SLUICE_KERNELS_EPILOGUE_PARAMS_H_
#define SLUICE_KERNELS_EPILOGUE_PARAMS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/kernel.h"

namespace sluice {

enum class Activation { kNone, kRelu, kRelu6, kElu, kSigmoid, kTanh, kLeakyRelu };

// What follows the product: bias (always), the residual add, the activation.
struct Epilogue {
  bool add = false;
  Activation activation = Activation::kNone;
  float alpha = 0;  // LeakyRelu's slope
};

// The epilogue of `fused_ops` ("BiasAdd"[, "Add"][, activation]) with
// LeakyRelu's slope `leakyrelu_alpha`. Unimplemented for any other sequence.
absl::StatusOr<Epilogue> ParseEpilogue(const std::vector<std::string>& fused_ops,
                                       float leakyrelu_alpha);

// The epilogue of init's fused_ops and leakyrelu_alpha attributes.
absl::StatusOr<Epilogue> ParseEpilogue(const KernelInit& init);

}  // namespace sluice

#endif  // SLUICE_KERNELS_EPILOGUE_PARAMS_H_
