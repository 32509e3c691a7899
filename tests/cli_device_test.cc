// End-to-end tests of the --device flag and `sluice dump --placement`: they
// run the real binary (SLUICE_BIN) on a graph saved by the library.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "graph/graph_io.h"
#include "graph/layers.h"
#include "graph/losses.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "graph/scope.h"
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

// x [?,8] -> dense(4, relu) -> y.
struct SavedModel {
  TempDir dir;
  std::string path = dir.Path("model.pbtxt");
  SavedModel() {
    Scope root = Scope::NewRootScope();
    Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 8});
    layers::Dense dense({.units = 4, .activation = Relu});
    Identity(root.WithOpName("y"), dense(root, x));
    REQUIRE(InitAllVariables(root) != nullptr);
    REQUIRE(root.ok());
    REQUIRE(SaveGraph(*root.graph(), path).ok());
  }
};

bool GpuPresent() {
#ifdef SLUICE_HAVE_CUDA
  return cuda::QueryCudaDevices().ok();
#else
  return false;
#endif
}

void CheckError(const RunResult& result, const std::string& command, int code,
                const std::string& start) {
  INFO(result.err);
  CHECK(result.exit_code == code);
  CHECK(result.out.empty());
  const std::vector<std::string> lines = Lines(result.err);
  REQUIRE(lines.size() == 1);
  CHECK(absl::StartsWith(lines[0], "sluice " + command + ": " + start));
}

TEST_CASE("dump --placement --device cpu puts every node on the CPU") {
  SavedModel model;
  const RunResult r = RunSluice({"dump", model.path, "--placement", "--device", "cpu",
                                 "--batch", "2", "--fetch", "y"});
  INFO(r.err);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> lines = Lines(r.out);
  REQUIRE(lines.size() > 3);
  CHECK(lines[0] == "accelerator: none (--device cpu)");
  CHECK(absl::StartsWith(lines[1], "placement: 0 nodes on cuda:0, "));
  CHECK(absl::EndsWith(lines[1], " on cpu; 0 copies to the device, 0 to the host"));
  for (size_t i = 2; i < lines.size(); ++i) {
    INFO(lines[i]);
    CHECK(absl::StartsWith(lines[i], "cpu     "));
  }
  CHECK(r.out.find("cpu     _feed_0 (Placeholder) = feed 'x'\n") != std::string::npos);
}

TEST_CASE("dump --placement --device cuda shows the GPU placement, with or without a GPU") {
  SavedModel model;
  const RunResult r = RunSluice({"dump", model.path, "--placement", "--device=cuda",
                                 "--batch=2", "--fetch=y"});
#ifdef SLUICE_HAVE_CUDA
  INFO(r.err);
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  const std::vector<std::string> lines = Lines(r.out);
  REQUIRE(lines.size() > 3);
  CHECK(lines[0] == (GpuPresent() ? "accelerator: cuda:0"
                                  : "accelerator: cuda:0 (none present here: the placement a "
                                    "GPU would get)"));
  // The placeholder stays on the host and is copied up once; the fetched
  // result comes back through one copy.
  CHECK(absl::EndsWith(lines[1], "1 copies to the device, 1 to the host"));
  CHECK(r.out.find("cpu     _feed_0 (Placeholder) = feed 'x'\n") != std::string::npos);
  CHECK(r.out.find("cuda:0  _feed_0/_HostToDevice (_HostToDevice) <- _feed_0\n") !=
        std::string::npos);
  CHECK(r.out.find("(_DeviceToHost) <- ") != std::string::npos);
  CHECK(r.out.find("cuda:0  dense/kernel (Variable)\n") != std::string::npos);
  CHECK(r.out.find("cuda:0  dense/Relu/fused (_FusedMatMul)\n") != std::string::npos);
#else
  CheckError(r, "dump", 1, "--device cuda: this build of Sluice has no CUDA layer");
#endif
}

TEST_CASE("The device flag takes auto, cpu or cuda, and cuda without a GPU is one clear error") {
  SavedModel model;
  TempDir dir;
  CheckError(RunSluice({"dump", model.path, "--placement", "--device", "gpu"}), "dump", 2,
             "--device: unknown device 'gpu': expected auto, cpu or cuda");
  CheckError(RunSluice({"run", model.path, "--device", "", "--fetch", "y"}), "run", 2,
             "--device: unknown device '': expected auto, cpu or cuda");
  if (!GpuPresent()) {
    const RunResult r = RunSluice({"run", model.path, "--device", "cuda", "--fetch", "y"});
    CheckError(r, "run", 1, "device 'cuda' was requested, but ");
  }
}

}  // namespace
}  // namespace sluice
