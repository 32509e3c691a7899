// The softmax cross-entropy losses: one block per row (a grid-stride loop
// over rows when there are more rows than blocks), the block's threads
// striding over the classes. The row max, the sum of exponentials and the
// loss are block reductions in shared memory. Formulas as in cpu/nn.cc:
//   loss = sum_j labels_j * (log(sum_k exp(x_k - max)) - (x_j - max))
//   backprop = softmax(x) - labels
#include <cmath>

#include "cuda/launch.cuh"
#include "cuda/training_launch.h"

namespace sluice::cuda {
namespace {

__device__ inline float Exp(float x) { return expf(x); }
__device__ inline double Exp(double x) { return exp(x); }
__device__ inline float Log(float x) { return logf(x); }
__device__ inline double Log(double x) { return log(x); }

// The CPU's std::max(acc, x): a NaN x leaves the accumulator unchanged.
struct MaxOp {
  template <typename T>
  __device__ T operator()(T acc, T x) const {
    return acc < x ? x : acc;
  }
};
struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};

// Combines every thread's `value` with `op`; all threads get the result.
// blockDim.x is a power of two no larger than kThreadsPerBlock. Ends with a
// barrier, so the caller may reduce again into the same scratch.
template <typename T, typename Op>
__device__ T BlockReduce(T value, T* scratch, Op op) {
  scratch[threadIdx.x] = value;
  __syncthreads();
  for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      scratch[threadIdx.x] = op(scratch[threadIdx.x], scratch[threadIdx.x + half]);
    }
    __syncthreads();
  }
  const T result = scratch[0];
  __syncthreads();
  return result;
}

template <typename T>
struct RowStats {
  T max;  // the largest logit
  T sum;  // sum of exp(x - max)
};

template <typename T>
__device__ RowStats<T> SoftmaxStats(const T* x, int64_t cols, T* scratch) {
  T max = T(-INFINITY);
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) max = MaxOp()(max, x[j]);
  max = BlockReduce(max, scratch, MaxOp());
  T sum = 0;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) sum += Exp(x[j] - max);
  sum = BlockReduce(sum, scratch, SumOp());
  return {max, sum};
}

template <typename T>
__global__ void SoftmaxCrossEntropyKernel(const T* features, const T* labels, T* loss, T* backprop,
                                          int64_t rows, int64_t cols) {
  __shared__ T scratch[kThreadsPerBlock];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* x = features + r * cols;
    const T* y = labels + r * cols;
    T* g = backprop + r * cols;
    const RowStats<T> s = SoftmaxStats(x, cols, scratch);
    const T log_sum = Log(s.sum);
    const T inv = T(1) / s.sum;
    T partial = 0;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const T shifted = x[j] - s.max;
      partial += y[j] * (log_sum - shifted);
      g[j] = Exp(shifted) * inv - y[j];
    }
    const T l = BlockReduce(partial, scratch, SumOp());
    if (threadIdx.x == 0) loss[r] = l;
  }
}

template <typename T, typename L>
__global__ void SparseSoftmaxCrossEntropyKernel(const T* features, const L* labels, T* loss,
                                                T* backprop, int64_t rows, int64_t cols) {
  __shared__ T scratch[kThreadsPerBlock];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* x = features + r * cols;
    T* g = backprop + r * cols;
    // The same for the whole block, so the early exit keeps barriers uniform.
    const int64_t label = static_cast<int64_t>(labels[r]);
    if (label < 0 || label >= cols) {
      const T nan = T(NAN);
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) g[j] = nan;
      if (threadIdx.x == 0) loss[r] = nan;
      continue;
    }
    const RowStats<T> s = SoftmaxStats(x, cols, scratch);
    const T inv = T(1) / s.sum;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const T p = Exp(x[j] - s.max) * inv;
      g[j] = j == label ? p - T(1) : p;
    }
    if (threadIdx.x == 0) loss[r] = Log(s.sum) - (x[label] - s.max);
  }
}

// One block per row, up to the grid-stride cap.
unsigned RowBlocks(int64_t rows) {
  constexpr int64_t kMaxBlocks = 65535 * 8;
  return static_cast<unsigned>(rows < kMaxBlocks ? rows : kMaxBlocks);
}

// The smallest power of two, at least one warp and at most kThreadsPerBlock,
// that covers `cols` (small rows leave no threads idle beyond one warp).
unsigned RowThreads(int64_t cols) {
  unsigned threads = 32;
  while (threads < static_cast<unsigned>(kThreadsPerBlock) && threads < cols) threads *= 2;
  return threads;
}

template <typename T>
cudaError_t Dense(const void* features, const void* labels, void* loss, void* backprop,
                  int64_t rows, int64_t cols, cudaStream_t stream) {
  SoftmaxCrossEntropyKernel<T><<<RowBlocks(rows), RowThreads(cols), 0, stream>>>(
      static_cast<const T*>(features), static_cast<const T*>(labels), static_cast<T*>(loss),
      static_cast<T*>(backprop), rows, cols);
  return cudaGetLastError();
}

template <typename T, typename L>
cudaError_t Sparse(const void* features, const void* labels, void* loss, void* backprop,
                   int64_t rows, int64_t cols, cudaStream_t stream) {
  SparseSoftmaxCrossEntropyKernel<T, L><<<RowBlocks(rows), RowThreads(cols), 0, stream>>>(
      static_cast<const T*>(features), static_cast<const L*>(labels), static_cast<T*>(loss),
      static_cast<T*>(backprop), rows, cols);
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchSoftmaxCrossEntropy(TrainingType type, const void* features, const void* labels,
                                      void* loss, void* backprop, int64_t rows, int64_t cols,
                                      cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  switch (type) {
    case TrainingType::kF32:
      return Dense<float>(features, labels, loss, backprop, rows, cols, stream);
    case TrainingType::kF64:
      return Dense<double>(features, labels, loss, backprop, rows, cols, stream);
  }
  return cudaErrorInvalidValue;
}

cudaError_t LaunchSparseSoftmaxCrossEntropy(TrainingType type, bool wide_labels,
                                            const void* features, const void* labels, void* loss,
                                            void* backprop, int64_t rows, int64_t cols,
                                            cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  switch (type) {
    case TrainingType::kF32:
      return wide_labels
                 ? Sparse<float, int64_t>(features, labels, loss, backprop, rows, cols, stream)
                 : Sparse<float, int32_t>(features, labels, loss, backprop, rows, cols, stream);
    case TrainingType::kF64:
      return wide_labels
                 ? Sparse<double, int64_t>(features, labels, loss, backprop, rows, cols, stream)
                 : Sparse<double, int32_t>(features, labels, loss, backprop, rows, cols, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace sluice::cuda
