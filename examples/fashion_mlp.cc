// A Fashion-MNIST classifier: a 784-256-10 multilayer perceptron with batch
// normalisation and dropout, trained with Adam by the Trainer, which feeds
// shuffled batches and evaluates on the test split after each epoch.
// The model itself is in fashion_models.cc.
//
//   build/bin/example_fashion_mlp                    # last line: test_accuracy=0.88..
//   build/bin/example_fashion_mlp --epochs 0 --save-graph mlp.pbtxt
//   build/bin/sluice train mlp.pbtxt --train-op train --loss loss --accuracy accuracy
//       --data /usr/share/datasets/fashion-mnist     (the same graph, trained by the CLI)
#include "examples/fashion_common.h"
#include "examples/fashion_models.h"
#include "runtime/openmp_env.h"

int main(int argc, char** argv) {
  sluice::ApplyOpenMpSpinLimit(argv);
  // 0.002 halved every epoch: the decay settles the weights, worth about 2%
  // of test accuracy by epoch 5.
  return sluice::examples::RunFashionExample(argc, argv,
                                             {.program = "example_fashion_mlp",
                                              .default_epochs = 5,
                                              .image_dims = sluice::Shape{784},
                                              .lr_decay = 0.5,
                                              .logits = sluice::examples::FashionMlpLogits});
}
