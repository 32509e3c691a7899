// oneDNN's matmul primitive called directly on the matmul rows' data: the
// ceiling Sluice's MatMul is measured against (same library, no graph).
#include <oneapi/dnnl/dnnl.hpp>

#include "absl/strings/str_cat.h"
#include "bench/workload.h"
#include "cpu/cpu_threads.h"
#include "graph/status_macros.h"
#include "runtime/npy.h"

namespace sluice::bench {
namespace {

class OneDnnMatMul final : public Workload {
 public:
  static absl::StatusOr<std::unique_ptr<Workload>> Create(const WorkloadConfig& config,
                                                          int64_t n) {
    ASSIGN_OR_RETURN(Tensor a, ReadNpy(absl::StrCat(config.data_dir, "/mm_a", n, ".npy")));
    ASSIGN_OR_RETURN(Tensor b, ReadNpy(absl::StrCat(config.data_dir, "/mm_b", n, ".npy")));
    cpu::UseThreadsInThisThread(config.threads);
    return std::unique_ptr<Workload>(new OneDnnMatMul(std::move(a), std::move(b), n));
  }

  absl::Status Run() override {
    // A fresh result per run, as a graph's fetched output is.
    Tensor c(DType::kF32, Shape{n_, n_});
    dnnl::memory mc(desc_, engine_, c.raw_data());
    primitive_.execute(stream_, {{DNNL_ARG_SRC, ma_}, {DNNL_ARG_WEIGHTS, mb_}, {DNNL_ARG_DST, mc}});
    stream_.wait();
    return absl::OkStatus();
  }

 private:
  OneDnnMatMul(Tensor a, Tensor b, int64_t n)
      : a_(std::move(a)),
        b_(std::move(b)),
        n_(n),
        engine_(dnnl::engine::kind::cpu, 0),
        stream_(engine_),
        desc_({n, n}, dnnl::memory::data_type::f32, dnnl::memory::format_tag::ab),
        primitive_(dnnl::matmul::primitive_desc(dnnl::matmul::desc(desc_, desc_, desc_), engine_)),
        ma_(desc_, engine_, a_.raw_data()),
        mb_(desc_, engine_, b_.raw_data()) {}

  Tensor a_, b_;
  int64_t n_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::memory::desc desc_;
  dnnl::matmul primitive_;
  dnnl::memory ma_, mb_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Workload>> MakeOneDnnWorkload(const std::string& name,
                                                             const WorkloadConfig& config) {
  if (const int64_t n = MatMulSize(name); n > 0) return OneDnnMatMul::Create(config, n);
  return absl::UnimplementedError("oneDNN called directly: matmul rows only");
}

}  // namespace sluice::bench
