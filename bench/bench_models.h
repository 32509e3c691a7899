// The models the benchmarks train and run: the Fashion-MNIST MLP and CNN of
// the examples (examples/fashion_models.h) in a training graph with Adam.
#ifndef SLUICE_BENCH_BENCH_MODELS_H_
#define SLUICE_BENCH_BENCH_MODELS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "graph/graph.h"

namespace sluice::bench {

struct BenchModel {
  std::shared_ptr<Graph> graph;
  // Placeholders: "images" f32 [?, ...image dims], "labels" i64 [?]; the bool
  // "training" flag; outputs "logits", "loss"; the train op "train"; "init".
  Shape image_dims;  // without the batch dim
};

// 784-256-10: Dense, BatchNormalization, ReLU, Dropout(0.2), Dense; Adam.
absl::StatusOr<BenchModel> BuildMlp();
// [28,28,1] -> 3x3x32 conv, BN, ReLU, 2x2 max pool -> 3x3x64 conv, BN, ReLU,
// pool -> Dense 128 ReLU, Dropout(0.3) -> Dense 10; Adam.
absl::StatusOr<BenchModel> BuildCnn();

}  // namespace sluice::bench

#endif  // SLUICE_BENCH_BENCH_MODELS_H_
