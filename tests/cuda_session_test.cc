// Whole training steps on the GPU against the CPU: the examples' Fashion-MNIST
// MLP and CNN start from the same weights (a CPU checkpoint restored into the
// GPU session) and take 20 steps on the same batches; the losses must agree
// within tolerance at every step. Needs a GPU (the binary exits 77 without).
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>

#include "examples/fashion_models.h"
#include "graph/layers.h"
#include "graph/losses.h"
#include "graph/ops/array.h"
#include "graph/ops/state.h"
#include "graph/optimizers.h"
#include "kernels/device_context.h"
#include "runtime/session.h"
#include "tests/kernel_test_util.h"
#include "tests/temp_dir.h"

namespace sluice {
namespace {

using LogitsFn = std::function<Output(const Scope&, Output, Output)>;

struct Model {
  Scope root = Scope::NewRootScope();
  Output loss;
  Node* train = nullptr;
  Node* init = nullptr;
  Model(const Shape& image_shape, const LogitsFn& logits_fn) {
    Output images = Placeholder(root.WithOpName("images"), DType::kF32, image_shape);
    Output labels = Placeholder(root.WithOpName("labels"), DType::kI64, Shape{kUnknownDim});
    Output training = layers::TrainingFlag(root);
    loss = losses::SparseSoftmaxCrossEntropy(root.WithOpName("loss"), labels,
                                             logits_fn(root, images, training));
    AdamOptimizer adam({.learning_rate = 0.001});
    auto step = adam.Minimize(root, loss);
    REQUIRE(step.ok());
    train = *step;
    init = InitAllVariables(root);
    REQUIRE(root.ok());
  }
};

void CheckGpuTrainsLikeCpu(const Shape& image_shape, int64_t batch, const LogitsFn& logits_fn) {
  Model model(image_shape, logits_fn);
  SessionOptions cpu_options;
  cpu_options.device = DevicePolicy::kCpu;
  SessionOptions gpu_options;
  gpu_options.device = DevicePolicy::kCuda;
  auto cpu = Session::Create(*model.root.graph(), cpu_options);
  auto gpu = Session::Create(*model.root.graph(), gpu_options);
  REQUIRE(cpu.ok());
  INFO(gpu.status().ToString());
  REQUIRE(gpu.ok());
  REQUIRE((*gpu)->accelerator() != nullptr);
  REQUIRE((*cpu)->Run(FeedList{}, {}, {model.init->name()}).ok());
  testing::TempDir dir;
  REQUIRE((*cpu)->SaveCheckpoint(dir.Path("start.ckpt")).ok());
  REQUIRE((*gpu)->RestoreCheckpoint(dir.Path("start.ckpt")).ok());

  Shape batch_shape = image_shape;
  batch_shape.set_dim(0, batch);
  for (int step = 0; step < 20; ++step) {
    const Tensor images = testing::RandomTensor(DType::kF32, batch_shape, 100 + step, 0.0, 1.0);
    Tensor labels(DType::kI64, Shape{batch});
    for (int64_t i = 0; i < batch; ++i) labels.data<int64_t>()[i] = (i * 7 + step) % 10;
    const FeedList feeds = {
        {"images", images}, {"labels", labels}, {"training", Tensor::Scalar(true)}};
    auto want = (*cpu)->Run(feeds, {model.loss.name()}, {model.train->name()});
    auto got = (*gpu)->Run(feeds, {model.loss.name()}, {model.train->name()});
    REQUIRE(want.ok());
    INFO("step " << step << ": " << got.status().ToString());
    REQUIRE(got.ok());
    const double a = (*got)[0].ElementAsDouble(0);
    const double b = (*want)[0].ElementAsDouble(0);
    INFO("GPU loss " << a << ", CPU loss " << b);
    CHECK(std::isfinite(a));
    CHECK(std::abs(a - b) <= 2e-3 * std::abs(b) + 1e-4);
  }
}

TEST_CASE("The Fashion-MNIST MLP trains on the GPU as on the CPU for 20 steps") {
  CheckGpuTrainsLikeCpu(Shape{kUnknownDim, 784}, 128, examples::FashionMlpLogits);
}

TEST_CASE("The Fashion-MNIST CNN trains on the GPU as on the CPU for 20 steps") {
  CheckGpuTrainsLikeCpu(Shape{kUnknownDim, 28, 28, 1}, 64, examples::FashionCnnLogits);
}

}  // namespace
}  // namespace sluice
