// A Fashion-MNIST convolutional network: two blocks of convolution, batch
// normalisation, ReLU and max pooling, then two dense layers with dropout
// between them, trained with Adam by the Trainer.
//
//   build/bin/example_fashion_cnn                    # last line: test_accuracy=0.91..
//   build/bin/example_fashion_cnn --epochs 0 --save-graph cnn.pbtxt
//   build/bin/sluice train cnn.pbtxt --train-op train --loss loss --accuracy accuracy
//       --data /usr/share/datasets/fashion-mnist     (the same graph, trained by the CLI)
#include "examples/fashion_common.h"
#include "graph/layers.h"
#include "graph/ops/nn.h"
#include "runtime/openmp_env.h"

namespace {

using namespace sluice;

// 3x3 convolution (no bias: batch normalisation's beta replaces it), batch
// normalisation, ReLU, then 2x2 max pooling, which halves height and width.
Output ConvBlock(const Scope& root, Output x, int64_t filters, Output training) {
  layers::Conv2D conv(
      {.filters = filters, .kernel_size = {3, 3}, .padding = "SAME", .use_bias = false});
  layers::BatchNormalization norm;
  layers::MaxPool2D pool;
  return pool(root, Relu(root, norm(root, conv(root, x), training)));
}

// [batch, 28, 28, 1] -> 14x14x32 -> 7x7x64 -> 128 -> 10 logits.
Output Logits(const Scope& root, Output images, Output training) {
  Output x = ConvBlock(root, images, 32, training);
  x = ConvBlock(root, x, 64, training);
  layers::Flatten flatten;
  layers::Dense hidden({.units = 128, .activation = Relu});
  layers::Dropout dropout({.rate = 0.3});
  layers::Dense output({.units = 10});
  return output(root, dropout(root, hidden(root, flatten(root, x)), training));
}

}  // namespace

int main(int argc, char** argv) {
  sluice::ApplyOpenMpSpinLimit(argv);
  // 0.002 times 0.75 every epoch: by the last epochs the rate is small enough
  // for the test accuracy to settle.
  return sluice::examples::RunFashionExample(argc, argv,
                                             {.program = "example_fashion_cnn",
                                              .default_epochs = 10,
                                              .image_dims = sluice::Shape{28, 28, 1},
                                              .lr_decay = 0.75,
                                              .logits = Logits});
}
