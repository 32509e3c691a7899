// End-to-end tests of `sluice run`: real binary, real files.
#include <catch2/catch.hpp>

#include <filesystem>

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
using testing::WriteFile;

// y = relu(x @ w + b); z = x_int / d (integer division); p = PlaceholderWithDefault.
struct Files {
  TempDir dir;
  std::string graph = dir.Path("model.pbtxt");
  std::string x = dir.Path("x.npy");
  std::string ints = dir.Path("ints.npy");
  std::string zeros = dir.Path("zeros.npy");
  std::string wrong_dtype = dir.Path("x64.npy");
  std::string wrong_shape = dir.Path("x3.npy");

  Files() {
    Scope root = Scope::NewRootScope();
    Output input = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 2});
    Output w = Const(root, std::vector<float>{1, -1, 2, 0.5f}, Shape{2, 2});
    Output b = Const(root, {0.5f, 0.0f});
    Relu(root.WithOpName("dense/y"), BiasAdd(root, MatMul(root, input, w), b));
    Output n = Placeholder(root.WithOpName("n"), DType::kI32, Shape{3});
    Output d = Placeholder(root.WithOpName("d"), DType::kI32, Shape{3});
    Div(root.WithOpName("q"), n, d);
    Output scale = PlaceholderWithDefault(root.WithOpName("scale"), Const(root, 2.0f), Shape{});
    Mul(root.WithOpName("scaled"), input, scale);
    REQUIRE(root.ok());
    REQUIRE(SaveGraph(*root.graph(), graph).ok());
    REQUIRE(WriteNpy(*Tensor::FromVector<float>({1, 2, 3, 4}, Shape{2, 2}), x).ok());
    REQUIRE(WriteNpy(Tensor::FromVector<int32_t>({7, -9, 8}), ints).ok());
    REQUIRE(WriteNpy(Tensor::FromVector<int32_t>({1, 0, 2}), zeros).ok());
    REQUIRE(WriteNpy(Tensor::Zeros(DType::kF64, Shape{2, 2}), wrong_dtype).ok());
    REQUIRE(WriteNpy(Tensor::Zeros(DType::kF32, Shape{2, 3}), wrong_shape).ok());
  }
};

// A failure: exit 1 (or 2 for usage), one stderr line naming `needle`, no stdout.
void CheckRunError(const RunResult& r, int exit_code, const std::string& needle) {
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.signal == 0);
  CHECK(r.exit_code == exit_code);
  CHECK(r.out.empty());
  REQUIRE(Lines(r.err).size() == 1);
  CHECK(r.err.rfind("sluice run: ", 0) == 0);
  CHECK(r.err.find(needle) != std::string::npos);
}

TEST_CASE("run prints fetches and saves them as .npy") {
  Files f;
  const std::string out = f.dir.Path("out");
  RunResult r = RunSluice({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "dense/y",
                           "--fetch=scaled", "--out", out});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  // [1,2]@w + b = [5.5, 0] and [3,4]@w + b = [11.5, -1] -> relu.
  CHECK(r.out.find("dense/y: f32[2,2]\n  [[5.5, 0], [11.5, 0]]\n") != std::string::npos);
  CHECK(r.out.find("scaled: f32[2,2]\n  [[2, 4], [6, 8]]\n") != std::string::npos);
  auto y = ReadNpy(out + "/dense_y.npy");
  REQUIRE(y.ok());
  CHECK(y->ToVector<float>() == std::vector<float>{5.5f, 0, 11.5f, 0});
  auto scaled = ReadNpy(out + "/scaled.npy");
  REQUIRE(scaled.ok());
  CHECK(scaled->ToVector<float>() == std::vector<float>{2, 4, 6, 8});
}

TEST_CASE("run feeds several inputs and overrides defaults") {
  Files f;
  RunResult q = RunSluice({"run", f.graph, "--feed", "n=" + f.ints, "--feed",
                           "d=" + f.ints, "--fetch", "q"});
  INFO(q.err);
  REQUIRE(q.exit_code == 0);
  CHECK(q.out == "q: i32[3]\n  [1, 1, 1]\n");
  const std::string half = f.dir.Path("half.npy");
  REQUIRE(WriteNpy(Tensor::Scalar(0.5f), half).ok());
  RunResult s = RunSluice({"run", f.graph, "--feed", "x=" + f.x, "--feed", "scale=" + half,
                           "--fetch", "scaled"});
  REQUIRE(s.exit_code == 0);
  CHECK(s.out == "scaled: f32[2,2]\n  [[0.5, 1], [1.5, 2]]\n");
}

TEST_CASE("run reports every input mistake on one line") {
  Files f;
  CheckRunError(RunSluice({"run", f.dir.Path("absent.pbtxt"), "--fetch", "q"}), 1, "absent.pbtxt");
  const std::string broken = f.dir.Path("broken.pbtxt");
  WriteFile(broken, "node { name: 'a' op: 'Nope' }");
  CheckRunError(RunSluice({"run", broken, "--fetch", "a"}), 1, "unknown op 'Nope'");
  CheckRunError(RunSluice({"run", f.graph, "--feed", "x=" + f.dir.Path("none.npy"), "--fetch",
                           "dense/y"}),
                1, "none.npy");
  const std::string garbage = f.dir.Path("garbage.npy");
  WriteFile(garbage, "not numpy at all");
  CheckRunError(RunSluice({"run", f.graph, "--feed", "x=" + garbage, "--fetch", "dense/y"}), 1,
                "garbage.npy: not a valid .npy file");
  CheckRunError(RunSluice({"run", f.graph, "--feed", "x", "--fetch", "dense/y"}), 2,
                "--feed 'x' must look like NAME=FILE.npy");
  CheckRunError(RunSluice({"run", f.graph, "--feed", "ghost=" + f.x, "--fetch", "dense/y"}), 1,
                "feed 'ghost': no node named 'ghost'");
  CheckRunError(RunSluice({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "nothing"}), 1,
                "fetch 'nothing': no node named 'nothing'");
  CheckRunError(RunSluice({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "dense/y:4"}), 1,
                "fetch 'dense/y:4': dense/y (Relu) has 1 output");
  CheckRunError(RunSluice({"run", f.graph, "--feed", "x=" + f.wrong_dtype, "--fetch", "dense/y"}),
                1, "feed 'x': fed a f64 tensor, but x (Placeholder) is f32");
  CheckRunError(RunSluice({"run", f.graph, "--feed", "x=" + f.wrong_shape, "--fetch", "dense/y"}),
                1, "feed 'x': fed shape [2,3], but x (Placeholder) has shape [?,2]");
  CheckRunError(RunSluice({"run", f.graph, "--fetch", "dense/y"}), 1,
                "placeholder 'x' (f32[?,2]) must be fed");
  CheckRunError(RunSluice({"run", f.graph, "--feed", "n=" + f.ints, "--feed", "d=" + f.zeros,
                           "--fetch", "q"}),
                1, "q (Div): Integer division by zero");
  CheckRunError(RunSluice({"run", f.graph, "--fetch", "q", "--colour", "red"}), 2,
                "unknown flag '--colour'");
  CheckRunError(RunSluice({"run", "--fetch", "q"}), 2, "missing GRAPH");
  CheckRunError(RunSluice({"run", f.graph}), 2, "give at least one --fetch or --target");
}

TEST_CASE("run leaves no partial output behind") {
  Files f;
  const std::string out = f.dir.Path("out");
  // The run fails: nothing is written, not even the directory's files.
  CheckRunError(RunSluice({"run", f.graph, "--feed", "n=" + f.ints, "--feed", "d=" + f.zeros,
                           "--fetch", "q", "--out", out}),
                1, "Integer division by zero");
  CHECK((!std::filesystem::exists(out) || std::filesystem::is_empty(out)));
  // An output path that cannot be a directory.
  const std::string file = f.dir.Path("a_file");
  WriteFile(file, "x");
  CheckRunError(RunSluice({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "dense/y", "--out",
                           file}),
                1, "--out " + file + ": cannot create the directory");
  CheckRunError(RunSluice({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "dense/y", "--out",
                           "/proc/no_such_dir/out"}),
                1, "/proc/no_such_dir/out");
}

}  // namespace
}  // namespace sluice
