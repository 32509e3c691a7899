// End-to-end tests of the example programs: the real binaries, run as a user
// would, with their output checked line by line.
#include <cmath>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "graph/graph_io.h"

// cli_test_util.h runs the binary that SLUICE_BIN names; here that is the
// example under test, which RunExample sets.
static std::string example_binary;
#define SLUICE_BIN example_binary
#include "tests/cli_test_util.h"

namespace sluice {
namespace {

using testing::Lines;
using testing::RunResult;
using testing::TempDir;

constexpr const char* kFashionDir = "/usr/share/datasets/fashion-mnist";

RunResult RunExample(const std::string& binary, const std::vector<std::string>& args) {
  example_binary = binary;
  return testing::RunSluice(args);
}

// A successful run's stdout lines, failing the test with stderr otherwise.
std::vector<std::string> RunOk(const std::string& binary, const std::vector<std::string>& args) {
  RunResult r = RunExample(binary, args);
  INFO(binary << " stderr: " << r.err);
  REQUIRE(r.signal == 0);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  return Lines(r.out);
}

// The numbers `pattern`'s groups capture in `line`, failing when it does not match.
std::vector<double> Numbers(const std::string& line, const std::string& pattern) {
  std::smatch match;
  INFO("line: " << line << "\npattern: " << pattern);
  REQUIRE(std::regex_match(line, match, std::regex(pattern)));
  std::vector<double> numbers;
  for (size_t i = 1; i < match.size(); ++i) numbers.push_back(std::stod(match[i].str()));
  return numbers;
}

constexpr const char* kNumber = "(-?[0-9.]+(?:e[-+][0-9]+)?)";

// The run fails with one line on stderr, containing `needle`, and no stdout.
void ExpectOneLineError(const std::string& binary, const std::vector<std::string>& args,
                        const std::string& needle) {
  RunResult r = RunExample(binary, args);
  INFO(binary << " stderr: " << r.err);
  CHECK(r.signal == 0);
  CHECK(r.exit_code != 0);
  CHECK(r.out.empty());
  CHECK(Lines(r.err).size() == 1);
  CHECK(r.err.find(needle) != std::string::npos);
}

// The graph saved with --epochs 0 --save-graph loads and has `nodes`.
void ExpectSavedGraph(const std::string& binary, const std::string& file,
                      const std::vector<std::string>& nodes) {
  TempDir dir;
  const std::string path = dir.Path(file);
  CHECK(RunOk(binary, {"--epochs", "0", "--save-graph", path}).empty());
  absl::StatusOr<std::unique_ptr<Graph>> graph = LoadGraph(path);
  INFO(path << ": " << graph.status());
  REQUIRE(graph.ok());
  for (const std::string& node : nodes) {
    INFO("node " << node);
    CHECK((*graph)->FindNode(node) != nullptr);
  }
}

TEST_CASE("linear_regression recovers w = 3 and b = 4") {
  const std::vector<std::string> lines = RunOk(EXAMPLE_LINEAR_REGRESSION_BIN, {});
  REQUIRE(lines.size() == 21);  // 20 epochs, then the parameters
  const std::string number = kNumber;
  Numbers(lines[0], "epoch 1 loss=" + number + " w=" + number + " b=" + number);
  const std::vector<double> wb = Numbers(lines.back(), "w=" + number + " b=" + number);
  CHECK(std::abs(wb[0] - 3) < 0.05);
  CHECK(std::abs(wb[1] - 4) < 0.05);
}

TEST_CASE("exponent_fit recovers phi = 2.5") {
  const std::vector<std::string> lines = RunOk(EXAMPLE_EXPONENT_FIT_BIN, {"--epochs", "12"});
  REQUIRE(lines.size() == 13);
  const std::vector<double> phi = Numbers(lines.back(), std::string("phi=") + kNumber);
  CHECK(std::abs(phi[0] - 2.5) < 0.01);
}

TEST_CASE("the regressions save their graphs and reject bad flags") {
  ExpectSavedGraph(EXAMPLE_LINEAR_REGRESSION_BIN, "linear.pbtxt",
                   {"x", "y", "w", "b", "loss", "train"});
  ExpectSavedGraph(EXAMPLE_EXPONENT_FIT_BIN, "exponent.pb", {"x", "y", "phi", "loss", "train"});
  ExpectOneLineError(EXAMPLE_LINEAR_REGRESSION_BIN, {"--epochs", "-1"}, "--epochs");
  ExpectOneLineError(EXAMPLE_EXPONENT_FIT_BIN, {"--epochs=-3"}, "--epochs");
  ExpectOneLineError(EXAMPLE_EXPONENT_FIT_BIN, {"--epochs", "many"}, "epochs");
  ExpectOneLineError(EXAMPLE_LINEAR_REGRESSION_BIN, {"--save-graph", "/nonexistent/g.pbtxt"},
                     "/nonexistent/g.pbtxt");
}

// One epoch on 2000 examples: the epoch line, a finite loss, and a test
// accuracy well above chance (0.1).
void CheckShortFashionRun(const std::string& binary) {
  if (!std::filesystem::exists(kFashionDir)) {
    WARN("skipped: " << kFashionDir << " is missing");
    return;
  }
  const std::vector<std::string> lines =
      RunOk(binary, {"--epochs", "1", "--limit", "2000", "--data", kFashionDir});
  REQUIRE(lines.size() == 2);
  const std::string number = kNumber;
  const std::vector<double> epoch =
      Numbers(lines[0], "epoch 1/1 loss=" + number + " accuracy=" + number +
                            " test_loss=" + number + " test_accuracy=" + number +
                            " time=" + number + "s \\(" + number + " examples/s\\)");
  CHECK(std::isfinite(epoch[0]));
  CHECK(std::isfinite(epoch[2]));
  const std::vector<double> accuracy = Numbers(lines[1], "test_accuracy=(0\\.[0-9]{4})");
  CHECK(accuracy[0] > 0.3);
  CHECK(accuracy[0] == epoch[3]);
}

void CheckFashionFlags(const std::string& binary) {
  ExpectSavedGraph(binary, "model.pbtxt",
                   {"images", "labels", "training", "loss", "accuracy", "train"});
  ExpectSavedGraph(binary, "model.pb",
                   {"images", "labels", "training", "loss", "accuracy", "train"});
  ExpectOneLineError(binary, {"--epochs", "-1"}, "--epochs");
  ExpectOneLineError(binary, {"--batch", "0"}, "--batch");
  ExpectOneLineError(binary, {"--limit=-5"}, "--limit");
  ExpectOneLineError(binary, {"--data", "/nonexistent", "--limit", "10"}, "/nonexistent");
  ExpectOneLineError(binary, {"--no-such-flag"}, "no_such_flag");
}

TEST_CASE("fashion_mlp trains briefly") { CheckShortFashionRun(EXAMPLE_FASHION_MLP_BIN); }
TEST_CASE("fashion_mlp saves its graph and rejects bad flags") {
  CheckFashionFlags(EXAMPLE_FASHION_MLP_BIN);
}
TEST_CASE("fashion_cnn trains briefly") { CheckShortFashionRun(EXAMPLE_FASHION_CNN_BIN); }
TEST_CASE("fashion_cnn saves its graph and rejects bad flags") {
  CheckFashionFlags(EXAMPLE_FASHION_CNN_BIN);
}

}  // namespace
}  // namespace sluice
