// Element-wise kernels: unary math and activations, broadcasting binary ops,
// comparisons, logic, Select, Cast, AddN and BiasAdd.
//
// Everything is planned in the factory (broadcast strides, the functor); a
// step is a tight loop the compiler vectorises, on the calling thread for
// small tensors and split across OpenMP threads for large ones.
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "cpu/broadcast.h"
#include "cpu/cpu_kernels.h"
#include "cpu/parallel.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"
#include "kernels/state_kernels.h"

namespace sluice::cpu {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

const std::vector<DType> kFloat = {DType::kF32, DType::kF64};
const std::vector<DType> kSigned = {DType::kF32, DType::kF64, DType::kI8, DType::kI32, DType::kI64};
const std::vector<DType> kArithmetic = {DType::kF32, DType::kF64, DType::kI8,
                                        DType::kU8,  DType::kI32, DType::kI64};
const std::vector<DType> kComparable = {DType::kF32, DType::kF64, DType::kI8, DType::kU8,
                                        DType::kI32, DType::kI64, DType::kBool};

// Calls fn.template operator()<T>() for the dtypes elementwise kernels
// implement (no 16-bit floats: those are converted by Cast at the edges).
template <typename Fn>
KernelOr DispatchPlain(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::kF32: return fn.template operator()<float>();
    case DType::kF64: return fn.template operator()<double>();
    case DType::kI8: return fn.template operator()<int8_t>();
    case DType::kU8: return fn.template operator()<uint8_t>();
    case DType::kI32: return fn.template operator()<int32_t>();
    case DType::kI64: return fn.template operator()<int64_t>();
    case DType::kBool: return fn.template operator()<bool>();
    default: break;
  }
  return absl::UnimplementedError(absl::StrCat("no element-wise kernel for ", DTypeName(dtype)));
}

// ---------------------------------------------------------------------------
// Unary ops. Each functor maps one element.

struct NegOp { template <typename T> T operator()(T x) const { return static_cast<T>(-x); } };
struct SquareOp { template <typename T> T operator()(T x) const { return static_cast<T>(x * x); } };
struct AbsOp {
  template <typename T> T operator()(T x) const { return x < T(0) ? static_cast<T>(-x) : x; }
};
struct SignOp {
  template <typename T> T operator()(T x) const {
    return static_cast<T>((T(0) < x) - (x < T(0)));
  }
};
struct SqrtOp { template <typename T> T operator()(T x) const { return std::sqrt(x); } };
struct RsqrtOp { template <typename T> T operator()(T x) const { return T(1) / std::sqrt(x); } };
struct ExpOp { template <typename T> T operator()(T x) const { return std::exp(x); } };
struct LogOp { template <typename T> T operator()(T x) const { return std::log(x); } };
struct ReluOp { template <typename T> T operator()(T x) const { return x > T(0) ? x : T(0); } };
struct Relu6Op {
  template <typename T> T operator()(T x) const { return x < T(0) ? T(0) : (x > T(6) ? T(6) : x); }
};
struct EluOp { template <typename T> T operator()(T x) const { return x > T(0) ? x : std::expm1(x); } };
struct SigmoidOp {
  template <typename T> T operator()(T x) const { return T(1) / (T(1) + std::exp(-x)); }
};
struct TanhOp { template <typename T> T operator()(T x) const { return std::tanh(x); } };
struct SoftplusOp {
  // log(1 + e^x) without overflow: max(x, 0) + log1p(e^-|x|).
  template <typename T> T operator()(T x) const {
    return (x > T(0) ? x : T(0)) + std::log1p(std::exp(-std::fabs(x)));
  }
};
struct LeakyReluOp {
  float alpha;
  template <typename T> T operator()(T x) const { return x > T(0) ? x : static_cast<T>(alpha) * x; }
};
struct GeluOp {
  bool approximate;
  template <typename T> T operator()(T x) const {
    if (approximate) {
      const T k = static_cast<T>(0.7978845608028654);  // sqrt(2/pi)
      return T(0.5) * x * (T(1) + std::tanh(k * (x + static_cast<T>(0.044715) * x * x * x)));
    }
    return T(0.5) * x * (T(1) + std::erf(x * static_cast<T>(0.7071067811865476)));
  }
};
struct LogicalNotOp { bool operator()(bool x) const { return !x; } };

template <typename T, typename Op>
class UnaryKernel final : public OpKernel {
 public:
  explicit UnaryKernel(Op op) : op_(op) {}
  absl::Status Compute(const KernelContext& ctx) override {
    const T* __restrict x = ctx.input(0).data<T>();
    T* __restrict y = ctx.output(0).data<T>();
    ParallelFor(ctx.output(0).num_elements(), 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) y[i] = op_(x[i]);
    });
    return absl::OkStatus();
  }

 private:
  const Op op_;
};

template <typename Op>
void RegisterUnary(KernelRegistry& r, const char* name, const std::vector<DType>& dtypes,
                   Op op = Op()) {
  r.Register(name, DeviceType::kCpu, dtypes, [op](const KernelInit& init) -> KernelOr {
    return DispatchPlain(init.input_dtype(0), [&]<typename T>() -> KernelOr {
      if constexpr (std::is_same_v<T, bool>) {
        return absl::UnimplementedError("no bool kernel");
      } else {
        return std::make_unique<UnaryKernel<T, Op>>(op);
      }
    });
  });
}

// ---------------------------------------------------------------------------
// Binary ops with broadcasting. A functor maps (a, b) to the output element.

struct AddOp { template <typename T> T operator()(T a, T b) const { return static_cast<T>(a + b); } };
struct SubOp { template <typename T> T operator()(T a, T b) const { return static_cast<T>(a - b); } };
struct MulOp { template <typename T> T operator()(T a, T b) const { return static_cast<T>(a * b); } };
struct DivOp {
  template <typename T> T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
      // Division by zero is rejected before the loop; the lowest value over
      // -1 overflows in C++, so negate through unsigned arithmetic instead.
      if (b == T(-1)) return static_cast<T>(-static_cast<std::make_unsigned_t<T>>(a));
    }
    return static_cast<T>(a / b);
  }
};
struct MaximumOp {
  template <typename T> T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a)) return a;
    }
    return a > b ? a : b;
  }
};
struct MinimumOp {
  template <typename T> T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a)) return a;
    }
    return a < b ? a : b;
  }
};
struct PowOp {
  template <typename T> T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      return std::pow(a, b);
    } else {
      // Exponentiation by squaring; negative exponents are rejected first.
      T result = 1;
      T base = a;
      for (auto e = static_cast<std::make_unsigned_t<T>>(b); e != 0; e >>= 1) {
        if (e & 1) result = static_cast<T>(result * base);
        base = static_cast<T>(base * base);
      }
      return result;
    }
  }
};
struct EqualOp { template <typename T> bool operator()(T a, T b) const { return a == b; } };
struct NotEqualOp { template <typename T> bool operator()(T a, T b) const { return a != b; } };
struct LessOp { template <typename T> bool operator()(T a, T b) const { return a < b; } };
struct LessEqualOp { template <typename T> bool operator()(T a, T b) const { return a <= b; } };
struct GreaterOp { template <typename T> bool operator()(T a, T b) const { return a > b; } };
struct GreaterEqualOp { template <typename T> bool operator()(T a, T b) const { return a >= b; } };
struct LogicalAndOp { bool operator()(bool a, bool b) const { return a && b; } };
struct LogicalOrOp { bool operator()(bool a, bool b) const { return a || b; } };

// One contiguous run of `n` outputs; sa and sb are 0 (repeat) or 1 (stream).
template <typename T, typename Out, typename Op>
inline void BinaryRun(const T* __restrict a, int64_t sa, const T* __restrict b, int64_t sb,
                      Out* __restrict out, int64_t n, const Op& op) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], b[i]);
  } else if (sa == 0 && sb == 1) {
    const T av = a[0];
    for (int64_t i = 0; i < n; ++i) out[i] = op(av, b[i]);
  } else if (sa == 1 && sb == 0) {
    const T bv = b[0];
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], bv);
  } else {
    const Out v = op(a[0], b[0]);
    for (int64_t i = 0; i < n; ++i) out[i] = v;
  }
}

enum class Check { kNone, kNonZeroDivisor, kNonNegativeExponent };

template <typename T, typename Out, typename Op>
class BinaryKernel final : public OpKernel {
 public:
  BinaryKernel(const BroadcastPlan& plan, Op op, Check check)
      : plan_(plan), op_(op), check_(check) {}

  absl::Status Compute(const KernelContext& ctx) override {
    const T* a = ctx.input(0).data<T>();
    const T* b = ctx.input(1).data<T>();
    Out* out = ctx.output(0).data<Out>();
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      if (check_ != Check::kNone) RETURN_IF_ERROR(CheckRightOperand(ctx.input(1)));
    }
    const int64_t inner = plan_.inner();
    const int64_t sa = plan_.inner_stride(0), sb = plan_.inner_stride(1);
    if (plan_.rank <= 1) {
      ParallelFor(inner, 1, [&](int64_t begin, int64_t end) {
        BinaryRun(a + begin * sa, sa, b + begin * sb, sb, out + begin, end - begin, op_);
      });
      return absl::OkStatus();
    }
    ParallelFor(plan_.rows(), inner, [&](int64_t begin, int64_t end) {
      int64_t offsets[kMaxBroadcastInputs];
      for (int64_t row = begin; row < end; ++row) {
        plan_.RowOffsets(row, offsets);
        BinaryRun(a + offsets[0], sa, b + offsets[1], sb, out + row * inner, inner, op_);
      }
    });
    return absl::OkStatus();
  }

 private:
  absl::Status CheckRightOperand(const Tensor& t) const {
    const T* p = t.data<T>();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      if (check_ == Check::kNonZeroDivisor && p[i] == T(0)) {
        return absl::InvalidArgumentError("Integer division by zero");
      }
      if constexpr (std::is_signed_v<T>) {
        if (check_ == Check::kNonNegativeExponent && p[i] < T(0)) {
          return absl::InvalidArgumentError(
              "Integers to negative integer powers are not allowed");
        }
      }
    }
    return absl::OkStatus();
  }

  const BroadcastPlan plan_;
  const Op op_;
  const Check check_;
};

absl::StatusOr<BroadcastPlan> MakePlan(const KernelInit& init, int num_inputs, int first = 0) {
  std::vector<Shape> shapes;
  for (int i = first; i < first + num_inputs; ++i) shapes.push_back(init.input_shape(i));
  BroadcastPlan plan;
  if (!PlanBroadcast(shapes, init.output_shape(0), &plan)) {
    return absl::UnimplementedError(absl::StrCat("broadcasting over more than ",
                                                 kMaxBroadcastRank, " distinct dims"));
  }
  return plan;
}

template <typename Op, bool kBoolOutput = false>
void RegisterBinary(KernelRegistry& r, const char* name, const std::vector<DType>& dtypes,
                    Check check = Check::kNone) {
  r.Register(name, DeviceType::kCpu, dtypes, [check](const KernelInit& init) -> KernelOr {
    ASSIGN_OR_RETURN(BroadcastPlan plan, MakePlan(init, 2));
    return DispatchPlain(init.input_dtype(0), [&]<typename T>() -> KernelOr {
      using Out = std::conditional_t<kBoolOutput, bool, T>;
      constexpr bool kTakesBool = std::is_same_v<Op, EqualOp> || std::is_same_v<Op, NotEqualOp> ||
                                  std::is_same_v<Op, LogicalAndOp> ||
                                  std::is_same_v<Op, LogicalOrOp>;
      if constexpr (std::is_same_v<T, bool> && !kTakesBool) {
        return absl::UnimplementedError("no bool kernel");
      } else if constexpr (std::is_invocable_r_v<Out, Op, T, T>) {
        return std::make_unique<BinaryKernel<T, Out, Op>>(plan, Op(), check);
      } else {
        return absl::UnimplementedError("dtype not supported");
      }
    });
  });
}

// ---------------------------------------------------------------------------
// Select(condition, t, e), all three broadcast.

template <typename T>
class SelectKernel final : public OpKernel {
 public:
  explicit SelectKernel(const BroadcastPlan& plan) : plan_(plan) {}
  absl::Status Compute(const KernelContext& ctx) override {
    const bool* c = ctx.input(0).data<bool>();
    const T* t = ctx.input(1).data<T>();
    const T* e = ctx.input(2).data<T>();
    T* out = ctx.output(0).data<T>();
    const int64_t inner = plan_.inner();
    const int64_t sc = plan_.inner_stride(0), st = plan_.inner_stride(1),
                  se = plan_.inner_stride(2);
    ParallelFor(plan_.rows(), inner, [&](int64_t begin, int64_t end) {
      int64_t off[kMaxBroadcastInputs];
      for (int64_t row = begin; row < end; ++row) {
        plan_.RowOffsets(row, off);
        const bool* cr = c + off[0];
        const T* tr = t + off[1];
        const T* er = e + off[2];
        T* o = out + row * inner;
        for (int64_t i = 0; i < inner; ++i) o[i] = cr[i * sc] ? tr[i * st] : er[i * se];
      }
    });
    return absl::OkStatus();
  }

 private:
  const BroadcastPlan plan_;
};

// ---------------------------------------------------------------------------
// Cast between any two dtypes (16-bit floats through f32).

template <typename From, typename To>
To CastValue(From v) {
  if constexpr (std::is_same_v<From, Half>) {
    return CastValue<float, To>(HalfToFloat(v));
  } else if constexpr (std::is_same_v<From, BFloat16>) {
    return CastValue<float, To>(BFloat16ToFloat(v));
  } else if constexpr (std::is_same_v<To, Half>) {
    return FloatToHalf(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, BFloat16>) {
    return FloatToBFloat16(static_cast<float>(v));
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    // Out-of-range and NaN conversions are undefined in C++; saturate.
    if (std::isnan(v)) return To(0);
    if (v <= static_cast<From>(std::numeric_limits<To>::lowest())) {
      return std::numeric_limits<To>::lowest();
    }
    if (v >= static_cast<From>(std::numeric_limits<To>::max())) {
      return std::numeric_limits<To>::max();
    }
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

template <typename From, typename To>
class CastKernel final : public OpKernel {
 public:
  absl::Status Compute(const KernelContext& ctx) override {
    const From* x = ctx.input(0).data<From>();
    To* y = ctx.output(0).data<To>();
    ParallelFor(ctx.output(0).num_elements(), 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) y[i] = CastValue<From, To>(x[i]);
    });
    return absl::OkStatus();
  }
};

KernelOr MakeCast(const KernelInit& init) {
  const DType from = init.input_dtype(0);
  const DType to = init.output_dtype(0);
  // The same dtype: the output is the input.
  if (from == to) return std::make_unique<ForwardKernel>();
  return VisitDType(from, [&]<typename F>() -> KernelOr {
    return VisitDType(to, [&]<typename T>() -> KernelOr {
      return std::make_unique<CastKernel<F, T>>();
    });
  });
}

// ---------------------------------------------------------------------------
// AddN: the sum of N same-shaped tensors.

template <typename T>
class AddNKernel final : public OpKernel {
 public:
  absl::Status Compute(const KernelContext& ctx) override {
    T* out = ctx.output(0).data<T>();
    const int64_t n = ctx.output(0).num_elements();
    const size_t count = ctx.inputs.size();
    ParallelFor(n, static_cast<int64_t>(count), [&](int64_t begin, int64_t end) {
      const T* first = ctx.input(0).data<T>();
      for (int64_t i = begin; i < end; ++i) out[i] = first[i];
      for (size_t k = 1; k < count; ++k) {
        const T* x = ctx.input(static_cast<int>(k)).data<T>();
        for (int64_t i = begin; i < end; ++i) out[i] = static_cast<T>(out[i] + x[i]);
      }
    });
    return absl::OkStatus();
  }
};

}  // namespace

void RegisterElementwiseKernels(KernelRegistry& r) {
  RegisterUnary<NegOp>(r, "Neg", kSigned);
  RegisterUnary<SquareOp>(r, "Square", kSigned);
  RegisterUnary<AbsOp>(r, "Abs", kSigned);
  RegisterUnary<SignOp>(r, "Sign", kSigned);
  RegisterUnary<SqrtOp>(r, "Sqrt", kFloat);
  RegisterUnary<RsqrtOp>(r, "Rsqrt", kFloat);
  RegisterUnary<ExpOp>(r, "Exp", kFloat);
  RegisterUnary<LogOp>(r, "Log", kFloat);
  RegisterUnary<ReluOp>(r, "Relu", kFloat);
  RegisterUnary<Relu6Op>(r, "Relu6", kFloat);
  RegisterUnary<EluOp>(r, "Elu", kFloat);
  RegisterUnary<SigmoidOp>(r, "Sigmoid", kFloat);
  RegisterUnary<TanhOp>(r, "Tanh", kFloat);
  RegisterUnary<SoftplusOp>(r, "Softplus", kFloat);
  r.Register("LeakyRelu", DeviceType::kCpu, kFloat, [](const KernelInit& init) -> KernelOr {
    const LeakyReluOp op{init.attr("alpha").f()};
    if (init.input_dtype(0) == DType::kF64) {
      return std::make_unique<UnaryKernel<double, LeakyReluOp>>(op);
    }
    return std::make_unique<UnaryKernel<float, LeakyReluOp>>(op);
  });
  r.Register("Gelu", DeviceType::kCpu, kFloat, [](const KernelInit& init) -> KernelOr {
    const GeluOp op{init.attr("approximate").b()};
    if (init.input_dtype(0) == DType::kF64) {
      return std::make_unique<UnaryKernel<double, GeluOp>>(op);
    }
    return std::make_unique<UnaryKernel<float, GeluOp>>(op);
  });
  r.Register("LogicalNot", DeviceType::kCpu, {DType::kBool},
             [](const KernelInit&) -> KernelOr {
               return std::make_unique<UnaryKernel<bool, LogicalNotOp>>(LogicalNotOp());
             });

  RegisterBinary<AddOp>(r, "Add", kArithmetic);
  RegisterBinary<SubOp>(r, "Sub", kArithmetic);
  RegisterBinary<MulOp>(r, "Mul", kArithmetic);
  RegisterBinary<DivOp>(r, "Div", kArithmetic, Check::kNonZeroDivisor);
  RegisterBinary<MaximumOp>(r, "Maximum", kArithmetic);
  RegisterBinary<MinimumOp>(r, "Minimum", kArithmetic);
  RegisterBinary<PowOp>(r, "Pow", {DType::kF32, DType::kF64, DType::kI32, DType::kI64},
                        Check::kNonNegativeExponent);
  RegisterBinary<EqualOp, true>(r, "Equal", kComparable);
  RegisterBinary<NotEqualOp, true>(r, "NotEqual", kComparable);
  RegisterBinary<LessOp, true>(r, "Less", kArithmetic);
  RegisterBinary<LessEqualOp, true>(r, "LessEqual", kArithmetic);
  RegisterBinary<GreaterOp, true>(r, "Greater", kArithmetic);
  RegisterBinary<GreaterEqualOp, true>(r, "GreaterEqual", kArithmetic);
  RegisterBinary<LogicalAndOp, true>(r, "LogicalAnd", {DType::kBool});
  RegisterBinary<LogicalOrOp, true>(r, "LogicalOr", {DType::kBool});

  r.Register("Select", DeviceType::kCpu, kComparable, [](const KernelInit& init) -> KernelOr {
    ASSIGN_OR_RETURN(BroadcastPlan plan, MakePlan(init, 3));
    return DispatchPlain(init.output_dtype(0), [&]<typename T>() -> KernelOr {
      return std::make_unique<SelectKernel<T>>(plan);
    });
  });

  r.Register("Cast", DeviceType::kCpu, std::vector<DType>(std::begin(kAllDTypes), std::end(kAllDTypes)),
             MakeCast);

  r.Register("AddN", DeviceType::kCpu, {DType::kF32, DType::kF64, DType::kI32, DType::kI64},
             [](const KernelInit& init) -> KernelOr {
               return DispatchPlain(init.output_dtype(0), [&]<typename T>() -> KernelOr {
                 if constexpr (std::is_same_v<T, bool>) {
                   return absl::UnimplementedError("no bool kernel");
                 } else {
                   return std::make_unique<AddNKernel<T>>();
                 }
               });
             });

  // BiasAdd is a broadcast Add whose bias aligns with the channel dim.
  r.Register("BiasAdd", DeviceType::kCpu, kFloat, [](const KernelInit& init) -> KernelOr {
    const Shape& value = init.input_shape(0);
    Shape bias_shape{init.input_shape(1).dim(0)};
    if (init.attr("data_format").s() == "NCHW" && value.rank() >= 3) {
      for (int d = 2; d < value.rank(); ++d) bias_shape.AddDim(1);
    }
    BroadcastPlan plan;
    if (!PlanBroadcast({value, bias_shape}, init.output_shape(0), &plan)) {
      return absl::UnimplementedError("BiasAdd over too many dims");
    }
    if (init.input_dtype(0) == DType::kF64) {
      return std::make_unique<BinaryKernel<double, double, AddOp>>(plan, AddOp(), Check::kNone);
    }
    return std::make_unique<BinaryKernel<float, float, AddOp>>(plan, AddOp(), Check::kNone);
  });
}

}  // namespace sluice::cpu
