// End-to-end tests of `sluice train` (and `sluice run --restore`): a real
// binary training a real graph file on .npy data.
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "graph/graph_io.h"
#include "graph/losses.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "graph/optimizers.h"
#include "proto/event.pb.h"
#include "runtime/event_writer.h"
#include "runtime/npy.h"
#include "tests/cli_test_util.h"
#include "tools/train_command.h"

namespace sluice {
namespace {

using testing::Lines;
using testing::RunResult;
using testing::RunSluice;
using testing::TempDir;

// Softmax regression of 3 separable classes of 4 features:
//   x f32[?,4], label i32[?]; logits = x W + b (W, b start at zero);
//   loss = mean sparse cross-entropy; accuracy; train = SGD(0.5).
// Data: class k has feature k near 1 and the others near 0.
struct Setup {
  TempDir dir;
  std::string graph = dir.Path("model.pb");
  std::string data = dir.Path("data");

  Setup() {
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 4});
    Output label = Placeholder(root.WithOpName("label"), DType::kI32, Shape{kUnknownDim});
    Output w = Variable(root.WithOpName("W"), Shape{4, 3}, DType::kF32,
                        Fill(root, {4, 3}, Const(root, 0.0f)));
    Output b = Variable(root.WithOpName("b"), Shape{3}, DType::kF32,
                        Fill(root, {3}, Const(root, 0.0f)));
    Output logits = BiasAdd(root.WithOpName("logits"), MatMul(root, x, w), b);
    Output loss = losses::SparseSoftmaxCrossEntropy(root, label, logits);
    Identity(root.WithOpName("loss"), loss);
    Output predicted = ArgMax(root, logits, 1, DType::kI32);
    Mean(root.WithOpName("accuracy"),
         Cast(root, Equal(root, predicted, label), DType::kF32), {0});
    GradientDescentOptimizer sgd({.learning_rate = 0.5});
    REQUIRE(sgd.Minimize(root, loss).ok());
    REQUIRE(root.ok());
    REQUIRE(SaveGraph(*root.graph(), graph).ok());

    std::filesystem::create_directory(data);
    WriteSplit("train", 300, 1);
    WriteSplit("test", 90, 2);
  }

  void WriteSplit(const std::string& split, int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> noise(0.0f, 0.2f);
    Tensor inputs(DType::kF32, Shape{n, 4});
    Tensor labels(DType::kU8, Shape{n});
    for (int64_t i = 0; i < n; ++i) {
      const int k = static_cast<int>(i % 3);
      labels.data<uint8_t>()[i] = static_cast<uint8_t>(k);
      for (int f = 0; f < 4; ++f) inputs.data<float>()[i * 4 + f] = (f == k ? 1.0f : 0.0f) + noise(rng);
    }
    REQUIRE(WriteNpy(inputs, data + "/" + split + "_inputs.npy").ok());
    REQUIRE(WriteNpy(labels, data + "/" + split + "_labels.npy").ok());
  }

  std::vector<std::string> Train(const std::vector<std::string>& extra) const {
    std::vector<std::string> args = {"train",  graph,    "--train-op", "train",  "--loss",
                                     "loss",   "--accuracy", "accuracy", "--data", data,
                                     "--batch", "16"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
};

// The value of `key=` in an epoch line.
double Field(const std::string& line, const std::string& key) {
  const size_t at = line.find(key + "=");
  REQUIRE(at != std::string::npos);
  const std::string rest = line.substr(at + key.size() + 1);
  double v = 0;
  REQUIRE(absl::SimpleAtod(rest.substr(0, rest.find(' ')), &v));
  return v;
}

void CheckOneErrorLine(const RunResult& r, int code, const std::string& message) {
  INFO(r.err);
  CHECK(r.exit_code == code);
  CHECK(r.out.empty());
  REQUIRE(Lines(r.err).size() == 1);
  CHECK(r.err == "sluice train: " + message + "\n");
}

TEST_CASE("train fits a graph file, epoch by epoch") {
  Setup s;
  const RunResult r = RunSluice(s.Train({"--epochs", "3", "--seed", "7"}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> lines = Lines(r.out);
  REQUIRE(lines.size() == 4);
  for (int e = 0; e < 3; ++e) {
    CHECK(absl::StartsWith(lines[e], "epoch " + std::to_string(e + 1) + "/3: train_loss="));
    CHECK(absl::StrContains(lines[e], " examples/s)"));
  }
  CHECK(Field(lines[2], "train_loss") < Field(lines[0], "train_loss"));
  CHECK(Field(lines[2], "test_accuracy") >= 0.95);
  CHECK(lines[3] == absl::StrCat("test_accuracy=", lines[2].substr(lines[2].find("test_accuracy=") + 14, 6)));
  // The progress bar went to stderr (not a terminal: a few lines per epoch).
  CHECK(absl::StrContains(r.err, "epoch 1/3 ["));
  CHECK(absl::StrContains(r.err, "19/19 batches"));
  CHECK(absl::StrContains(r.err, "examples/s  loss "));
  // Same seed, same result.
  const RunResult again = RunSluice(s.Train({"--epochs", "3", "--seed", "7"}));
  REQUIRE(again.exit_code == 0);
  CHECK(Lines(again.out)[2].substr(0, Lines(again.out)[2].find(" (")) ==
        lines[2].substr(0, lines[2].find(" (")));
}

TEST_CASE("train saves checkpoints that run and train restore") {
  Setup s;
  const std::string ckpt = s.dir.Path("model.ckpt");
  RunResult r = RunSluice(s.Train({"--epochs", "2", "--checkpoint", ckpt}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(Lines(r.out)[2] == "checkpoint: " + ckpt);
  REQUIRE(std::filesystem::exists(ckpt));

  // Untrained, W is zero; restored, it has learnt the classes.
  RunResult fresh = RunSluice({"run", s.graph, "--fetch", "W"});
  REQUIRE(fresh.exit_code == 0);
  CHECK(absl::StrContains(fresh.out, "[[0, 0, 0]"));
  RunResult restored = RunSluice({"run", s.graph, "--restore", ckpt, "--fetch", "W,global_step"});
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  CHECK_FALSE(absl::StrContains(restored.out, "[[0, 0, 0]"));
  // Two epochs of 19 batches.
  CHECK(absl::StrContains(restored.out, "global_step: i64[]\n  38\n"));

  // Training resumes from the checkpoint: the first epoch starts better.
  RunResult resumed = RunSluice(s.Train({"--epochs", "1", "--restore", ckpt}));
  REQUIRE(resumed.exit_code == 0);
  CHECK(Field(Lines(resumed.out)[0], "train_loss") < Field(Lines(r.out)[0], "train_loss"));
}

TEST_CASE("train writes TensorBoard event files") {
  Setup s;
  const std::string logdir = s.dir.Path("logs/run1");
  RunResult r = RunSluice(s.Train({"--epochs", "2", "--logdir", logdir}));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(logdir)) {
    files.push_back(entry.path().string());
  }
  REQUIRE(files.size() == 1);
  CHECK(absl::StrContains(files[0], "events.out.tfevents."));
  auto records = ReadTfRecords(files[0]);
  REQUIRE(records.ok());
  int test_accuracy_events = 0;
  for (const std::string& record : *records) {
    proto::Event event;
    REQUIRE(event.ParseFromString(record));
    for (const auto& value : event.summary().value()) {
      if (value.tag() == "epoch/test_accuracy") {
        ++test_accuracy_events;
        CHECK(value.simple_value() > 0.5f);
        CHECK((event.step() == 1 || event.step() == 2));
      }
    }
  }
  CHECK(test_accuracy_events == 2);
}

TEST_CASE("train reports each mistake on one line") {
  Setup s;
  const std::string missing_dir = s.dir.Path("nowhere");
  SECTION("usage errors exit 2") {
    CheckOneErrorLine(RunSluice({"train", s.graph, "--loss", "loss", "--data", s.data}), 2,
                      "--train-op is required (usage: " + std::string(kTrainUsage) + ")");
    CheckOneErrorLine(RunSluice(s.Train({"--epochs", "0"})), 2,
                      "--epochs must be at least 1, got 0");
    CheckOneErrorLine(RunSluice(s.Train({"--batch", "-3"})), 2,
                      "--batch must be at least 1, got -3");
    CheckOneErrorLine(RunSluice(s.Train({"--epochs", "many"})), 2,
                      "bad value 'many' for flag '--epochs': Illegal value 'many' specified for flag 'epochs'");
    const RunResult unknown = RunSluice(s.Train({"--fetch", "x"}));
    CHECK(unknown.exit_code == 2);
    CHECK(absl::StartsWith(unknown.err, "sluice train: unknown flag '--fetch' (expected --train-op,"));
  }
  SECTION("failures exit 1 and name the thing") {
    const RunResult no_data = RunSluice(s.Train({"--data", missing_dir}));
    CHECK(no_data.exit_code == 1);
    CHECK(no_data.out.empty());
    CHECK(Lines(no_data.err).size() == 1);
    CHECK(absl::StartsWith(no_data.err, "sluice train: --data '" + missing_dir + "': "));
    const RunResult no_node = RunSluice(
        {"train", s.graph, "--train-op", "train", "--loss", "nope", "--data", s.data});
    CheckOneErrorLine(no_node, 1, "loss 'nope' is not a node of the graph");
    const RunResult no_graph = RunSluice(
        {"train", s.dir.Path("none.pb"), "--train-op", "train", "--loss", "loss", "--data", s.data});
    CHECK(no_graph.exit_code == 1);
    CHECK(absl::StrContains(no_graph.err, "none.pb"));
    CheckOneErrorLine(RunSluice(s.Train({"--inputs", "label", "--labels", "label"})), 1,
                      "'label' cannot take both the inputs and the labels");
    CheckOneErrorLine(RunSluice(s.Train({"--inputs", "W"})), 1,
                      "inputs placeholder 'W' is W (Variable), not a placeholder");
    const RunResult bad_restore = RunSluice(s.Train({"--restore", s.dir.Path("none.ckpt")}));
    CHECK(bad_restore.exit_code == 1);
    CHECK(absl::StartsWith(bad_restore.err, "sluice train: --restore: "));
    CHECK(absl::StrContains(bad_restore.err, "none.ckpt"));
    CHECK(Lines(bad_restore.err).size() == 1);
  }
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST_CASE("train describes itself") {
  const RunResult help = RunSluice({"train", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.err.empty());
  CHECK(absl::StartsWith(help.out, "usage: " + std::string(kTrainUsage) + "\n"));
  for (const char* flag : {"--train-op", "--loss", "--accuracy", "--data", "--epochs", "--batch",
                           "--inputs", "--labels", "--checkpoint", "--restore", "--logdir",
                           "--seed"}) {
    INFO(flag);
    CHECK(absl::StrContains(help.out, std::string("  ") + flag + "  "));
  }
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST_CASE("train says when it cannot tell the placeholders apart or the data does not fit") {
  Setup s;
  // A third placeholder makes the default choice ambiguous.
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root.WithOpName("a"), DType::kF32, Shape{kUnknownDim, 4});
  Output b = Placeholder(root.WithOpName("b"), DType::kF32, Shape{kUnknownDim, 4});
  Output c = Placeholder(root.WithOpName("c"), DType::kF32, Shape{kUnknownDim, 4});
  Output w = Variable(root.WithOpName("w"), Shape{}, DType::kF32, Const(root, 1.0f));
  Output loss = Mean(root.WithOpName("loss"), Mul(root, Add(root, Add(root, a, b), c), w), {0, 1});
  GradientDescentOptimizer sgd;
  REQUIRE(sgd.Minimize(root, loss).ok());
  const std::string three = s.dir.Path("three.pb");
  REQUIRE(SaveGraph(*root.graph(), three).ok());
  RunResult r = RunSluice({"train", three, "--train-op", "train", "--loss", "loss", "--data", s.data});
  CheckOneErrorLine(r, 1,
                    "cannot tell which placeholders take the inputs and the labels: the graph has "
                    "3 placeholders ('a', 'b', 'c'); name them");

  // Examples of 5 features for a [?, 4] placeholder.
  const std::string wide = s.dir.Path("wide");
  std::filesystem::create_directory(wide);
  REQUIRE(WriteNpy(Tensor::Zeros(DType::kF32, Shape{6, 5}), wide + "/train_inputs.npy").ok());
  REQUIRE(WriteNpy(Tensor::Zeros(DType::kU8, Shape{6}), wide + "/train_labels.npy").ok());
  r = RunSluice({"train", s.graph, "--train-op", "train", "--loss", "loss", "--data", wide});
  CheckOneErrorLine(r, 1,
                    "training inputs for 'x': examples of shape [5] (5 values) do not fit the "
                    "placeholder's shape [?,4]");
}

}  // namespace
}  // namespace sluice
