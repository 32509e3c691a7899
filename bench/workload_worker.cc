// The Sluice worker of bench/run.sh: builds side-by-side workloads and times
// them on request, speaking the line protocol of bench/WORKLOADS.md on stdin
// and stdout.
//
//   sluice_workload --system sluice --threads 2 --data bench/results/tmp/data
#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
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

ABSL_FLAG(std::string, system, "sluice", "sluice, or onednn (matmul rows only)");
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

struct Prepared {
  std::unique_ptr<Workload> workload;
  int inner = 1;  // runs per timed sample
};

class Worker {
 public:
  Worker(std::string system, WorkloadConfig config)
      : system_(std::move(system)), config_(std::move(config)) {}

  std::string Handle(const std::vector<std::string>& words) {
    const std::string& command = words[0];
    if (command == "info") {
      const dnnl_version_t* v = dnnl_version();
      return absl::StrCat("{\"ok\": true, \"system\": ", JsonString(system_),
                          ", \"version\": ",
                          JsonString(absl::StrCat(system_ == "sluice" ? "sluice on " : "",
                                                  "oneDNN ", v->major, ".", v->minor, ".",
                                                  v->patch)),
                          "}");
    }
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
  std::string Setup(const std::string& name, const std::string& out_dir) {
    absl::StatusOr<std::unique_ptr<Workload>> made;
    try {
      made = system_ == "onednn" ? MakeOneDnnWorkload(name, config_)
                                 : MakeSluiceWorkload(name, config_);
    } catch (const dnnl::error& e) {
      made = absl::InternalError(absl::StrCat("oneDNN: ", e.what()));
    }
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
    if (std::optional<Tensor> output = prepared.workload->LastOutput()) {
      const std::string path = absl::StrCat(out_dir, "/", name, ".", system_, ".npy");
      if (absl::Status s = WriteNpy(*output, path); !s.ok()) return ErrorAnswer(s);
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

  const std::string system_;
  const WorkloadConfig config_;
  std::map<std::string, Prepared> prepared_;
};

int Main(int argc, char** argv) {
  ApplyOpenMpSpinLimit(argv);
  absl::ParseCommandLine(argc, argv);
  const std::string system = absl::GetFlag(FLAGS_system);
  if (system != "sluice" && system != "onednn") {
    std::cerr << "sluice_workload: --system must be sluice or onednn, got '" << system << "'\n";
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
