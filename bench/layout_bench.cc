// Plain NHWC against oneDNN's preferred (blocked) layouts for the convolution
// blocks of the bench CNN (bench_models.cc: 3x3 conv 32 -> BN -> ReLU -> 2x2
// max pool -> 3x3 conv 64 -> BN -> ReLU -> 2x2 max pool on [N,28,28,1]),
// calling oneDNN directly. It answers whether a layout pass is worth
// building (docs/kernels.md has the figures): kNhwc declares NHWC for every
// activation, as the Sluice kernels do; kAny lets each primitive pick its
// layout (format_tag::any) and keeps it between steps; kForced16c keeps
// nChw16c throughout. Reorders are added only at the network's input and
// output and wherever two neighbouring primitives disagree (the "reorders"
// counter). In all three, filters are kept HWIO by the caller (they are
// variables) and reordered to the primitive's layout on every run, and filter
// gradients are reordered back to HWIO. The machine is shared: compare the
// layouts within one interleaved run, and OMP_NUM_THREADS=1 gives the
// steadiest figures when the cores are busy.
//
//   layout_bench --benchmark_enable_random_interleaving=true
//                --benchmark_repetitions=9 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "oneapi/dnnl/dnnl.hpp"

namespace {

using dnnl::algorithm;
using dnnl::memory;
using dnnl::prop_kind;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::engine& Engine() {
  static dnnl::engine* engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);
  return *engine;
}

dnnl::stream& Stream() {
  static dnnl::stream* stream = new dnnl::stream(Engine());
  return *stream;
}

memory Filled(const memory::desc& desc, uint32_t seed) {
  memory m(desc, Engine());
  float* p = static_cast<float*>(m.get_data_handle());
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (size_t i = 0; i < desc.get_size() / sizeof(float); ++i) p[i] = dist(gen);
  return m;
}

// A straight-line program of primitives over memories it owns.
class Program {
 public:
  void Add(dnnl::primitive p, std::unordered_map<int, memory> args) {
    steps_.push_back({std::move(p), std::move(args)});
  }
  // `m` in layout `want`, adding a reorder when it is not already.
  memory As(const memory& m, const memory::desc& want) {
    if (m.get_desc() == want) return m;
    memory out(want, Engine());
    Add(dnnl::reorder(m, out), {{DNNL_ARG_FROM, m}, {DNNL_ARG_TO, out}});
    ++reorders_;
    return out;
  }
  void Run() {
    for (auto& s : steps_) s.p.execute(Stream(), s.args);
    Stream().wait();
  }
  int reorders() const { return reorders_; }

 private:
  struct Step {
    dnnl::primitive p;
    std::unordered_map<int, memory> args;
  };
  std::vector<Step> steps_;
  int reorders_ = 0;
};

struct ConvLayer {
  memory::dims src, weights, dst;
};

// NCHW-ordered dims of the two blocks at batch n.
ConvLayer Conv1(int64_t n) { return {{n, 1, 28, 28}, {32, 1, 3, 3}, {n, 32, 26, 26}}; }
ConvLayer Conv2(int64_t n) { return {{n, 32, 13, 13}, {64, 32, 3, 3}, {n, 64, 11, 11}}; }

// Activation layouts: as the Sluice kernels declare them, as each primitive
// prefers (`any`), or nChw16c forced wherever the channels fill whole blocks.
enum Layout : int { kNhwc = 0, kAny = 1, kForced16c = 2 };

memory::desc Desc(const memory::dims& d, Layout layout) {
  switch (layout) {
    case kNhwc:
      return memory::desc(d, dt::f32, tag::nhwc);
    case kAny:
      return memory::desc(d, dt::f32, tag::any);
    case kForced16c:
      break;
  }
  return memory::desc(d, dt::f32, d[1] % 16 == 0 ? tag::nChw16c : tag::nchw);
}

const char* LayoutName(Layout layout) {
  return layout == kNhwc ? "nhwc" : layout == kAny ? "any" : "nChw16c";
}

const memory::dims kStride = {1, 1}, kPad = {0, 0};

// One conv -> BN -> ReLU -> 2x2/2 max pool block on `x`;
// returns the pooled output and, through `conv_src`/`conv_dst`, the
// convolution's operands for the backward benchmark.
memory Block(Program& prog, memory x, const ConvLayer& l, Layout layout, bool training,
             uint32_t seed, memory* conv_src = nullptr, memory* conv_dst = nullptr) {
  dnnl::convolution_forward::primitive_desc conv(
      {training ? prop_kind::forward_training : prop_kind::forward_inference,
       algorithm::convolution_direct, Desc(l.src, layout),
       memory::desc(l.weights, dt::f32, tag::any), Desc(l.dst, layout), kStride, kPad, kPad},
      Engine());
  memory src = prog.As(x, conv.src_desc());
  memory hwio = Filled(memory::desc(l.weights, dt::f32, tag::hwio), seed);
  memory weights = prog.As(hwio, conv.weights_desc());
  memory y(conv.dst_desc(), Engine());
  prog.Add(dnnl::convolution_forward(conv),
           {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, y}});
  if (conv_src) *conv_src = src;
  if (conv_dst) *conv_dst = y;

  // Inference normalises with stored statistics; training computes the
  // batch's (and max pooling keeps a workspace for its gradient).
  const int64_t c = l.dst[1];
  const prop_kind prop = training ? prop_kind::forward_training : prop_kind::forward_inference;
  dnnl::normalization_flags flags =
      dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  if (!training) flags = flags | dnnl::normalization_flags::use_global_stats;
  dnnl::batch_normalization_forward::primitive_desc bn({prop, y.get_desc(), 1e-3f, flags},
                                                       Engine());
  memory scale = Filled(memory::desc({c}, dt::f32, tag::a), seed + 1);
  memory mean = Filled(memory::desc({c}, dt::f32, tag::a), seed + 2);
  memory var = Filled(memory::desc({c}, dt::f32, tag::a), seed + 3);
  float* v = static_cast<float*>(var.get_data_handle());
  for (int64_t i = 0; i < c; ++i) v[i] = v[i] * v[i] + 0.5f;
  memory shift = Filled(memory::desc({c}, dt::f32, tag::a), seed + 4);
  memory normed(bn.dst_desc(), Engine());
  prog.Add(dnnl::batch_normalization_forward(bn), {{DNNL_ARG_SRC, y},
                                                   {DNNL_ARG_DST, normed},
                                                   {DNNL_ARG_MEAN, mean},
                                                   {DNNL_ARG_VARIANCE, var},
                                                   {DNNL_ARG_SCALE, scale},
                                                   {DNNL_ARG_SHIFT, shift}});

  dnnl::eltwise_forward::primitive_desc relu(
      {prop, algorithm::eltwise_relu, normed.get_desc(), 0.0f}, Engine());
  prog.Add(dnnl::eltwise_forward(relu), {{DNNL_ARG_SRC, normed}, {DNNL_ARG_DST, normed}});

  const memory::dims pooled = {l.dst[0], c, l.dst[2] / 2, l.dst[3] / 2};
  dnnl::pooling_v2_forward::primitive_desc pool({prop,
                                                 algorithm::pooling_max,
                                                 normed.get_desc(),
                                                 Desc(pooled, layout),
                                                 {2, 2},
                                                 {2, 2},
                                                 {0, 0},
                                                 kPad,
                                                 kPad},
                                                Engine());
  memory out(pool.dst_desc(), Engine());
  std::unordered_map<int, memory> pool_args = {{DNNL_ARG_SRC, normed}, {DNNL_ARG_DST, out}};
  if (training) pool_args[DNNL_ARG_WORKSPACE] = memory(pool.workspace_desc(), Engine());
  prog.Add(dnnl::pooling_v2_forward(pool), std::move(pool_args));
  return out;
}

void BuildForward(Program& prog, int64_t n, Layout layout, bool training) {
  memory x = Filled(memory::desc({n, 1, 28, 28}, dt::f32, tag::nhwc), 1);
  x = Block(prog, x, Conv1(n), layout, training, 10);
  x = Block(prog, x, Conv2(n), layout, training, 20);
  prog.As(x, memory::desc({n, 64, 5, 5}, dt::f32, tag::nhwc));
}

// The filter gradient of `l` (to HWIO) from the layer's forward operands and
// an output gradient in the forward output's layout; with `data`, also the
// input gradient.
void ConvBackward(Program& prog, const ConvLayer& l, Layout layout, const memory& src,
                  const memory& dy, bool data, uint32_t seed) {
  dnnl::convolution_forward::primitive_desc hint(
      {prop_kind::forward_training, algorithm::convolution_direct, Desc(l.src, layout),
       memory::desc(l.weights, dt::f32, tag::any), Desc(l.dst, layout), kStride, kPad, kPad},
      Engine());
  dnnl::convolution_backward_weights::primitive_desc bw(
      {algorithm::convolution_direct, Desc(l.src, layout),
       memory::desc(l.weights, dt::f32, tag::any), Desc(l.dst, layout), kStride, kPad, kPad},
      Engine(), hint);
  memory bw_src = prog.As(src, bw.src_desc());
  memory bw_dy = prog.As(dy, bw.diff_dst_desc());
  memory dw(bw.diff_weights_desc(), Engine());
  prog.Add(dnnl::convolution_backward_weights(bw),
           {{DNNL_ARG_SRC, bw_src}, {DNNL_ARG_DIFF_DST, bw_dy}, {DNNL_ARG_DIFF_WEIGHTS, dw}});
  prog.As(dw, memory::desc(l.weights, dt::f32, tag::hwio));
  if (!data) return;
  dnnl::convolution_backward_data::primitive_desc bd(
      {algorithm::convolution_direct, Desc(l.src, layout),
       memory::desc(l.weights, dt::f32, tag::any), Desc(l.dst, layout), kStride, kPad, kPad},
      Engine(), hint);
  memory hwio = Filled(memory::desc(l.weights, dt::f32, tag::hwio), seed);
  memory w = prog.As(hwio, bd.weights_desc());
  memory bd_dy = prog.As(dy, bd.diff_dst_desc());
  memory dx(bd.diff_src_desc(), Engine());
  prog.Add(dnnl::convolution_backward_data(bd),
           {{DNNL_ARG_DIFF_DST, bd_dy}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}});
}

// The backward convolutions of a training step: filter gradients of both
// layers and the input gradient of the second. The operands come from a
// forward program built alongside (not timed), in its layouts.
void BuildBackward(Program& prog, Program& forward, int64_t n, Layout layout) {
  memory x = Filled(memory::desc({n, 1, 28, 28}, dt::f32, tag::nhwc), 1);
  memory src1, dst1, src2, dst2;
  x = Block(forward, x, Conv1(n), layout, true, 10, &src1, &dst1);
  Block(forward, x, Conv2(n), layout, true, 20, &src2, &dst2);
  ConvBackward(prog, Conv2(n), layout, src2, Filled(dst2.get_desc(), 30), true, 40);
  ConvBackward(prog, Conv1(n), layout, src1, Filled(dst1.get_desc(), 50), false, 60);
}

void BM_Forward(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Layout layout = static_cast<Layout>(state.range(1));
  const bool training = state.range(2) != 0;
  Program prog;
  BuildForward(prog, n, layout, training);
  for (auto _ : state) prog.Run();
  state.counters["reorders"] = prog.reorders();
  state.SetLabel(std::string(LayoutName(layout)) + (training ? " training" : ""));
}

void BM_BackwardConvs(benchmark::State& state) {
  const int64_t n = state.range(0);
  const Layout layout = static_cast<Layout>(state.range(1));
  Program prog, forward;
  BuildBackward(prog, forward, n, layout);
  forward.Run();
  for (auto _ : state) prog.Run();
  state.counters["reorders"] = prog.reorders();
  state.SetLabel(LayoutName(layout));
}

// Args: batch, Layout, training (batch statistics, pooling workspace).
BENCHMARK(BM_Forward)
    ->ArgsProduct({{1, 128}, {kNhwc, kAny, kForced16c}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);
// Args: batch, Layout.
BENCHMARK(BM_BackwardConvs)
    ->ArgsProduct({{1, 128}, {kNhwc, kAny, kForced16c}})
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
