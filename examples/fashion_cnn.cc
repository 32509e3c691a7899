// A Fashion-MNIST convolutional network: two blocks of convolution, batch
// normalisation, ReLU and max pooling, then two dense layers with dropout
// between them, trained with Adam by the Trainer.
// The model itself is in fashion_models.cc.
//
//   build/bin/example_fashion_cnn                    # last line: test_accuracy=0.91..
//   build/bin/example_fashion_cnn --epochs 0 --save-graph cnn.pbtxt
//   build/bin/sluice train cnn.pbtxt --train-op train --loss loss --accuracy accuracy
//       --data /usr/share/datasets/fashion-mnist     (the same graph, trained by the CLI)
#include "examples/fashion_common.h"
#include "examples/fashion_models.h"
#include "runtime/openmp_env.h"

int main(int argc, char** argv) {
  sluice::ApplyOpenMpSpinLimit(argv);
  // 0.002 times 0.75 every epoch: by the last epochs the rate is small enough
  // for the test accuracy to settle.
  return sluice::examples::RunFashionExample(argc, argv,
                                             {.program = "example_fashion_cnn",
                                              .default_epochs = 10,
                                              .image_dims = sluice::Shape{28, 28, 1},
                                              .lr_decay = 0.75,
                                              .logits = sluice::examples::FashionCnnLogits});
}
