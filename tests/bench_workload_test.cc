// End-to-end tests of bench/run.sh's Sluice worker (build/bin/sluice_workload)
// through its line protocol (bench/WORKLOADS.md), on small weight files
// written here: no peer and no Python needed.
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/npy.h"
#include "tests/cli_test_util.h"

#ifdef SLUICE_HAVE_CUDA
#include "cuda/device_query.h"
#endif

namespace sluice {
namespace {

using testing::Lines;
using testing::RunResult;
using testing::RunSluice;
using testing::TempDir;
using testing::WriteFile;

Tensor Random(const Shape& shape, uint32_t seed, float scale) {
  Tensor t(DType::kF32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-scale, scale);
  for (float& v : t.flat<float>()) v = u(rng);
  return t;
}

// The MLP workloads' files, as make_data.py would write them.
struct MlpFiles {
  Tensor w1 = Random(Shape{784, 256}, 1, 0.08f), b1 = Random(Shape{256}, 2, 0.1f);
  Tensor w2 = Random(Shape{256, 10}, 3, 0.15f), b2 = Random(Shape{10}, 4, 0.1f);
  Tensor x = Random(Shape{1, 784}, 5, 1.0f);

  void Write(const TempDir& dir) const {
    for (const auto& [name, t] : std::vector<std::pair<std::string, const Tensor*>>{
             {"mlp_w1", &w1}, {"mlp_b1", &b1}, {"mlp_w2", &w2}, {"mlp_b2", &b2},
             {"mlp_x_b1", &x}}) {
      REQUIRE(WriteNpy(*t, dir.Path(name + ".npy")).ok());
    }
  }

  // softmax(relu(x w1 + b1) w2 + b2), in double.
  std::vector<double> Reference() const {
    std::vector<double> h(256), logits(10);
    for (int j = 0; j < 256; ++j) {
      double s = b1.data<float>()[j];
      for (int i = 0; i < 784; ++i) s += double{x.data<float>()[i]} * w1.data<float>()[i * 256 + j];
      h[j] = std::max(s, 0.0);
    }
    double max_logit = -1e300;
    for (int k = 0; k < 10; ++k) {
      double s = b2.data<float>()[k];
      for (int j = 0; j < 256; ++j) s += h[j] * w2.data<float>()[j * 10 + k];
      logits[k] = s;
      max_logit = std::max(max_logit, s);
    }
    double sum = 0;
    for (double& l : logits) sum += (l = std::exp(l - max_logit));
    for (double& l : logits) l /= sum;
    return logits;
  }
};

// The directory's path without a trailing slash.
std::string DirPath(const TempDir& dir) {
  std::string path = dir.Path("");
  if (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

// Runs the worker on `commands` (one per line) with `args` after the data dir.
RunResult RunWorker(const TempDir& dir, const std::vector<std::string>& commands,
                    std::vector<std::string> args = {"--system", "sluice", "--threads", "1"}) {
  WriteFile(dir.Path("commands"), absl::StrJoin(commands, "\n") + "\n");
  args.push_back(absl::StrCat("--data=", DirPath(dir)));
  return RunSluice(args, dir.Path("commands"));
}

TEST_CASE("The worker answers info, setup and time, and its MLP output is the reference") {
  TempDir dir;
  MlpFiles files;
  files.Write(dir);
  const RunResult r = RunWorker(
      dir, {"info", absl::StrCat("setup mlp_infer_b1 ", dir.Path("")), "time mlp_infer_b1 2",
            "quit"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> answers = Lines(r.out);
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].rfind(R"({"ok": true, "system": "sluice", "version": "sluice on oneDNN )", 0) ==
        0);
  CHECK(answers[1].rfind(R"({"ok": true, "inner": )", 0) == 0);
  REQUIRE(answers[2].rfind(R"({"ok": true, "times_ms": [)", 0) == 0);
  // Two positive samples.
  const std::string list = answers[2].substr(answers[2].find('[') + 1);
  std::vector<std::string> samples = absl::StrSplit(list.substr(0, list.find(']')), ", ");
  REQUIRE(samples.size() == 2);
  for (const std::string& s : samples) CHECK(std::stod(s) > 0);

  absl::StatusOr<Tensor> probs = ReadNpy(dir.Path("mlp_infer_b1.sluice.npy"));
  REQUIRE(probs.ok());
  REQUIRE(probs->shape() == Shape{1, 10});
  const std::vector<double> expected = files.Reference();
  for (int k = 0; k < 10; ++k) {
    CHECK(probs->data<float>()[k] == Approx(expected[k]).epsilon(1e-4).margin(1e-6));
  }
}

TEST_CASE("Worker errors name what is wrong and the worker keeps answering") {
  TempDir dir;
  MlpFiles files;
  files.Write(dir);
  const RunResult r =
      RunWorker(dir, {"setup mlp_infer_b9 /tmp", "time mlp_infer_b1 3",
                      absl::StrCat("setup cnn_infer_b1 ", dir.Path("")), "time mlp_infer_b1 0",
                      "frobnicate", "info"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> answers = Lines(r.out);
  REQUIRE(answers.size() == 6);
  CHECK(answers[0] == R"({"ok": false, "error": "NOT_FOUND: unknown workload 'mlp_infer_b9'"})");
  CHECK(answers[1] ==
        R"({"ok": false, "error": "FAILED_PRECONDITION: workload 'mlp_infer_b1' was not set up"})");
  // The CNN's weights are not in the directory: the error names the file.
  CHECK(answers[2].rfind(R"({"ok": false, "error": ")", 0) == 0);
  CHECK(answers[2].find(absl::StrCat(DirPath(dir), "/cnn_w1.npy")) != std::string::npos);
  CHECK(answers[3].find("unknown command 'time mlp_infer_b1 0'") != std::string::npos);
  CHECK(answers[4].find("unknown command 'frobnicate'") != std::string::npos);
  CHECK(answers[5].rfind(R"({"ok": true, "system": "sluice")", 0) == 0);
}

TEST_CASE("oneDNN called directly runs the matmul rows and skips the others") {
  TempDir dir;
  Tensor a = Random(Shape{1024, 1024}, 6, 1.0f), b = Random(Shape{1024, 1024}, 7, 1.0f);
  REQUIRE(WriteNpy(a, dir.Path("mm_a1024.npy")).ok());
  REQUIRE(WriteNpy(b, dir.Path("mm_b1024.npy")).ok());
  const RunResult r = RunWorker(dir,
                                {absl::StrCat("setup matmul1024 ", dir.Path("")),
                                 "time matmul1024 1", absl::StrCat("setup one_op ", dir.Path(""))},
                                {"--system", "onednn", "--threads", "1"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> answers = Lines(r.out);
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].rfind(R"({"ok": true, "inner": )", 0) == 0);
  CHECK(answers[1].rfind(R"({"ok": true, "times_ms": [)", 0) == 0);
  CHECK(answers[2] ==
        R"({"ok": true, "skip": "oneDNN called directly: matmul rows only"})");
}

TEST_CASE("Bad worker flags are one line on stderr and exit 2") {
  TempDir dir;
  RunResult r = RunWorker(dir, {"info"}, {"--system", "tensorflow"});
  CHECK(r.exit_code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "sluice_workload: --system must be sluice, onednn, sluice_cuda or cublas, got "
        "'tensorflow'\n");
  r = RunSluice({"--system", "sluice"}, "/dev/null");
  CHECK(r.exit_code == 2);
  CHECK(r.err == "sluice_workload: --data DIR (make_data.py's output) is required\n");
}

// Why the GPU systems cannot run on this machine: what the worker should
// report as their reason; empty when a GPU is usable here.
std::string NoGpuReason() {
#ifdef SLUICE_HAVE_CUDA
  absl::StatusOr<std::vector<cuda::CudaDeviceInfo>> devices = cuda::QueryCudaDevices();
  return devices.ok() ? "" : std::string(devices.status().message());
#else
  return "this build has no CUDA layer (no CUDA toolkit and cuDNN found)";
#endif
}

TEST_CASE("info lists every system with its device and, without a GPU, why the GPU ones cannot "
          "run") {
  TempDir dir;
  const std::string reason = NoGpuReason();
  // What info says of each GPU system on this machine.
  const std::string gpu_availability =
      reason.empty() ? R"("device": "cuda", "available": true)"
                     : absl::StrCat(R"("device": "cuda", "available": false, "reason": ")",
                                    reason, R"(")");
  const std::string systems = absl::StrCat(
      R"("systems": {"sluice": {"device": "cpu", "available": true}, )",
      R"("onednn": {"device": "cpu", "available": true}, )", R"("sluice_cuda": {)",
      gpu_availability, R"(}, "cublas": {)", gpu_availability, "}}}");

  RunResult r = RunWorker(dir, {"info"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  std::vector<std::string> answers = Lines(r.out);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].find(R"(, "device": "cpu", "available": true, )") != std::string::npos);
  CHECK(answers[0].size() > systems.size());
  CHECK(answers[0].substr(answers[0].size() - systems.size()) == systems);

  // A GPU system's own worker starts and answers info either way.
  r = RunWorker(dir, {"info"}, {"--system", "sluice_cuda", "--threads", "1"});
  REQUIRE(r.exit_code == 0);
  answers = Lines(r.out);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].rfind(R"({"ok": true, "system": "sluice_cuda", "version": ")", 0) == 0);
  // An available GPU system names its GPU after its availability.
  CHECK(answers[0].find(absl::StrCat(", ", gpu_availability,
                                     reason.empty() ? R"(, "gpu": ")" : R"(, "systems": {)")) !=
        std::string::npos);
}

TEST_CASE("Setting up a GPU system without a GPU is one error line naming the reason") {
  TempDir dir;
  const std::string reason = NoGpuReason();
  if (reason.empty()) return;  // a GPU is usable here: the GPU systems run
  for (const std::string system : {"sluice_cuda", "cublas"}) {
    INFO(system);
    const RunResult r = RunWorker(
        dir, {absl::StrCat("setup matmul4096 ", dir.Path("")), "time matmul4096 1", "info"},
        {"--system", system, "--threads", "1"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const std::vector<std::string> answers = Lines(r.out);
    REQUIRE(answers.size() == 3);
    CHECK(answers[0] == absl::StrCat(R"({"ok": false, "error": "UNAVAILABLE: )", system,
                                     " cannot run here: ", reason, R"("})"));
    CHECK(answers[1] == R"({"ok": false, "error": "FAILED_PRECONDITION: workload 'matmul4096' )"
                        R"(was not set up"})");
    CHECK(answers[2].rfind(absl::StrCat(R"({"ok": true, "system": ")", system, R"(")"), 0) == 0);
  }
}

TEST_CASE("matmul4096 is a matmul row: oneDNN reads its files and skips other rows") {
  TempDir dir;
  // The data files are absent: the error names the 4096 file, so the row is
  // known and sized.
  const RunResult r = RunWorker(dir, {absl::StrCat("setup matmul4096 ", dir.Path(""))},
                                {"--system", "onednn", "--threads", "1"});
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> answers = Lines(r.out);
  REQUIRE(answers.size() == 1);
  CHECK(answers[0].rfind(R"({"ok": false, "error": ")", 0) == 0);
  CHECK(answers[0].find(absl::StrCat(DirPath(dir), "/mm_a4096.npy")) != std::string::npos);
}

}  // namespace
}  // namespace sluice
