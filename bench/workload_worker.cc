// The Sluice worker of bench/run.sh: builds side-by-side workloads and times
// them on request, speaking the line protocol of bench/WORKLOADS.md on stdin
// and stdout. Systems: sluice and onednn on the CPU, sluice_cuda and cublas
// on the GPU; `info` says which of them can run here.
//
//   sluice_workload --system sluice --threads 2 --data bench/results/tmp/data
#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/workload.h"
#include "graph/status_macros.h"
#include "runtime/npy.h"
#include "runtime/openmp_env.h"
#include "runtime/session.h"

#ifdef SLUICE_HAVE_CUDA
#include "cuda/device_query.h"
#endif

ABSL_FLAG(std::string, system, "sluice",
          "sluice, onednn (matmul rows only), sluice_cuda (Sluice on the GPU) or cublas "
          "(matmul rows only, on the GPU)");
ABSL_FLAG(int, threads, 0, "operator threads; 0: every core");
ABSL_FLAG(std::string, data, "", "directory of make_data.py's files");

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(&out, "\\u00", absl::Hex(c, absl::kZeroPad2));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string ErrorAnswer(const absl::Status& status) {
  return absl::StrCat("{\"ok\": false, \"error\": ", JsonString(status.ToString()), "}");
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A system this worker speaks, and whether it can run on this machine.
struct SystemInfo {
  std::string name;
  std::string device;  // "cpu" or "cuda"
  absl::Status available;
  std::string version;
  std::string gpu;  // the GPU's name, for an available GPU system
};

std::string OneDnnVersion() {
  const dnnl_version_t* v = dnnl_version();
  return absl::StrCat("oneDNN ", v->major, ".", v->minor, ".", v->patch);
}

// The GPU's name, or why there is none to use.
absl::StatusOr<std::string> GpuName() {
#ifdef SLUICE_HAVE_CUDA
  ASSIGN_OR_RETURN(std::vector<cuda::CudaDeviceInfo> devices, cuda::QueryCudaDevices());
  return devices[0].name;
#else
  return absl::UnavailableError("this build has no CUDA layer (no CUDA toolkit and cuDNN found)");
#endif
}

// Every system, in the order `info` lists them.
std::vector<SystemInfo> KnownSystems() {
  std::vector<SystemInfo> systems = {
      {"sluice", "cpu", absl::OkStatus(), absl::StrCat("sluice on ", OneDnnVersion()), ""},
      {"onednn", "cpu", absl::OkStatus(), OneDnnVersion(), ""},
  };
  const absl::StatusOr<std::string> gpu = GpuName();
  const std::string gpu_name = gpu.ok() ? *gpu : "";
#ifdef SLUICE_HAVE_CUDA
  const std::string sluice_cuda_version =
      absl::StrCat("sluice on CUDA ", cuda::CudaRuntimeVersion(), ", ", OneDnnVersion());
  const std::string cublas_version = CublasVersion();
#else
  const std::string sluice_cuda_version = "sluice without its CUDA layer";
  const std::string cublas_version = "not built";
#endif
  systems.push_back({"sluice_cuda", "cuda", gpu.status(), sluice_cuda_version, gpu_name});
  systems.push_back({"cublas", "cuda", gpu.status(), cublas_version, gpu_name});
  return systems;
}

// {"device": ..., "available": ..., ["reason": ...]} fields, without braces.
std::string AvailabilityFields(const SystemInfo& info) {
  std::string out = absl::StrCat("\"device\": ", JsonString(info.device),
                                 ", \"available\": ", info.available.ok() ? "true" : "false");
  if (!info.available.ok()) {
    absl::StrAppend(&out, ", \"reason\": ", JsonString(info.available.message()));
  }
  return out;
}

struct Prepared {
  std::unique_ptr<Workload> workload;
  int inner = 1;  // runs per timed sample
};

class Worker {
 public:
  // `system` is one of KnownSystems().
  Worker(const std::string& system, WorkloadConfig config)
      : systems_(KnownSystems()), config_(std::move(config)) {
    for (const SystemInfo& info : systems_) {
      if (info.name == system) self_ = info;
    }
    if (self_.device == "cuda") config_.device = DevicePolicy::kCuda;
  }

  std::string Handle(const std::vector<std::string>& words) {
    const std::string& command = words[0];
    if (command == "info") return Info();
    if (command == "setup" && words.size() == 3) return Setup(words[1], words[2]);
    int reps = 0;
    if (command == "time" && words.size() == 3 && absl::SimpleAtoi(words[2], &reps) && reps > 0) {
      return Time(words[1], reps);
    }
    return ErrorAnswer(absl::InvalidArgumentError(absl::StrCat(
        "unknown command '", absl::StrJoin(words, " "),
        "' (expected info, setup WORKLOAD OUTDIR, time WORKLOAD REPS or quit)")));
  }

 private:
  // This system's name, version and availability, then every system's.
  std::string Info() const {
    std::vector<std::string> all;
    for (const SystemInfo& info : systems_) {
      all.push_back(absl::StrCat(JsonString(info.name), ": {", AvailabilityFields(info), "}"));
    }
    return absl::StrCat("{\"ok\": true, \"system\": ", JsonString(self_.name),
                        ", \"version\": ", JsonString(self_.version), ", ",
                        AvailabilityFields(self_),
                        self_.gpu.empty() ? "" : absl::StrCat(", \"gpu\": ", JsonString(self_.gpu)),
                        ", \"systems\": {", absl::StrJoin(all, ", "), "}}");
  }

  absl::StatusOr<std::unique_ptr<Workload>> Make(const std::string& name) {
    if (!self_.available.ok()) {
      return absl::UnavailableError(
          absl::StrCat(self_.name, " cannot run here: ", self_.available.message()));
    }
    try {
      if (self_.name == "onednn") return MakeOneDnnWorkload(name, config_);
#ifdef SLUICE_HAVE_CUDA
      if (self_.name == "cublas") return MakeCublasWorkload(name, config_);
#endif
      return MakeSluiceWorkload(name, config_);
    } catch (const dnnl::error& e) {
      return absl::InternalError(absl::StrCat("oneDNN: ", e.what()));
    }
  }

  std::string Setup(const std::string& name, const std::string& out_dir) {
    absl::StatusOr<std::unique_ptr<Workload>> made = Make(name);
    if (absl::IsUnimplemented(made.status())) {
      return absl::StrCat("{\"ok\": true, \"skip\": ", JsonString(made.status().message()), "}");
    }
    if (!made.ok()) return ErrorAnswer(made.status());
    Prepared prepared{*std::move(made)};
    // Warm up: at least 3 runs and 0.2 s; the later runs estimate one run.
    const Clock::time_point start = Clock::now();
    int runs = 0;
    double last = 0;
    while (runs < 3 || SecondsSince(start) < 0.2) {
      const Clock::time_point run_start = Clock::now();
      if (absl::Status s = prepared.workload->Run(); !s.ok()) return ErrorAnswer(s);
      last = SecondsSince(run_start);
      ++runs;
    }
    prepared.inner = std::max(1, static_cast<int>(std::ceil(0.020 / std::max(last, 1e-9))));
    absl::StatusOr<std::optional<Tensor>> output = prepared.workload->LastOutput();
    if (!output.ok()) return ErrorAnswer(output.status());
    if (output->has_value()) {
      const std::string path = absl::StrCat(out_dir, "/", name, ".", self_.name, ".npy");
      if (absl::Status s = WriteNpy(**output, path); !s.ok()) return ErrorAnswer(s);
    }
    const int inner = prepared.inner;
    prepared_[name] = std::move(prepared);
    return absl::StrCat("{\"ok\": true, \"inner\": ", inner, "}");
  }

  std::string Time(const std::string& name, int reps) {
    auto it = prepared_.find(name);
    if (it == prepared_.end()) {
      return ErrorAnswer(absl::FailedPreconditionError(
          absl::StrCat("workload '", name, "' was not set up")));
    }
    Prepared& p = it->second;
    std::vector<std::string> times;
    for (int r = 0; r < reps; ++r) {
      const Clock::time_point start = Clock::now();
      for (int i = 0; i < p.inner; ++i) {
        if (absl::Status s = p.workload->Run(); !s.ok()) return ErrorAnswer(s);
      }
      times.push_back(absl::StrCat(SecondsSince(start) * 1e3 / p.inner));
    }
    return absl::StrCat("{\"ok\": true, \"times_ms\": [", absl::StrJoin(times, ", "), "]}");
  }

  const std::vector<SystemInfo> systems_;
  SystemInfo self_;
  WorkloadConfig config_;
  std::map<std::string, Prepared> prepared_;
};

int Main(int argc, char** argv) {
  ApplyOpenMpSpinLimit(argv);
  absl::ParseCommandLine(argc, argv);
  const std::string system = absl::GetFlag(FLAGS_system);
  if (system != "sluice" && system != "onednn" && system != "sluice_cuda" && system != "cublas") {
    std::cerr << "sluice_workload: --system must be sluice, onednn, sluice_cuda or cublas, got '"
              << system << "'\n";
    return 2;
  }
  if (absl::GetFlag(FLAGS_data).empty()) {
    std::cerr << "sluice_workload: --data DIR (make_data.py's output) is required\n";
    return 2;
  }
  Worker worker(system, {absl::GetFlag(FLAGS_data), absl::GetFlag(FLAGS_threads)});
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> words = absl::StrSplit(line, ' ', absl::SkipWhitespace());
    if (words.empty()) continue;
    if (words[0] == "quit") break;
    std::cout << worker.Handle(words) << std::endl;
  }
  return 0;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) { return sluice::bench::Main(argc, argv); }
