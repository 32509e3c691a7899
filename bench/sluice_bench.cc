// Micro-benchmarks of the runtime: per-run overhead, per-op overhead on tiny
// tensors, GEMM against oneDNN called directly, MLP inference, and the
// examples' MLP and CNN (training steps and inference, pipeline on and off).
//
//   build/bin/sluice_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   build/bin/sluice_bench --device=cuda --benchmark_filter='BM_(Mlp|Cnn)Train'
//
// --device=auto|cpu|cuda (default cpu, so figures keep their meaning across
// machines) is SessionOptions::device for every session created here.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <iostream>
#include <iterator>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "bench/bench_models.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "runtime/dataset.h"
#include "runtime/openmp_env.h"
#include "runtime/session.h"

namespace sluice {
namespace {

// Where every session runs: --device, set once in main before any benchmark.
DevicePolicy g_device = DevicePolicy::kCpu;

// Options with --device applied; the start of every session's options.
SessionOptions BaseOptions() {
  SessionOptions options;
  options.device = g_device;
  return options;
}

std::unique_ptr<Session> MakeSession(const Scope& root) {
  if (!root.ok()) std::abort();
  auto session = Session::Create(*root.graph(), BaseOptions());
  if (!session.ok()) {
    // E.g. --device=cuda without a GPU.
    std::cerr << "sluice_bench: " << session.status() << "\n";
    std::exit(1);
  }
  return std::move(*session);
}

Tensor Filled(const Shape& shape, uint64_t seed) {
  Tensor t(DType::kF32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& v : t.flat<float>()) v = u(rng);
  return t;
}

void Check(const absl::StatusOr<std::vector<Tensor>>& r, benchmark::State& state) {
  if (!r.ok()) state.SkipWithError(std::string(r.status().message()).c_str());
}

// Session::Run of one Add of two fed scalars.
void BM_RunOneOp(benchmark::State& state) {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root.WithOpName("a"), DType::kF32, Shape{});
  Output b = Placeholder(root.WithOpName("b"), DType::kF32, Shape{});
  Add(root.WithOpName("sum"), a, b);
  auto session = MakeSession(root);
  const FeedList feeds = {{"a", Tensor::Scalar(1.0f)}, {"b", Tensor::Scalar(2.0f)}};
  const std::vector<std::string> fetches = {"sum"};
  Check(session->Run(feeds, fetches), state);
  for (auto _ : state) {
    auto r = session->Run(feeds, fetches);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_RunOneOp);

// The same through a callable: no name lookup.
void BM_CallableOneOp(benchmark::State& state) {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root.WithOpName("a"), DType::kF32, Shape{});
  Output b = Placeholder(root.WithOpName("b"), DType::kF32, Shape{});
  Add(root.WithOpName("sum"), a, b);
  auto session = MakeSession(root);
  auto handle = session->MakeCallable({"a", "b"}, {"sum"});
  const std::vector<Tensor> feeds = {Tensor::Scalar(1.0f), Tensor::Scalar(2.0f)};
  Check(session->RunCallable(*handle, feeds), state);
  for (auto _ : state) {
    auto r = session->RunCallable(*handle, feeds);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_CallableOneOp);

// 1000 element-wise ops on a 16-element tensor in one run.
void BM_RunChain1000(benchmark::State& state) {
  constexpr int kOps = 1000;
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{16});
  Output c = Const(root, 0.999f);
  Output y = x;
  for (int i = 0; i < kOps; ++i) y = (i % 2 == 0) ? Mul(root, y, c) : Add(root, y, c);
  Identity(root.WithOpName("y"), y);
  auto session = MakeSession(root);
  auto handle = session->MakeCallable({"x"}, {"y"});
  const std::vector<Tensor> feeds = {Filled(Shape{16}, 1)};
  Check(session->RunCallable(*handle, feeds), state);
  for (auto _ : state) {
    auto r = session->RunCallable(*handle, feeds);
    benchmark::DoNotOptimize(r);
  }
  state.counters["time_per_op"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kOps,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_RunChain1000);

// An f32 1024x1024 product through Session::Run.
void BM_MatMul1024Session(benchmark::State& state) {
  Scope root = Scope::NewRootScope();
  Output a = Placeholder(root.WithOpName("a"), DType::kF32, Shape{1024, 1024});
  Output b = Placeholder(root.WithOpName("b"), DType::kF32, Shape{1024, 1024});
  MatMul(root.WithOpName("c"), a, b);
  auto session = MakeSession(root);
  auto handle = session->MakeCallable({"a", "b"}, {"c"});
  const std::vector<Tensor> feeds = {Filled(Shape{1024, 1024}, 1), Filled(Shape{1024, 1024}, 2)};
  Check(session->RunCallable(*handle, feeds), state);
  for (auto _ : state) {
    auto r = session->RunCallable(*handle, feeds);
    benchmark::DoNotOptimize(r);
  }
  state.counters["GFLOPS"] =
      benchmark::Counter(2.0 * 1024 * 1024 * 1024 * state.iterations(), benchmark::Counter::kIsRate,
                         benchmark::Counter::kIs1000);
}
BENCHMARK(BM_MatMul1024Session)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same product through the oneDNN matmul primitive called directly.
void BM_MatMul1024OneDNN(benchmark::State& state) {
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  const dnnl::memory::dims dims = {1024, 1024};
  dnnl::memory::desc md(dims, dt::f32, tag::ab);
  auto pd = dnnl::matmul::primitive_desc(dnnl::matmul::desc(md, md, md), engine);
  dnnl::matmul prim(pd);
  Tensor a = Filled(Shape{1024, 1024}, 1), b = Filled(Shape{1024, 1024}, 2);
  Tensor c(DType::kF32, Shape{1024, 1024});
  dnnl::memory ma(md, engine, a.raw_data()), mb(md, engine, b.raw_data()),
      mc(md, engine, c.raw_data());
  for (auto _ : state) {
    prim.execute(stream, {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}});
    stream.wait();
    benchmark::DoNotOptimize(c.raw_data());
  }
  state.counters["GFLOPS"] =
      benchmark::Counter(2.0 * 1024 * 1024 * 1024 * state.iterations(), benchmark::Counter::kIsRate,
                         benchmark::Counter::kIs1000);
}
BENCHMARK(BM_MatMul1024OneDNN)->Unit(benchmark::kMillisecond)->UseRealTime();

// MLP 784-256-10 inference: ReLU, softmax; weights in variables.
void BM_MlpForward(benchmark::State& state) {
  const int64_t batch = state.range(0);
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim, 784});
  Output w1 = Variable(root.WithOpName("w1"), Shape{784, 256}, DType::kF32,
                       Const(root, Filled(Shape{784, 256}, 3)));
  Output b1 =
      Variable(root.WithOpName("b1"), Shape{256}, DType::kF32, Const(root, Filled(Shape{256}, 4)));
  Output w2 = Variable(root.WithOpName("w2"), Shape{256, 10}, DType::kF32,
                       Const(root, Filled(Shape{256, 10}, 5)));
  Output b2 =
      Variable(root.WithOpName("b2"), Shape{10}, DType::kF32, Const(root, Filled(Shape{10}, 6)));
  Output h = Relu(root, BiasAdd(root, MatMul(root, x, w1), b1));
  Softmax(root.WithOpName("probs"), BiasAdd(root, MatMul(root, h, w2), b2));
  Node* init = InitAllVariables(root);
  auto session = MakeSession(root);
  Check(session->Run({}, {}, {init->name()}), state);
  auto handle = session->MakeCallable({"x"}, {"probs"});
  const std::vector<Tensor> feeds = {Filled(Shape{batch, 784}, 7)};
  Check(session->RunCallable(*handle, feeds), state);
  for (auto _ : state) {
    auto r = session->RunCallable(*handle, feeds);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_MlpForward)->Arg(1)->Arg(128)->Unit(benchmark::kMicrosecond);

// One shuffled epoch of a Fashion-MNIST-sized input pipeline: 60000 u8
// images of 28x28 with labels, batched by 128, normalised, one-hot encoded
// and flattened, as the training examples feed it.
void BM_DatasetEpoch(benchmark::State& state) {
  Tensor images = Tensor::Zeros(DType::kU8, Shape{60000, 28, 28});
  Tensor labels = Tensor::Zeros(DType::kU8, Shape{60000});
  for (int64_t i = 0; i < 60000; ++i) labels.data<uint8_t>()[i] = static_cast<uint8_t>(i % 10);
  absl::StatusOr<Dataset> source = Dataset::FromTensorSlices({images, labels});
  if (!source.ok()) {
    state.SkipWithError(std::string(source.status().message()).c_str());
    return;
  }
  Dataset dataset =
      source->Shuffle(1).Batch(128).Map(NormalizeImages()).Map(OneHot(10)).Map(FlattenFrom(1, 0));
  for (auto _ : state) {
    auto it = dataset.MakeIterator();
    if (!it.ok()) {
      state.SkipWithError(std::string(it.status().message()).c_str());
      return;
    }
    while (true) {
      auto element = (*it)->Next();
      if (!element.ok()) {
        state.SkipWithError(std::string(element.status().message()).c_str());
        return;
      }
      if (!element->has_value()) break;
      benchmark::DoNotOptimize(**element);
    }
  }
  state.SetItemsProcessed(state.iterations() * 60000);
}
BENCHMARK(BM_DatasetEpoch)->Unit(benchmark::kMillisecond)->UseRealTime();

// The examples' models (bench/bench_models.h): a training step (train op,
// training flag fed true) or inference (logits, flag at its default), at
// batch range(0), with the optimisation pipeline on (range(1) = 1) or off.
void RunModel(benchmark::State& state, const absl::StatusOr<bench::BenchModel>& model, bool train,
              SessionOptions options) {
  if (!model.ok()) {
    state.SkipWithError(std::string(model.status().message()).c_str());
    return;
  }
  const int64_t batch = state.range(0);
  auto session = Session::Create(*model->graph, options);
  if (!session.ok()) {
    state.SkipWithError(std::string(session.status().message()).c_str());
    return;
  }
  Check((*session)->Run(FeedList{}, {}, {"init"}), state);
  std::vector<int64_t> dims = {batch};
  dims.insert(dims.end(), model->image_dims.dims().begin(), model->image_dims.dims().end());
  Tensor images = Filled(Shape(absl::MakeConstSpan(dims)), 11);
  Tensor labels(DType::kI64, Shape{batch});
  for (int64_t i = 0; i < batch; ++i) labels.data<int64_t>()[i] = i % 10;
  absl::StatusOr<Session::CallableHandle> handle =
      train ? (*session)->MakeCallable({"images", "labels", "training"}, {}, {"train"})
            : (*session)->MakeCallable({"images"}, {"logits"});
  if (!handle.ok()) {
    state.SkipWithError(std::string(handle.status().message()).c_str());
    return;
  }
  const std::vector<Tensor> feeds = train
                                        ? std::vector<Tensor>{images, labels, Tensor::Scalar(true)}
                                        : std::vector<Tensor>{images};
  Check((*session)->RunCallable(*handle, feeds), state);
  for (auto _ : state) {
    auto r = (*session)->RunCallable(*handle, feeds);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * batch);
}

// The pipeline on (range(1) = 1) or off.
SessionOptions PipelineOptions(const benchmark::State& state) {
  SessionOptions options = BaseOptions();
  options.optimization.level = static_cast<int>(state.range(1));
  // SLUICE_BENCH_DISABLE_PASSES=a,b turns passes off, to find which one a
  // difference comes from.
  if (const char* disabled = std::getenv("SLUICE_BENCH_DISABLE_PASSES")) {
    options.optimization.disabled = absl::StrSplit(disabled, ',', absl::SkipEmpty());
  }
  return options;
}

void BM_MlpTrain(benchmark::State& state) {
  RunModel(state, bench::BuildMlp(), true, PipelineOptions(state));
}
void BM_CnnTrain(benchmark::State& state) {
  RunModel(state, bench::BuildCnn(), true, PipelineOptions(state));
}
void BM_MlpInfer(benchmark::State& state) {
  RunModel(state, bench::BuildMlp(), false, PipelineOptions(state));
}
void BM_CnnInfer(benchmark::State& state) {
  RunModel(state, bench::BuildCnn(), false, PipelineOptions(state));
}
// Arguments: {batch, pipeline on}.
#define SLUICE_MODEL_BENCHMARK(fn)      \
  BENCHMARK(fn)                         \
      ->ArgsProduct({{1, 128}, {0, 1}}) \
      ->ArgNames({"batch", "pipeline"}) \
      ->Unit(benchmark::kMicrosecond)   \
      ->UseRealTime()
SLUICE_MODEL_BENCHMARK(BM_MlpTrain);
SLUICE_MODEL_BENCHMARK(BM_CnnTrain);
SLUICE_MODEL_BENCHMARK(BM_MlpInfer);
SLUICE_MODEL_BENCHMARK(BM_CnnInfer);

// Pass ablation: the pipeline on with one pass off, range(1) indexing
// kAblatedPasses, to show that no pass makes a model slower (compare with
// pipeline:1 above in the same interleaved run; bench/pass_impact.py does).
constexpr const char* kAblatedPasses[] = {"constant-folding", "cse", "simplify", "fusion",
                                          "layout"};
SessionOptions WithoutPass(benchmark::State& state) {
  SessionOptions options = BaseOptions();
  const char* pass = kAblatedPasses[state.range(1)];
  options.optimization.disabled = {pass};
  state.SetLabel(absl::StrCat("without ", pass));
  return options;
}
void BM_MlpTrainWithout(benchmark::State& state) {
  RunModel(state, bench::BuildMlp(), true, WithoutPass(state));
}
void BM_CnnTrainWithout(benchmark::State& state) {
  RunModel(state, bench::BuildCnn(), true, WithoutPass(state));
}
void BM_MlpInferWithout(benchmark::State& state) {
  RunModel(state, bench::BuildMlp(), false, WithoutPass(state));
}
void BM_CnnInferWithout(benchmark::State& state) {
  RunModel(state, bench::BuildCnn(), false, WithoutPass(state));
}
#define SLUICE_ABLATION_BENCHMARK(fn)                                                             \
  BENCHMARK(fn)                                                                                   \
      ->ArgsProduct({{1, 128}, benchmark::CreateDenseRange(0, std::size(kAblatedPasses) - 1, 1)}) \
      ->ArgNames({"batch", "pass"})                                                               \
      ->Unit(benchmark::kMicrosecond)                                                             \
      ->UseRealTime()
SLUICE_ABLATION_BENCHMARK(BM_MlpTrainWithout);
SLUICE_ABLATION_BENCHMARK(BM_CnnTrainWithout);
SLUICE_ABLATION_BENCHMARK(BM_MlpInferWithout);
SLUICE_ABLATION_BENCHMARK(BM_CnnInferWithout);

// Takes --device=X or --device X out of argv (Google Benchmark rejects flags
// it does not know) and sets g_device. False, with a message on stderr, for
// a bad value.
bool TakeDeviceFlag(int& argc, char** argv) {
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    absl::string_view value = argv[i];
    if (!absl::ConsumePrefix(&value, "--device=")) {
      if (value != "--device" || i + 1 == argc) {
        argv[kept++] = argv[i];
        continue;
      }
      value = argv[++i];
    }
    absl::StatusOr<DevicePolicy> device = ParseDevicePolicy(value);
    if (!device.ok()) {
      std::cerr << "sluice_bench: --device: " << device.status().message() << "\n";
      return false;
    }
    g_device = *device;
  }
  argc = kept;
  argv[argc] = nullptr;
  return true;
}

}  // namespace
}  // namespace sluice

// The tools' OpenMP wait policy (runtime/openmp_env.h), so the figures are
// the ones users see.
int main(int argc, char** argv) {
  sluice::ApplyOpenMpSpinLimit(argv);
  if (!sluice::TakeDeviceFlag(argc, argv)) return 2;
  benchmark::Initialize(&argc, argv);
  benchmark::AddCustomContext("device", std::string(sluice::DevicePolicyName(sluice::g_device)));
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
