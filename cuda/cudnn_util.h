// What the nn and nn_grad kernel families share (header-only: cuda/nn.cc and
// cuda/nn_grad.cc include it): the pooling launch geometry of a window
// (kernels/window_params.h), owning wrappers of cuDNN descriptors, the
// carving of the context's workspace, and CudnnConv, one convolution pass
// (forward, backward data or backward filter) with its descriptors,
// algorithm and workspace chosen once, when the kernel is created.
#ifndef SLUICE_CUDA_CUDNN_UTIL_H_
#define SLUICE_CUDA_CUDNN_UTIL_H_

#include <cudnn.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cuda/cuda_context.h"
#include "cuda/cuda_status.h"
#include "cuda/nn_launch.h"
#include "graph/graph.h"
#include "graph/shape.h"
#include "graph/status_macros.h"
#include "kernels/kernel.h"
#include "kernels/shape_checks.h"
#include "kernels/window_params.h"

namespace sluice::cuda {

// ---------------------------------------------------------------------------
// Windows: kernels/window_params.h, as on the CPU.

inline PoolGeometry PoolGeometryOf(const Window2D& w) {
  PoolGeometry g;
  g.nhwc = w.nhwc();
  g.batch = w.batch;
  g.channels = w.in_c;
  g.in_h = w.in_h;
  g.in_w = w.in_w;
  g.out_h = w.out_h;
  g.out_w = w.out_w;
  g.k_h = w.k_h;
  g.k_w = w.k_w;
  g.stride_h = w.stride_h;
  g.stride_w = w.stride_w;
  g.pad_top = w.pad_top;
  g.pad_left = w.pad_left;
  return g;
}

// ---------------------------------------------------------------------------
// Types and descriptors.

inline absl::StatusOr<NnType> NnTypeOf(DType dtype) {
  switch (dtype) {
    case DType::kF32:
      return NnType::kF32;
    case DType::kF16:
      return NnType::kF16;
    case DType::kBF16:
      return NnType::kBF16;
    default:
      return absl::UnimplementedError(
          absl::StrCat("the CUDA nn kernels do not support ", DTypeName(dtype)));
  }
}

inline cudnnDataType_t CudnnTypeOf(NnType type) {
  switch (type) {
    case NnType::kF32:
      return CUDNN_DATA_FLOAT;
    case NnType::kF16:
      return CUDNN_DATA_HALF;
    case NnType::kBF16:
      return CUDNN_DATA_BFLOAT16;
  }
  return CUDNN_DATA_FLOAT;
}

inline int ElementBytes(NnType type) { return type == NnType::kF32 ? 4 : 2; }

// cuDNN's legacy API takes int dims.
inline absl::StatusOr<int> CudnnDim(int64_t value) {
  if (value < 0 || value > INT_MAX) {
    return absl::UnimplementedError(
        absl::StrCat("dimension ", value, " does not fit cuDNN's int dimensions"));
  }
  return static_cast<int>(value);
}

struct TensorDescriptorDeleter {
  void operator()(cudnnTensorStruct* d) const { cudnnDestroyTensorDescriptor(d); }
};
struct FilterDescriptorDeleter {
  void operator()(cudnnFilterStruct* d) const { cudnnDestroyFilterDescriptor(d); }
};
struct ConvolutionDescriptorDeleter {
  void operator()(cudnnConvolutionStruct* d) const { cudnnDestroyConvolutionDescriptor(d); }
};
using TensorDescriptor = std::unique_ptr<cudnnTensorStruct, TensorDescriptorDeleter>;
using FilterDescriptor = std::unique_ptr<cudnnFilterStruct, FilterDescriptorDeleter>;
using ConvolutionDescriptor = std::unique_ptr<cudnnConvolutionStruct, ConvolutionDescriptorDeleter>;

// A dense 4-D tensor of logical dims (n, c, h, w), laid out NHWC or NCHW.
inline absl::StatusOr<TensorDescriptor> MakeTensorDescriptor(bool nhwc, NnType type, int64_t n,
                                                             int64_t c, int64_t h, int64_t w) {
  ASSIGN_OR_RETURN(const int dn, CudnnDim(n));
  ASSIGN_OR_RETURN(const int dc, CudnnDim(c));
  ASSIGN_OR_RETURN(const int dh, CudnnDim(h));
  ASSIGN_OR_RETURN(const int dw, CudnnDim(w));
  cudnnTensorDescriptor_t raw = nullptr;
  SLUICE_CUDNN_RETURN_IF_ERROR(cudnnCreateTensorDescriptor(&raw));
  TensorDescriptor desc(raw);
  SLUICE_CUDNN_RETURN_IF_ERROR(cudnnSetTensor4dDescriptor(
      desc.get(), nhwc ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, CudnnTypeOf(type), dn, dc, dh, dw));
  return desc;
}

// ---------------------------------------------------------------------------
// Workspace.

// Carves aligned regions out of one allocation: Add returns a region's
// offset, bytes() the total to reserve.
class WorkspaceLayout {
 public:
  int64_t Add(int64_t bytes) {
    const int64_t offset = bytes_;
    bytes_ += (bytes + kAlignment - 1) / kAlignment * kAlignment;
    return offset;
  }
  int64_t bytes() const { return bytes_; }

 private:
  static constexpr int64_t kAlignment = 256;
  int64_t bytes_ = 0;
};

inline void* WorkspaceAt(const CudaContext& context, int64_t offset) {
  return static_cast<char*>(context.workspace()) + offset;
}

// ---------------------------------------------------------------------------
// Convolution.

enum class ConvPass { kForward, kBackwardData, kBackwardFilter };

// One pass of a Conv2D of window `w` on `dtype` tensors in TensorFlow's
// layouts (activations NHWC or NCHW, filters HWIO).
//
// cuDNN takes filters as KCRS (with NCHW activations) or KRSC (with NHWC),
// so the HWIO filter is transposed into the workspace on every run (and the
// filter gradient back out of it). cuDNN pads symmetrically, while TF's SAME
// padding puts the odd row/column after the input and EXPLICIT may be
// anything: when the padding is asymmetric the input (or, backward data,
// the input gradient) lives padded in the workspace and cuDNN runs with no
// padding, copying in with zeros (or cropping out) around the call.
//
// f32 runs in CUDNN_FMA_MATH (no TF32 conversion: results stay within f32
// rounding of the CPU's); f16 and bf16 accumulate in f32 on tensor cores.
// Only the method of the pass an object was created for may be called.
class CudnnConv {
 public:
  static absl::StatusOr<std::unique_ptr<CudnnConv>> Create(CudaContext* context, const Window2D& w,
                                                           DType dtype, ConvPass pass) {
    ASSIGN_OR_RETURN(const NnType type, NnTypeOf(dtype));
    std::unique_ptr<CudnnConv> conv(new CudnnConv(context, w, type, pass));
    conv->empty_ = w.input_elements() == 0 || w.output_elements() == 0 || w.filter_elements() == 0;
    if (conv->empty_) return conv;
    RETURN_IF_ERROR(conv->Build());
    return conv;
  }

  // y = conv(x, filter).
  absl::Status Forward(const void* x, const void* filter, void* y) const {
    if (empty_) return Zero(y, w_.output_elements());
    cudaStream_t stream = context_->stream();
    void* kcrs = WorkspaceAt(*context_, filter_offset_);
    RETURN_IF_ERROR(FilterToCudnn(filter, kcrs));
    const void* input = x;
    if (padded_) {
      void* padded = WorkspaceAt(*context_, padded_offset_);
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchShiftWindow(
          ElementBytes(type_), w_.nhwc(), x, w_.batch, w_.in_c, w_.in_h, w_.in_w, padded,
          w_.padded_h(), w_.padded_w(), -w_.pad_top, -w_.pad_left, stream));
      input = padded;
    }
    const float one = 1.0f, zero = 0.0f;
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnConvolutionForward(
        context_->cudnn(), &one, x_desc_.get(), input, filter_desc_.get(), kcrs, conv_desc_.get(),
        forward_algo_, WorkspaceAt(*context_, algo_offset_), algo_bytes_, &zero, y_desc_.get(), y));
    return absl::OkStatus();
  }

  // dx = the gradient of conv(x, filter) w.r.t. x, given dy.
  absl::Status BackwardData(const void* filter, const void* dy, void* dx) const {
    if (empty_) return Zero(dx, w_.input_elements());
    cudaStream_t stream = context_->stream();
    void* kcrs = WorkspaceAt(*context_, filter_offset_);
    RETURN_IF_ERROR(FilterToCudnn(filter, kcrs));
    void* target = padded_ ? WorkspaceAt(*context_, padded_offset_) : dx;
    const float one = 1.0f, zero = 0.0f;
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnConvolutionBackwardData(
        context_->cudnn(), &one, filter_desc_.get(), kcrs, y_desc_.get(), dy, conv_desc_.get(),
        backward_data_algo_, WorkspaceAt(*context_, algo_offset_), algo_bytes_, &zero,
        x_desc_.get(), target));
    if (padded_) {
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchShiftWindow(
          ElementBytes(type_), w_.nhwc(), target, w_.batch, w_.in_c, w_.padded_h(), w_.padded_w(),
          dx, w_.in_h, w_.in_w, w_.pad_top, w_.pad_left, stream));
    }
    return absl::OkStatus();
  }

  // dfilter (HWIO) = the gradient of conv(x, filter) w.r.t. filter, given dy.
  absl::Status BackwardFilter(const void* x, const void* dy, void* dfilter) const {
    if (empty_) return Zero(dfilter, w_.filter_elements());
    cudaStream_t stream = context_->stream();
    const void* input = x;
    if (padded_) {
      void* padded = WorkspaceAt(*context_, padded_offset_);
      SLUICE_CUDA_RETURN_IF_ERROR(LaunchShiftWindow(
          ElementBytes(type_), w_.nhwc(), x, w_.batch, w_.in_c, w_.in_h, w_.in_w, padded,
          w_.padded_h(), w_.padded_w(), -w_.pad_top, -w_.pad_left, stream));
      input = padded;
    }
    void* kcrs = WorkspaceAt(*context_, filter_offset_);
    const float one = 1.0f, zero = 0.0f;
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnConvolutionBackwardFilter(
        context_->cudnn(), &one, x_desc_.get(), input, y_desc_.get(), dy, conv_desc_.get(),
        backward_filter_algo_, WorkspaceAt(*context_, algo_offset_), algo_bytes_, &zero,
        filter_desc_.get(), kcrs));
    return FilterFromCudnn(kcrs, dfilter);
  }

 private:
  CudnnConv(CudaContext* context, const Window2D& w, NnType type, ConvPass pass)
      : context_(context), w_(w), type_(type), pass_(pass) {}

  // Largest workspace an algorithm may ask for.
  static constexpr int64_t kMaxAlgoBytes = int64_t{1} << 30;

  absl::Status Build() {
    padded_ = !w_.symmetric();
    const int64_t in_h = padded_ ? w_.padded_h() : w_.in_h;
    const int64_t in_w = padded_ ? w_.padded_w() : w_.in_w;
    ASSIGN_OR_RETURN(x_desc_,
                     MakeTensorDescriptor(w_.nhwc(), type_, w_.batch, w_.in_c, in_h, in_w));
    ASSIGN_OR_RETURN(
        y_desc_, MakeTensorDescriptor(w_.nhwc(), type_, w_.batch, w_.out_c, w_.out_h, w_.out_w));
    ASSIGN_OR_RETURN(const int k, CudnnDim(w_.out_c));
    ASSIGN_OR_RETURN(const int c, CudnnDim(w_.in_c));
    ASSIGN_OR_RETURN(const int r, CudnnDim(w_.k_h));
    ASSIGN_OR_RETURN(const int s, CudnnDim(w_.k_w));
    cudnnFilterDescriptor_t raw_filter = nullptr;
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnCreateFilterDescriptor(&raw_filter));
    filter_desc_.reset(raw_filter);
    SLUICE_CUDNN_RETURN_IF_ERROR(
        cudnnSetFilter4dDescriptor(filter_desc_.get(), CudnnTypeOf(type_),
                                   w_.nhwc() ? CUDNN_TENSOR_NHWC : CUDNN_TENSOR_NCHW, k, c, r, s));
    ASSIGN_OR_RETURN(const int pad_h, CudnnDim(padded_ ? 0 : w_.pad_top));
    ASSIGN_OR_RETURN(const int pad_w, CudnnDim(padded_ ? 0 : w_.pad_left));
    ASSIGN_OR_RETURN(const int stride_h, CudnnDim(w_.stride_h));
    ASSIGN_OR_RETURN(const int stride_w, CudnnDim(w_.stride_w));
    ASSIGN_OR_RETURN(const int dilation_h, CudnnDim(w_.dilation_h));
    ASSIGN_OR_RETURN(const int dilation_w, CudnnDim(w_.dilation_w));
    cudnnConvolutionDescriptor_t raw_conv = nullptr;
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnCreateConvolutionDescriptor(&raw_conv));
    conv_desc_.reset(raw_conv);
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnSetConvolution2dDescriptor(
        conv_desc_.get(), pad_h, pad_w, stride_h, stride_w, dilation_h, dilation_w,
        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnSetConvolutionMathType(conv_desc_.get(), BaseMathType()));
    // cuDNN must see the output TensorFlow's padding rules give.
    int on = 0, oc = 0, oh = 0, ow = 0;
    SLUICE_CUDNN_RETURN_IF_ERROR(cudnnGetConvolution2dForwardOutputDim(
        conv_desc_.get(), x_desc_.get(), filter_desc_.get(), &on, &oc, &oh, &ow));
    if (on != w_.batch || oc != w_.out_c || oh != w_.out_h || ow != w_.out_w) {
      return absl::InternalError(absl::StrCat("cuDNN computes a convolution output of [", on, ",",
                                              oc, ",", oh, ",", ow, "] (NCHW) where ",
                                              w_.OutputShape().ToString(), " was expected"));
    }
    RETURN_IF_ERROR(ChooseAlgorithm());
    WorkspaceLayout layout;
    filter_offset_ = layout.Add(w_.filter_elements() * ElementBytes(type_));
    if (padded_) {
      padded_offset_ = layout.Add(w_.batch * w_.in_c * in_h * in_w * ElementBytes(type_));
    }
    algo_offset_ = layout.Add(static_cast<int64_t>(algo_bytes_));
    return context_->ReserveWorkspace(layout.bytes());
  }

  cudnnMathType_t BaseMathType() const {
    return type_ == NnType::kF32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
  }

  // Whether an algorithm of `math` may run for this dtype: f32 never
  // converts to TF32.
  bool MathAllowed(cudnnMathType_t math) const {
    return type_ != NnType::kF32 ||
           (math != CUDNN_TENSOR_OP_MATH && math != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
  }

  cudnnMathType_t MathFor(cudnnMathType_t suggested) const {
    return type_ == NnType::kF32 ? CUDNN_FMA_MATH : suggested;
  }

  // The heuristics' best algorithm for pass_ that accepts the descriptors
  // and fits kMaxAlgoBytes; its workspace size goes to algo_bytes_.
  absl::Status ChooseAlgorithm() {
    cudnnHandle_t handle = context_->cudnn();
    int returned = 0;
    switch (pass_) {
      case ConvPass::kForward: {
        std::array<cudnnConvolutionFwdAlgoPerf_t, CUDNN_CONVOLUTION_FWD_ALGO_COUNT> perf{};
        SLUICE_CUDNN_RETURN_IF_ERROR(cudnnGetConvolutionForwardAlgorithm_v7(
            handle, x_desc_.get(), filter_desc_.get(), conv_desc_.get(), y_desc_.get(),
            static_cast<int>(perf.size()), &returned, perf.data()));
        for (int i = 0; i < returned; ++i) {
          if (perf[i].status != CUDNN_STATUS_SUCCESS || !MathAllowed(perf[i].mathType)) continue;
          if (cudnnSetConvolutionMathType(conv_desc_.get(), MathFor(perf[i].mathType)) !=
              CUDNN_STATUS_SUCCESS) {
            continue;
          }
          size_t bytes = 0;
          if (cudnnGetConvolutionForwardWorkspaceSize(handle, x_desc_.get(), filter_desc_.get(),
                                                      conv_desc_.get(), y_desc_.get(), perf[i].algo,
                                                      &bytes) == CUDNN_STATUS_SUCCESS &&
              static_cast<int64_t>(bytes) <= kMaxAlgoBytes) {
            forward_algo_ = perf[i].algo;
            algo_bytes_ = bytes;
            return absl::OkStatus();
          }
        }
        break;
      }
      case ConvPass::kBackwardData: {
        std::array<cudnnConvolutionBwdDataAlgoPerf_t, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT> perf{};
        SLUICE_CUDNN_RETURN_IF_ERROR(cudnnGetConvolutionBackwardDataAlgorithm_v7(
            handle, filter_desc_.get(), y_desc_.get(), conv_desc_.get(), x_desc_.get(),
            static_cast<int>(perf.size()), &returned, perf.data()));
        for (int i = 0; i < returned; ++i) {
          if (perf[i].status != CUDNN_STATUS_SUCCESS || !MathAllowed(perf[i].mathType)) continue;
          if (cudnnSetConvolutionMathType(conv_desc_.get(), MathFor(perf[i].mathType)) !=
              CUDNN_STATUS_SUCCESS) {
            continue;
          }
          size_t bytes = 0;
          if (cudnnGetConvolutionBackwardDataWorkspaceSize(
                  handle, filter_desc_.get(), y_desc_.get(), conv_desc_.get(), x_desc_.get(),
                  perf[i].algo, &bytes) == CUDNN_STATUS_SUCCESS &&
              static_cast<int64_t>(bytes) <= kMaxAlgoBytes) {
            backward_data_algo_ = perf[i].algo;
            algo_bytes_ = bytes;
            return absl::OkStatus();
          }
        }
        break;
      }
      case ConvPass::kBackwardFilter: {
        std::array<cudnnConvolutionBwdFilterAlgoPerf_t, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT>
            perf{};
        SLUICE_CUDNN_RETURN_IF_ERROR(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
            handle, x_desc_.get(), y_desc_.get(), conv_desc_.get(), filter_desc_.get(),
            static_cast<int>(perf.size()), &returned, perf.data()));
        for (int i = 0; i < returned; ++i) {
          if (perf[i].status != CUDNN_STATUS_SUCCESS || !MathAllowed(perf[i].mathType)) continue;
          if (cudnnSetConvolutionMathType(conv_desc_.get(), MathFor(perf[i].mathType)) !=
              CUDNN_STATUS_SUCCESS) {
            continue;
          }
          size_t bytes = 0;
          if (cudnnGetConvolutionBackwardFilterWorkspaceSize(
                  handle, x_desc_.get(), y_desc_.get(), conv_desc_.get(), filter_desc_.get(),
                  perf[i].algo, &bytes) == CUDNN_STATUS_SUCCESS &&
              static_cast<int64_t>(bytes) <= kMaxAlgoBytes) {
            backward_filter_algo_ = perf[i].algo;
            algo_bytes_ = bytes;
            return absl::OkStatus();
          }
        }
        break;
      }
    }
    return absl::UnimplementedError(absl::StrCat(
        "cuDNN offers no convolution algorithm for this window (", returned, " candidates)"));
  }

  // HWIO [R,S,C,K] -> KCRS (NCHW) or KRSC (NHWC).
  absl::Status FilterToCudnn(const void* hwio, void* out) const {
    const int64_t R = w_.k_h, S = w_.k_w, C = w_.in_c, K = w_.out_c;
    // HWIO strides: r S*C*K, s C*K, c K, k 1.
    int64_t dims[4], strides[4];
    if (w_.nhwc()) {
      const int64_t d[4] = {K, R, S, C}, st[4] = {1, S * C * K, C * K, K};
      std::copy(d, d + 4, dims);
      std::copy(st, st + 4, strides);
    } else {
      const int64_t d[4] = {K, C, R, S}, st[4] = {1, K, S * C * K, C * K};
      std::copy(d, d + 4, dims);
      std::copy(st, st + 4, strides);
    }
    SLUICE_CUDA_RETURN_IF_ERROR(
        LaunchPermute4D(ElementBytes(type_), hwio, out, dims, strides, context_->stream()));
    return absl::OkStatus();
  }

  // KCRS (NCHW) or KRSC (NHWC) -> HWIO [R,S,C,K].
  absl::Status FilterFromCudnn(const void* in, void* hwio) const {
    const int64_t R = w_.k_h, S = w_.k_w, C = w_.in_c, K = w_.out_c;
    const int64_t dims[4] = {R, S, C, K};
    int64_t strides[4];
    if (w_.nhwc()) {  // KRSC strides: k R*S*C, r S*C, s C, c 1
      const int64_t st[4] = {S * C, C, 1, R * S * C};
      std::copy(st, st + 4, strides);
    } else {  // KCRS strides: k C*R*S, c R*S, r S, s 1
      const int64_t st[4] = {S, 1, R * S, C * R * S};
      std::copy(st, st + 4, strides);
    }
    SLUICE_CUDA_RETURN_IF_ERROR(
        LaunchPermute4D(ElementBytes(type_), in, hwio, dims, strides, context_->stream()));
    return absl::OkStatus();
  }

  // An empty sum: zeros (all-zero bits in every float type).
  absl::Status Zero(void* out, int64_t elements) const {
    if (elements == 0) return absl::OkStatus();
    SLUICE_CUDA_RETURN_IF_ERROR(
        cudaMemsetAsync(out, 0, elements * ElementBytes(type_), context_->stream()));
    return absl::OkStatus();
  }

  CudaContext* const context_;
  const Window2D w_;
  const NnType type_;
  const ConvPass pass_;
  bool empty_ = false;
  bool padded_ = false;
  TensorDescriptor x_desc_, y_desc_;
  FilterDescriptor filter_desc_;
  ConvolutionDescriptor conv_desc_;
  cudnnConvolutionFwdAlgo_t forward_algo_ = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
  cudnnConvolutionBwdDataAlgo_t backward_data_algo_ = CUDNN_CONVOLUTION_BWD_DATA_ALGO_1;
  cudnnConvolutionBwdFilterAlgo_t backward_filter_algo_ = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1;
  size_t algo_bytes_ = 0;
  int64_t filter_offset_ = 0, padded_offset_ = 0, algo_offset_ = 0;
};

}  // namespace sluice::cuda

#endif  // SLUICE_CUDA_CUDNN_UTIL_H_
