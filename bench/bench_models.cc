#include "bench/bench_models.h"

#include "examples/fashion_models.h"
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

}  // namespace

absl::StatusOr<BenchModel> BuildMlp() { return Build(Shape{784}, examples::FashionMlpLogits); }
absl::StatusOr<BenchModel> BuildCnn() {
  return Build(Shape{28, 28, 1}, examples::FashionCnnLogits);
}

}  // namespace sluice::bench
