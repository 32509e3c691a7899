#include "bench/bench_models.h"

#include "graph/layers.h"
#include "graph/losses.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "graph/optimizers.h"
#include "graph/status_macros.h"

namespace sluice::bench {
namespace {

using LogitsFn = Output (*)(const Scope&, Output images, Output training);

absl::StatusOr<BenchModel> Build(const Shape& image_dims, LogitsFn logits_fn) {
  Scope root = Scope::NewRootScope();
  Output training = layers::TrainingFlag(root);
  std::vector<int64_t> dims = {kUnknownDim};
  dims.insert(dims.end(), image_dims.dims().begin(), image_dims.dims().end());
  Output images =
      Placeholder(root.WithOpName("images"), DType::kF32, Shape(absl::MakeConstSpan(dims)));
  Output labels = Placeholder(root.WithOpName("labels"), DType::kI64, Shape{kUnknownDim});
  Output logits = Identity(root.WithOpName("logits"), logits_fn(root, images, training));
  Output loss = Identity(root.WithOpName("loss"),
                         losses::SparseSoftmaxCrossEntropy(root, labels, logits));
  AdamOptimizer adam({.learning_rate = 0.001});
  RETURN_IF_ERROR(adam.Minimize(root, loss).status());
  InitAllVariables(root);
  RETURN_IF_ERROR(root.status());
  return BenchModel{root.graph_as_shared_ptr(), image_dims};
}

Output MlpLogits(const Scope& root, Output images, Output training) {
  layers::Dense hidden({.units = 256, .use_bias = false});
  layers::BatchNormalization norm;
  layers::Dropout dropout({.rate = 0.2});
  layers::Dense output({.units = 10});
  Output h = Relu(root, norm(root, hidden(root, images), training));
  return output(root, dropout(root, h, training));
}

Output ConvBlock(const Scope& root, Output x, int64_t filters, Output training) {
  layers::Conv2D conv({.filters = filters, .kernel_size = {3, 3}, .use_bias = false});
  layers::BatchNormalization norm;
  layers::MaxPool2D pool;
  return pool(root, Relu(root, norm(root, conv(root, x), training)));
}

Output CnnLogits(const Scope& root, Output images, Output training) {
  Output x = ConvBlock(root, images, 32, training);
  x = ConvBlock(root, x, 64, training);
  layers::Flatten flatten;
  layers::Dense hidden({.units = 128, .activation = Relu});
  layers::Dropout dropout({.rate = 0.3});
  layers::Dense output({.units = 10});
  return output(root, dropout(root, hidden(root, flatten(root, x)), training));
}

}  // namespace

absl::StatusOr<BenchModel> BuildMlp() { return Build(Shape{784}, MlpLogits); }
absl::StatusOr<BenchModel> BuildCnn() { return Build(Shape{28, 28, 1}, CnnLogits); }

}  // namespace sluice::bench
