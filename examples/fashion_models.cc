#include "examples/fashion_models.h"

#include "graph/layers.h"
#include "graph/ops/nn.h"

namespace sluice::examples {
namespace {

// 3x3 convolution (no bias: batch normalisation's beta replaces it), batch
// normalisation, ReLU, then 2x2 max pooling, which halves height and width.
Output ConvBlock(const Scope& root, Output x, int64_t filters, Output training) {
  layers::Conv2D conv(
      {.filters = filters, .kernel_size = {3, 3}, .padding = "SAME", .use_bias = false});
  layers::BatchNormalization norm;
  layers::MaxPool2D pool;
  return pool(root, Relu(root, norm(root, conv(root, x), training)));
}

}  // namespace

// Batch normalisation sits between the hidden layer's product and its ReLU
// (which makes the layer's bias redundant: beta plays its part), dropout
// after the ReLU.
Output FashionMlpLogits(const Scope& root, Output images, Output training) {
  layers::Dense hidden({.units = 256, .use_bias = false});
  // Momentum 0.9 rather than Keras' 0.99: the moving statistics then follow
  // the weights closely enough to evaluate well after the first epoch.
  layers::BatchNormalization norm({.momentum = 0.9});
  layers::Dropout dropout({.rate = 0.2});
  layers::Dense output({.units = 10});
  Output h = Relu(root, norm(root, hidden(root, images), training));
  return output(root, dropout(root, h, training));
}

Output FashionCnnLogits(const Scope& root, Output images, Output training) {
  Output x = ConvBlock(root, images, 32, training);
  x = ConvBlock(root, x, 64, training);
  layers::Flatten flatten;
  layers::Dense hidden({.units = 128, .activation = Relu});
  layers::Dropout dropout({.rate = 0.3});
  layers::Dense output({.units = 10});
  return output(root, dropout(root, hidden(root, flatten(root, x)), training));
}

}  // namespace sluice::examples
