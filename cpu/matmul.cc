// Matrix products: MatMul and BatchMatMul (NumPy-broadcast batch dims).
//
// f32 and bf16 run on the oneDNN matmul primitive, with transposes expressed
// as memory strides (no copies). Products of at most kPlainMacs
// multiply-adds run as plain loops instead: below that the primitive's fixed
// cost (~0.25 us per call on the reference machine) dominates. f64 and the
// integer dtypes always use the plain loops; integer products wrap around on
// overflow (two's complement), as TensorFlow's do in practice.
#include <algorithm>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cpu/cpu_kernels.h"
#include "cpu/gemv.h"
#include "cpu/onednn.h"
#include "cpu/parallel.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"
#include "kernels/matmul_params.h"

namespace sluice::cpu {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

// Measured crossover (f32, 2 cores): 8x8x8 takes 0.19 us as loops vs 0.27 us
// in oneDNN, 16x16x16 0.48 us vs 0.32 us, 1x64x64 0.33 us vs 0.37 us.
constexpr int64_t kPlainMacs = 2048;

// The product's shape (kernels/matmul_params.h) and the element offsets of
// every batch's matrices, which the plain loops read.
struct MatMulPlan : MatMulShape {
  std::vector<int64_t> a_offsets, b_offsets;
};

absl::StatusOr<MatMulPlan> PlanMatMul(const KernelInit& init, bool batched) {
  MatMulPlan p;
  ASSIGN_OR_RETURN(static_cast<MatMulShape&>(p), MatMulShapeOf(init, batched));
  MatMulBatchOffsets(p, &p.a_offsets, &p.b_offsets);
  return p;
}

// Rows [row_begin, row_end) of c[m x n] = op(a) x op(b) for floating T,
// accumulating in T.
template <typename T>
void PlainMatMulFloat(const T* __restrict a, const T* __restrict b, T* __restrict c, int64_t m,
                      int64_t k, int64_t n, bool ta, bool tb, int64_t row_begin, int64_t row_end) {
  // Element (i, kk) of op(a) is a[i * a_row + kk * a_col].
  const int64_t a_row = ta ? 1 : k, a_col = ta ? m : 1;
  if (!tb) {
    for (int64_t i = row_begin; i < row_end; ++i) {
      T* __restrict row = c + i * n;
      std::fill(row, row + n, T(0));
      for (int64_t kk = 0; kk < k; ++kk) {
        const T av = a[i * a_row + kk * a_col];
        const T* __restrict brow = b + kk * n;
        for (int64_t j = 0; j < n; ++j) row[j] += av * brow[j];
      }
    }
    return;
  }
  // op(b)(kk, j) = b[j * k + kk]: dot products over contiguous rows of b.
  for (int64_t i = row_begin; i < row_end; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      const T* __restrict brow = b + j * k;
      T sum = 0;
      for (int64_t kk = 0; kk < k; ++kk) sum += a[i * a_row + kk * a_col] * brow[kk];
      c[i * n + j] = sum;
    }
  }
}

// Integer products: arithmetic in uint64_t wraps instead of overflowing, and
// the low bits match two's complement arithmetic in T.
template <typename T>
void PlainMatMulInt(const T* a, const T* b, T* c, int64_t m, int64_t k, int64_t n, bool ta, bool tb,
                    int64_t row_begin, int64_t row_end) {
  const int64_t a_row = ta ? 1 : k, a_col = ta ? m : 1;
  const int64_t b_row = tb ? 1 : n, b_col = tb ? k : 1;  // op(b)(kk, j) = b[kk*b_row + j*b_col]
  for (int64_t i = row_begin; i < row_end; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      uint64_t sum = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        sum += static_cast<uint64_t>(static_cast<int64_t>(a[i * a_row + kk * a_col])) *
               static_cast<uint64_t>(static_cast<int64_t>(b[kk * b_row + j * b_col]));
      }
      c[i * n + j] = static_cast<T>(sum);
    }
  }
}

class MatMulState final : public KernelState {
 public:
  DnnlPrimitive::Bindings bindings;
};

// The kernel for float, double and integer T; bf16 only ever takes the
// oneDNN path.
template <typename T>
class MatMulKernel final : public OpKernel {
 public:
  static KernelOr Create(const KernelInit& init, bool batched) {
    ASSIGN_OR_RETURN(MatMulPlan plan, PlanMatMul(init, batched));
    auto kernel = std::unique_ptr<MatMulKernel>(new MatMulKernel(std::move(plan)));
    const MatMulPlan& p = kernel->plan_;
    if (std::is_same_v<T, float> && p.batch_count == 1 &&
        UseStreamingGemv(p.m, p.k, p.n, p.transpose_a, p.transpose_b)) {
      kernel->streaming_gemv_ = true;
      return kernel;
    }
    RETURN_IF_ERROR(kernel->BuildPrimitive(init.input_dtype(0)));
    return kernel;
  }

  std::unique_ptr<KernelState> CreateState() const override {
    if (!primitive_.valid()) return nullptr;
    auto state = std::make_unique<MatMulState>();
    state->bindings = primitive_.Bind();
    return state;
  }

  absl::Status Compute(const KernelContext& ctx) override {
    const MatMulPlan& p = plan_;
    T* c = ctx.output(0).template data<T>();
    if (p.empty_output()) return absl::OkStatus();
    if (p.k == 0) {
      std::memset(static_cast<void*>(c), 0, ctx.output(0).num_bytes());
      return absl::OkStatus();
    }
    const T* a = ctx.input(0).template data<T>();
    const T* b = ctx.input(1).template data<T>();
    if constexpr (std::is_same_v<T, float>) {
      if (streaming_gemv_) {
        StreamingGemv(a, b, c, p.m, p.k, p.n);
        return absl::OkStatus();
      }
    }
    if (primitive_.valid()) {
      auto* state = static_cast<MatMulState*>(ctx.state);
      return primitive_.Run(state->bindings, {a, b, c});
    }
    if constexpr (std::is_same_v<T, BFloat16>) {
      return absl::InternalError("bf16 MatMul without a oneDNN primitive");
    } else {
      // Tasks are rows of all the batch's products, so one big product
      // splits across threads too.
      ParallelFor(p.batch_count * p.m, p.n * p.k, [&](int64_t begin, int64_t end) {
        while (begin < end) {
          const int64_t t = begin / p.m, row = begin % p.m;
          const int64_t row_end = std::min(p.m, row + (end - begin));
          const T* at = a + p.a_offsets[t];
          const T* bt = b + p.b_offsets[t];
          T* ct = c + t * p.m * p.n;
          if constexpr (std::is_floating_point_v<T>) {
            PlainMatMulFloat(at, bt, ct, p.m, p.k, p.n, p.transpose_a, p.transpose_b, row, row_end);
          } else {
            PlainMatMulInt(at, bt, ct, p.m, p.k, p.n, p.transpose_a, p.transpose_b, row, row_end);
          }
          begin += row_end - row;
        }
      });
      return absl::OkStatus();
    }
  }

 private:
  explicit MatMulKernel(MatMulPlan plan) : plan_(std::move(plan)) {}

  absl::Status BuildPrimitive(DType dtype) {
    const MatMulPlan& p = plan_;
    if (p.empty_output() || p.k == 0) return absl::OkStatus();  // never reaches oneDNN
    const std::optional<dnnl::memory::data_type> type = DnnlDataType(dtype);
    if (!type.has_value() || (dtype != DType::kF32 && dtype != DType::kBF16)) {
      return absl::OkStatus();
    }
    if (dtype == DType::kF32 && p.macs() <= kPlainMacs) return absl::OkStatus();
    // Logical dims [batch..., rows, cols] with the strides of the stored
    // (possibly transposed) matrices.
    const int nb = static_cast<int>(p.batch.size());
    dnnl::memory::dims a_dims(p.a_batch), b_dims(p.b_batch), c_dims(p.batch);
    a_dims.insert(a_dims.end(), {p.m, p.k});
    b_dims.insert(b_dims.end(), {p.k, p.n});
    c_dims.insert(c_dims.end(), {p.m, p.n});
    dnnl::memory::dims a_strides(nb + 2), b_strides(nb + 2);
    a_strides[nb] = p.transpose_a ? 1 : p.k;
    a_strides[nb + 1] = p.transpose_a ? p.m : 1;
    b_strides[nb] = p.transpose_b ? 1 : p.n;
    b_strides[nb + 1] = p.transpose_b ? p.k : 1;
    int64_t sa = p.m * p.k, sb = p.k * p.n;
    for (int i = nb - 1; i >= 0; --i) {
      a_strides[i] = sa;
      b_strides[i] = sb;
      sa *= p.a_batch[i];
      sb *= p.b_batch[i];
    }
    absl::Status status = CatchDnnl("MatMul", [&] {
      dnnl::matmul::desc desc(StridedDesc(a_dims, *type, a_strides),
                              StridedDesc(b_dims, *type, b_strides), DenseDesc(c_dims, *type));
      dnnl::matmul::primitive_desc pd(desc, UserScratchpad(), CpuEngine());
      auto prim = DnnlPrimitive::Create(pd, {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST});
      if (prim.ok()) primitive_ = *std::move(prim);
    });
    if (!primitive_.valid()) {
      if (dtype == DType::kBF16) {
        return status.ok() ? absl::UnimplementedError("no oneDNN bf16 matmul on this CPU") : status;
      }
      // f32 falls back to the plain loops.
    }
    return absl::OkStatus();
  }

  const MatMulPlan plan_;
  bool streaming_gemv_ = false;
  DnnlPrimitive primitive_;
};

template <bool kBatched>
KernelOr MakeMatMul(const KernelInit& init) {
  switch (init.input_dtype(0)) {
    case DType::kF32:
      return MatMulKernel<float>::Create(init, kBatched);
    case DType::kF64:
      return MatMulKernel<double>::Create(init, kBatched);
    case DType::kBF16:
      return MatMulKernel<BFloat16>::Create(init, kBatched);
    case DType::kI32:
      return MatMulKernel<int32_t>::Create(init, kBatched);
    case DType::kI64:
      return MatMulKernel<int64_t>::Create(init, kBatched);
    default:
      break;
  }
  return absl::UnimplementedError(
      absl::StrCat("no CPU matmul for ", DTypeName(init.input_dtype(0))));
}

}  // namespace

void RegisterMatMulKernels(KernelRegistry& r) {
  const std::vector<DType> types = {DType::kF32, DType::kF64, DType::kBF16, DType::kI32,
                                    DType::kI64};
  r.Register("MatMul", DeviceType::kCpu, types, MakeMatMul<false>);
  r.Register("BatchMatMul", DeviceType::kCpu, types, MakeMatMul<true>);
}

}  // namespace sluice::cpu
