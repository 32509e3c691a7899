// The fusion rules of the standard fusion pass (see passes/fusion.h). All of
// them fire on f32 only.
#ifndef SLUICE_PASSES_FUSION_RULES_H_
#define SLUICE_PASSES_FUSION_RULES_H_

#include <memory>
#include <vector>

#include "passes/fusion.h"

namespace sluice {

// Conv2D [-> BiasAdd] -> FusedBatchNorm (is_training=false, only output y
// used) becomes Conv2D(x, w * s) -> BiasAdd((bias - mean) * s + offset) with
// s = scale / sqrt(variance + epsilon). The folded filter and bias are
// computed by nodes from the current values, so they stay right when
// variables change; when every input is a constant they are computed here
// and become constants.
std::unique_ptr<FusionRule> MakeBatchNormFoldingRule();

// MatMul [-> BiasAdd] (or _FusedMatMul with only a BiasAdd) -> Reshape to
// [rows, 1, 1, C] -> FusedBatchNorm (is_training=false, NHWC, only output y
// used) -> Reshape back to [rows, C], which is how BatchNormalization
// normalises a dense layer's output, becomes MatMul(x, w * s) ->
// BiasAdd((bias - mean) * s + offset), s per output column, computed like
// the convolution's. transpose_b must be false. Weights that are not
// constants are rescaled on every run, so the rule fires on them only when
// they have at most 8 rows (K) per row of the batch.
std::unique_ptr<FusionRule> MakeDenseBatchNormFoldingRule();

// MatMul -> BiasAdd [-> Add(residual of the same shape)] [-> activation]
// becomes _FusedMatMul; likewise Conv2D into _FusedConv2D. Activations:
// FusedActivations() of graph/ops/fused.h.
std::unique_ptr<FusionRule> MakeMatMulEpilogueRule();
std::unique_ptr<FusionRule> MakeConv2DEpilogueRule();

// A maximal chain of at least two element-wise ops of one shape, each
// feeding only the next, whose other operands are single elements or of the
// chain's shape, becomes one _FusedElementwise.
std::unique_ptr<FusionRule> MakeElementwiseChainRule();

// The phases the standard fusion pass runs: batch norm folding (into
// convolutions and into dense layers); the epilogues; element-wise chains.
std::vector<std::vector<std::unique_ptr<FusionRule>>> StandardFusionRules();

}  // namespace sluice

#endif  // SLUICE_PASSES_FUSION_RULES_H_
