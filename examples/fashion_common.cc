#include "examples/fashion_common.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "examples/example_cli.h"
#include "graph/graph_io.h"
#include "graph/layers.h"
#include "graph/losses.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "graph/optimizers.h"
#include "graph/status_macros.h"
#include "runtime/data_source.h"
#include "runtime/trainer.h"

ABSL_FLAG(std::optional<int>, epochs, std::nullopt,
          "passes over the training set (default: the example's: 5 for the MLP, 10 for the CNN); "
          "0 builds (and saves) the graph only");
ABSL_FLAG(int, batch, 128, "examples per training step");
ABSL_FLAG(int, seed, 1, "seed of the initial weights, dropout and shuffling");
ABSL_FLAG(int64_t, limit, 0, "use only the first N training and N test examples (0: all)");
ABSL_FLAG(std::string, data, "/usr/share/datasets/fashion-mnist",
          "folder of Fashion-MNIST IDX files (train-* and t10k-*)");
ABSL_FLAG(std::string, save_graph, "", "write the graph to this .pb or .pbtxt file");

namespace sluice::examples {
namespace {

// The graph `sluice train` can also train: placeholders images and labels,
// the flag training, and the nodes loss, accuracy and train.
absl::StatusOr<std::shared_ptr<Graph>> BuildGraph(const FashionModel& model) {
  Scope root = Scope::NewRootScope();
  Output training = layers::TrainingFlag(root);
  std::vector<int64_t> dims = {kUnknownDim};
  dims.insert(dims.end(), model.image_dims.dims().begin(), model.image_dims.dims().end());
  Output images =
      Placeholder(root.WithOpName("images"), DType::kF32, Shape(absl::MakeConstSpan(dims)));
  Output labels = Placeholder(root.WithOpName("labels"), DType::kI64, Shape{kUnknownDim});
  Output logits = model.logits(root, images, training);
  Output loss =
      Identity(root.WithOpName("loss"), losses::SparseSoftmaxCrossEntropy(root, labels, logits));
  Output correct = Cast(root, Equal(root, ArgMax(root, logits, 1), labels), DType::kF32);
  Mean(root.WithOpName("accuracy"), correct, {0});
  // 0.002, decayed every 469 steps (an epoch at --batch 128): the decay
  // settles the weights (about 2% of test accuracy for the MLP by epoch 5).
  AdamOptimizer adam(
      {.learning_rate = LearningRate::ExponentialDecay(0.002, 469, model.lr_decay)});
  RETURN_IF_ERROR(adam.Minimize(root, loss).status());
  InitAllVariables(root);  // after Minimize, so that Adam's slots are included
  RETURN_IF_ERROR(root.status());
  return root.graph_as_shared_ptr();
}

// The first `n` examples of `split` (all of them when it has fewer).
DataSplit FirstExamples(const DataSplit& split, int64_t n) {
  auto first_rows = [n](const Tensor& t) {
    Shape shape = t.shape();
    shape.set_dim(0, std::min(n, shape.dim(0)));
    Tensor rows(t.dtype(), shape);
    std::memcpy(rows.raw_data(), t.raw_data(), rows.num_bytes());
    return rows;
  };
  return {first_rows(split.inputs), first_rows(split.labels)};
}

absl::Status Train(const Graph& graph, const std::string& data_dir, int epochs, int64_t limit) {
  ASSIGN_OR_RETURN(DataSplits data, LoadDataSplits(data_dir));
  if (!data.test) return absl::NotFoundError(absl::StrCat(data_dir, ": no test split (t10k-*)"));
  if (limit > 0) {
    data.train = FirstExamples(data.train, limit);
    data.test = FirstExamples(*data.test, limit);
  }
  TrainerOptions options;
  options.train_op = "train";
  options.loss = "loss";
  options.accuracy = "accuracy";
  options.inputs = "images";
  options.labels = "labels";
  options.epochs = epochs;
  options.batch_size = absl::GetFlag(FLAGS_batch);
  options.seed = static_cast<uint64_t>(absl::GetFlag(FLAGS_seed));
  options.session_options.seed = options.seed;
  ASSIGN_OR_RETURN(std::unique_ptr<Trainer> trainer, Trainer::Create(graph, options));
  RETURN_IF_ERROR(trainer->Initialize());
  ASSIGN_OR_RETURN(std::vector<EpochSummary> epochs_done,
                   trainer->Fit(data, {}, [&](const EpochSummary& e) {
                     std::printf(
                         "epoch %d/%d loss=%.4f accuracy=%.4f test_loss=%.4f "
                         "test_accuracy=%.4f time=%.1fs (%.0f examples/s)\n",
                         e.epoch, epochs, e.train_loss, *e.train_accuracy, *e.test_loss,
                         *e.test_accuracy, e.seconds, e.examples_per_second);
                     std::fflush(stdout);
                   }));
  std::printf("test_accuracy=%.4f\n", *epochs_done.back().test_accuracy);
  return absl::OkStatus();
}

int Fail(const FashionModel& model, absl::string_view message) {
  return PrintFailure(model.program, message);
}
}  // namespace

int RunFashionExample(int argc, char** argv, const FashionModel& model) {
  UnderscoreFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  const int epochs = absl::GetFlag(FLAGS_epochs).value_or(model.default_epochs);
  if (epochs < 0) return Fail(model, absl::StrCat("--epochs must be >= 0, got ", epochs));
  if (absl::GetFlag(FLAGS_batch) <= 0) {
    return Fail(model, absl::StrCat("--batch must be > 0, got ", absl::GetFlag(FLAGS_batch)));
  }
  if (absl::GetFlag(FLAGS_limit) < 0) {
    return Fail(model, absl::StrCat("--limit must be >= 0, got ", absl::GetFlag(FLAGS_limit)));
  }

  absl::StatusOr<std::shared_ptr<Graph>> graph = BuildGraph(model);
  if (!graph.ok()) return Fail(model, graph.status().message());
  const std::string save_path = absl::GetFlag(FLAGS_save_graph);
  if (!save_path.empty()) {
    absl::Status saved = SaveGraph(**graph, save_path);
    if (!saved.ok()) return Fail(model, saved.message());
  }
  if (epochs == 0) return 0;
  absl::Status trained =
      Train(**graph, absl::GetFlag(FLAGS_data), epochs, absl::GetFlag(FLAGS_limit));
  if (!trained.ok()) return Fail(model, trained.message());
  return 0;
}

}  // namespace sluice::examples
