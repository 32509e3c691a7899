// The optimizer apply kernels: one grid-stride pass per op that reads the
// hyper-parameters from device memory and updates the variable and its slots
// element by element, with the expressions of cpu/training.cc.
#include "cuda/launch.cuh"
#include "cuda/training_launch.h"

namespace sluice::cuda {
namespace {

// Correctly rounded square roots (nvcc's default -prec-sqrt=true), as the
// CPU's vector instruction is.
__device__ inline float Sqrt(float x) { return sqrtf(x); }
__device__ inline double Sqrt(double x) { return sqrt(x); }

__device__ inline int64_t FirstIndex() { return blockIdx.x * int64_t{blockDim.x} + threadIdx.x; }
__device__ inline int64_t Stride() { return int64_t{blockDim.x} * gridDim.x; }

template <typename T>
__global__ void GradientDescentKernel(T* var, const T* alpha_in, const T* delta, int64_t n) {
  const T alpha = *alpha_in;
  for (int64_t i = FirstIndex(); i < n; i += Stride()) var[i] -= alpha * delta[i];
}

template <bool kNesterov, typename T>
__global__ void MomentumKernel(T* var, T* accum, const T* lr_in, const T* grad,
                               const T* momentum_in, int64_t n) {
  const T lr = *lr_in;
  const T momentum = *momentum_in;
  for (int64_t i = FirstIndex(); i < n; i += Stride()) {
    const T g = grad[i];
    const T a = accum[i] * momentum + g;
    accum[i] = a;
    if constexpr (kNesterov) {
      var[i] -= g * lr + a * momentum * lr;
    } else {
      var[i] -= lr * a;
    }
  }
}

template <bool kUpdateSlots, typename T>
__global__ void AdagradKernel(T* var, T* accum, const T* lr_in, const T* grad, int64_t n) {
  const T lr = *lr_in;
  for (int64_t i = FirstIndex(); i < n; i += Stride()) {
    const T g = grad[i];
    T a = accum[i];
    if constexpr (kUpdateSlots) {
      a = a + g * g;
      accum[i] = a;
    }
    var[i] -= lr * g / Sqrt(a);
  }
}

template <typename T>
__global__ void RmsPropKernel(T* var, T* ms, T* mom, const T* lr_in, const T* rho_in,
                              const T* momentum_in, const T* epsilon_in, const T* grad, int64_t n) {
  const T lr = *lr_in;
  const T rho = *rho_in;
  const T momentum = *momentum_in;
  const T epsilon = *epsilon_in;
  const T one_minus_rho = T(1) - rho;
  for (int64_t i = FirstIndex(); i < n; i += Stride()) {
    const T g = grad[i];
    const T s = rho * ms[i] + one_minus_rho * g * g;
    ms[i] = s;
    const T root = Sqrt(s + epsilon);
    const T step = momentum * mom[i] + lr * g / root;
    mom[i] = step;
    var[i] -= step;
  }
}

template <typename T>
struct AdamPointers {
  const T* beta1_power;
  const T* beta2_power;
  const T* lr;
  const T* beta1;
  const T* beta2;
  const T* epsilon;
};

template <bool kNesterov, typename T>
__global__ void AdamKernel(T* var, T* m, T* v, AdamPointers<T> p, const T* grad, int64_t n) {
  // Every thread derives lr_t itself: the same few operations as the CPU's
  // once-per-step host computation, so the value is the same in each.
  const T beta1_power = *p.beta1_power;
  const T beta2_power = *p.beta2_power;
  const T lr_t = *p.lr * Sqrt(T(1) - beta2_power) / (T(1) - beta1_power);
  const T beta1 = *p.beta1;
  const T beta2 = *p.beta2;
  const T epsilon = *p.epsilon;
  const T one_minus_beta1 = T(1) - beta1;
  const T one_minus_beta2 = T(1) - beta2;
  for (int64_t i = FirstIndex(); i < n; i += Stride()) {
    const T g = grad[i];
    const T mi = beta1 * m[i] + one_minus_beta1 * g;
    m[i] = mi;
    const T vi = beta2 * v[i] + one_minus_beta2 * g * g;
    v[i] = vi;
    const T numerator = kNesterov ? mi * beta1 + one_minus_beta1 * g : mi;
    var[i] -= lr_t * numerator / (Sqrt(vi) + epsilon);
  }
}

template <typename T>
cudaError_t GradientDescent(void* var, const void* alpha, const void* delta, int64_t n,
                            cudaStream_t stream) {
  GradientDescentKernel<T><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
      static_cast<T*>(var), static_cast<const T*>(alpha), static_cast<const T*>(delta), n);
  return cudaGetLastError();
}

template <typename T>
cudaError_t Momentum(void* var, void* accum, const void* lr, const void* grad, const void* momentum,
                     bool nesterov, int64_t n, cudaStream_t stream) {
  auto* kernel = nesterov ? MomentumKernel<true, T> : MomentumKernel<false, T>;
  kernel<<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
      static_cast<T*>(var), static_cast<T*>(accum), static_cast<const T*>(lr),
      static_cast<const T*>(grad), static_cast<const T*>(momentum), n);
  return cudaGetLastError();
}

template <typename T>
cudaError_t Adagrad(void* var, void* accum, const void* lr, const void* grad, bool update_slots,
                    int64_t n, cudaStream_t stream) {
  auto* kernel = update_slots ? AdagradKernel<true, T> : AdagradKernel<false, T>;
  kernel<<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
      static_cast<T*>(var), static_cast<T*>(accum), static_cast<const T*>(lr),
      static_cast<const T*>(grad), n);
  return cudaGetLastError();
}

template <typename T>
cudaError_t RmsProp(void* var, void* ms, void* mom, const void* lr, const void* rho,
                    const void* momentum, const void* epsilon, const void* grad, int64_t n,
                    cudaStream_t stream) {
  RmsPropKernel<T><<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(
      static_cast<T*>(var), static_cast<T*>(ms), static_cast<T*>(mom), static_cast<const T*>(lr),
      static_cast<const T*>(rho), static_cast<const T*>(momentum), static_cast<const T*>(epsilon),
      static_cast<const T*>(grad), n);
  return cudaGetLastError();
}

template <typename T>
cudaError_t Adam(void* var, void* m, void* v, const AdamScalars& s, const void* grad, bool nesterov,
                 int64_t n, cudaStream_t stream) {
  const AdamPointers<T> p{
      static_cast<const T*>(s.beta1_power), static_cast<const T*>(s.beta2_power),
      static_cast<const T*>(s.lr),          static_cast<const T*>(s.beta1),
      static_cast<const T*>(s.beta2),       static_cast<const T*>(s.epsilon)};
  auto* kernel = nesterov ? AdamKernel<true, T> : AdamKernel<false, T>;
  kernel<<<BlocksFor(n), kThreadsPerBlock, 0, stream>>>(static_cast<T*>(var), static_cast<T*>(m),
                                                        static_cast<T*>(v), p,
                                                        static_cast<const T*>(grad), n);
  return cudaGetLastError();
}

}  // namespace

cudaError_t LaunchApplyGradientDescent(TrainingType type, void* var, const void* alpha,
                                       const void* delta, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (type) {
    case TrainingType::kF32:
      return GradientDescent<float>(var, alpha, delta, n, stream);
    case TrainingType::kF64:
      return GradientDescent<double>(var, alpha, delta, n, stream);
  }
  return cudaErrorInvalidValue;
}

cudaError_t LaunchApplyMomentum(TrainingType type, void* var, void* accum, const void* lr,
                                const void* grad, const void* momentum, bool nesterov, int64_t n,
                                cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (type) {
    case TrainingType::kF32:
      return Momentum<float>(var, accum, lr, grad, momentum, nesterov, n, stream);
    case TrainingType::kF64:
      return Momentum<double>(var, accum, lr, grad, momentum, nesterov, n, stream);
  }
  return cudaErrorInvalidValue;
}

cudaError_t LaunchApplyAdagrad(TrainingType type, void* var, void* accum, const void* lr,
                               const void* grad, bool update_slots, int64_t n,
                               cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (type) {
    case TrainingType::kF32:
      return Adagrad<float>(var, accum, lr, grad, update_slots, n, stream);
    case TrainingType::kF64:
      return Adagrad<double>(var, accum, lr, grad, update_slots, n, stream);
  }
  return cudaErrorInvalidValue;
}

cudaError_t LaunchApplyRMSProp(TrainingType type, void* var, void* ms, void* mom, const void* lr,
                               const void* rho, const void* momentum, const void* epsilon,
                               const void* grad, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (type) {
    case TrainingType::kF32:
      return RmsProp<float>(var, ms, mom, lr, rho, momentum, epsilon, grad, n, stream);
    case TrainingType::kF64:
      return RmsProp<double>(var, ms, mom, lr, rho, momentum, epsilon, grad, n, stream);
  }
  return cudaErrorInvalidValue;
}

cudaError_t LaunchApplyAdam(TrainingType type, void* var, void* m, void* v,
                            const AdamScalars& scalars, const void* grad, bool nesterov, int64_t n,
                            cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  switch (type) {
    case TrainingType::kF32:
      return Adam<float>(var, m, v, scalars, grad, nesterov, n, stream);
    case TrainingType::kF64:
      return Adam<double>(var, m, v, scalars, grad, nesterov, n, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace sluice::cuda
