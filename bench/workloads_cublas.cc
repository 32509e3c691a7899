// cuBLAS SGEMM called directly on the matmul rows' data: the ceiling Sluice's
// MatMul on the GPU is measured against (same library, no graph). Operands
// and product stay in device memory, as in Sluice's GPU matmul rows; a run
// waits for the stream, so its time is the product's.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <memory>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "bench/workload.h"
#include "cuda/cuda_context.h"
#include "cuda/cuda_status.h"
#include "cuda/device_query.h"
#include "graph/status_macros.h"
#include "runtime/npy.h"

namespace sluice::bench {
namespace {

class CublasMatMul final : public Workload {
 public:
  static absl::StatusOr<std::unique_ptr<Workload>> Create(const WorkloadConfig& config, int64_t n) {
    ASSIGN_OR_RETURN(Tensor a, ReadNpy(absl::StrCat(config.data_dir, "/mm_a", n, ".npy")));
    ASSIGN_OR_RETURN(Tensor b, ReadNpy(absl::StrCat(config.data_dir, "/mm_b", n, ".npy")));
    ASSIGN_OR_RETURN(std::unique_ptr<cuda::CudaContext> context, cuda::CudaContext::Create(0));
    // Plain f32 arithmetic, as Sluice's MatMul (never TF32).
    SLUICE_CUBLAS_RETURN_IF_ERROR(cublasSetMathMode(context->cublas(), CUBLAS_DEFAULT_MATH));
    const int64_t bytes = n * n * static_cast<int64_t>(sizeof(float));
    auto matmul = std::unique_ptr<CublasMatMul>(new CublasMatMul(std::move(context), n));
    ASSIGN_OR_RETURN(matmul->a_, matmul->context_->Allocate(bytes));
    ASSIGN_OR_RETURN(matmul->b_, matmul->context_->Allocate(bytes));
    ASSIGN_OR_RETURN(matmul->c_, matmul->context_->Allocate(bytes));
    RETURN_IF_ERROR(matmul->context_->CopyFromHost(a.raw_data(), matmul->a_.get(), bytes));
    RETURN_IF_ERROR(matmul->context_->CopyFromHost(b.raw_data(), matmul->b_.get(), bytes));
    RETURN_IF_ERROR(matmul->context_->Synchronize());
    return std::unique_ptr<Workload>(std::move(matmul));
  }

  absl::Status Run() override {
    // Row-major C = A B is column-major C^T = B^T A^T: cuBLAS's first operand
    // is B and its second A, each read in its stored layout.
    const float one = 1.0f, zero = 0.0f;
    const int n = static_cast<int>(n_);
    SLUICE_CUBLAS_RETURN_IF_ERROR(cublasSgemm(context_->cublas(), CUBLAS_OP_N, CUBLAS_OP_N, n, n, n,
                                              &one, static_cast<const float*>(b_.get()), n,
                                              static_cast<const float*>(a_.get()), n, &zero,
                                              static_cast<float*>(c_.get()), n));
    // The clock stops when the product exists, not when it was queued.
    SLUICE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(context_->stream()));
    return absl::OkStatus();
  }

  absl::StatusOr<std::optional<Tensor>> LastOutput() override {
    Tensor c(DType::kF32, Shape{n_, n_});
    RETURN_IF_ERROR(context_->CopyToHost(c_.get(), c.raw_data(),
                                         n_ * n_ * static_cast<int64_t>(sizeof(float))));
    RETURN_IF_ERROR(context_->Synchronize());
    return c;
  }

 private:
  CublasMatMul(std::unique_ptr<cuda::CudaContext> context, int64_t n)
      : context_(std::move(context)), n_(n) {}

  std::unique_ptr<cuda::CudaContext> context_;
  int64_t n_;
  // Declared after the context: device memory is freed before it closes.
  std::shared_ptr<void> a_, b_, c_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Workload>> MakeCublasWorkload(const std::string& name,
                                                             const WorkloadConfig& config) {
  if (const int64_t n = MatMulSize(name); n > 0) return CublasMatMul::Create(config, n);
  return absl::UnimplementedError("cuBLAS called directly: matmul rows only");
}

std::string CublasVersion() {
  return absl::StrCat("cuBLAS ", CUBLAS_VER_MAJOR, ".", CUBLAS_VER_MINOR, ".", CUBLAS_VER_PATCH,
                      " on CUDA ", cuda::CudaRuntimeVersion());
}

}  // namespace sluice::bench
