// Shared oneDNN plumbing for CPU kernels: the process-wide engine, one stream
// per thread, dtype and shape conversions, and DnnlPrimitive, which splits a
// primitive into the part a kernel builds once (the primitive) and the part
// each frame owns (memory objects, argument map, scratchpad).
//
// Every primitive descriptor is created with UserScratchpad() so that its
// scratchpad lives in the frame's bindings: nothing is allocated on a run and
// concurrent frames never share scratch memory.
#ifndef SLUICE_CPU_ONEDNN_H_
#define SLUICE_CPU_ONEDNN_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "cpu/window.h"
#include "graph/dtype.h"
#include "graph/shape.h"
#include "graph/tensor.h"
#include "kernels/kernel.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace sluice::cpu {

// The CPU engine every kernel uses (created on first use, never destroyed).
const dnnl::engine& CpuEngine();
// The calling thread's stream on CpuEngine(). Execution on it is synchronous.
dnnl::stream& CpuStream();

// oneDNN's data type for `dtype`; empty for dtypes oneDNN has no primitive
// support for (f64, bool, i64, f16 on this library build).
std::optional<dnnl::memory::data_type> DnnlDataType(DType dtype);

// The dims of a fully defined shape.
dnnl::memory::dims DnnlDims(const Shape& shape);
// A row-major (dense, last dim fastest) descriptor of `dims`.
dnnl::memory::desc DenseDesc(const dnnl::memory::dims& dims, dnnl::memory::data_type type);
// A descriptor with explicit element strides.
dnnl::memory::desc StridedDesc(const dnnl::memory::dims& dims, dnnl::memory::data_type type,
                               const dnnl::memory::dims& strides);

// Attributes that put the scratchpad under the caller's control (see the file
// comment). Pass them to every primitive descriptor built for DnnlPrimitive.
dnnl::primitive_attr UserScratchpad();

// Converts a oneDNN exception into an error saying what was being built.
absl::Status DnnlError(absl::string_view what, const dnnl::error& e);

// Runs `fn` (which builds oneDNN objects) and turns a dnnl::error into an
// Unimplemented status naming `what`.
template <typename Fn>
absl::Status CatchDnnl(absl::string_view what, Fn&& fn) {
  try {
    fn();
  } catch (const dnnl::error& e) {
    return DnnlError(what, e);
  }
  return absl::OkStatus();
}

// A primitive plus the arguments it is executed with. Immutable once built,
// so many frames (threads) may run it at once, each with its own Bindings.
class DnnlPrimitive {
 public:
  // Memory objects bound to one frame's buffers. Run() only rebinds a memory
  // object when its pointer changed since the last run (feeds and variables
  // can move; arena slots do not).
  class Bindings {
   public:
    Bindings() = default;
    Bindings(Bindings&&) = default;
    Bindings& operator=(Bindings&&) = default;

   private:
    friend class DnnlPrimitive;
    std::vector<dnnl::memory> memories_;  // one per argument, in argument order
    std::vector<void*> handles_;          // what each memory object points at now
    std::unordered_map<int, dnnl::memory> args_;
    Tensor scratchpad_;  // owns the scratchpad bytes, if any
  };

  DnnlPrimitive() = default;

  // Builds the primitive of `pd` (which must use UserScratchpad()). `args`
  // lists the execution argument ids (DNNL_ARG_SRC, ...) in the order Run
  // receives their pointers; their memory descriptors are queried from `pd`.
  static absl::StatusOr<DnnlPrimitive> Create(const dnnl::primitive_desc_base& pd,
                                              std::vector<int> args);
  // A reorder from `from` to `to` (args: DNNL_ARG_FROM, DNNL_ARG_TO).
  static absl::StatusOr<DnnlPrimitive> Reorder(const dnnl::memory::desc& from,
                                               const dnnl::memory::desc& to);

  bool valid() const { return static_cast<bool>(primitive_); }
  // The implementation oneDNN chose, e.g. "brg:avx512_core".
  const std::string& impl_name() const { return impl_name_; }
  // The descriptor of execution argument `arg` (one of those passed to Create).
  const dnnl::memory::desc& arg_desc(int arg) const;

  // Memory objects for one frame (allocates, so call from CreateState).
  Bindings Bind() const;

  // Executes on the calling thread's stream with `ptrs[i]` as the buffer of
  // argument i. Inputs are passed as const pointers cast to void*: oneDNN
  // does not write them. Allocates nothing after the first run of `bindings`.
  absl::Status Run(Bindings& bindings, absl::Span<const void* const> ptrs) const;

 private:
  dnnl::primitive primitive_;
  std::vector<int> args_;
  std::vector<dnnl::memory::desc> descs_;
  dnnl::memory::desc scratchpad_desc_;
  std::string impl_name_;
};

// A primitive whose arguments arrive in the caller's dense layouts. An
// argument the primitive chose another layout for (format_tag::any) goes
// through a reorder into a frame-owned buffer before the run (inputs) or out
// of one after it (outputs). Weights that change every run (variables) are
// handled this way, since blocked layouts can be several times faster.
class ReorderingPrimitive {
 public:
  struct Arg {
    int id;                   // DNNL_ARG_*
    dnnl::memory::desc user;  // the caller's layout; empty: as the primitive wants
    bool is_output = false;
  };

  class State : public KernelState {
   private:
    friend class ReorderingPrimitive;
    DnnlPrimitive::Bindings main_;
    std::vector<DnnlPrimitive::Bindings> reorders_;  // one per argument (unused when direct)
    std::vector<Tensor> buffers_;                    // one per reordered argument
  };

  ReorderingPrimitive() = default;
  static absl::StatusOr<ReorderingPrimitive> Create(const dnnl::primitive_desc_base& pd,
                                                    std::vector<Arg> args);

  bool valid() const { return main_.valid(); }
  // The main primitive's implementation, with "+reorder(...)" per reordered
  // argument, e.g. "brgconv:avx512_core+reorder(weights)".
  std::string impl_name() const;
  const DnnlPrimitive& main() const { return main_; }

  std::unique_ptr<State> NewState() const;
  // `ptrs[i]` is the caller's buffer of argument i (layout `args[i].user`).
  absl::Status Run(State& state, absl::Span<const void* const> ptrs) const;

 private:
  static constexpr int kMaxArgs = 12;
  DnnlPrimitive main_;
  std::vector<Arg> args_;
  std::vector<DnnlPrimitive> reorders_;  // invalid where the argument is direct
};

// oneDNN's view of a Window2D: logical (n, c, h, w) dims, the plain format
// tag of the layout, and oneDNN's dilations (TensorFlow's minus one).
struct DnnlWindow {
  dnnl::memory::dims src, dst, weights;  // weights: (o, i, h, w)
  dnnl::memory::dims strides, kernel, dilates, pad_l, pad_r;
  dnnl::memory::format_tag layout;  // nhwc or nchw
};
DnnlWindow ToDnnlWindow(const Window2D& w);

// Memory descriptors for a convolution over `w`. `src`, `weights` and `dst`
// are what the primitive is created with: weights always `any` (blocked
// weights are 2-3x faster even with a reorder every run), activations in the
// caller's layout, except NCHW with enough channels, where the blocked
// activation layouts pay for their reorders. The `user_*` descriptors are the
// caller's dense layouts (filter HWIO).
struct ConvDescs {
  DnnlWindow window;
  dnnl::memory::desc src, weights, dst;
  dnnl::memory::desc user_src, user_weights, user_dst;
};
ConvDescs MakeConvDescs(const Window2D& w, dnnl::memory::data_type type);

// Bytes needed to hold a buffer of memory descriptor `desc` (0 for an empty
// descriptor).
int64_t DescBytes(const dnnl::memory::desc& desc);

}  // namespace sluice::cpu

#endif  // SLUICE_CPU_ONEDNN_H_
