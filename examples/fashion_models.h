// The Fashion-MNIST models of the examples, also what bench/ times as the
// "examples' MLP and CNN": logits [batch, 10] of `images`, with `training`
// the bool flag for batch normalisation and dropout.
#ifndef SLUICE_EXAMPLES_FASHION_MODELS_H_
#define SLUICE_EXAMPLES_FASHION_MODELS_H_

#include "graph/scope.h"

namespace sluice::examples {

// [batch, 784] -> 256 (batch norm, ReLU, dropout 0.2) -> 10.
Output FashionMlpLogits(const Scope& root, Output images, Output training);

// [batch, 28, 28, 1] -> two blocks of 3x3 convolution, batch norm, ReLU and
// 2x2 max pooling (14x14x32, 7x7x64) -> dense 128 ReLU, dropout 0.3 -> 10.
Output FashionCnnLogits(const Scope& root, Output images, Output training);

}  // namespace sluice::examples

#endif  // SLUICE_EXAMPLES_FASHION_MODELS_H_
