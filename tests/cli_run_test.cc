// End-to-end tests of `sluice run`: real binary, real files.
#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

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

// The graph every test runs, and its input files:
//   dense/y = relu(x @ w + b), x f32[?,2]; dense_y = Identity(dense/y)
//   q = n / d (i32[3] placeholders, integer division)
//   scaled = x * scale, scale a PlaceholderWithDefault (2)
//   ramp = Const 0..19 (f32[20]); half = Const bf16[2]
//   v = Variable [1, 2]; bump = AssignAdd(v, [10, 10])
//   u = Variable initialised from the placeholder init_value f32[2]; u_doubled = u * 2
struct Files {
  TempDir dir;
  std::string graph = dir.Path("model.pbtxt");
  std::string x = dir.Path("x.npy");
  std::string ints = dir.Path("ints.npy");
  std::string zeros = dir.Path("zeros.npy");
  std::string pair = dir.Path("pair.npy");
  std::string wrong_dtype = dir.Path("x64.npy");
  std::string wrong_shape = dir.Path("x3.npy");

  Files() {
    Scope root = Scope::NewRootScope();
    Output input = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 2});
    Output w = Const(root, std::vector<float>{1, -1, 2, 0.5f}, Shape{2, 2});
    Output b = Const(root, {0.5f, 0.0f});
    Output y = Relu(root.WithOpName("dense/y"), BiasAdd(root, MatMul(root, input, w), b));
    Identity(root.WithOpName("dense_y"), y);
    Output n = Placeholder(root.WithOpName("n"), DType::kI32, Shape{3});
    Output d = Placeholder(root.WithOpName("d"), DType::kI32, Shape{3});
    Div(root.WithOpName("q"), n, d);
    Output scale = PlaceholderWithDefault(root.WithOpName("scale"), Const(root, 2.0f), Shape{});
    Mul(root.WithOpName("scaled"), input, scale);
    std::vector<float> ramp(20);
    for (int i = 0; i < 20; ++i) ramp[i] = static_cast<float>(i);
    Const(root.WithOpName("ramp"), ramp, Shape{20});
    Const(root.WithOpName("half"), Tensor::Zeros(DType::kBF16, Shape{2}));
    Output v = Variable(root.WithOpName("v"), Shape{2}, DType::kF32, Const(root, {1.0f, 2.0f}));
    AssignAdd(root.WithOpName("bump"), v, Const(root, {10.0f, 10.0f}));
    Output init_value = Placeholder(root.WithOpName("init_value"), DType::kF32, Shape{2});
    Output u = Variable(root.WithOpName("u"), Shape{2}, DType::kF32, init_value);
    Mul(root.WithOpName("u_doubled"), u, Const(root, 2.0f));
    REQUIRE(root.ok());
    REQUIRE(SaveGraph(*root.graph(), graph).ok());
    REQUIRE(WriteNpy(*Tensor::FromVector<float>({1, 2, 3, 4}, Shape{2, 2}), x).ok());
    REQUIRE(WriteNpy(Tensor::FromVector<int32_t>({7, -9, 8}), ints).ok());
    REQUIRE(WriteNpy(Tensor::FromVector<int32_t>({1, 0, 2}), zeros).ok());
    REQUIRE(WriteNpy(Tensor::FromVector<float>({3, 4}), pair).ok());
    REQUIRE(WriteNpy(Tensor::Zeros(DType::kF64, Shape{2, 2}), wrong_dtype).ok());
    REQUIRE(WriteNpy(Tensor::Zeros(DType::kF32, Shape{2, 3}), wrong_shape).ok());
  }
};

// A successful run's stdout, failing the test with stderr otherwise.
std::string RunOk(const std::vector<std::string>& args) {
  RunResult r = RunSluice(args);
  INFO("stderr: " << r.err);
  REQUIRE(r.signal == 0);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  return r.out;
}

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

// The names of the entries in `dir`.
std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

TEST_CASE("run prints fetches and saves them as .npy") {
  Files f;
  const std::string out = f.dir.Path("out/nested");
  const std::string printed = RunOk(
      {"run", f.graph, "--feed", "x=" + f.x, "--fetch", "dense/y", "--fetch=scaled", "--out", out});
  // [1,2]@w + b = [5.5, 0] and [3,4]@w + b = [11.5, -1] -> relu.
  CHECK(printed == "dense/y: f32[2,2]\n  [[5.5, 0], [11.5, 0]]\n  saved to " + out +
                       "/dense_y.npy\n"
                       "scaled: f32[2,2]\n  [[2, 4], [6, 8]]\n  saved to " +
                       out + "/scaled.npy\n");
  CHECK(Entries(out) == std::set<std::string>{"dense_y.npy", "scaled.npy"});
  auto y = ReadNpy(out + "/dense_y.npy");
  REQUIRE(y.ok());
  CHECK(y->dtype() == DType::kF32);
  CHECK(y->shape() == Shape{2, 2});
  CHECK(y->ToVector<float>() == std::vector<float>{5.5f, 0, 11.5f, 0});
  auto scaled = ReadNpy(out + "/scaled.npy");
  REQUIRE(scaled.ok());
  CHECK(scaled->ToVector<float>() == std::vector<float>{2, 4, 6, 8});

  // A second run replaces the files.
  const std::string half = f.dir.Path("half.npy");
  REQUIRE(WriteNpy(Tensor::Scalar(0.5f), half).ok());
  RunOk({"run", f.graph, "--feed", "x=" + f.x, "--feed", "scale=" + half, "--fetch", "scaled",
         "--out", out});
  scaled = ReadNpy(out + "/scaled.npy");
  REQUIRE(scaled.ok());
  CHECK(scaled->ToVector<float>() == std::vector<float>{0.5f, 1, 1.5f, 2});
}

TEST_CASE("run previews long dimensions and saves them whole") {
  Files f;
  const std::string out = f.dir.Path("out");
  CHECK(RunOk({"run", f.graph, "--fetch", "ramp", "--out", out}) ==
        "ramp: f32[20]\n  [0, 1, 2, 3, ..., 16, 17, 18, 19]\n  saved to " + out + "/ramp.npy\n");
  auto ramp = ReadNpy(out + "/ramp.npy");
  REQUIRE(ramp.ok());
  CHECK(ramp->shape() == Shape{20});
  CHECK(ramp->ToVector<float>()[19] == 19.0f);
}

TEST_CASE("run feeds several inputs and overrides defaults") {
  Files f;
  // 7/7, -9/-9, 8/8.
  CHECK(RunOk({"run", f.graph, "--feed", "n=" + f.ints, "--feed", "d=" + f.ints, "--fetch", "q"}) ==
        "q: i32[3]\n  [1, 1, 1]\n");
  // Integer division truncates toward zero: 7/2, -9/2, 8/2.
  const std::string twos = f.dir.Path("twos.npy");
  REQUIRE(WriteNpy(Tensor::FromVector<int32_t>({2, 2, 2}), twos).ok());
  CHECK(RunOk({"run", f.graph, "--feed", "n=" + f.ints + ",d=" + twos, "--fetch", "q:0"}) ==
        "q:0: i32[3]\n  [3, -4, 4]\n");
  // The default of `scale` is 2; a feed replaces it.
  CHECK(RunOk({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "scaled"}) ==
        "scaled: f32[2,2]\n  [[2, 4], [6, 8]]\n");
  const std::string half = f.dir.Path("half.npy");
  REQUIRE(WriteNpy(Tensor::Scalar(0.5f), half).ok());
  CHECK(RunOk({"run", f.graph, "--feed", "x=" + f.x, "--feed", "scale=" + half, "--fetch",
               "scaled"}) == "scaled: f32[2,2]\n  [[0.5, 1], [1.5, 2]]\n");
}

TEST_CASE("run takes comma-separated lists, and commas inside feed paths") {
  Files f;
  const std::string out = f.dir.Path("out");
  const std::string comma_path = f.dir.Path("x,copy.npy");
  REQUIRE(WriteNpy(*Tensor::FromVector<float>({1, 2, 3, 4}, Shape{2, 2}), comma_path).ok());
  CHECK(RunOk({"run", f.graph, "--feed", "x=" + comma_path, "--fetch", "dense/y,scaled", "--out",
               out}) == "dense/y: f32[2,2]\n  [[5.5, 0], [11.5, 0]]\n  saved to " + out +
                            "/dense_y.npy\n"
                            "scaled: f32[2,2]\n  [[2, 4], [6, 8]]\n  saved to " +
                            out + "/scaled.npy\n");
  // q:0 is saved as q_0.npy; a fetch given twice prints twice and saves once.
  CHECK(RunOk({"run", f.graph, "--feed=n=" + f.ints + ",d=" + f.ints, "--fetch", "q:0,q:0", "--out",
               out}) == "q:0: i32[3]\n  [1, 1, 1]\n  saved to " + out +
                            "/q_0.npy\nq:0: i32[3]\n  [1, 1, 1]\n  saved to " + out + "/q_0.npy\n");
  CHECK(Entries(out) == std::set<std::string>{"dense_y.npy", "scaled.npy", "q_0.npy"});
}

TEST_CASE("run starts the variables it reads from their initializers") {
  Files f;
  CHECK(RunOk({"run", f.graph, "--fetch", "v"}) == "v: f32[2]\n  [1, 2]\n");
  // Initialised, then bumped once.
  CHECK(RunOk({"run", f.graph, "--fetch", "bump"}) == "bump: f32[2]\n  [11, 12]\n");
  CHECK(RunOk({"run", f.graph, "--target", "bump"}) == "ran 1 target(s)\n");
  CHECK(RunOk({"run", f.graph, "--target", "bump", "--fetch", "v"}) == "v: f32[2]\n  [11, 12]\n");
  // u's initializer reads a placeholder: feed it...
  CHECK(RunOk({"run", f.graph, "--feed", "init_value=" + f.pair, "--fetch", "u_doubled"}) ==
        "u_doubled: f32[2]\n  [6, 8]\n");
  // ... or feed u itself, and its initializer does not run.
  CHECK(RunOk({"run", f.graph, "--feed", "u=" + f.pair, "--fetch", "u_doubled"}) ==
        "u_doubled: f32[2]\n  [6, 8]\n");
  CheckRunError(RunSluice({"run", f.graph, "--fetch", "u_doubled"}), 1,
                "placeholder 'init_value' (f32[2]) must be fed");
}

TEST_CASE("run reports every input mistake on one line, leaving no output") {
  Files f;
  const std::string out = f.dir.Path("out");
  // Each failure below is given --out; none may create it.
  auto run = [&](std::vector<std::string> args) {
    args.push_back("--out");
    args.push_back(out);
    RunResult r = RunSluice(args);
    CHECK(!std::filesystem::exists(out));
    return r;
  };
  CheckRunError(run({"run", f.dir.Path("absent.pbtxt"), "--fetch", "q"}), 1,
                f.dir.Path("absent.pbtxt"));
  const std::string broken = f.dir.Path("broken.pbtxt");
  WriteFile(broken, "node { name: 'a' op: 'Nope' }");
  CheckRunError(run({"run", broken, "--fetch", "a"}), 1, "unknown op 'Nope'");
  CheckRunError(
      run({"run", f.graph, "--feed", "x=" + f.dir.Path("none.npy"), "--fetch", "dense/y"}), 1,
      "feed 'x': " + f.dir.Path("none.npy"));
  const std::string garbage = f.dir.Path("garbage.npy");
  WriteFile(garbage, "not numpy at all");
  CheckRunError(run({"run", f.graph, "--feed", "x=" + garbage, "--fetch", "dense/y"}), 1,
                "garbage.npy: not a valid .npy file");
  CheckRunError(run({"run", f.graph, "--feed", "ghost=" + f.x, "--fetch", "dense/y"}), 1,
                "feed 'ghost': no node named 'ghost'");
  CheckRunError(run({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "nothing"}), 1,
                "fetch 'nothing': no node named 'nothing'");
  CheckRunError(run({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "dense/y:4"}), 1,
                "fetch 'dense/y:4': dense/y (Relu) has 1 output");
  CheckRunError(run({"run", f.graph, "--fetch", "q", "--target", "nobody"}), 1,
                "target 'nobody': no node named 'nobody'");
  CheckRunError(run({"run", f.graph, "--feed", "x=" + f.wrong_dtype, "--fetch", "dense/y"}), 1,
                "feed 'x': fed a f64 tensor, but x (Placeholder) is f32");
  CheckRunError(run({"run", f.graph, "--feed", "x=" + f.wrong_shape, "--fetch", "dense/y"}), 1,
                "feed 'x': fed shape [2,3], but x (Placeholder) has shape [?,2]");
  CheckRunError(run({"run", f.graph, "--fetch", "dense/y"}), 1,
                "placeholder 'x' (f32[?,2]) must be fed");
  CheckRunError(
      run({"run", f.graph, "--feed", "n=" + f.ints, "--feed", "d=" + f.zeros, "--fetch", "q"}), 1,
      "q (Div): Integer division by zero");
  // bf16 has no NumPy dtype: nothing is saved, not even the other fetch.
  CheckRunError(run({"run", f.graph, "--fetch", "ramp,half"}), 1, "fetch 'half' cannot be saved");

  // Usage errors, exit 2.
  CheckRunError(run({"run", f.graph, "--feed", "x", "--fetch", "dense/y"}), 2,
                "--feed 'x' must look like NAME=FILE.npy");
  CheckRunError(run({"run", f.graph, "--feed", "=" + f.x, "--fetch", "dense/y"}), 2,
                "--feed '=" + f.x + "' must look like NAME=FILE.npy");
  CheckRunError(run({"run", f.graph, "--fetch", "q,,scaled"}), 2, "--fetch has an empty NAME");
  CheckRunError(run({"run", f.graph, "--fetch", "q", "--colour", "red"}), 2,
                "unknown flag '--colour'");
  CheckRunError(run({"run", "--fetch", "q"}), 2, "missing GRAPH");
  CheckRunError(run({"run", f.graph, f.graph, "--fetch", "q"}), 2,
                "unexpected argument '" + f.graph + "'");
  CheckRunError(run({"run", f.graph}), 2, "give at least one --fetch or --target");
  CheckRunError(RunSluice({"run", f.graph, "--fetch"}), 2, "flag '--fetch' needs a value");
  CheckRunError(run({"run", f.graph, "--target", "bump"}), 2, "--out needs at least one --fetch");
  CheckRunError(run({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "dense/y,dense_y"}), 2,
                "fetches 'dense/y' and 'dense_y' would both be saved as dense_y.npy");
}

TEST_CASE("run leaves no partial output behind when saving fails") {
  Files f;
  // An output path that cannot be a directory.
  const std::string file = f.dir.Path("a_file");
  WriteFile(file, "x");
  CheckRunError(
      RunSluice({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "dense/y", "--out", file}), 1,
      "--out " + file + ": cannot create the directory");
  CheckRunError(RunSluice({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "dense/y", "--out",
                           "/proc/no_such_dir/out"}),
                1, "--out /proc/no_such_dir/out: cannot create the directory");
  // A directory that takes no files (not even as root).
  CheckRunError(
      RunSluice({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "dense/y", "--out", "/proc"}), 1,
      "/proc/dense_y.npy: cannot write");

  // One output file is blocked by a directory: the other is not written
  // either, no temporary file stays, and directories made for it go again.
  const std::string out = f.dir.Path("out");
  std::filesystem::create_directories(out + "/dense_y.npy/inside");
  CheckRunError(
      RunSluice({"run", f.graph, "--feed", "x=" + f.x, "--fetch", "scaled,dense/y", "--out", out}),
      1, out + "/dense_y.npy: cannot write: it exists and is not a regular file");
  CHECK(Entries(out) == std::set<std::string>{"dense_y.npy"});
  // Every fetch is encoded before any directory is made.
  const std::string deep = f.dir.Path("made/for/it");
  CheckRunError(RunSluice({"run", f.graph, "--fetch", "ramp,half", "--out", deep}), 1, "'half'");
  CHECK(!std::filesystem::exists(f.dir.Path("made")));
}

TEST_CASE("run describes itself") {
  RunResult help = RunSluice({"run", "--help"});
  CHECK(help.exit_code == 0);
  CHECK(help.err.empty());
  CHECK(help.out.rfind(
            "usage: sluice run GRAPH --feed NAME=FILE.npy ... --fetch NAME ... [--target NAME "
            "...] [--out DIR] [--restore CKPT] [--optimize 0|1] [--disable-pass NAME ...]\n",
            0) == 0);
  for (const char* flag : {"--feed", "--fetch", "--target", "--out", "--restore"}) {
    CHECK(help.out.find(std::string("\n  ") + flag + "  ") != std::string::npos);
  }
  RunResult via_help = RunSluice({"help", "run"});
  CHECK(via_help.exit_code == 0);
  CHECK(via_help.out == help.out);
  RunResult overview = RunSluice({"help"});
  CHECK(overview.exit_code == 0);
  CHECK(overview.out.find("\n  sluice run GRAPH") != std::string::npos);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

TEST_CASE("run --restore names the checkpoint it cannot use") {
  Files files;
  const std::string missing = files.dir.Path("none.ckpt");
  RunResult r = RunSluice({"run", files.graph, "--fetch", "ramp", "--restore", missing});
  CHECK(r.exit_code == 1);
  CHECK(r.out.empty());
  REQUIRE(Lines(r.err).size() == 1);
  CHECK(r.err.rfind("sluice run: --restore: ", 0) == 0);
  CHECK(r.err.find("none.ckpt") != std::string::npos);
  // A file that is no checkpoint at all.
  testing::WriteFile(files.dir.Path("bad.ckpt"), "not a checkpoint");
  r = RunSluice({"run", files.graph, "--fetch", "ramp", "--restore", files.dir.Path("bad.ckpt")});
  CHECK(r.exit_code == 1);
  REQUIRE(Lines(r.err).size() == 1);
  CHECK(r.err.rfind("sluice run: --restore: ", 0) == 0);
}

}  // namespace
}  // namespace sluice
