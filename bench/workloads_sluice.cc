// Sluice's side of the side-by-side workloads (bench/WORKLOADS.md), written
// the way a user of the C++ API would: placeholders, variables initialised
// from the shared weights, a callable per signature.
#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "bench/workload.h"
#include "graph/losses.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "graph/optimizers.h"
#include "graph/status_macros.h"
#include "runtime/idx.h"
#include "runtime/npy.h"
#include "runtime/session.h"

namespace sluice::bench {
namespace {

constexpr char kFashionDir[] = "/usr/share/datasets/fashion-mnist";

absl::StatusOr<Tensor> ReadData(const WorkloadConfig& config, const std::string& file) {
  return ReadNpy(absl::StrCat(config.data_dir, "/", file));
}

// A graph under construction with the weights it reads from the data files.
class ModelBuilder {
 public:
  explicit ModelBuilder(const WorkloadConfig& config) : config_(config) {}

  Scope& root() { return root_; }

  // A variable holding `file`'s tensor.
  absl::StatusOr<Output> Weight(const std::string& file) {
    ASSIGN_OR_RETURN(Tensor value, ReadData(config_, file));
    const std::string name = file.substr(0, file.find('.'));
    return Variable(root_.WithOpName(name), value.shape(), value.dtype(), Const(root_, value));
  }

  // A session over the graph with every variable initialised.
  absl::StatusOr<std::unique_ptr<Session>> Finish(const OptimizationOptions& optimization = {}) {
    Node* init = InitAllVariables(root_);
    RETURN_IF_ERROR(root_.status());
    SessionOptions options;
    options.intra_op_threads = config_.threads;
    options.device = config_.device;
    options.optimization = optimization;
    ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(*root_.graph(), options));
    RETURN_IF_ERROR(session->Run(FeedList{}, {}, {init->name()}).status());
    return session;
  }

 private:
  const WorkloadConfig config_;
  Scope root_ = Scope::NewRootScope();
};

// Runs one callable with fixed feeds; keeps the first fetch as the output.
class CallableWorkload final : public Workload {
 public:
  CallableWorkload(std::unique_ptr<Session> session, Session::CallableHandle handle,
                   std::vector<Tensor> feeds, bool keeps_output)
      : session_(std::move(session)),
        handle_(handle),
        feeds_(std::move(feeds)),
        keeps_output_(keeps_output) {}

  absl::Status Run() override {
    ASSIGN_OR_RETURN(std::vector<Tensor> fetched, session_->RunCallable(handle_, feeds_));
    if (keeps_output_ && !fetched.empty()) last_ = fetched[0];
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<Tensor>> LastOutput() override {
    if (!keeps_output_) return std::nullopt;
    return last_;
  }

 private:
  std::unique_ptr<Session> session_;
  Session::CallableHandle handle_;
  std::vector<Tensor> feeds_;
  bool keeps_output_;
  Tensor last_;
};

absl::StatusOr<std::unique_ptr<Workload>> MakeCallable(
    std::unique_ptr<Session> session, const std::vector<std::string>& feed_names,
    std::vector<Tensor> feeds, const std::vector<std::string>& fetches,
    const std::vector<std::string>& targets, bool keeps_output) {
  ASSIGN_OR_RETURN(Session::CallableHandle handle,
                   session->MakeCallable(feed_names, fetches, targets));
  return std::make_unique<CallableWorkload>(std::move(session), handle, std::move(feeds),
                                            keeps_output);
}

absl::StatusOr<std::unique_ptr<Workload>> OneOp(const WorkloadConfig& config) {
  ModelBuilder m(config);
  Output a = Placeholder(m.root().WithOpName("a"), DType::kF32, Shape{});
  Output b = Placeholder(m.root().WithOpName("b"), DType::kF32, Shape{});
  Add(m.root().WithOpName("sum"), a, b);
  ASSIGN_OR_RETURN(auto session, m.Finish());
  return MakeCallable(std::move(session), {"a", "b"},
                      {Tensor::Scalar(1.5f), Tensor::Scalar(2.25f)}, {"sum"}, {}, false);
}

absl::StatusOr<std::unique_ptr<Workload>> Chain1000(const WorkloadConfig& config) {
  ModelBuilder m(config);
  Output x = Placeholder(m.root().WithOpName("x"), DType::kF32, Shape{16});
  Output c = Const(m.root(), 0.999f);
  Output y = x;
  for (int i = 0; i < 1000; ++i) y = (i % 2 == 0) ? Mul(m.root(), y, c) : Add(m.root(), y, c);
  Identity(m.root().WithOpName("y"), y);
  // The row measures per-op cost, so the ops stay 1000 kernels.
  OptimizationOptions no_fusion;
  no_fusion.disabled = {"fusion"};
  ASSIGN_OR_RETURN(auto session, m.Finish(no_fusion));
  ASSIGN_OR_RETURN(Tensor x_value, ReadData(config, "chain_x.npy"));
  return MakeCallable(std::move(session), {"x"}, {x_value}, {"y"}, {}, false);
}

absl::StatusOr<Output> MlpLogits(ModelBuilder& m, Output x) {
  Scope& root = m.root();
  ASSIGN_OR_RETURN(Output w1, m.Weight("mlp_w1.npy"));
  ASSIGN_OR_RETURN(Output b1, m.Weight("mlp_b1.npy"));
  ASSIGN_OR_RETURN(Output w2, m.Weight("mlp_w2.npy"));
  ASSIGN_OR_RETURN(Output b2, m.Weight("mlp_b2.npy"));
  Output h = Relu(root, BiasAdd(root, MatMul(root, x, w1), b1));
  return BiasAdd(root, MatMul(root, h, w2), b2);
}

absl::StatusOr<Output> CnnLogits(ModelBuilder& m, Output x) {
  Scope& root = m.root();
  ASSIGN_OR_RETURN(Output w1, m.Weight("cnn_w1.npy"));
  ASSIGN_OR_RETURN(Output b1, m.Weight("cnn_b1.npy"));
  ASSIGN_OR_RETURN(Output w2, m.Weight("cnn_w2.npy"));
  ASSIGN_OR_RETURN(Output b2, m.Weight("cnn_b2.npy"));
  ASSIGN_OR_RETURN(Output w3, m.Weight("cnn_w3.npy"));
  ASSIGN_OR_RETURN(Output b3, m.Weight("cnn_b3.npy"));
  ASSIGN_OR_RETURN(Output w4, m.Weight("cnn_w4.npy"));
  ASSIGN_OR_RETURN(Output b4, m.Weight("cnn_b4.npy"));
  Output h = MaxPool(root, Relu(root, BiasAdd(root, Conv2D(root, x, w1), b1)));
  h = MaxPool(root, Relu(root, BiasAdd(root, Conv2D(root, h, w2), b2)));
  h = Reshape(root, h, {-1, 7 * 7 * 64});
  h = Relu(root, BiasAdd(root, MatMul(root, h, w3), b3));
  return BiasAdd(root, MatMul(root, h, w4), b4);
}

using LogitsFn = absl::StatusOr<Output> (*)(ModelBuilder&, Output);

absl::StatusOr<std::unique_ptr<Workload>> Infer(const WorkloadConfig& config, LogitsFn logits_fn,
                                                const Shape& image_dims,
                                                const std::string& input_file) {
  ModelBuilder m(config);
  std::vector<int64_t> dims = {kUnknownDim};
  dims.insert(dims.end(), image_dims.dims().begin(), image_dims.dims().end());
  Output x = Placeholder(m.root().WithOpName("x"), DType::kF32, Shape(absl::MakeConstSpan(dims)));
  ASSIGN_OR_RETURN(Output logits, logits_fn(m, x));
  Softmax(m.root().WithOpName("probs"), logits);
  ASSIGN_OR_RETURN(auto session, m.Finish());
  ASSIGN_OR_RETURN(Tensor input, ReadData(config, input_file));
  return MakeCallable(std::move(session), {"x"}, {input}, {"probs"}, {}, true);
}

// The training graph: placeholders x and y, the loss, one optimizer step.
absl::StatusOr<std::unique_ptr<Session>> BuildTrainer(const WorkloadConfig& config,
                                                      LogitsFn logits_fn, const Shape& image_dims,
                                                      Optimizer& optimizer) {
  ModelBuilder m(config);
  std::vector<int64_t> dims = {kUnknownDim};
  dims.insert(dims.end(), image_dims.dims().begin(), image_dims.dims().end());
  Output x = Placeholder(m.root().WithOpName("x"), DType::kF32, Shape(absl::MakeConstSpan(dims)));
  Output y = Placeholder(m.root().WithOpName("y"), DType::kI32, Shape{kUnknownDim});
  ASSIGN_OR_RETURN(Output logits, logits_fn(m, x));
  Output loss = losses::SparseSoftmaxCrossEntropy(m.root(), y, logits);
  // As the peers' minimize(loss): no global step to increment.
  MinimizeOptions minimize;
  minimize.increment_global_step = false;
  ASSIGN_OR_RETURN(Node * train, optimizer.Minimize(m.root(), loss, minimize));
  if (train->name() != "train") {
    return absl::InternalError(absl::StrCat("train op named ", train->name()));
  }
  return m.Finish();
}

absl::StatusOr<std::unique_ptr<Workload>> TrainStep(const WorkloadConfig& config,
                                                    LogitsFn logits_fn, const Shape& image_dims,
                                                    Optimizer& optimizer,
                                                    const std::string& input_file,
                                                    const std::string& label_file) {
  ASSIGN_OR_RETURN(auto session, BuildTrainer(config, logits_fn, image_dims, optimizer));
  ASSIGN_OR_RETURN(Tensor input, ReadData(config, input_file));
  ASSIGN_OR_RETURN(Tensor labels, ReadData(config, label_file));
  return MakeCallable(std::move(session), {"x", "y"}, {input, labels}, {}, {"train"}, false);
}

// One Fashion-MNIST epoch: shuffle, then slice and feed 468 batches of 128.
class MlpEpoch final : public Workload {
 public:
  static absl::StatusOr<std::unique_ptr<Workload>> Create(const WorkloadConfig& config) {
    AdamOptimizer adam({.learning_rate = 0.001, .epsilon = 1e-8});
    ASSIGN_OR_RETURN(auto session, BuildTrainer(config, MlpLogits, Shape{784}, adam));
    ASSIGN_OR_RETURN(Session::CallableHandle handle, session->MakeCallable({"x", "y"}, {}, {"train"}));
    ASSIGN_OR_RETURN(Tensor images,
                     ReadIdx(absl::StrCat(kFashionDir, "/train-images-idx3-ubyte.gz")));
    ASSIGN_OR_RETURN(Tensor labels,
                     ReadIdx(absl::StrCat(kFashionDir, "/train-labels-idx1-ubyte.gz")));
    auto epoch = std::unique_ptr<MlpEpoch>(new MlpEpoch(std::move(session), handle));
    const int64_t n = images.shape().dim(0);
    epoch->images_ = Tensor(DType::kF32, Shape{n, 784});
    const uint8_t* pixels = images.data<uint8_t>();
    float* scaled = epoch->images_.data<float>();
    for (int64_t i = 0; i < n * 784; ++i) scaled[i] = pixels[i] / 255.0f;
    epoch->labels_ = Tensor(DType::kI32, Shape{n});
    for (int64_t i = 0; i < n; ++i) epoch->labels_.data<int32_t>()[i] = labels.data<uint8_t>()[i];
    epoch->order_.resize(n);
    std::iota(epoch->order_.begin(), epoch->order_.end(), 0);
    return epoch;
  }

  absl::Status Run() override {
    constexpr int64_t kBatch = 128;
    std::shuffle(order_.begin(), order_.end(), rng_);
    const int64_t batches = static_cast<int64_t>(order_.size()) / kBatch;
    const float* images = images_.data<float>();
    const int32_t* labels = labels_.data<int32_t>();
    for (int64_t b = 0; b < batches; ++b) {
      // Fresh feed tensors each step, as a user's input loop makes them.
      Tensor x(DType::kF32, Shape{kBatch, 784});
      Tensor y(DType::kI32, Shape{kBatch});
      for (int64_t i = 0; i < kBatch; ++i) {
        const int64_t row = order_[b * kBatch + i];
        std::memcpy(x.data<float>() + i * 784, images + row * 784, 784 * sizeof(float));
        y.data<int32_t>()[i] = labels[row];
      }
      RETURN_IF_ERROR(session_->RunCallable(handle_, {x, y}).status());
    }
    return absl::OkStatus();
  }

 private:
  MlpEpoch(std::unique_ptr<Session> session, Session::CallableHandle handle)
      : session_(std::move(session)), handle_(handle) {}
  std::unique_ptr<Session> session_;
  Session::CallableHandle handle_;
  Tensor images_, labels_;
  std::vector<int64_t> order_;
  std::mt19937_64 rng_{1};
};

// The CPU rows: both matrices fed, the product fetched.
absl::StatusOr<std::unique_ptr<Workload>> FedMatMul(const WorkloadConfig& config, int64_t n) {
  ModelBuilder m(config);
  Output a = Placeholder(m.root().WithOpName("a"), DType::kF32, Shape{n, n});
  Output b = Placeholder(m.root().WithOpName("b"), DType::kF32, Shape{n, n});
  MatMul(m.root().WithOpName("c"), a, b);
  ASSIGN_OR_RETURN(auto session, m.Finish());
  ASSIGN_OR_RETURN(Tensor a_value, ReadData(config, absl::StrCat("mm_a", n, ".npy")));
  ASSIGN_OR_RETURN(Tensor b_value, ReadData(config, absl::StrCat("mm_b", n, ".npy")));
  return MakeCallable(std::move(session), {"a", "b"}, {a_value, b_value}, {"c"}, {}, false);
}

// The GPU rows: both matrices in variables (device memory) and the product
// a target, so a run is the product alone, as cuBLAS called directly is
// timed; the run returns once the device has finished it. The product is
// fetched only for LastOutput, outside the timing.
class ResidentMatMul final : public Workload {
 public:
  static absl::StatusOr<std::unique_ptr<Workload>> Create(const WorkloadConfig& config,
                                                          int64_t n) {
    ModelBuilder m(config);
    ASSIGN_OR_RETURN(Output a, m.Weight(absl::StrCat("mm_a", n, ".npy")));
    ASSIGN_OR_RETURN(Output b, m.Weight(absl::StrCat("mm_b", n, ".npy")));
    MatMul(m.root().WithOpName("c"), a, b);
    ASSIGN_OR_RETURN(auto session, m.Finish());
    ASSIGN_OR_RETURN(Session::CallableHandle run, session->MakeCallable({}, {}, {"c"}));
    ASSIGN_OR_RETURN(Session::CallableHandle fetch, session->MakeCallable({}, {"c"}, {}));
    return std::unique_ptr<Workload>(new ResidentMatMul(std::move(session), run, fetch));
  }

  absl::Status Run() override { return session_->RunCallable(run_, {}).status(); }

  absl::StatusOr<std::optional<Tensor>> LastOutput() override {
    ASSIGN_OR_RETURN(std::vector<Tensor> fetched, session_->RunCallable(fetch_, {}));
    return fetched[0];
  }

 private:
  ResidentMatMul(std::unique_ptr<Session> session, Session::CallableHandle run,
                 Session::CallableHandle fetch)
      : session_(std::move(session)), run_(run), fetch_(fetch) {}
  std::unique_ptr<Session> session_;
  Session::CallableHandle run_, fetch_;
};

}  // namespace

int64_t MatMulSize(const std::string& workload) {
  if (workload == "matmul1024") return 1024;
  if (workload == "matmul2048") return 2048;
  if (workload == "matmul4096") return 4096;
  return 0;
}

absl::StatusOr<std::unique_ptr<Workload>> MakeSluiceWorkload(const std::string& name,
                                                             const WorkloadConfig& config) {
  if (name == "one_op") return OneOp(config);
  if (name == "chain1000") return Chain1000(config);
  if (name == "mlp_infer_b1") return Infer(config, MlpLogits, Shape{784}, "mlp_x_b1.npy");
  if (name == "mlp_infer_b128") return Infer(config, MlpLogits, Shape{784}, "mlp_x_b128.npy");
  if (name == "cnn_infer_b1") return Infer(config, CnnLogits, Shape{28, 28, 1}, "cnn_x_b1.npy");
  if (name == "cnn_infer_b64") return Infer(config, CnnLogits, Shape{28, 28, 1}, "cnn_x_b64.npy");
  if (name == "mlp_train_b128") {
    AdamOptimizer adam({.learning_rate = 0.001, .epsilon = 1e-8});
    return TrainStep(config, MlpLogits, Shape{784}, adam, "mlp_x_b128.npy", "mlp_y_b128.npy");
  }
  if (name == "cnn_train_b64") {
    MomentumOptimizer momentum({.learning_rate = 0.01, .momentum = 0.9});
    return TrainStep(config, CnnLogits, Shape{28, 28, 1}, momentum, "cnn_x_b64.npy",
                     "cnn_y_b64.npy");
  }
  if (const int64_t n = MatMulSize(name); n > 0) {
    if (config.device == DevicePolicy::kCpu) return FedMatMul(config, n);
    return ResidentMatMul::Create(config, n);
  }
  if (name == "mlp_epoch") return MlpEpoch::Create(config);
  return absl::NotFoundError(absl::StrCat("unknown workload '", name, "'"));
}

}  // namespace sluice::bench
