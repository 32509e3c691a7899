// Kernels of the optimizer apply ops. Each updates a variable and its slots
// in place, in one pass over the elements: the variable store's buffers are
// read and written once per step, with no temporaries in the arena.
//
// The ops that divide by a square root work in blocks that stay in L1: one
// vectorised loop updates the slots and gathers the radicands, the square
// roots of the block are taken with the vector instruction, and a second
// vectorised loop updates the variable. A plain std::sqrt in the loop would
// keep GCC from vectorising it at all, because it may set errno.
#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <mutex>
#include <vector>

#if defined(__AVX512F__) || defined(__AVX__)
#include <immintrin.h>
#endif

#include "absl/strings/str_cat.h"
#include "cpu/cpu_kernels.h"
#include "cpu/parallel.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"
#include "kernels/training_checks.h"
#include "kernels/variable_store.h"

namespace sluice::cpu {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

const std::vector<DType> kFloat = {DType::kF32, DType::kF64};

// Elements per block of the square-root ops: two blocks of f64 temporaries
// are 4 KiB, well inside L1 next to the streamed variable and slots.
constexpr int64_t kBlock = 256;
// Work items per element for ParallelFor: a few multiply-adds, or a square
// root and a division, per element.
constexpr int64_t kPlainCost = 2;
constexpr int64_t kSqrtCost = 8;

// x[i] = sqrt(x[i]) for i < n.
template <typename T>
void SqrtInPlace(T* x, int64_t n) {
  int64_t i = 0;
  if constexpr (std::is_same_v<T, float>) {
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, _mm512_sqrt_ps(_mm512_loadu_ps(x + i)));
#elif defined(__AVX__)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
#endif
  } else {
#if defined(__AVX512F__)
    for (; i + 8 <= n; i += 8) _mm512_storeu_pd(x + i, _mm512_sqrt_pd(_mm512_loadu_pd(x + i)));
#elif defined(__AVX__)
    for (; i + 4 <= n; i += 4) _mm256_storeu_pd(x + i, _mm256_sqrt_pd(_mm256_loadu_pd(x + i)));
#endif
  }
  for (; i < n; ++i) x[i] = std::sqrt(x[i]);
}

// Calls fn(begin, length) over blocks of at most kBlock elements covering
// [0, n), split across threads when the tensor is large.
template <typename Fn>
void ForEachBlock(int64_t n, Fn&& fn) {
  ParallelFor(n, kSqrtCost, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; b += kBlock) fn(b, std::min(kBlock, end - b));
  });
}

template <typename T>
T ScalarInput(const KernelContext& ctx, int i) {
  return ctx.input(i).data<T>()[0];
}

// What every apply kernel shares: the slots of its variable (ref input 0) and
// optimizer slots (ref inputs 1..), the checks before an update, the locking,
// and yielding the variable's new value.
template <typename T>
class ApplyKernel : public OpKernel {
 public:
  static constexpr int kMaxRefs = 3;

  // `refs` are the slots of inputs 0 .. refs.size()-1; `grad_input` is the
  // gradient's input index.
  ApplyKernel(std::vector<VariableSlot*> refs, int grad_input, bool use_locking)
      : refs_(std::move(refs)),
        mutexes_(SortedUpdateMutexes(refs_)),
        grad_input_(grad_input),
        use_locking_(use_locking) {}

  absl::Status Compute(const KernelContext& ctx) final {
    UpdateLocks locks(mutexes_, use_locking_);
    const Tensor& grad = ctx.input(grad_input_);
    std::array<T*, kMaxRefs> data{};
    for (size_t k = 0; k < refs_.size(); ++k) {
      ASSIGN_OR_RETURN(void* buffer, UpdateBuffer(*refs_[k], grad.shape()));
      data[k] = static_cast<T*>(buffer);
    }
    Update(ctx, data.data(), grad.data<T>(), grad.num_elements());
    ctx.output(0) = refs_[0]->value();
    return absl::OkStatus();
  }
  std::vector<int> ForwardedOutputs() const override { return {0}; }

 protected:
  // Updates the n elements of the variable and slots `refs` (in input order)
  // from `grad` and the scalar inputs of `ctx`.
  virtual void Update(const KernelContext& ctx, T* const* refs, const T* grad, int64_t n) = 0;

 private:
  const std::vector<VariableSlot*> refs_;
  const std::vector<std::mutex*> mutexes_;
  const int grad_input_;
  const bool use_locking_;
};

// ---------------------------------------------------------------------------
// ApplyGradientDescent(var, alpha, delta): var -= alpha * delta.

template <typename T>
void GradientDescentRun(T* __restrict var, const T* __restrict delta, int64_t n, T alpha) {
  for (int64_t i = 0; i < n; ++i) var[i] -= alpha * delta[i];
}

template <typename T>
class ApplyGradientDescentKernel final : public ApplyKernel<T> {
 public:
  using ApplyKernel<T>::ApplyKernel;

 protected:
  void Update(const KernelContext& ctx, T* const* refs, const T* grad, int64_t n) override {
    const T alpha = ScalarInput<T>(ctx, 1);
    ParallelFor(n, kPlainCost, [&](int64_t begin, int64_t end) {
      GradientDescentRun(refs[0] + begin, grad + begin, end - begin, alpha);
    });
  }
};

// ---------------------------------------------------------------------------
// ApplyMomentum(var, accum, lr, grad, momentum):
//   accum = accum * momentum + grad
//   var -= lr * accum                              (plain)
//   var -= lr * grad + lr * momentum * accum       (Nesterov, with the new accum)

template <bool kNesterov, typename T>
void MomentumRun(T* __restrict var, T* __restrict accum, const T* __restrict grad, int64_t n, T lr,
                 T momentum) {
  for (int64_t i = 0; i < n; ++i) {
    const T a = accum[i] * momentum + grad[i];
    accum[i] = a;
    if constexpr (kNesterov) {
      var[i] -= grad[i] * lr + a * momentum * lr;
    } else {
      var[i] -= lr * a;
    }
  }
}

template <typename T>
class ApplyMomentumKernel final : public ApplyKernel<T> {
 public:
  ApplyMomentumKernel(std::vector<VariableSlot*> refs, bool use_locking, bool nesterov)
      : ApplyKernel<T>(std::move(refs), 3, use_locking), nesterov_(nesterov) {}

 protected:
  void Update(const KernelContext& ctx, T* const* refs, const T* grad, int64_t n) override {
    const T lr = ScalarInput<T>(ctx, 2);
    const T momentum = ScalarInput<T>(ctx, 4);
    ParallelFor(n, kPlainCost, [&](int64_t begin, int64_t end) {
      if (nesterov_) {
        MomentumRun<true>(refs[0] + begin, refs[1] + begin, grad + begin, end - begin, lr,
                          momentum);
      } else {
        MomentumRun<false>(refs[0] + begin, refs[1] + begin, grad + begin, end - begin, lr,
                           momentum);
      }
    });
  }

 private:
  const bool nesterov_;
};

// ---------------------------------------------------------------------------
// ApplyAdam(var, m, v, beta1_power, beta2_power, lr, beta1, beta2, epsilon, grad):
//   lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   var -= lr_t * m / (sqrt(v) + epsilon)
// Nesterov replaces the numerator m by m * beta1 + (1 - beta1) * g (new m).

template <typename T>
struct AdamParams {
  T lr_t, beta1, beta2, epsilon;
};

// Updates m and v of one block and leaves v in `root` for the square root.
template <typename T>
void AdamSlots(T* __restrict m, T* __restrict v, const T* __restrict grad, T* __restrict root,
               int64_t n, const AdamParams<T>& p) {
  const T one_minus_beta1 = T(1) - p.beta1;
  const T one_minus_beta2 = T(1) - p.beta2;
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];
    m[i] = p.beta1 * m[i] + one_minus_beta1 * g;
    const T vi = p.beta2 * v[i] + one_minus_beta2 * g * g;
    v[i] = vi;
    root[i] = vi;
  }
}

template <bool kNesterov, typename T>
void AdamVar(T* __restrict var, const T* __restrict m, const T* __restrict grad,
             const T* __restrict root, int64_t n, const AdamParams<T>& p) {
  const T one_minus_beta1 = T(1) - p.beta1;
  for (int64_t i = 0; i < n; ++i) {
    const T numerator = kNesterov ? m[i] * p.beta1 + one_minus_beta1 * grad[i] : m[i];
    var[i] -= p.lr_t * numerator / (root[i] + p.epsilon);
  }
}

template <typename T>
class ApplyAdamKernel final : public ApplyKernel<T> {
 public:
  ApplyAdamKernel(std::vector<VariableSlot*> refs, bool use_locking, bool nesterov)
      : ApplyKernel<T>(std::move(refs), 9, use_locking), nesterov_(nesterov) {}

 protected:
  void Update(const KernelContext& ctx, T* const* refs, const T* grad, int64_t n) override {
    const T beta1_power = ScalarInput<T>(ctx, 3);
    const T beta2_power = ScalarInput<T>(ctx, 4);
    const T lr = ScalarInput<T>(ctx, 5);
    const AdamParams<T> p{lr * std::sqrt(T(1) - beta2_power) / (T(1) - beta1_power),
                          ScalarInput<T>(ctx, 6), ScalarInput<T>(ctx, 7), ScalarInput<T>(ctx, 8)};
    T* const var = refs[0];
    T* const m = refs[1];
    T* const v = refs[2];
    ForEachBlock(n, [&](int64_t b, int64_t len) {
      alignas(64) T root[kBlock];
      AdamSlots(m + b, v + b, grad + b, root, len, p);
      SqrtInPlace(root, len);
      if (nesterov_) {
        AdamVar<true>(var + b, m + b, grad + b, root, len, p);
      } else {
        AdamVar<false>(var + b, m + b, grad + b, root, len, p);
      }
    });
  }

 private:
  const bool nesterov_;
};

// ---------------------------------------------------------------------------
// ApplyRMSProp(var, ms, mom, lr, rho, momentum, epsilon, grad):
//   ms = rho * ms + (1 - rho) * g^2
//   mom = momentum * mom + lr * g / sqrt(ms + epsilon)
//   var -= mom

template <typename T>
void RmsPropSlots(T* __restrict ms, const T* __restrict grad, T* __restrict root, int64_t n, T rho,
                  T epsilon) {
  const T one_minus_rho = T(1) - rho;
  for (int64_t i = 0; i < n; ++i) {
    const T g = grad[i];
    const T s = rho * ms[i] + one_minus_rho * g * g;
    ms[i] = s;
    root[i] = s + epsilon;
  }
}

template <typename T>
void RmsPropVar(T* __restrict var, T* __restrict mom, const T* __restrict grad,
                const T* __restrict root, int64_t n, T lr, T momentum) {
  for (int64_t i = 0; i < n; ++i) {
    const T step = momentum * mom[i] + lr * grad[i] / root[i];
    mom[i] = step;
    var[i] -= step;
  }
}

template <typename T>
class ApplyRMSPropKernel final : public ApplyKernel<T> {
 public:
  ApplyRMSPropKernel(std::vector<VariableSlot*> refs, bool use_locking)
      : ApplyKernel<T>(std::move(refs), 7, use_locking) {}

 protected:
  void Update(const KernelContext& ctx, T* const* refs, const T* grad, int64_t n) override {
    const T lr = ScalarInput<T>(ctx, 3);
    const T rho = ScalarInput<T>(ctx, 4);
    const T momentum = ScalarInput<T>(ctx, 5);
    const T epsilon = ScalarInput<T>(ctx, 6);
    T* const var = refs[0];
    T* const ms = refs[1];
    T* const mom = refs[2];
    ForEachBlock(n, [&](int64_t b, int64_t len) {
      alignas(64) T root[kBlock];
      RmsPropSlots(ms + b, grad + b, root, len, rho, epsilon);
      SqrtInPlace(root, len);
      RmsPropVar(var + b, mom + b, grad + b, root, len, lr, momentum);
    });
  }
};

// ---------------------------------------------------------------------------
// ApplyAdagrad(var, accum, lr, grad):
//   accum += g^2                 (only with update_slots)
//   var -= lr * g / sqrt(accum)

template <typename T>
void AdagradSlots(T* __restrict accum, const T* __restrict grad, T* __restrict root, int64_t n,
                  bool update_slots) {
  if (update_slots) {
    for (int64_t i = 0; i < n; ++i) {
      const T a = accum[i] + grad[i] * grad[i];
      accum[i] = a;
      root[i] = a;
    }
  } else {
    for (int64_t i = 0; i < n; ++i) root[i] = accum[i];
  }
}

template <typename T>
void AdagradVar(T* __restrict var, const T* __restrict grad, const T* __restrict root, int64_t n,
                T lr) {
  for (int64_t i = 0; i < n; ++i) var[i] -= lr * grad[i] / root[i];
}

template <typename T>
class ApplyAdagradKernel final : public ApplyKernel<T> {
 public:
  ApplyAdagradKernel(std::vector<VariableSlot*> refs, bool use_locking, bool update_slots)
      : ApplyKernel<T>(std::move(refs), 3, use_locking), update_slots_(update_slots) {}

 protected:
  void Update(const KernelContext& ctx, T* const* refs, const T* grad, int64_t n) override {
    const T lr = ScalarInput<T>(ctx, 2);
    T* const var = refs[0];
    T* const accum = refs[1];
    ForEachBlock(n, [&](int64_t b, int64_t len) {
      alignas(64) T root[kBlock];
      AdagradSlots(accum + b, grad + b, root, len, update_slots_);
      SqrtInPlace(root, len);
      AdagradVar(var + b, grad + b, root, len, lr);
    });
  }

 private:
  const bool update_slots_;
};

// ---------------------------------------------------------------------------
// Factories.

// Calls make.template operator()<T>() for the kernel's dtype.
template <typename Make>
KernelOr DispatchFloat(const KernelInit& init, Make&& make) {
  switch (init.attr("T").dtype()) {
    case DType::kF32:
      return make.template operator()<float>();
    case DType::kF64:
      return make.template operator()<double>();
    default:
      break;
  }
  return absl::UnimplementedError(
      absl::StrCat("no apply kernel for ", DTypeName(init.attr("T").dtype())));
}

KernelOr MakeGradientDescent(const KernelInit& init) {
  ASSIGN_OR_RETURN(std::vector<VariableSlot*> refs,
                   ApplyVariableSlots(init, 1, /*device=*/nullptr));
  const bool locking = init.attr("use_locking").b();
  return DispatchFloat(init, [&]<typename T>() -> KernelOr {
    return std::make_unique<ApplyGradientDescentKernel<T>>(refs, 2, locking);
  });
}

KernelOr MakeMomentum(const KernelInit& init) {
  ASSIGN_OR_RETURN(std::vector<VariableSlot*> refs,
                   ApplyVariableSlots(init, 2, /*device=*/nullptr));
  const bool locking = init.attr("use_locking").b();
  const bool nesterov = init.attr("use_nesterov").b();
  return DispatchFloat(init, [&]<typename T>() -> KernelOr {
    return std::make_unique<ApplyMomentumKernel<T>>(refs, locking, nesterov);
  });
}

KernelOr MakeAdam(const KernelInit& init) {
  ASSIGN_OR_RETURN(std::vector<VariableSlot*> refs,
                   ApplyVariableSlots(init, 3, /*device=*/nullptr));
  const bool locking = init.attr("use_locking").b();
  const bool nesterov = init.attr("use_nesterov").b();
  return DispatchFloat(init, [&]<typename T>() -> KernelOr {
    return std::make_unique<ApplyAdamKernel<T>>(refs, locking, nesterov);
  });
}

KernelOr MakeRMSProp(const KernelInit& init) {
  ASSIGN_OR_RETURN(std::vector<VariableSlot*> refs,
                   ApplyVariableSlots(init, 3, /*device=*/nullptr));
  const bool locking = init.attr("use_locking").b();
  return DispatchFloat(init, [&]<typename T>() -> KernelOr {
    return std::make_unique<ApplyRMSPropKernel<T>>(refs, locking);
  });
}

KernelOr MakeAdagrad(const KernelInit& init) {
  ASSIGN_OR_RETURN(std::vector<VariableSlot*> refs,
                   ApplyVariableSlots(init, 2, /*device=*/nullptr));
  const bool locking = init.attr("use_locking").b();
  const bool update_slots = init.attr("update_slots").b();
  return DispatchFloat(init, [&]<typename T>() -> KernelOr {
    return std::make_unique<ApplyAdagradKernel<T>>(refs, locking, update_slots);
  });
}

}  // namespace

void RegisterTrainingKernels(KernelRegistry& r) {
  r.Register("ApplyGradientDescent", DeviceType::kCpu, kFloat, MakeGradientDescent);
  r.Register("ApplyMomentum", DeviceType::kCpu, kFloat, MakeMomentum);
  r.Register("ApplyAdam", DeviceType::kCpu, kFloat, MakeAdam);
  r.Register("ApplyRMSProp", DeviceType::kCpu, kFloat, MakeRMSProp);
  r.Register("ApplyAdagrad", DeviceType::kCpu, kFloat, MakeAdagrad);
}

}  // namespace sluice::cpu
