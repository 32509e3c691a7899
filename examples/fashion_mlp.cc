// A Fashion-MNIST classifier: a 784-256-10 multilayer perceptron with batch
// normalisation and dropout, trained with Adam by the Trainer, which feeds
// shuffled batches and evaluates on the test split after each epoch.
//
//   build/bin/example_fashion_mlp                    # last line: test_accuracy=0.88..
//   build/bin/example_fashion_mlp --epochs 0 --save-graph mlp.pbtxt
//   build/bin/sluice train mlp.pbtxt --train-op train --loss loss --accuracy accuracy
//       --data /usr/share/datasets/fashion-mnist     (the same graph, trained by the CLI)
#include "examples/fashion_common.h"
#include "graph/layers.h"
#include "graph/ops/nn.h"
#include "runtime/openmp_env.h"

namespace {

using namespace sluice;

// 784 pixels -> 256 -> 10 logits. Batch normalisation sits between the
// hidden layer's product and its ReLU (which makes the layer's bias
// redundant: beta plays its part), dropout after the ReLU.
Output Logits(const Scope& root, Output images, Output training) {
  layers::Dense hidden({.units = 256, .use_bias = false});
  // Momentum 0.9 rather than Keras' 0.99: the moving statistics then follow
  // the weights closely enough to evaluate well after the first epoch.
  layers::BatchNormalization norm({.momentum = 0.9});
  layers::Dropout dropout({.rate = 0.2});
  layers::Dense output({.units = 10});
  Output h = Relu(root, norm(root, hidden(root, images), training));
  return output(root, dropout(root, h, training));
}

}  // namespace

int main(int argc, char** argv) {
  sluice::ApplyOpenMpSpinLimit(argv);
  // 0.002 halved every epoch: the decay settles the weights, worth about 2%
  // of test accuracy by epoch 5.
  return sluice::examples::RunFashionExample(argc, argv,
                                             {.program = "example_fashion_mlp",
                                              .default_epochs = 5,
                                              .image_dims = sluice::Shape{784},
                                              .lr_decay = 0.5,
                                              .logits = Logits});
}
