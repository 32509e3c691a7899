#include "tools/train_command.h"

#include <unistd.h>


#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/graph_io.h"
#include "graph/status_macros.h"
#include "runtime/data_source.h"
#include "tools/optimization_flags.h"

ABSL_FLAG(std::string, train_op, "", "NAME: the node to run once per batch (e.g. train)");
ABSL_FLAG(std::string, loss, "", "NAME: the scalar batch loss to report");
ABSL_FLAG(std::string, accuracy, "", "NAME: a scalar batch accuracy to report (optional)");
ABSL_FLAG(std::string, data, "",
          "SPEC: a folder of MNIST-style IDX files, a folder of train_/test_{inputs,labels}.npy, "
          "or train=IN.npy:LABELS.npy[,test=IN.npy:LABELS.npy]");
ABSL_FLAG(int32_t, epochs, 1, "N: passes over the training split");
ABSL_FLAG(int64_t, batch, 32, "B: examples per training step");
ABSL_FLAG(std::string, inputs, "",
          "NAME: the placeholder fed the inputs (default: the graph's only candidate)");
ABSL_FLAG(std::string, labels, "",
          "NAME: the placeholder fed the labels (default: the graph's only candidate)");
ABSL_FLAG(std::string, checkpoint, "", "PATH: save every variable here after each epoch");
ABSL_FLAG(std::string, logdir, "", "DIR: write TensorBoard event files here");
ABSL_FLAG(uint64_t, seed, 0, "S: the shuffling seed");
// Shared with `sluice run`, which defines it.
ABSL_DECLARE_FLAG(std::string, restore);

namespace sluice {
namespace {

// "[#####.....]" for `done` of `total`.
std::string Bar(int64_t done, int64_t total, int width = 30) {
  const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
  return absl::StrCat("[", std::string(filled, '#'), std::string(width - filled, '.'), "]");
}

std::string Fixed(double v) { return absl::StrFormat("%.4f", v); }

}  // namespace

const std::vector<absl::string_view>& TrainFlagNames() {
  static const auto* names = new std::vector<absl::string_view>{
      "train-op", "loss", "accuracy", "data",       "epochs", "batch",
      "inputs",   "labels", "checkpoint", "restore", "logdir", "seed",
      "optimize", "disable-pass", "device"};
  return *names;
}

absl::StatusOr<TrainCommandOptions> TrainOptionsFromCommandLine(
    const std::vector<std::string>& args) {
  if (args.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("missing GRAPH (usage: ", kTrainUsage, ")"));
  }
  if (args.size() > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unexpected argument '", args[1], "': train takes one GRAPH (usage: ", kTrainUsage, ")"));
  }
  TrainCommandOptions options;
  options.graph_path = args[0];
  options.data_spec = absl::GetFlag(FLAGS_data);
  TrainerOptions& t = options.trainer;
  t.train_op = absl::GetFlag(FLAGS_train_op);
  t.loss = absl::GetFlag(FLAGS_loss);
  t.accuracy = absl::GetFlag(FLAGS_accuracy);
  t.inputs = absl::GetFlag(FLAGS_inputs);
  t.labels = absl::GetFlag(FLAGS_labels);
  t.epochs = absl::GetFlag(FLAGS_epochs);
  t.batch_size = absl::GetFlag(FLAGS_batch);
  t.seed = absl::GetFlag(FLAGS_seed);
  t.checkpoint_path = absl::GetFlag(FLAGS_checkpoint);
  t.restore_path = absl::GetFlag(FLAGS_restore);
  t.logdir = absl::GetFlag(FLAGS_logdir);
  ASSIGN_OR_RETURN(t.session_options.optimization, OptimizationFromFlags());
  ASSIGN_OR_RETURN(t.session_options.device, DevicePolicyFromFlags());
  for (const auto& [flag, value] : {std::pair<const char*, const std::string*>{"train-op", &t.train_op},
                                    {"loss", &t.loss},
                                    {"data", &options.data_spec}}) {
    if (value->empty()) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, " is required (usage: ",
                                                     kTrainUsage, ")"));
    }
  }
  if (t.epochs < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--epochs must be at least 1, got ", t.epochs));
  }
  if (t.batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--batch must be at least 1, got ", t.batch_size));
  }
  return options;
}

absl::Status RunTrain(const TrainCommandOptions& options, std::FILE* out, std::FILE* progress) {
  ASSIGN_OR_RETURN(std::unique_ptr<Graph> graph, LoadGraph(options.graph_path));
  absl::StatusOr<DataSplits> data = LoadDataSplits(options.data_spec);
  if (!data.ok()) {
    return absl::Status(data.status().code(),
                        absl::StrCat("--data '", options.data_spec, "': ", data.status().message()));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Trainer> trainer, Trainer::Create(*graph, options.trainer));
  absl::Status initialized = trainer->Initialize();
  if (!initialized.ok() && !options.trainer.restore_path.empty()) {
    return absl::Status(initialized.code(),
                        absl::StrCat("--restore: ", initialized.message()));
  }
  RETURN_IF_ERROR(initialized);

  const int epochs = options.trainer.epochs;
  // On a terminal the bar is redrawn in place; in a log, a line at each
  // quarter of the epoch is enough.
  const bool terminal = progress != nullptr && isatty(fileno(progress)) != 0;
  int64_t next_quarter = 1;
  auto on_progress = [&](const TrainProgress& p) {
    if (progress == nullptr) return;
    const std::string line = absl::StrFormat(
        "epoch %d/%d %s %d/%d batches  %.0f examples/s  loss %.4f", p.epoch, epochs,
        Bar(p.step, p.steps), p.step, p.steps, p.examples_per_second, p.running_loss);
    if (terminal) {
      absl::FPrintF(progress, "\r%s", line);
      if (p.step == p.steps) absl::FPrintF(progress, "\n");
    } else {
      if (p.step == 1 || p.step * 4 >= next_quarter * p.steps) {
        absl::FPrintF(progress, "%s\n", line);
        while (next_quarter * p.steps <= p.step * 4) ++next_quarter;
      }
      if (p.step == p.steps) next_quarter = 1;
    }
    std::fflush(progress);
  };
  std::string last;
  auto on_epoch = [&](const EpochSummary& e) {
    std::string line = absl::StrFormat("epoch %d/%d: train_loss=%s", e.epoch, epochs,
                                       Fixed(e.train_loss));
    if (e.train_accuracy) absl::StrAppend(&line, " train_accuracy=", Fixed(*e.train_accuracy));
    if (e.test_loss) absl::StrAppend(&line, " test_loss=", Fixed(*e.test_loss));
    if (e.test_accuracy) absl::StrAppend(&line, " test_accuracy=", Fixed(*e.test_accuracy));
    absl::StrAppend(&line, absl::StrFormat(" (%.1f s, %.0f examples/s)", e.seconds,
                                           e.examples_per_second));
    absl::FPrintF(out, "%s\n", line);
    std::fflush(out);
    if (e.test_accuracy) {
      last = absl::StrCat("test_accuracy=", Fixed(*e.test_accuracy));
    } else if (e.test_loss) {
      last = absl::StrCat("test_loss=", Fixed(*e.test_loss));
    } else {
      last = absl::StrCat("train_loss=", Fixed(e.train_loss));
    }
  };
  ASSIGN_OR_RETURN(std::vector<EpochSummary> summaries, trainer->Fit(*data, on_progress, on_epoch));
  if (!options.trainer.checkpoint_path.empty()) {
    absl::FPrintF(out, "checkpoint: %s\n", options.trainer.checkpoint_path);
  }
  absl::FPrintF(out, "%s\n", last);
  std::fflush(out);
  if (std::ferror(out)) return absl::DataLossError("cannot write to standard output");
  return absl::OkStatus();
}

}  // namespace sluice
