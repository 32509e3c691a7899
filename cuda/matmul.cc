// CUDA kernels of the matmul family: MatMul and BatchMatMul on cuBLAS,
// _FusedMatMul on cuBLASLt.
//
// Tensors are row-major and cuBLAS is column-major, so every product is
// computed as its transpose: a row-major [m, n] C is the column-major
// [n, m] C^T = op(B)^T op(A)^T, i.e. cuBLAS's first operand is our B and
// its second our A, each read through its stored layout (a row-major
// [r, c] matrix is a column-major [c, r] one with leading dimension c).
//
// Products compute in f32 (CUBLAS_COMPUTE_32F, never TF32) for f32 and the
// 16-bit floats, and in f64 for f64. Integer products (i32, i64), which
// cuBLAS does not offer, run as a plain kernel of our own that wraps around
// like the CPU's.
// Batch dims broadcast as on the CPU: equal batches and a batch of 1 on one
// side use strided batches (stride 0 for the broadcast side); any other
// broadcast uses pointer arrays, built on the device each run from
// per-batch offsets uploaded when the kernel is made.
#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cuda/cuda_kernel_util.h"
#include "cuda/cuda_kernels.h"
#include "cuda/cuda_status.h"
#include "cuda/matmul_launch.h"
#include "graph/status_macros.h"
#include "kernels/device_context.h"
#include "kernels/epilogue_params.h"
#include "kernels/kernel_registry.h"
#include "kernels/matmul_params.h"

namespace sluice::cuda {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

// The largest workspace cuBLASLt may ask for (NVIDIA's recommendation for
// Hopper).
constexpr uint64_t kMaxLtWorkspaceBytes = uint64_t{32} << 20;

struct GemmTypes {
  cudaDataType data = CUDA_R_32F;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  bool f64_scale = false;  // alpha and beta are doubles (else floats)
};

std::optional<GemmTypes> GemmTypesOf(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return GemmTypes{CUDA_R_32F, CUBLAS_COMPUTE_32F, false};
    case DType::kF64:
      return GemmTypes{CUDA_R_64F, CUBLAS_COMPUTE_64F, true};
    case DType::kF16:
      return GemmTypes{CUDA_R_16F, CUBLAS_COMPUTE_32F, false};
    case DType::kBF16:
      return GemmTypes{CUDA_R_16BF, CUBLAS_COMPUTE_32F, false};
    default:
      return std::nullopt;
  }
}

bool FitsInt(int64_t v) { return v >= 0 && v <= INT_MAX; }

// The cuBLAS arguments of a product, in its column-major view.
struct GemmArgs {
  cublasOperation_t op_first = CUBLAS_OP_N;   // applied to our b
  cublasOperation_t op_second = CUBLAS_OP_N;  // applied to our a
  int m = 0, n = 0, k = 0;                    // cuBLAS's: m = our n, n = our m
  int ld_first = 1, ld_second = 1, ld_out = 1;
};

absl::StatusOr<GemmArgs> MakeGemmArgs(const MatMulShape& p, const Shape& a, const Shape& b) {
  GemmArgs g;
  const int64_t ld_first = p.transpose_b ? p.k : p.n;   // row length of stored b
  const int64_t ld_second = p.transpose_a ? p.m : p.k;  // row length of stored a
  for (int64_t v : {p.m, p.n, p.k, ld_first, ld_second}) {
    if (!FitsInt(v)) {
      return absl::UnimplementedError(absl::StrCat("CUDA matmul of ", a.ToString(), " and ",
                                                   b.ToString(),
                                                   ": a dimension exceeds cuBLAS's int range"));
    }
  }
  g.op_first = p.transpose_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  g.op_second = p.transpose_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  g.m = static_cast<int>(p.n);
  g.n = static_cast<int>(p.m);
  g.k = static_cast<int>(p.k);
  g.ld_first = std::max<int>(1, static_cast<int>(ld_first));
  g.ld_second = std::max<int>(1, static_cast<int>(ld_second));
  g.ld_out = std::max<int>(1, static_cast<int>(p.n));
  return g;
}

// ---------------------------------------------------------------------------
// MatMul and BatchMatMul.

class MatMulKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init, bool batched) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    const DType dtype = init.input_dtype(0);
    const bool integer = dtype == DType::kI32 || dtype == DType::kI64;
    const std::optional<GemmTypes> types = GemmTypesOf(dtype);
    if (!types.has_value() && !integer) {
      return absl::UnimplementedError(absl::StrCat("no CUDA matmul for ", DTypeName(dtype)));
    }
    const Shape& a = init.input_shape(0);
    const Shape& b = init.input_shape(1);
    ASSIGN_OR_RETURN(MatMulShape p, MatMulShapeOf(init, batched));
    // Integer products never reach cuBLAS: their GemmTypes go unused.
    auto kernel =
        std::unique_ptr<MatMulKernel>(new MatMulKernel(context, types.value_or(GemmTypes{}), p));
    kernel->element_bytes_ = static_cast<int64_t>(DTypeSize(dtype));
    if (p.empty_output()) {
      kernel->mode_ = Mode::kNothing;
      return kernel;
    }
    if (p.k == 0) {
      kernel->mode_ = Mode::kZeros;
      return kernel;
    }
    if (integer) {
      kernel->mode_ = Mode::kInteger;
      kernel->int_type_ = dtype == DType::kI32 ? IntMatMulType::kI32 : IntMatMulType::kI64;
      RETURN_IF_ERROR(kernel->UploadOffsets());
      return kernel;
    }
    ASSIGN_OR_RETURN(kernel->gemm_, MakeGemmArgs(p, a, b));
    if (!FitsInt(p.batch_count)) {
      return absl::UnimplementedError(absl::StrCat("CUDA BatchMatMul of ", a.ToString(), " and ",
                                                   b.ToString(), ": ", p.batch_count,
                                                   " products exceed cuBLAS's int range"));
    }
    if (p.batch_count == 1) {
      kernel->mode_ = Mode::kSingle;
    } else if (p.batch.size() == 1) {
      kernel->mode_ = Mode::kStrided;
      kernel->stride_first_ = p.b_batch[0] == 1 ? 0 : p.k * p.n;
      kernel->stride_second_ = p.a_batch[0] == 1 ? 0 : p.m * p.k;
    } else {
      kernel->mode_ = Mode::kPointers;
      RETURN_IF_ERROR(kernel->UploadOffsets());
    }
    return kernel;
  }

  absl::Status Compute(const KernelContext& ctx) override {
    Tensor& out = ctx.output(0);
    switch (mode_) {
      case Mode::kNothing:
        return absl::OkStatus();
      case Mode::kZeros:
        SLUICE_CUDA_RETURN_IF_ERROR(
            cudaMemsetAsync(out.raw_data(), 0, out.num_bytes(), context_->stream()));
        return absl::OkStatus();
      case Mode::kInteger: {
        const auto* a_offsets = static_cast<const int64_t*>(device_arrays_.get());
        SLUICE_CUDA_RETURN_IF_ERROR(LaunchIntMatMul(
            int_type_, ctx.input(0).raw_data(), ctx.input(1).raw_data(), out.raw_data(), a_offsets,
            a_offsets + shape_.batch_count, shape_.batch_count, shape_.m, shape_.k, shape_.n,
            shape_.transpose_a, shape_.transpose_b, context_->stream()));
        return absl::OkStatus();
      }
      default:
        break;
    }
    const void* a = ctx.input(0).raw_data();
    const void* b = ctx.input(1).raw_data();
    void* c = out.raw_data();
    const void* alpha = types_.f64_scale ? static_cast<const void*>(&kOneF64) : &kOneF32;
    const void* beta = types_.f64_scale ? static_cast<const void*>(&kZeroF64) : &kZeroF32;
    cublasHandle_t handle = context_->cublas();
    // alpha and beta are host values; the shared handle may have been left
    // in device pointer mode by another kernel.
    SLUICE_CUBLAS_RETURN_IF_ERROR(cublasSetPointerMode(handle, CUBLAS_POINTER_MODE_HOST));
    const GemmArgs& g = gemm_;
    const cudaDataType t = types_.data;
    switch (mode_) {
      case Mode::kSingle:
        SLUICE_CUBLAS_RETURN_IF_ERROR(cublasGemmEx(
            handle, g.op_first, g.op_second, g.m, g.n, g.k, alpha, b, t, g.ld_first, a, t,
            g.ld_second, beta, c, t, g.ld_out, types_.compute, CUBLAS_GEMM_DEFAULT));
        return absl::OkStatus();
      case Mode::kStrided:
        SLUICE_CUBLAS_RETURN_IF_ERROR(cublasGemmStridedBatchedEx(
            handle, g.op_first, g.op_second, g.m, g.n, g.k, alpha, b, t, g.ld_first, stride_first_,
            a, t, g.ld_second, stride_second_, beta, c, t, g.ld_out,
            static_cast<long long>(shape_.m * shape_.n), static_cast<int>(shape_.batch_count),
            types_.compute, CUBLAS_GEMM_DEFAULT));
        return absl::OkStatus();
      case Mode::kPointers: {
        const int64_t count = shape_.batch_count;
        auto* base = static_cast<char*>(device_arrays_.get());
        const auto* a_offsets = reinterpret_cast<const int64_t*>(base);
        const auto* b_offsets = a_offsets + count;
        auto** a_ptrs = reinterpret_cast<const void**>(base + 2 * count * 8);
        auto** b_ptrs = reinterpret_cast<const void**>(base + 3 * count * 8);
        auto** c_ptrs = reinterpret_cast<void**>(base + 4 * count * 8);
        SLUICE_CUDA_RETURN_IF_ERROR(
            LaunchBatchPointers(a, b, c, a_offsets, b_offsets, shape_.m * shape_.n, count,
                                element_bytes_, a_ptrs, b_ptrs, c_ptrs, context_->stream()));
        SLUICE_CUBLAS_RETURN_IF_ERROR(
            cublasGemmBatchedEx(handle, g.op_first, g.op_second, g.m, g.n, g.k, alpha, b_ptrs, t,
                                g.ld_first, a_ptrs, t, g.ld_second, beta, c_ptrs, t, g.ld_out,
                                static_cast<int>(count), types_.compute, CUBLAS_GEMM_DEFAULT));
        return absl::OkStatus();
      }
      default:
        break;
    }
    return absl::InternalError("unknown CUDA matmul mode");
  }

 private:
  enum class Mode { kNothing, kZeros, kSingle, kStrided, kPointers, kInteger };

  static constexpr float kOneF32 = 1.0f, kZeroF32 = 0.0f;
  static constexpr double kOneF64 = 1.0, kZeroF64 = 0.0;

  MatMulKernel(CudaContext* context, GemmTypes types, MatMulShape shape)
      : context_(context), types_(types), shape_(std::move(shape)) {}

  // Device memory for the pointer-array and integer modes: the a and b
  // offsets of every batch (uploaded here), then the three pointer arrays
  // (written each run by the pointer-array mode). Runs are ordered on the
  // one stream, so one set of arrays serves them all.
  absl::Status UploadOffsets() {
    MatMulBatchOffsets(shape_, &host_a_offsets_, &host_b_offsets_);
    const int64_t count = shape_.batch_count;
    ASSIGN_OR_RETURN(device_arrays_, context_->Allocate(5 * count * 8));
    auto* base = static_cast<char*>(device_arrays_.get());
    RETURN_IF_ERROR(context_->CopyFromHost(host_a_offsets_.data(), base, count * 8));
    RETURN_IF_ERROR(context_->CopyFromHost(host_b_offsets_.data(), base + count * 8, count * 8));
    return absl::OkStatus();
  }

  CudaContext* const context_;
  const GemmTypes types_;
  const MatMulShape shape_;
  Mode mode_ = Mode::kNothing;
  GemmArgs gemm_;
  int64_t element_bytes_ = 0;
  long long stride_first_ = 0, stride_second_ = 0;
  IntMatMulType int_type_ = IntMatMulType::kI32;
  // Kept for the life of the kernel: an upload may still read them.
  std::vector<int64_t> host_a_offsets_, host_b_offsets_;
  std::shared_ptr<void> device_arrays_;
};

// ---------------------------------------------------------------------------
// _FusedMatMul(a, b, bias[, residual]): cuBLASLt with the bias in its
// epilogue and the residual as its C operand (beta = 1). Relu without a
// residual is cuBLASLt's RELU_BIAS epilogue; every other activation (and
// Relu after a residual, so that its place relative to C never matters)
// runs as one elementwise pass afterwards.

struct FusedEpilogue {
  bool add = false;
  EpilogueActivation activation = EpilogueActivation::kNone;
  float alpha = 0;  // LeakyRelu's slope
};

EpilogueActivation EpilogueActivationOf(Activation activation) {
  switch (activation) {
    case Activation::kNone:
      return EpilogueActivation::kNone;
    case Activation::kRelu:
      return EpilogueActivation::kRelu;
    case Activation::kRelu6:
      return EpilogueActivation::kRelu6;
    case Activation::kElu:
      return EpilogueActivation::kElu;
    case Activation::kSigmoid:
      return EpilogueActivation::kSigmoid;
    case Activation::kTanh:
      return EpilogueActivation::kTanh;
    case Activation::kLeakyRelu:
      return EpilogueActivation::kLeakyRelu;
  }
  return EpilogueActivation::kNone;
}

// The epilogue of fused_ops (kernels/epilogue_params.h) for the launch.
absl::StatusOr<FusedEpilogue> FusedEpilogueOf(const KernelInit& init) {
  ASSIGN_OR_RETURN(const Epilogue e, ParseEpilogue(init));
  return FusedEpilogue{e.add, EpilogueActivationOf(e.activation), e.alpha};
}

// The cuBLASLt descriptors of one product, destroyed with it.
struct LtDescriptors {
  cublasLtMatmulDesc_t matmul = nullptr;
  cublasLtMatrixLayout_t first = nullptr;   // our b
  cublasLtMatrixLayout_t second = nullptr;  // our a
  cublasLtMatrixLayout_t out = nullptr;     // C and D
  cublasLtMatmulPreference_t preference = nullptr;

  LtDescriptors() = default;
  LtDescriptors(const LtDescriptors&) = delete;
  LtDescriptors& operator=(const LtDescriptors&) = delete;
  ~LtDescriptors() {
    if (preference != nullptr) cublasLtMatmulPreferenceDestroy(preference);
    if (out != nullptr) cublasLtMatrixLayoutDestroy(out);
    if (second != nullptr) cublasLtMatrixLayoutDestroy(second);
    if (first != nullptr) cublasLtMatrixLayoutDestroy(first);
    if (matmul != nullptr) cublasLtMatmulDescDestroy(matmul);
  }
};

// Buffers at least this aligned (bytes) may take the fast algorithm; any
// others take one chosen for element alignment.
constexpr uint32_t kFastAlignment = 16;
constexpr uint32_t kElementAlignment = 4;

class FusedMatMulKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init) {
    ASSIGN_OR_RETURN(CudaContext * context, CudaContextOf(init));
    ASSIGN_OR_RETURN(const FusedEpilogue e, FusedEpilogueOf(init));
    const Shape& a = init.input_shape(0);
    const Shape& b = init.input_shape(1);
    if (a.rank() != 2 || b.rank() != 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("needs 2-D inputs, got ", a.ToString(), " and ", b.ToString()));
    }
    const bool ta = init.attr("transpose_a").b(), tb = init.attr("transpose_b").b();
    auto kernel = std::unique_ptr<FusedMatMulKernel>(new FusedMatMulKernel(context, e));
    const int64_t m = ta ? a.dim(1) : a.dim(0);
    const int64_t k = ta ? a.dim(0) : a.dim(1);
    const int64_t n = tb ? b.dim(0) : b.dim(1);
    if ((tb ? b.dim(1) : b.dim(0)) != k) {
      return absl::InvalidArgumentError(
          absl::StrCat("inner dimensions differ: ", a.ToString(), " vs ", b.ToString()));
    }
    if (init.output_shape(0) != Shape{m, n}) {
      return absl::InternalError(absl::StrCat("output shape ", init.output_shape(0).ToString(),
                                              " differs from the product's [", m, ",", n, "]"));
    }
    kernel->m_ = m;
    kernel->k_ = k;
    kernel->n_ = n;
    if (m == 0 || n == 0 || k == 0) return kernel;  // no product to compute
    MatMulShape p;
    p.m = m;
    p.k = k;
    p.n = n;
    p.transpose_a = ta;
    p.transpose_b = tb;
    ASSIGN_OR_RETURN(kernel->gemm_, MakeGemmArgs(p, a, b));
    RETURN_IF_ERROR(kernel->PrepareLt());
    return kernel;
  }

  absl::Status Compute(const KernelContext& ctx) override {
    if (m_ == 0 || n_ == 0) return absl::OkStatus();
    const auto* bias = static_cast<const float*>(ctx.input(2).raw_data());
    const auto* residual =
        epilogue_.add ? static_cast<const float*>(ctx.input(3).raw_data()) : nullptr;
    auto* y = static_cast<float*>(ctx.output(0).raw_data());
    const cudaStream_t stream = context_->stream();
    if (k_ == 0) {  // an empty product: the epilogue of zeros
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchEpilogue(epilogue_.activation, epilogue_.alpha, bias,
                                                 residual, false, y, m_, n_, stream));
      return absl::OkStatus();
    }
    const void* a = ctx.input(0).raw_data();
    const void* b = ctx.input(1).raw_data();
    const bool aligned = IsAligned(a) && IsAligned(b) && IsAligned(bias) && IsAligned(y) &&
                         (residual == nullptr || IsAligned(residual));
    const std::optional<cublasLtMatmulHeuristicResult_t>& choice =
        aligned && fast_algo_.has_value() ? fast_algo_ : any_algo_;
    if (!choice.has_value()) {
      // No cuBLASLt algorithm: the plain product, then the whole epilogue.
      // A residual that shares y's buffer is accumulated onto (beta = 1).
      const bool residual_in_y = residual == y;
      const GemmArgs& g = gemm_;
      cublasHandle_t handle = context_->cublas();
      SLUICE_CUBLAS_RETURN_IF_ERROR(cublasSetPointerMode(handle, CUBLAS_POINTER_MODE_HOST));
      SLUICE_CUBLAS_RETURN_IF_ERROR(
          cublasGemmEx(handle, g.op_first, g.op_second, g.m, g.n, g.k, &kOne, b, CUDA_R_32F,
                       g.ld_first, a, CUDA_R_32F, g.ld_second, residual_in_y ? &kOne : &kZero, y,
                       CUDA_R_32F, g.ld_out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchEpilogue(epilogue_.activation, epilogue_.alpha, bias,
                                                 residual_in_y ? nullptr : residual, true, y, m_,
                                                 n_, stream));
      return absl::OkStatus();
    }
    SLUICE_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(
        lt_.matmul, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    const float* c = residual != nullptr ? residual : y;
    const float* beta = residual != nullptr ? &kOne : &kZero;
    SLUICE_CUBLAS_RETURN_IF_ERROR(cublasLtMatmul(
        context_->cublas_lt(), lt_.matmul, &kOne, b, lt_.first, a, lt_.second, beta, c, lt_.out, y,
        lt_.out, &choice->algo, context_->workspace(), choice->workspaceSize, stream));
    if (post_activation_) {
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchEpilogue(epilogue_.activation, epilogue_.alpha, nullptr,
                                                 nullptr, true, y, m_, n_, stream));
    }
    return absl::OkStatus();
  }

 private:
  static constexpr float kOne = 1.0f, kZero = 0.0f;

  FusedMatMulKernel(CudaContext* context, const FusedEpilogue& e)
      : context_(context), epilogue_(e) {}

  static bool IsAligned(const void* p) {
    return reinterpret_cast<uintptr_t>(p) % kFastAlignment == 0;
  }

  // Descriptors, epilogue and the two algorithms (for buffers aligned to
  // kFastAlignment and for any float buffers), chosen once.
  absl::Status PrepareLt() {
    const GemmArgs& g = gemm_;
    const bool relu_in_lt = epilogue_.activation == EpilogueActivation::kRelu && !epilogue_.add;
    post_activation_ = !relu_in_lt && epilogue_.activation != EpilogueActivation::kNone;
    SLUICE_CUBLAS_RETURN_IF_ERROR(
        cublasLtMatmulDescCreate(&lt_.matmul, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t op_first = g.op_first, op_second = g.op_second;
    SLUICE_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(
        lt_.matmul, CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof(op_first)));
    SLUICE_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(
        lt_.matmul, CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof(op_second)));
    const cublasLtEpilogue_t lt_epilogue =
        relu_in_lt ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
    SLUICE_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(
        lt_.matmul, CUBLASLT_MATMUL_DESC_EPILOGUE, &lt_epilogue, sizeof(lt_epilogue)));
    // Layouts of the stored matrices (before their op), column-major.
    const uint64_t first_rows = op_first == CUBLAS_OP_N ? g.m : g.k;
    const uint64_t first_cols = op_first == CUBLAS_OP_N ? g.k : g.m;
    const uint64_t second_rows = op_second == CUBLAS_OP_N ? g.k : g.n;
    const uint64_t second_cols = op_second == CUBLAS_OP_N ? g.n : g.k;
    SLUICE_CUBLAS_RETURN_IF_ERROR(
        cublasLtMatrixLayoutCreate(&lt_.first, CUDA_R_32F, first_rows, first_cols, g.ld_first));
    SLUICE_CUBLAS_RETURN_IF_ERROR(
        cublasLtMatrixLayoutCreate(&lt_.second, CUDA_R_32F, second_rows, second_cols, g.ld_second));
    SLUICE_CUBLAS_RETURN_IF_ERROR(
        cublasLtMatrixLayoutCreate(&lt_.out, CUDA_R_32F, g.m, g.n, g.ld_out));
    SLUICE_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulPreferenceCreate(&lt_.preference));
    const uint64_t max_workspace = kMaxLtWorkspaceBytes;
    SLUICE_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulPreferenceSetAttribute(
        lt_.preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_workspace,
        sizeof(max_workspace)));
    ASSIGN_OR_RETURN(fast_algo_, ChooseAlgo(kFastAlignment));
    ASSIGN_OR_RETURN(any_algo_, ChooseAlgo(kElementAlignment));
    size_t workspace = 0;
    if (fast_algo_.has_value()) workspace = std::max(workspace, fast_algo_->workspaceSize);
    if (any_algo_.has_value()) workspace = std::max(workspace, any_algo_->workspaceSize);
    return context_->ReserveWorkspace(static_cast<int64_t>(workspace));
  }

  // The heuristic's best algorithm for buffers aligned to `alignment`
  // bytes, or none.
  absl::StatusOr<std::optional<cublasLtMatmulHeuristicResult_t>> ChooseAlgo(uint32_t alignment) {
    for (cublasLtMatmulPreferenceAttributes_t attr :
         {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
          CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES}) {
      SLUICE_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulPreferenceSetAttribute(
          lt_.preference, attr, &alignment, sizeof(alignment)));
    }
    // The heuristic reads the bias pointer's value (never its memory) for
    // its alignment: a stand-in with exactly `alignment` stands for any
    // bias buffer at least that aligned.
    const void* bias_hint = reinterpret_cast<const void*>(uintptr_t{alignment});
    SLUICE_CUBLAS_RETURN_IF_ERROR(cublasLtMatmulDescSetAttribute(
        lt_.matmul, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias_hint, sizeof(bias_hint)));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    const cublasStatus_t status =
        cublasLtMatmulAlgoGetHeuristic(context_->cublas_lt(), lt_.matmul, lt_.first, lt_.second,
                                       lt_.out, lt_.out, lt_.preference, 1, &result, &found);
    if (status == CUBLAS_STATUS_NOT_SUPPORTED || found == 0) {
      return std::optional<cublasLtMatmulHeuristicResult_t>();
    }
    SLUICE_CUBLAS_RETURN_IF_ERROR(status);
    return std::optional<cublasLtMatmulHeuristicResult_t>(result);
  }

  CudaContext* const context_;
  const FusedEpilogue epilogue_;
  int64_t m_ = 0, k_ = 0, n_ = 0;
  GemmArgs gemm_;
  bool post_activation_ = false;
  LtDescriptors lt_;
  std::optional<cublasLtMatmulHeuristicResult_t> fast_algo_, any_algo_;
};

}  // namespace

void RegisterMatMulKernels(KernelRegistry& registry) {
  const std::vector<DType> types = {DType::kF32,  DType::kF64, DType::kF16,
                                    DType::kBF16, DType::kI32, DType::kI64};
  registry.Register("MatMul", DeviceType::kCuda, types,
                    [](const KernelInit& init) { return MatMulKernel::Create(init, false); });
  registry.Register("BatchMatMul", DeviceType::kCuda, types,
                    [](const KernelInit& init) { return MatMulKernel::Create(init, true); });
  registry.Register("_FusedMatMul", DeviceType::kCuda, {DType::kF32}, FusedMatMulKernel::Create);
}

}  // namespace sluice::cuda
