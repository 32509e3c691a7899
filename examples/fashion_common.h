// What the two Fashion-MNIST examples share: the flags, the graph around the
// model (placeholders, loss, accuracy, Adam), and training with the Trainer.
// Each example only defines its model.
#ifndef SLUICE_EXAMPLES_FASHION_COMMON_H_
#define SLUICE_EXAMPLES_FASHION_COMMON_H_

#include "graph/scope.h"
#include "graph/shape.h"

namespace sluice::examples {

struct FashionModel {
  const char* program;     // for error messages, e.g. "example_fashion_mlp"
  int default_epochs;      // when --epochs is not given
  Shape image_dims;        // one image as the model reads it: [784] or [28, 28, 1]
  double lr_decay;         // Adam's rate (0.002) is multiplied by this every epoch
  // The logits [batch, 10] of `images` [batch, image_dims...]; `training` is
  // the bool flag for batch normalisation and dropout.
  Output (*logits)(const Scope& scope, Output images, Output training);
};

// The example's main: parses the flags (--epochs, --batch, --seed, --limit,
// --data, --save-graph), builds the graph — placeholders images and labels,
// the flag training, nodes loss, accuracy and train, the names `sluice train`
// expects — saves it when asked, trains and prints one line per epoch and
// finally `test_accuracy=0.xxxx`. Returns the exit code; errors are one line
// on stderr.
int RunFashionExample(int argc, char** argv, const FashionModel& model);

}  // namespace sluice::examples

#endif  // SLUICE_EXAMPLES_FASHION_COMMON_H_
