// Reductions (Sum, Mean, Max, Min, Prod) and ArgMax.
//
// The input shape is collapsed once, in the factory, into groups of
// neighbouring dims that are all reduced or all kept (dims of size 1 vanish).
// Two loop shapes then cover every reduction:
//  - the last group is reduced ("rows"): each output element reduces
//    contiguous rows with several independent accumulators, which the
//    compiler turns into vector code;
//  - the last group is kept ("columns"): a chunk of contiguous output
//    elements accumulates input runs, eight per pass, into an accumulator
//    array on the stack.
// Both walk the other groups with an odometer. Long single reductions split
// into fixed parts combined in order, so results do not depend on the thread
// count. Mean sums, then divides. Integer sums and products wrap (computed in
// the unsigned type, so never undefined); integer means accumulate in 64 bits
// and truncate toward zero. 16-bit floats accumulate in f32. Max and Min
// propagate NaN.
//
// oneDNN's reduction primitive is not used: measured single-threaded on f32,
// it matches these loops for sums over trailing dims, is 1.3-2x faster for
// max/min over trailing dims (AVX-512 against this build's SSE2 code), is
// 50-150x slower for any other axes (a reference implementation), and its
// max drops NaN depending on where the NaN sits.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cpu/cpu_kernels.h"
#include "cpu/parallel.h"
#include "graph/status_macros.h"
#include "kernels/kernel_registry.h"
#include "kernels/reduction_params.h"

namespace sluice::cpu {
namespace {

using KernelOr = absl::StatusOr<std::unique_ptr<OpKernel>>;

constexpr int kMaxReduceRank = 16;  // merged groups
constexpr int kLanes = 16;          // independent accumulators of a row reduction
// Accumulators of a column reduction, on the stack: 2048 floats.
constexpr int64_t kColumnChunkBytes = 8192;
// Column reductions with a single short run of outputs (at most
// kSplitColumnMax) split the reduced positions into parts of at least
// kSplitColumnRows.
constexpr int64_t kSplitColumnMax = 256;
constexpr int64_t kSplitColumnRows = 1024;
constexpr int kMaxColumnParts = 16;
// Column chunk of ArgMax.
constexpr int64_t kColumnChunk = 256;
constexpr int64_t kPartialChunk = int64_t{1} << 14;  // elements per partial of a full reduction
constexpr int kMaxPartials = 64;

const std::vector<DType> kNumeric = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16,
                                     DType::kI8,  DType::kU8,  DType::kI32, DType::kI64};

// ---------------------------------------------------------------------------
// The collapsed shape of a reduction.

struct ReduceLayout {
  int rank = 0;  // groups
  std::array<int64_t, kMaxReduceRank> dims{};
  std::array<int64_t, kMaxReduceRank> in_strides{};
  std::array<bool, kMaxReduceRank> reduced{};
  int64_t out_elements = 1;
  int64_t reduce_count = 1;  // input elements per output element
};

absl::Status PlanReduce(const Shape& in, uint64_t mask, ReduceLayout* layout) {
  *layout = ReduceLayout{};
  for (int d = 0; d < in.rank(); ++d) {
    const int64_t size = in.dim(d);
    const bool reduced = (mask >> d) & 1;
    if (reduced) {
      layout->reduce_count *= size;
    } else {
      layout->out_elements *= size;
    }
    if (size == 1) continue;
    const int r = layout->rank;
    if (r > 0 && layout->reduced[r - 1] == reduced) {
      layout->dims[r - 1] *= size;
      continue;
    }
    if (r == kMaxReduceRank) {
      return absl::UnimplementedError(absl::StrCat("reduction of ", in.ToString(),
                                                   " alternates reduced and kept dims more than ",
                                                   kMaxReduceRank, " times"));
    }
    layout->dims[r] = size;
    layout->reduced[r] = reduced;
    ++layout->rank;
  }
  int64_t stride = 1;
  for (int g = layout->rank - 1; g >= 0; --g) {
    layout->in_strides[g] = stride;
    stride *= layout->dims[g];
  }
  return absl::OkStatus();
}

// Walks a subset of the groups in row-major order, tracking the input offset.
struct Odometer {
  int rank = 0;
  std::array<int64_t, kMaxReduceRank> dims{}, strides{}, index{};
  int64_t offset = 0;
  int64_t size = 1;

  void Add(int64_t dim, int64_t stride) {
    dims[rank] = dim;
    strides[rank] = stride;
    ++rank;
    size *= dim;
  }
  void Reset() {
    index.fill(0);
    offset = 0;
  }
  void Seek(int64_t position) {
    offset = 0;
    for (int k = rank - 1; k >= 0; --k) {
      index[k] = position % dims[k];
      position /= dims[k];
      offset += index[k] * strides[k];
    }
  }
  void Next() {
    for (int k = rank - 1; k >= 0; --k) {
      offset += strides[k];
      if (++index[k] < dims[k]) return;
      offset -= strides[k] * dims[k];
      index[k] = 0;
    }
  }
};

// ---------------------------------------------------------------------------
// Reducers: identity, element load, combination and final store per kind.

enum class ReduceKind { kSum, kMean, kMax, kMin, kProd };

template <typename T>
constexpr bool kIs16BitFloat = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

template <typename T>
float ToFloat(T x) {
  if constexpr (std::is_same_v<T, Half>) {
    return HalfToFloat(x);
  } else {
    return BFloat16ToFloat(x);
  }
}

template <typename T>
T FromFloat(float x) {
  if constexpr (std::is_same_v<T, Half>) {
    return FloatToHalf(x);
  } else {
    return FloatToBFloat16(x);
  }
}

template <typename T, ReduceKind K>
struct AccumulatorOf {
  using type = T;
};
template <ReduceKind K>
struct AccumulatorOf<Half, K> {
  using type = float;
};
template <ReduceKind K>
struct AccumulatorOf<BFloat16, K> {
  using type = float;
};
template <typename T>
requires std::is_integral_v<T>
struct AccumulatorOf<T, ReduceKind::kSum> {
  using type = std::make_unsigned_t<T>;
};
template <typename T>
requires std::is_integral_v<T>
struct AccumulatorOf<T, ReduceKind::kProd> {
  using type = std::make_unsigned_t<T>;
};
template <typename T>
requires std::is_integral_v<T>
struct AccumulatorOf<T, ReduceKind::kMean> {
  using type = uint64_t;
};

template <typename T, ReduceKind K>
struct Reducer {
  using Acc = typename AccumulatorOf<T, K>::type;

  static Acc Identity() {
    if constexpr (K == ReduceKind::kSum || K == ReduceKind::kMean) {
      return Acc(0);
    } else if constexpr (K == ReduceKind::kProd) {
      return Acc(1);
    } else if constexpr (std::is_floating_point_v<Acc>) {
      return K == ReduceKind::kMax ? -std::numeric_limits<Acc>::infinity()
                                   : std::numeric_limits<Acc>::infinity();
    } else {
      return K == ReduceKind::kMax ? std::numeric_limits<Acc>::lowest()
                                   : std::numeric_limits<Acc>::max();
    }
  }

  static Acc Load(T x) {
    if constexpr (kIs16BitFloat<T>) {
      return ToFloat(x);
    } else if constexpr (std::is_integral_v<T> && K == ReduceKind::kMean) {
      return static_cast<Acc>(static_cast<int64_t>(x));  // sign-extended, then wraps
    } else {
      return static_cast<Acc>(x);
    }
  }

  // Max and Min of floats keep NaN apart, in flags the size of Acc, so that
  // the inner loops stay plain vector max/min instructions.
  static constexpr bool kTracksNaN =
      (K == ReduceKind::kMax || K == ReduceKind::kMin) && std::is_floating_point_v<Acc>;
  using Flag = std::conditional_t<sizeof(Acc) == 8, uint64_t, uint32_t>;

  // One step of an inner loop; for Max and Min a NaN `x` is lost here and
  // must be caught by the caller's flags.
  static Acc Step(Acc a, Acc x) {
    if constexpr (K == ReduceKind::kMax) {
      return x > a ? x : a;
    } else if constexpr (K == ReduceKind::kMin) {
      return x < a ? x : a;
    } else {
      return Combine(a, x);
    }
  }
  static Flag NaNFlag(Acc x) {
    if constexpr (kTracksNaN) {
      return static_cast<Flag>(x != x);
    } else {
      return 0;
    }
  }

  // Max and Min propagate NaN: `a` wins when it is NaN or beats `b`.
  static Acc Combine(Acc a, Acc b) {
    if constexpr (K == ReduceKind::kSum || K == ReduceKind::kMean) {
      return static_cast<Acc>(a + b);
    } else if constexpr (K == ReduceKind::kProd) {
      return static_cast<Acc>(a * b);
    } else if constexpr (K == ReduceKind::kMax) {
      return (a > b || a != a) ? a : b;
    } else {
      return (a < b || a != a) ? a : b;
    }
  }

  static T Store(Acc a, int64_t count) {
    if constexpr (K == ReduceKind::kMean) {
      if constexpr (std::is_integral_v<T>) {
        if (count == 0) return T(0);
        return static_cast<T>(static_cast<int64_t>(a) / count);
      } else {
        const Acc mean = a / static_cast<Acc>(count);  // 0/0: NaN, as TensorFlow
        if constexpr (kIs16BitFloat<T>) {
          return FromFloat<T>(mean);
        } else {
          return mean;
        }
      }
    } else if constexpr (kIs16BitFloat<T>) {
      return FromFloat<T>(a);
    } else {
      return static_cast<T>(a);
    }
  }
};

// Reduces x[0, n) with kLanes independent accumulators.
template <typename R, typename T>
typename R::Acc ReduceRow(const T* __restrict x, int64_t n) {
  using Acc = typename R::Acc;
  using Flag = typename R::Flag;
  Acc lanes[kLanes];
  Flag nan[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    lanes[l] = R::Identity();
    nan[l] = 0;
  }
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    // Without the pragma GCC unrolls this loop and then fails to vectorise
    // the max/min selects.
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      const Acc v = R::Load(x[i + l]);
      lanes[l] = R::Step(lanes[l], v);
      if constexpr (R::kTracksNaN) nan[l] = v != v ? Flag{1} : nan[l];
    }
  }
  Acc acc = R::Identity();
  Flag any_nan = 0;
  for (; i < n; ++i) {
    const Acc v = R::Load(x[i]);
    acc = R::Step(acc, v);
    any_nan |= R::NaNFlag(v);
  }
  for (int l = 0; l < kLanes; ++l) {
    acc = R::Step(acc, lanes[l]);
    any_nan |= nan[l];
  }
  if constexpr (R::kTracksNaN) {
    if (any_nan) return std::numeric_limits<Acc>::quiet_NaN();
  }
  return acc;
}

// acc[j] (and the NaN flags) absorb rows[0..8)[j] for j < n.
template <typename R, typename T>
void AccumulateRows8(const T* const* rows, int64_t n, typename R::Acc* __restrict acc,
                     typename R::Flag* __restrict nan) {
  using Acc = typename R::Acc;
  using Flag = typename R::Flag;
  const T* __restrict s0 = rows[0];
  const T* __restrict s1 = rows[1];
  const T* __restrict s2 = rows[2];
  const T* __restrict s3 = rows[3];
  const T* __restrict s4 = rows[4];
  const T* __restrict s5 = rows[5];
  const T* __restrict s6 = rows[6];
  const T* __restrict s7 = rows[7];
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const Acc v0 = R::Load(s0[j]), v1 = R::Load(s1[j]), v2 = R::Load(s2[j]), v3 = R::Load(s3[j]),
              v4 = R::Load(s4[j]), v5 = R::Load(s5[j]), v6 = R::Load(s6[j]), v7 = R::Load(s7[j]);
    const Acc t = R::Step(R::Step(R::Step(v0, v1), R::Step(v2, v3)),
                          R::Step(R::Step(v4, v5), R::Step(v6, v7)));
    acc[j] = R::Step(acc[j], t);
    if constexpr (R::kTracksNaN) {
      const bool any = (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3) | (v4 != v4) | (v5 != v5) |
                       (v6 != v6) | (v7 != v7);
      nan[j] = any ? Flag{1} : nan[j];
    }
  }
}

// Sets acc[0, n) to the reduction of `count` input runs x + r.offset (r
// advancing from its current position); NaN flags end up in acc.
template <typename R, typename T>
void AccumulateColumns(const T* x, Odometer& r, int64_t count, int64_t n,
                       typename R::Acc* __restrict acc, typename R::Flag* __restrict nan) {
  using Acc = typename R::Acc;
  using Flag = typename R::Flag;
  for (int64_t j = 0; j < n; ++j) acc[j] = R::Identity();
  if constexpr (R::kTracksNaN) std::fill(nan, nan + n, Flag{0});
  int64_t i = 0;
  // Eight input runs per pass: an eighth of the accumulator traffic, and
  // several streams for the prefetcher.
  for (; i + 8 <= count; i += 8) {
    const T* rows[8];
    for (int u = 0; u < 8; ++u, r.Next()) rows[u] = x + r.offset;
    AccumulateRows8<R>(rows, n, acc, nan);
  }
  for (; i < count; ++i, r.Next()) {
    const T* __restrict src = x + r.offset;
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) {
      const Acc v = R::Load(src[j]);
      acc[j] = R::Step(acc[j], v);
      if constexpr (R::kTracksNaN) nan[j] = v != v ? Flag{1} : nan[j];
    }
  }
  if constexpr (R::kTracksNaN) {
    for (int64_t j = 0; j < n; ++j) {
      if (nan[j]) acc[j] = std::numeric_limits<Acc>::quiet_NaN();
    }
  }
}

template <typename R, typename T>
void RunReduce(const ReduceLayout& L, const T* x, T* y) {
  using Acc = typename R::Acc;
  using Flag = typename R::Flag;
  if (L.out_elements == 0) return;
  if (L.reduce_count == 0) {
    const T empty = R::Store(R::Identity(), 0);
    std::fill(y, y + L.out_elements, empty);
    return;
  }
  if (L.rank == 0) {  // a single element
    y[0] = R::Store(R::Combine(R::Identity(), R::Load(x[0])), 1);
    return;
  }
  const int last = L.rank - 1;
  Odometer kept, reduced;
  for (int g = 0; g < last; ++g) {
    (L.reduced[g] ? reduced : kept).Add(L.dims[g], L.in_strides[g]);
  }

  if (L.reduced[last]) {
    // Rows: each output element reduces rows of length `row` at the offsets
    // of the other reduced groups.
    const int64_t row = L.dims[last];
    if (L.out_elements == 1 && L.rank == 1 && row > 2 * kPartialChunk) {
      // One long row: partial results of fixed chunks, combined in order, so
      // the result does not depend on the thread count.
      const int64_t parts = std::min<int64_t>(kMaxPartials, row / kPartialChunk);
      const int64_t chunk = (row + parts - 1) / parts;
      Acc partial[kMaxPartials];
      ParallelFor(parts, chunk, [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
          const int64_t start = p * chunk;
          partial[p] = ReduceRow<R>(x + start, std::min(row, start + chunk) - start);
        }
      });
      Acc acc = R::Identity();
      for (int64_t p = 0; p < parts; ++p) acc = R::Combine(acc, partial[p]);
      y[0] = R::Store(acc, L.reduce_count);
      return;
    }
    if (reduced.rank == 0) {
      // [kept, reduced]: output q reduces the contiguous row q.
      ParallelFor(L.out_elements, row, [&](int64_t begin, int64_t end) {
        for (int64_t q = begin; q < end; ++q) {
          y[q] = R::Store(ReduceRow<R>(x + q * row, row), L.reduce_count);
        }
      });
      return;
    }
    ParallelFor(L.out_elements, L.reduce_count, [&](int64_t begin, int64_t end) {
      Odometer k = kept;
      Odometer r = reduced;
      k.Seek(begin);
      for (int64_t q = begin; q < end; ++q, k.Next()) {
        r.Reset();
        Acc acc = R::Identity();
        for (int64_t i = 0; i < r.size; ++i, r.Next()) {
          acc = R::Combine(acc, ReduceRow<R>(x + k.offset + r.offset, row));
        }
        y[q] = R::Store(acc, L.reduce_count);
      }
    });
    return;
  }

  // Columns: the last group is kept, so a run of outputs accumulates
  // contiguous input runs, one per position of the reduced groups.
  constexpr int64_t kChunk = kColumnChunkBytes / sizeof(Acc);
  const int64_t inner = L.dims[last];
  const int64_t chunks = (inner + kChunk - 1) / kChunk;
  const int64_t items = kept.size * chunks;
  if (items == 1 && inner <= kSplitColumnMax && L.reduce_count >= 2 * kSplitColumnRows) {
    // Few, long columns: partial results over fixed ranges of the reduced
    // positions, combined in order (independent of the thread count).
    const int64_t parts = std::min<int64_t>(kMaxColumnParts, L.reduce_count / kSplitColumnRows);
    const int64_t per_part = (L.reduce_count + parts - 1) / parts;
    Acc partial[kMaxColumnParts][kSplitColumnMax];
    ParallelFor(parts, per_part * inner, [&](int64_t begin, int64_t end) {
      Flag nan[R::kTracksNaN ? kSplitColumnMax : 1];
      Odometer r = reduced;
      for (int64_t part = begin; part < end; ++part) {
        const int64_t first = part * per_part;
        r.Seek(first);
        AccumulateColumns<R>(x, r, std::min(per_part, L.reduce_count - first), inner, partial[part],
                             nan);
      }
    });
    for (int64_t j = 0; j < inner; ++j) {
      Acc acc = R::Identity();
      for (int64_t part = 0; part < parts; ++part) acc = R::Combine(acc, partial[part][j]);
      y[j] = R::Store(acc, L.reduce_count);
    }
    return;
  }
  ParallelFor(items, L.reduce_count * std::min(inner, kChunk), [&](int64_t begin, int64_t end) {
    Acc acc[kChunk];
    Flag nan[R::kTracksNaN ? kChunk : 1];
    Odometer k = kept;
    Odometer r = reduced;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t p = item / chunks;
      const int64_t j0 = (item % chunks) * kChunk;
      const int64_t n = std::min(kChunk, inner - j0);
      k.Seek(p);
      r.Reset();
      AccumulateColumns<R>(x + k.offset + j0, r, r.size, n, acc, nan);
      T* __restrict dst = y + p * inner + j0;
      for (int64_t j = 0; j < n; ++j) dst[j] = R::Store(acc[j], L.reduce_count);
    }
  });
}

template <typename T, ReduceKind K>
class ReduceKernel final : public OpKernel {
 public:
  using R = Reducer<T, K>;
  ReduceKernel(Shape input_shape, std::optional<ReduceLayout> layout)
      : input_shape_(std::move(input_shape)), layout_(layout) {}

  absl::Status Compute(const KernelContext& ctx) override {
    const T* x = ctx.input(0).data<T>();
    T* y = ctx.output(0).data<T>();
    if (layout_.has_value()) {
      RunReduce<R>(*layout_, x, y);
      return absl::OkStatus();
    }
    // The axes were not known when the kernel was made.
    ASSIGN_OR_RETURN(const uint64_t mask, ReductionAxesMask(ctx.input(1), input_shape_));
    ReduceLayout layout;
    RETURN_IF_ERROR(PlanReduce(input_shape_, mask, &layout));
    if (layout.out_elements != ctx.output(0).num_elements()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "reducing ", input_shape_.ToString(), " over the given axes gives ", layout.out_elements,
          " elements, but the output has shape ", ctx.output(0).shape().ToString()));
    }
    RunReduce<R>(layout, x, y);
    return absl::OkStatus();
  }

 private:
  const Shape input_shape_;
  const std::optional<ReduceLayout> layout_;
};

template <ReduceKind K>
KernelOr MakeReduce(const KernelInit& init) {
  const Shape& in = init.input_shape(0);
  RETURN_IF_ERROR(CheckReductionRank(in));
  std::optional<ReduceLayout> layout;
  if (const Tensor* axes = init.input_value(1)) {
    ASSIGN_OR_RETURN(const uint64_t mask, ReductionAxesMask(*axes, in));
    layout.emplace();
    RETURN_IF_ERROR(PlanReduce(in, mask, &*layout));
  }
  return VisitDType(init.input_dtype(0), [&]<typename T>() -> KernelOr {
    if constexpr (std::is_same_v<T, bool>) {
      return absl::UnimplementedError("no bool reduction");
    } else {
      return std::make_unique<ReduceKernel<T, K>>(in, layout);
    }
  });
}

// ---------------------------------------------------------------------------
// ArgMax: the first index of the largest value (NaN counts as largest).

struct ArgLayout {
  int64_t outer = 1, n = 1, inner = 1;
};

absl::StatusOr<ArgLayout> PlanArgMax(const Shape& in, int64_t dimension) {
  const int rank = in.rank();
  if (dimension < -rank || dimension >= rank) {
    return absl::InvalidArgumentError(absl::StrCat(
        "dimension ", dimension, " is out of range for input of shape ", in.ToString()));
  }
  const int axis = static_cast<int>(dimension < 0 ? dimension + rank : dimension);
  ArgLayout layout;
  for (int d = 0; d < rank; ++d) {
    if (d < axis) layout.outer *= in.dim(d);
    if (d > axis) layout.inner *= in.dim(d);
  }
  layout.n = in.dim(axis);
  if (layout.n == 0 && layout.outer * layout.inner > 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("reduction axis ", axis, " is empty in shape ", in.ToString()));
  }
  return layout;
}

template <typename T>
auto Comparable(T x) {
  if constexpr (kIs16BitFloat<T>) {
    return ToFloat(x);
  } else {
    return x;
  }
}

// Whether `v` replaces the best so far: strictly larger, or the first NaN.
template <typename V>
bool Beats(V v, V best) {
  return v > best || (v != v && best == best);
}

template <typename T, typename Index>
void RunArgMax(const ArgLayout& L, const T* x, Index* y) {
  using V = decltype(Comparable(T()));
  if (L.inner == 1) {
    ParallelFor(L.outer, L.n, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const T* row = x + o * L.n;
        V best = Comparable(row[0]);
        int64_t best_i = 0;
        for (int64_t i = 1; i < L.n; ++i) {
          const V v = Comparable(row[i]);
          if (Beats(v, best)) {
            best = v;
            best_i = i;
          }
        }
        y[o] = static_cast<Index>(best_i);
      }
    });
    return;
  }
  const int64_t chunks = (L.inner + kColumnChunk - 1) / kColumnChunk;
  ParallelFor(L.outer * chunks, L.n * std::min(L.inner, kColumnChunk),
              [&](int64_t begin, int64_t end) {
                V best[kColumnChunk];
                Index best_i[kColumnChunk];
                for (int64_t item = begin; item < end; ++item) {
                  const int64_t o = item / chunks;
                  const int64_t j0 = (item % chunks) * kColumnChunk;
                  const int64_t m = std::min(kColumnChunk, L.inner - j0);
                  const T* base = x + o * L.n * L.inner + j0;
                  for (int64_t j = 0; j < m; ++j) {
                    best[j] = Comparable(base[j]);
                    best_i[j] = 0;
                  }
                  for (int64_t i = 1; i < L.n; ++i) {
                    const T* row = base + i * L.inner;
                    for (int64_t j = 0; j < m; ++j) {
                      const V v = Comparable(row[j]);
                      if (Beats(v, best[j])) {
                        best[j] = v;
                        best_i[j] = static_cast<Index>(i);
                      }
                    }
                  }
                  std::memcpy(y + o * L.inner + j0, best_i, m * sizeof(Index));
                }
              });
}

template <typename T, typename Index>
class ArgMaxKernel final : public OpKernel {
 public:
  ArgMaxKernel(Shape input_shape, std::optional<ArgLayout> layout)
      : input_shape_(std::move(input_shape)), layout_(layout) {}

  absl::Status Compute(const KernelContext& ctx) override {
    ArgLayout layout;
    if (layout_.has_value()) {
      layout = *layout_;
    } else {
      ASSIGN_OR_RETURN(layout, PlanArgMax(input_shape_, IndexValueAt(ctx.input(1), 0)));
      if (layout.outer * layout.inner != ctx.output(0).num_elements()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "ArgMax of ", input_shape_.ToString(), " gives ", layout.outer * layout.inner,
            " elements, but the output has shape ", ctx.output(0).shape().ToString()));
      }
    }
    if (layout.outer * layout.inner == 0) return absl::OkStatus();
    RunArgMax(layout, ctx.input(0).data<T>(), ctx.output(0).data<Index>());
    return absl::OkStatus();
  }

 private:
  const Shape input_shape_;
  const std::optional<ArgLayout> layout_;
};

KernelOr MakeArgMax(const KernelInit& init) {
  const Shape& in = init.input_shape(0);
  std::optional<ArgLayout> layout;
  if (const Tensor* dimension = init.input_value(1)) {
    ASSIGN_OR_RETURN(layout, PlanArgMax(in, IndexValueAt(*dimension, 0)));
  }
  const DType index_type = init.attr("output_type").dtype();
  return VisitDType(init.input_dtype(0), [&]<typename T>() -> KernelOr {
    if constexpr (std::is_same_v<T, bool>) {
      return absl::UnimplementedError("no bool ArgMax");
    } else if (index_type == DType::kI32) {
      return std::make_unique<ArgMaxKernel<T, int32_t>>(in, layout);
    } else {
      return std::make_unique<ArgMaxKernel<T, int64_t>>(in, layout);
    }
  });
}

}  // namespace

void RegisterReductionKernels(KernelRegistry& r) {
  r.Register("Sum", DeviceType::kCpu, kNumeric, MakeReduce<ReduceKind::kSum>);
  r.Register("Mean", DeviceType::kCpu, kNumeric, MakeReduce<ReduceKind::kMean>);
  r.Register("Max", DeviceType::kCpu, kNumeric, MakeReduce<ReduceKind::kMax>);
  r.Register("Min", DeviceType::kCpu, kNumeric, MakeReduce<ReduceKind::kMin>);
  r.Register("Prod", DeviceType::kCpu, kNumeric, MakeReduce<ReduceKind::kProd>);
  r.Register("ArgMax", DeviceType::kCpu, kNumeric, MakeArgMax);
}

}  // namespace sluice::cpu
