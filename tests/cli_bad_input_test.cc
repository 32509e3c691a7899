// Every subcommand against bad input, from one table: bad flags, missing
// files, wrong dtypes and shapes, unknown node names, unwritable output
// paths. Each case must print exactly one line on stderr naming what is
// wrong, exit with a non-zero code below 128 (never a signal), and leave no
// output file behind.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "graph/graph_io.h"
#include "graph/losses.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "graph/optimizers.h"
#include "runtime/npy.h"
#include "tests/cli_test_util.h"

namespace sluice {
namespace {

using testing::Lines;
using testing::RunResult;
using testing::RunSluice;
using testing::TempDir;

// x f32[?,4], label i32[?] -> logits, loss, train (SGD), init; a data
// folder for `train`, feeds for `run`, and files that are wrong in one way.
struct Fixture {
  TempDir dir;
  Fixture() {
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 4});
    Output label = Placeholder(root.WithOpName("label"), DType::kI32, Shape{kUnknownDim});
    Output w = Variable(root.WithOpName("W"), Shape{4, 3}, DType::kF32,
                        Fill(root, {4, 3}, Const(root, 0.5f)));
    Output logits = MatMul(root.WithOpName("logits"), x, w);
    Identity(root.WithOpName("loss"), losses::SparseSoftmaxCrossEntropy(root, label, logits));
    GradientDescentOptimizer sgd({.learning_rate = 0.1});
    REQUIRE(sgd.Minimize(root, root.graph()->FindNode("loss")->input(0)).ok());
    REQUIRE(InitAllVariables(root) != nullptr);
    REQUIRE(root.ok());
    REQUIRE(SaveGraph(*root.graph(), Path("model.pbtxt")).ok());

    std::filesystem::create_directory(Path("data"));
    Tensor inputs = Tensor::Zeros(DType::kF32, Shape{12, 4});
    Tensor labels = Tensor::Zeros(DType::kU8, Shape{12});
    for (const char* split : {"train", "test"}) {
      REQUIRE(WriteNpy(inputs, Path("data/") + split + "_inputs.npy").ok());
      REQUIRE(WriteNpy(labels, Path("data/") + split + "_labels.npy").ok());
    }
    REQUIRE(WriteNpy(Tensor::Zeros(DType::kF32, Shape{2, 4}), Path("x.npy")).ok());
    REQUIRE(WriteNpy(Tensor::Zeros(DType::kI32, Shape{2, 4}), Path("x_i32.npy")).ok());
    REQUIRE(WriteNpy(Tensor::Zeros(DType::kF32, Shape{2, 5}), Path("x_wide.npy")).ok());
    WriteFile("garbage.npy", "not a numpy file at all");
    WriteFile("garbage.pbtxt", "node { name: ");
    WriteFile("garbage.ckpt", "neither");
  }

  std::string Path(const std::string& name) const { return dir.Path(name); }
  void WriteFile(const std::string& name, const std::string& bytes) const {
    FILE* f = std::fopen(Path(name).c_str(), "wb");
    REQUIRE(f != nullptr);
    std::fwrite(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
  }
};

struct BadInput {
  std::string what;
  std::vector<std::string> args;  // "$D/" is replaced by the fixture's folder
  int exit_code;                  // 2: usage error, 1: anything else
  std::vector<std::string> says;  // each must appear in the one stderr line
  std::string must_not_exist;     // an output path that must not be left ("" for none)
};

std::vector<BadInput> Table() {
  const std::vector<std::string> train = {"train", "$D/model.pbtxt", "--train-op", "train",
                                          "--loss", "loss", "--data", "$D/data",
                                          "--inputs", "x", "--labels", "label", "--batch", "4"};
  auto with = [](std::vector<std::string> base, const std::vector<std::string>& extra) {
    base.insert(base.end(), extra.begin(), extra.end());
    return base;
  };
  return {
      // The command itself (no command at all prints the usage: cli_dump_test).
      {"an unknown command", {"frobnicate"}, 2, {"unknown command 'frobnicate'"}, ""},
      // run
      {"run without a graph", {"run"}, 2, {"run"}, ""},
      {"run with an unknown flag", {"run", "$D/model.pbtxt", "--fetch", "loss", "--bogus"}, 2,
       {"--bogus"}, ""},
      {"run of a missing graph", {"run", "$D/none.pbtxt", "--fetch", "loss"}, 1, {"none.pbtxt"}, ""},
      {"run of a corrupt graph", {"run", "$D/garbage.pbtxt", "--fetch", "loss"}, 1,
       {"garbage.pbtxt"}, ""},
      {"run of a graph with another extension", {"run", "$D/x.npy", "--fetch", "loss"}, 1,
       {"x.npy"}, ""},
      {"run fetching an unknown node", {"run", "$D/model.pbtxt", "--fetch", "nosuch"}, 1,
       {"nosuch"}, ""},
      {"run with a malformed feed", {"run", "$D/model.pbtxt", "--feed", "x", "--fetch", "logits"}, 2,
       {"--feed"}, ""},
      {"run feeding an unknown node",
       {"run", "$D/model.pbtxt", "--feed", "nosuch=$D/x.npy", "--fetch", "logits"}, 1,
       {"nosuch"}, ""},
      {"run feeding a missing file",
       {"run", "$D/model.pbtxt", "--feed", "x=$D/none.npy", "--fetch", "logits"}, 1,
       {"none.npy"}, ""},
      {"run feeding a corrupt file",
       {"run", "$D/model.pbtxt", "--feed", "x=$D/garbage.npy", "--fetch", "logits"}, 1,
       {"garbage.npy"}, ""},
      {"run feeding the wrong dtype",
       {"run", "$D/model.pbtxt", "--feed", "x=$D/x_i32.npy", "--fetch", "logits"}, 1,
       {"'x'", "i32"}, ""},
      {"run feeding the wrong shape",
       {"run", "$D/model.pbtxt", "--feed", "x=$D/x_wide.npy", "--fetch", "logits"}, 1,
       {"'x'", "[2,5]"}, ""},
      {"run leaving a placeholder unfed", {"run", "$D/model.pbtxt", "--fetch", "logits"}, 1,
       {"placeholder 'x'"}, ""},
      {"run saving where no folder can be made",
       {"run", "$D/model.pbtxt", "--feed", "x=$D/x.npy", "--fetch", "logits", "--out",
        "/proc/sluice_forbidden"},
       1, {"/proc/sluice_forbidden"}, "/proc/sluice_forbidden"},
      {"run saving over a file",
       {"run", "$D/model.pbtxt", "--feed", "x=$D/x.npy", "--fetch", "logits", "--out",
        "$D/x.npy"},
       1, {"x.npy"}, ""},
      {"run restoring a missing checkpoint",
       {"run", "$D/model.pbtxt", "--feed", "x=$D/x.npy", "--fetch", "logits", "--restore",
        "$D/none.ckpt"},
       1, {"none.ckpt"}, ""},
      {"run restoring a corrupt checkpoint",
       {"run", "$D/model.pbtxt", "--feed", "x=$D/x.npy", "--fetch", "logits", "--restore",
        "$D/garbage.ckpt"},
       1, {"garbage.ckpt"}, ""},
      {"run on an unknown device", {"run", "$D/model.pbtxt", "--fetch", "loss", "--device", "tpu"},
       2, {"--device", "tpu"}, ""},
      // train
      {"train without --train-op", {"train", "$D/model.pbtxt", "--loss", "loss", "--data", "$D/data"},
       2, {"--train-op"}, ""},
      {"train of a missing graph", with({"train", "$D/none.pbtxt"}, {"--train-op", "train", "--loss",
                                                                     "loss", "--data", "$D/data"}),
       1, {"none.pbtxt"}, ""},
      {"train with an unknown train op", with(train, {"--train-op", "nosuch"}), 1, {"nosuch"}, ""},
      {"train with an unknown loss", with(train, {"--loss", "nosuch"}), 1, {"nosuch"}, ""},
      {"train on a missing data folder", with(train, {"--data", "$D/nodata"}), 1, {"nodata"}, ""},
      {"train with a bad batch", with(train, {"--batch", "0"}), 2, {"--batch"}, ""},
      {"train with a bad epoch count", with(train, {"--epochs", "-1"}), 2, {"--epochs"}, ""},
      {"train with a non-number", with(train, {"--epochs", "many"}), 2, {"many"}, ""},
      {"train saving a checkpoint where it cannot be written",
       with(train, {"--checkpoint", "/proc/sluice_forbidden/model.ckpt"}), 1,
       {"/proc/sluice_forbidden/model.ckpt"}, "/proc/sluice_forbidden/model.ckpt"},
      {"train writing events into a file's place", with(train, {"--logdir", "$D/x.npy/logs"}), 1,
       {"x.npy"}, ""},
      // dump
      {"dump without a file", {"dump"}, 2, {"FILE"}, ""},
      {"dump of a missing file", {"dump", "$D/none.pbtxt"}, 1, {"none.pbtxt"}, ""},
      {"dump of a corrupt file", {"dump", "$D/garbage.pbtxt"}, 1, {"garbage.pbtxt"}, ""},
      {"dump in an unknown format", {"dump", "$D/model.pbtxt", "--format", "svg"}, 2, {"svg"}, ""},
      {"dump --memory of an unknown fetch",
       {"dump", "$D/model.pbtxt", "--memory", "--fetch", "nosuch"}, 1, {"nosuch"}, ""},
      {"dump --memory with a bad feed shape",
       {"dump", "$D/model.pbtxt", "--memory", "--feed-shape", "x=2,five", "--fetch", "logits"}, 2,
       {"five"}, ""},
  };
}

TEST_CASE("Every subcommand meets bad input with one line, a small exit code and no output") {
  Fixture fixture;
  const std::string folder = fixture.Path("");
  for (const BadInput& bad : Table()) {
    std::vector<std::string> args;
    for (const std::string& a : bad.args) args.push_back(absl::StrReplaceAll(a, {{"$D/", folder}}));
    const RunResult r = RunSluice(args);
    INFO(bad.what << "\nstderr: " << r.err << "\nstdout: " << r.out);
    CHECK(r.signal == 0);
    CHECK(r.exit_code == bad.exit_code);
    const std::vector<std::string> lines = Lines(r.err);
    CHECK(lines.size() == 1);
    if (!lines.empty()) {
      CHECK(absl::StartsWith(lines[0], "sluice"));
      for (const std::string& needle : bad.says) CHECK_THAT(lines[0], Catch::Matchers::Contains(needle));
    }
    if (!bad.must_not_exist.empty()) {
      CHECK_FALSE(std::filesystem::exists(absl::StrReplaceAll(bad.must_not_exist, {{"$D/", folder}})));
    }
  }
  // Nothing the failing runs did left a file in the fixture's folder.
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(folder)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  CHECK(names == std::vector<std::string>{"data", "garbage.ckpt", "garbage.npy", "garbage.pbtxt",
                                          "model.pbtxt", "x.npy", "x_i32.npy", "x_wide.npy"});
}

}  // namespace
}  // namespace sluice
