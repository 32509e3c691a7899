// End-to-end tests of `sluice dump GRAPH --memory`: they run the real binary
// (SLUICE_BIN) on a graph saved by the library.
#include <catch2/catch.hpp>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "graph/graph_io.h"
#include "graph/layers.h"
#include "graph/losses.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "graph/optimizers.h"
#include "graph/scope.h"
#include "tests/cli_test_util.h"

namespace sluice {
namespace {

using testing::Lines;
using testing::RunResult;
using testing::RunSluice;
using testing::TempDir;

// An MLP 784-32-10 trained with Adam: placeholders x [?,784] and y [?], nodes
// loss, train and init; plus a placeholder "free" of unknown shape that only
// the node "free_out" reads.
struct SavedModel {
  TempDir dir;
  std::string path = dir.Path("mlp.pbtxt");

  SavedModel() {
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 784});
    Output y = Placeholder(root.WithOpName("y"), DType::kI64, Shape{kUnknownDim});
    layers::Dense hidden({.units = 32, .activation = Relu});
    layers::Dense output({.units = 10});
    Output logits = output(root, hidden(root, x));
    Output loss =
        Identity(root.WithOpName("loss"), losses::SparseSoftmaxCrossEntropy(root, y, logits));
    AdamOptimizer adam;
    REQUIRE(adam.Minimize(root, loss).ok());  // named "train"
    REQUIRE(InitAllVariables(root) != nullptr);
    Output free = Placeholder(root.WithOpName("free"), DType::kF32);
    Relu(root.WithOpName("free_out"), free);
    REQUIRE(root.ok());
    REQUIRE(SaveGraph(*root.graph(), path).ok());
  }
};

const std::regex kSummary("memory: arena_bytes=([0-9]+) lower_bound_bytes=([0-9]+) "
                          "no_reuse_bytes=([0-9]+)");
const std::regex kBufferLine("[^ ]+ [0-9]+ [0-9]+ \\[[0-9]+,[0-9]+\\]( in_place=[^ ]+)?");

// Checks a successful dump: buffer lines, then the summary; returns the three
// figures.
std::vector<long long> CheckPlan(const RunResult& result) {
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.err.empty());
  const std::vector<std::string> lines = Lines(result.out);
  REQUIRE(!lines.empty());
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    INFO(lines[i]);
    CHECK(std::regex_match(lines[i], kBufferLine));
  }
  std::smatch match;
  REQUIRE(std::regex_match(lines.back(), match, kSummary));
  return {std::stoll(match[1]), std::stoll(match[2]), std::stoll(match[3])};
}

// A failure: `code`, one stderr line starting "sluice dump: " and holding
// every needle, nothing on stdout.
void CheckError(const RunResult& result, int code, const std::vector<std::string>& needles) {
  INFO(result.err);
  CHECK(result.exit_code == code);
  CHECK(result.out.empty());
  const std::vector<std::string> lines = Lines(result.err);
  REQUIRE(lines.size() == 1);
  CHECK(lines[0].rfind("sluice dump: ", 0) == 0);
  for (const std::string& needle : needles) CHECK(lines[0].find(needle) != std::string::npos);
}

TEST_CASE("dump --memory prints buffers and the summary line") {
  SavedModel model;
  SECTION("a training step at batch 128") {
    const std::vector<long long> figures = CheckPlan(RunSluice(
        {"dump", model.path, "--memory", "--batch", "128", "--fetch", "loss", "--target", "train"}));
    CHECK(figures[0] > 0);
    CHECK(figures[0] >= figures[1]);
    CHECK(figures[0] <= figures[2]);
    // x [128,784] is fed, so it is no buffer; the hidden layer's
    // [128,32] f32 output is.
    const RunResult again = RunSluice(
        {"dump", model.path, "--memory", "--batch=128", "--fetch=loss", "--target=train"});
    CHECK(again.out.find(" 16384 ") != std::string::npos);
  }
  SECTION("--feed-shape sets shapes, including ones the batch cannot") {
    const std::vector<long long> small = CheckPlan(RunSluice(
        {"dump", model.path, "--memory", "--feed-shape", "x=2,784", "--feed-shape=y=2",
         "--fetch", "loss"}));
    const std::vector<long long> large = CheckPlan(RunSluice(
        {"dump", model.path, "--memory", "--batch", "64", "--fetch", "loss"}));
    CHECK(small[1] < large[1]);
    CheckPlan(RunSluice({"dump", model.path, "--memory", "--feed-shape", "free=3,5", "--fetch",
                         "free_out"}));
  }
  SECTION("without fetches or targets every sink is kept") {
    // The sinks include free_out, whose placeholder then needs a shape.
    CheckPlan(RunSluice({"dump", model.path, "--memory", "--feed-shape", "free=7"}));
  }
}

TEST_CASE("dump --memory reports every input error on one line") {
  SavedModel model;
  SECTION("unknown fetch, target and feed-shape nodes") {
    CheckError(RunSluice({"dump", model.path, "--memory", "--fetch", "nope"}), 1,
               {"--fetch 'nope'", "no node named 'nope'"});
    CheckError(RunSluice({"dump", model.path, "--memory", "--target", "nope"}), 1,
               {"--target 'nope'", "no node named 'nope'"});
    CheckError(RunSluice({"dump", model.path, "--memory", "--feed-shape", "nope=1,2", "--fetch",
                          "loss"}),
               1, {"--feed-shape 'nope'", "no node named 'nope'"});
    CheckError(RunSluice({"dump", model.path, "--memory", "--fetch", "loss:3"}), 1,
               {"fetch 'loss:3'"});
  }
  SECTION("bad --feed-shape syntax") {
    CheckError(RunSluice({"dump", model.path, "--memory", "--feed-shape", "x"}), 2,
               {"bad --feed-shape 'x'", "NAME=D,D"});
    CheckError(RunSluice({"dump", model.path, "--memory", "--feed-shape", "x=1,a"}), 2,
               {"bad --feed-shape", "'a'"});
    CheckError(RunSluice({"dump", model.path, "--memory", "--feed-shape", "x=-1,784"}), 2,
               {"bad --feed-shape", "'-1'"});
    CheckError(RunSluice({"dump", model.path, "--memory", "--feed-shape", "=1"}), 2,
               {"bad --feed-shape '=1'", "no NAME"});
  }
  SECTION("a placeholder of unknown shape that is not given one") {
    CheckError(RunSluice({"dump", model.path, "--memory", "--fetch", "free_out"}), 1,
               {"placeholder 'free'", "--feed-shape free="});
    CheckError(RunSluice({"dump", model.path, "--memory"}), 1, {"placeholder 'free'"});
  }
  SECTION("a feed shape that does not fit the placeholder") {
    CheckError(RunSluice({"dump", model.path, "--memory", "--feed-shape", "x=2,5", "--fetch",
                          "loss"}),
               1, {"feed 'x'", "[2,5]"});
  }
  SECTION("bad --batch and memory flags without --memory") {
    CheckError(RunSluice({"dump", model.path, "--memory", "--batch", "0"}), 2, {"--batch"});
    CheckError(RunSluice({"dump", model.path, "--memory", "--batch", "many"}), 2,
               {"'many'", "--batch"});
    CheckError(RunSluice({"dump", model.path, "--fetch", "loss"}), 2,
               {"--fetch needs --passes, --memory or --placement"});
    CheckError(RunSluice({"dump", model.path, "--feed-shape", "x=1,784"}), 2,
               {"--feed-shape needs --passes, --memory or --placement"});
    CheckError(RunSluice({"dump", model.path, "--target", "train"}), 2,
               {"--target needs --passes, --memory or --placement"});
  }
}

TEST_CASE("dump help lists the memory flags") {
  const RunResult help = RunSluice({"dump", "--help"});
  CHECK(help.exit_code == 0);
  for (const char* flag : {"--memory  ", "--batch  ", "--feed-shape  ", "--fetch  ", "--target  "}) {
    INFO(flag);
    CHECK(help.out.find(flag) != std::string::npos);
  }
}

}  // namespace
}  // namespace sluice
