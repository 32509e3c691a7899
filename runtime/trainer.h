// The training loop shared by `sluice train` and the C++ examples: feeds
// shuffled batches of a data set to a graph's placeholders, runs its train
// op, evaluates on the test split after each epoch, and saves checkpoints
// and TensorBoard scalars. It prints nothing; progress reaches the caller
// through callbacks.
#ifndef SLUICE_RUNTIME_TRAINER_H_
#define SLUICE_RUNTIME_TRAINER_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.h"
#include "runtime/data_source.h"
#include "runtime/event_writer.h"
#include "runtime/session.h"

namespace sluice {

struct TrainProgress {
  int epoch = 0;  // 1-based
  int64_t step = 0;  // batches done in this epoch
  int64_t steps = 0;  // batches in the epoch
  int64_t examples = 0;  // examples done in this epoch
  double examples_per_second = 0;
  double running_loss = 0;  // mean batch loss so far this epoch
};

struct EpochSummary {
  int epoch = 0;
  double train_loss = 0;
  std::optional<double> train_accuracy;  // when an accuracy output is named
  std::optional<double> test_loss;       // when there is a test split
  std::optional<double> test_accuracy;
  double seconds = 0;  // the training part of the epoch
  double examples_per_second = 0;
};

struct Evaluation {
  double loss = 0;
  std::optional<double> accuracy;
  int64_t examples = 0;
};

struct TrainerOptions {
  // Node names (or "node:index" outputs) in the graph.
  std::string train_op;   // run once per batch
  std::string loss;       // a scalar: the batch's mean loss
  std::string accuracy;   // optional scalar: the batch's fraction correct
  // Placeholders receiving a batch's inputs and labels. Empty: the graph's
  // two Placeholders, told apart by name ("label") or dtype (integer labels).
  std::string inputs;
  std::string labels;
  // A bool scalar fed true while training (BatchNormalization, Dropout).
  // Empty: the graph's PlaceholderWithDefault named "training", if any.
  std::string training_flag;
  int epochs = 1;
  int64_t batch_size = 32;
  int64_t eval_batch_size = 1000;
  uint64_t seed = 0;  // shuffling
  // Saved after every epoch when set.
  std::string checkpoint_path;
  // Restored instead of running the variables' initializers when set.
  std::string restore_path;
  // TensorBoard event files go here when set.
  std::string logdir;
  // Progress every this many batches (and at the end of each epoch).
  int64_t progress_every = 20;
  SessionOptions session_options;
};

class Trainer {
 public:
  // Checks the named nodes and data-independent options; errors name the
  // option and the node.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(const Graph& graph,
                                                         TrainerOptions options);

  // Restores the checkpoint or runs every variable's initializer.
  absl::Status Initialize();

  // Trains options.epochs epochs on data.train, evaluating on data.test
  // after each. Inputs are reshaped to the input placeholder's shape and
  // converted to its dtype (u8 images scaled to [0, 1]); integer labels
  // become one-hot rows when the labels placeholder is a float matrix.
  absl::StatusOr<std::vector<EpochSummary>> Fit(
      const DataSplits& data, const std::function<void(const TrainProgress&)>& on_progress = {},
      const std::function<void(const EpochSummary&)>& on_epoch = {});

  // The mean loss (and accuracy) over `split`, in inference mode.
  absl::StatusOr<Evaluation> Evaluate(const DataSplit& split);

  Session& session() { return *session_; }
  const std::string& inputs_name() const { return inputs_; }
  const std::string& labels_name() const { return labels_; }

 private:
  Trainer() = default;
  // `split` converted for the placeholders (see Fit).
  absl::StatusOr<DataSplit> Prepare(const DataSplit& split, absl::string_view what) const;
  absl::StatusOr<Evaluation> EvaluatePrepared(const DataSplit& split);

  TrainerOptions options_;
  std::unique_ptr<Graph> graph_;
  std::unique_ptr<Session> session_;
  std::string inputs_, labels_, training_flag_;
  DType input_dtype_ = DType::kF32, label_dtype_ = DType::kI32;
  Shape input_shape_, label_shape_;
  std::unique_ptr<EventWriter> events_;
  int64_t global_batches_ = 0;
  int epochs_done_ = 0;
};

}  // namespace sluice

#endif  // SLUICE_RUNTIME_TRAINER_H_
