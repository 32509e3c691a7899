// End-to-end tests of the optimisation flags: `sluice dump --passes`,
// --optimize and --disable-pass on dump, run and train.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "graph/graph_io.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "runtime/npy.h"
#include "tests/cli_test_util.h"

namespace sluice {
namespace {

using testing::Lines;
using testing::RunResult;
using testing::RunSluice;
using testing::TempDir;

// y = relu(x @ w + b) * 1 + 0, with a duplicated Square: every pass of the
// standard pipeline has something to do.
struct Files {
  TempDir dir;
  std::string graph = dir.Path("model.pbtxt");
  std::string x = dir.Path("x.npy");

  Files() {
    Scope root = Scope::NewRootScope();
    Output in = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 3});
    Output w = Const(root.WithOpName("w"), {{1, 0}, {0, 1}, {1, 1}});
    Output b = Const(root.WithOpName("b"), {0.5f, -0.5f});
    Output h = Relu(root, BiasAdd(root, MatMul(root, in, w), b));
    Output y = Add(root, Mul(root, h, Const(root, 1.0f)), Const(root, 0.0f));
    Add(root.WithOpName("y"), Square(root, y), Square(root, y));
    REQUIRE(root.ok());
    REQUIRE(SaveGraph(*root.graph(), graph).ok());
    REQUIRE(WriteNpy(*Tensor::FromVector(std::vector<float>{1, 2, 3, -1, -2, -3}, Shape{2, 3}), x)
                .ok());
  }
};

TEST_CASE("dump --passes prints the graph after each pass and the statistics") {
  Files f;
  const RunResult r = RunSluice({"dump", f.graph, "--passes", "--batch", "2", "--fetch", "y"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  for (const char* pass : {"prune", "constant-folding", "cse", "simplify", "fusion", "layout"}) {
    INFO(pass);
    CHECK(absl::StrContains(r.out, std::string("== after ") + pass + ": "));
    CHECK(absl::StrContains(r.out, std::string("\n  ") + pass + ": "));
  }
  // The graph after the last pass holds the fused product and one Square.
  CHECK(absl::StrContains(r.out, "_FusedMatMul"));
  const std::vector<std::string> lines = Lines(r.out);
  CHECK(absl::StartsWith(lines.back(), "nodes: "));
  CHECK(absl::EndsWith(lines.back(), " in the compiled plan"));

  const RunResult off = RunSluice({"dump", f.graph, "--passes", "--batch", "2", "--fetch", "y",
                                   "--optimize", "0"});
  REQUIRE(off.exit_code == 0);
  CHECK_FALSE(absl::StrContains(off.out, "== after"));
  CHECK(absl::StrContains(off.out, "passes:\nnodes: "));

  const RunResult no_fusion = RunSluice({"dump", f.graph, "--passes", "--batch", "2", "--fetch",
                                         "y", "--disable-pass", "fusion"});
  REQUIRE(no_fusion.exit_code == 0);
  CHECK_FALSE(absl::StrContains(no_fusion.out, "== after fusion"));
  CHECK_FALSE(absl::StrContains(no_fusion.out, "_FusedMatMul"));
}

TEST_CASE("run gives the same values with and without the pipeline") {
  Files f;
  const std::vector<std::string> base = {"run", f.graph, "--feed", "x=" + f.x, "--fetch", "y"};
  RunResult on = RunSluice(base);
  std::vector<std::string> args = base;
  args.insert(args.end(), {"--optimize", "0"});
  RunResult off = RunSluice(args);
  args = base;
  args.insert(args.end(), {"--disable-pass", "fusion,cse"});
  RunResult partial = RunSluice(args);
  REQUIRE(on.exit_code == 0);
  REQUIRE(off.exit_code == 0);
  REQUIRE(partial.exit_code == 0);
  CHECK(on.out == off.out);
  CHECK(on.out == partial.out);
  // x @ w + b = [4.5, 4.5] and [-4.5, -4.5]; 2 relu(.)^2 = 40.5 and 0.
  CHECK(absl::StrContains(on.out, "[[40.5, 40.5], [0, 0]]"));
}

TEST_CASE("Optimisation flags report mistakes on one line") {
  Files f;
  auto check = [](const RunResult& r, const std::string& command, const std::string& message) {
    INFO(r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.out.empty());
    CHECK(Lines(r.err).size() == 1);
    CHECK(absl::StartsWith(r.err, "sluice " + command + ": " + message));
  };
  check(RunSluice({"dump", f.graph, "--passes", "--disable-pass", "bogus"}), "dump",
        "--disable-pass: unknown pass 'bogus' (passes: prune, constant-folding, cse, simplify, "
        "fusion");
  check(RunSluice({"run", f.graph, "--fetch", "y", "--optimize", "2"}), "run",
        "--optimize must be 0 or 1, got 2");
  check(RunSluice({"dump", f.graph, "--passes", "--memory"}), "dump",
        "--passes, --memory and --placement cannot be combined");
  check(RunSluice({"train", f.graph, "--train-op", "t", "--loss", "l", "--data", "d",
                   "--disable-pass", "nope"}),
        "train", "--disable-pass: unknown pass 'nope'");
}

}  // namespace
}  // namespace sluice
