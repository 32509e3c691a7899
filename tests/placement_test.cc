// Placement: which device runs each node and the copies between devices,
// checked on the pass alone and through Sessions on a device simulated in
// host memory (tests/simulated_device.h), whose kernels fail on memory of the
// wrong side. Results must equal a CPU-only session's bit for bit, since the
// simulated device runs the same kernels.
#include <catch2/catch.hpp>

#include <set>

#include "graph/layers.h"
#include "graph/losses.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/state.h"
#include "graph/ops/training.h"
#include "graph/optimizers.h"
#include "passes/placement.h"
#include "runtime/devices.h"
#include "runtime/kernel_setup.h"
#include "tests/simulated_device.h"
#include "tests/temp_dir.h"

namespace sluice {
namespace {

using testing::SimulatedDevice;
using testing::SimulatedDeviceRegistry;

SessionOptions OnDevice(DevicePolicy device) {
  SessionOptions options;
  options.device = device;
  return options;
}

int CountOp(const Graph& g, const std::string& op) {
  int n = 0;
  for (Node* node : g.nodes()) n += node->op() == op;
  return n;
}

// x -> MatMul(w) -> Tanh -> Add(b) -> Relu, with Tanh left to the CPU.
struct MixedGraph {
  Scope root = Scope::NewRootScope();
  Output x, product, tanh, sum, relu;
  MixedGraph() {
    x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{4, 3});
    Output w = Const(root.WithOpName("w"),
                     std::vector<float>{0.5f, -1, 2, 1, 0.25f, -0.5f, 1.5f, 1, -2, 0, 1, 0.75f, 0.1f,
                                        0.2f, -0.3f},
                     Shape{3, 5});
    product = MatMul(root.WithOpName("product"), x, w);
    tanh = Tanh(root.WithOpName("tanh"), product);
    Output b = Const(root.WithOpName("b"), std::vector<float>{0.1f, -0.2f, 0.3f, -0.4f, 0.5f},
                     Shape{5});
    sum = Add(root.WithOpName("sum"), tanh, b);
    relu = Relu(root.WithOpName("relu"), sum);
  }
};

const std::set<std::string> kMixedDeviceOps = {"MatMul", "Add", "Relu"};

TEST_CASE("A CPU-only op in the middle gets one copy per value and direction") {
  MixedGraph m;
  REQUIRE(m.root.ok());
  SimulatedDevice device;
  auto kernels = SimulatedDeviceRegistry(&device, kMixedDeviceOps);
  Graph& g = *m.root.graph();
  PassContext context;
  context.fetches = {m.relu, m.product};
  PlacementOptions options;
  options.accelerator = DeviceType::kCuda;
  auto stats = PlaceGraph(g, context, *kernels, options);
  REQUIRE(stats.ok());

  auto device_of = [&](const std::string& name) { return g.FindNode(name)->device(); };
  CHECK(device_of("x") == "cpu");
  CHECK(device_of("w") == "cuda:0");
  CHECK(device_of("product") == "cuda:0");
  CHECK(device_of("tanh") == "cpu");
  CHECK(device_of("b") == "cuda:0");
  CHECK(device_of("sum") == "cuda:0");
  CHECK(device_of("relu") == "cuda:0");
  // x and tanh go up; product (read by tanh and fetched) and relu come down.
  CHECK(stats->copies_to_device == 2);
  CHECK(stats->copies_to_host == 2);
  CHECK(CountOp(g, "_HostToDevice") == 2);
  CHECK(CountOp(g, "_DeviceToHost") == 2);
  CHECK(g.FindNode("product")->input(0).node->op() == "_HostToDevice");
  CHECK(g.FindNode("product")->input(0).node->input(0).node->name() == "x");
  CHECK(g.FindNode("tanh")->input(0).node->op() == "_DeviceToHost");
  CHECK(g.FindNode("sum")->input(0).node->op() == "_HostToDevice");
  // Fetches now read the host copies; the fetched product shares tanh's.
  CHECK(context.fetches[0].node->op() == "_DeviceToHost");
  CHECK(context.fetches[0].node->input(0).node->name() == "relu");
  CHECK(context.fetches[1].node == g.FindNode("tanh")->input(0).node);
  for (Node* n : g.nodes()) {
    if (n->op() == "_HostToDevice" || n->op() == "_DeviceToHost") CHECK(n->device() == "cuda:0");
  }
  CHECK(stats->on_host == 2);  // x, tanh
  CHECK(stats->on_accelerator == static_cast<int>(g.nodes().size()) - 2);
}

TEST_CASE("Without an accelerator every node is placed on the CPU and nothing is copied") {
  MixedGraph m;
  REQUIRE(m.root.ok());
  Graph& g = *m.root.graph();
  const int nodes = g.num_nodes();
  PassContext context;
  context.fetches = {m.relu};
  auto stats = PlaceGraph(g, context, GlobalKernelRegistry(), PlacementOptions{});
  REQUIRE(stats.ok());
  CHECK(g.num_nodes() == nodes);
  CHECK(stats->copies_to_device + stats->copies_to_host == 0);
  for (Node* n : g.nodes()) CHECK(n->device() == "cpu");
  CHECK(context.fetches[0] == m.relu);
}

TEST_CASE("A constant read on both devices is split instead of copied every run") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{3});
  Output c = Const(root.WithOpName("c"), std::vector<float>{1, 2, 3}, Shape{3});
  Output on_device = Add(root.WithOpName("on_device"), x, c);
  Output on_host = Tanh(root.WithOpName("on_host"), c);
  REQUIRE(root.ok());
  SimulatedDevice device;
  auto kernels = SimulatedDeviceRegistry(&device, kMixedDeviceOps);
  PassContext context;
  context.fetches = {on_device, on_host};
  PlacementOptions options;
  options.accelerator = DeviceType::kCuda;
  Graph& g = *root.graph();
  auto stats = PlaceGraph(g, context, *kernels, options);
  REQUIRE(stats.ok());
  CHECK(CountOp(g, "Const") == 2);
  CHECK(g.FindNode("c")->device() == "cpu");
  const Node* device_c = g.FindNode("on_device")->input(1).node;
  CHECK(device_c->op() == "Const");
  CHECK(device_c->device() == "cuda:0");
  CHECK(device_c->attr("value").tensor().BitwiseEquals(g.FindNode("c")->attr("value").tensor()));
  CHECK(stats->copies_to_device == 1);  // x only
  CHECK(stats->copies_to_host == 1);    // on_device for the fetch
}

TEST_CASE("Variables live with the ops that update them; a user's cpu request holds") {
  Scope root = Scope::NewRootScope();
  Output a = Variable(root.WithOpName("a"), Shape{2}, DType::kF32,
                      Const(root, std::vector<float>{1, 2}, Shape{2}));
  Output b = Variable(root.WithOpName("b"), Shape{2}, DType::kF32,
                      Const(root, std::vector<float>{3, 4}, Shape{2}));
  Variable(root.WithOpName("pinned").WithDevice("cpu"), Shape{2}, DType::kF32,
           Const(root, std::vector<float>{5, 6}, Shape{2}));
  Output lr = Const(root, 0.5f);
  Output grad = Const(root, std::vector<float>{1, 1}, Shape{2});
  ApplyGradientDescent(root.WithOpName("step_a"), a, lr, grad);
  AssignAdd(root.WithOpName("bump_b"), b, grad);  // no device kernel below
  REQUIRE(root.ok());
  SimulatedDevice device;
  auto kernels = SimulatedDeviceRegistry(&device, {"ApplyGradientDescent"});
  auto devices = PlaceVariables(*root.graph(), *kernels, DeviceType::kCuda);
  CHECK(devices.at("a") == DeviceType::kCuda);
  CHECK(devices.at("b") == DeviceType::kCpu);
  CHECK(devices.at("pinned") == DeviceType::kCpu);
  auto none = PlaceVariables(*root.graph(), *kernels, DeviceType::kCpu);
  for (const auto& [name, d] : none) CHECK(d == DeviceType::kCpu);
}

std::unique_ptr<Session> SimulatedSession(const Graph& graph, SimulatedDevice** device_out,
                                          const std::set<std::string>& device_ops,
                                          std::unique_ptr<KernelRegistry>& kernels) {
  auto device = std::make_unique<SimulatedDevice>();
  *device_out = device.get();
  kernels = SimulatedDeviceRegistry(device.get(), device_ops);
  auto session = CreateSessionWithDevice(graph, SessionOptions{}, kernels.get(), std::move(device));
  INFO(session.status().ToString());
  REQUIRE(session.ok());
  return *std::move(session);
}

Tensor Input(int64_t rows, int64_t cols, float scale) {
  Tensor t(DType::kF32, Shape{rows, cols});
  for (int64_t i = 0; i < t.num_elements(); ++i) {
    t.data<float>()[i] = scale * static_cast<float>((i * 7919) % 23 - 11) / 11.0f;
  }
  return t;
}

TEST_CASE("A session on the simulated device computes what the CPU computes") {
  MixedGraph m;
  REQUIRE(m.root.ok());
  SimulatedDevice* device = nullptr;
  std::unique_ptr<KernelRegistry> kernels;
  auto simulated = SimulatedSession(*m.root.graph(), &device, kMixedDeviceOps, kernels);
  REQUIRE(simulated->accelerator() == device);
  auto cpu = Session::Create(*m.root.graph(), OnDevice(DevicePolicy::kCpu));
  REQUIRE(cpu.ok());
  REQUIRE((*cpu)->accelerator() == nullptr);
  const FeedList feeds = {{"x", Input(4, 3, 1.5f)}};
  auto expected = (*cpu)->Run(feeds, {"relu", "product", "tanh"});
  REQUIRE(expected.ok());
  for (int run = 0; run < 3; ++run) {
    auto got = simulated->Run(feeds, {"relu", "product", "tanh"});
    INFO(got.status().ToString());
    REQUIRE(got.ok());
    for (int i = 0; i < 3; ++i) CHECK((*got)[i].BitwiseEquals((*expected)[i]));
  }
  // w and b go up once, when the plan is compiled (60 + 20 bytes); then per
  // run x (48) and tanh (80) go up, product and relu (80 each) come down.
  CHECK(device->bytes_to_device() == 80 + 3 * (48 + 80));
  CHECK(device->bytes_to_host() == 3 * (80 + 80));
  // Every run ends by waiting for the device.
  CHECK(device->synchronizations() >= 3);
}

// A two-layer MLP with an Adam training step; the loss's kernel is left to
// the CPU so the step crosses devices both ways.
struct Mlp {
  Scope root = Scope::NewRootScope();
  Output images, labels, loss;
  Node* train = nullptr;
  Node* init = nullptr;
  Mlp() {
    images = Placeholder(root.WithOpName("images"), DType::kF32, Shape{kUnknownDim, 12});
    labels = Placeholder(root.WithOpName("labels"), DType::kI32, Shape{kUnknownDim});
    layers::Dense hidden({.units = 16, .activation = Relu,
                          .kernel_initializer = initializers::GlorotUniform(5)});
    layers::Dense out({.units = 4, .kernel_initializer = initializers::GlorotUniform(6)});
    Output logits = out(root, hidden(root, images));
    loss = losses::SparseSoftmaxCrossEntropy(root.WithOpName("loss"), labels, logits);
    AdamOptimizer adam({.learning_rate = 0.01});
    auto step = adam.Minimize(root, loss);
    REQUIRE(step.ok());
    train = *step;
    init = InitAllVariables(root);
    REQUIRE(root.ok());
  }
};

Tensor Labels(int64_t n) {
  Tensor t(DType::kI32, Shape{n});
  for (int64_t i = 0; i < n; ++i) t.data<int32_t>()[i] = static_cast<int32_t>((i * 5) % 4);
  return t;
}

// Every op with a CPU kernel, except those named.
std::set<std::string> AllOpsExcept(const std::set<std::string>& excluded) {
  std::set<std::string> ops;
  GlobalKernelRegistry().ForEach([&](const std::string& op, DeviceType d, DType, const KernelFactory&) {
    if (d == DeviceType::kCpu && !excluded.contains(op)) ops.insert(op);
  });
  return ops;
}

TEST_CASE("Training on the simulated device matches the CPU step for step; variables stay there") {
  Mlp mlp;
  const std::set<std::string> device_ops =
      // AssignAdd's CPU kernel binds its variable to host memory, so the
      // global step stays on the host: the step mixes both kinds.
      AllOpsExcept({"SparseSoftmaxCrossEntropyWithLogits", "Shape", "Size",
                    "BroadcastGradientArgs", "AssignAdd", "AssignSub"});
  SimulatedDevice* device = nullptr;
  std::unique_ptr<KernelRegistry> kernels;
  auto simulated = SimulatedSession(*mlp.root.graph(), &device, device_ops, kernels);
  auto cpu = Session::Create(*mlp.root.graph(), OnDevice(DevicePolicy::kCpu));
  REQUIRE(cpu.ok());
  REQUIRE(simulated->Run(FeedList{}, {}, {mlp.init->name()}).ok());
  REQUIRE((*cpu)->Run(FeedList{}, {}, {mlp.init->name()}).ok());
  const FeedList feeds = {{"images", Input(8, 12, 2.0f)}, {"labels", Labels(8)}};
  int64_t allocations_after_first_step = -1;
  for (int step = 0; step < 6; ++step) {
    auto got = simulated->Run(feeds, {mlp.loss.name()}, {mlp.train->name()});
    INFO("step " << step << ": " << got.status().ToString());
    REQUIRE(got.ok());
    auto expected = (*cpu)->Run(feeds, {mlp.loss.name()}, {mlp.train->name()});
    REQUIRE(expected.ok());
    CHECK((*got)[0].BitwiseEquals((*expected)[0]));
    if (step == 0) allocations_after_first_step = device->allocations();
  }
  // Later steps reuse the frame's device arena: nothing is allocated per step.
  CHECK(device->allocations() == allocations_after_first_step);

  // The checkpoint of device-resident variables restores into a CPU session
  // bit for bit, and back.
  testing::TempDir dir;
  REQUIRE(simulated->SaveCheckpoint(dir.Path("sim.ckpt")).ok());
  auto restored = Session::Create(*mlp.root.graph(), OnDevice(DevicePolicy::kCpu));
  REQUIRE(restored.ok());
  REQUIRE((*restored)->RestoreCheckpoint(dir.Path("sim.ckpt")).ok());
  const std::vector<std::string> variables = {"dense/kernel", "dense/bias", "dense_1/kernel",
                                              "dense_1/bias"};
  auto from_device = simulated->Run(FeedList{}, variables);
  auto from_cpu = (*cpu)->Run(FeedList{}, variables);
  auto from_file = (*restored)->Run(FeedList{}, variables);
  REQUIRE(from_device.ok());
  REQUIRE(from_cpu.ok());
  REQUIRE(from_file.ok());
  for (size_t i = 0; i < variables.size(); ++i) {
    INFO(variables[i]);
    CHECK((*from_device)[i].BitwiseEquals((*from_cpu)[i]));
    CHECK((*from_file)[i].BitwiseEquals((*from_cpu)[i]));
  }
  REQUIRE((*cpu)->Run(feeds, {}, {mlp.train->name()}).ok());
  REQUIRE((*cpu)->SaveCheckpoint(dir.Path("cpu.ckpt")).ok());
  REQUIRE(simulated->RestoreCheckpoint(dir.Path("cpu.ckpt")).ok());
  auto after = simulated->Run(feeds, {mlp.loss.name()});
  auto reference = (*cpu)->Run(feeds, {mlp.loss.name()});
  REQUIRE(after.ok());
  REQUIRE(reference.ok());
  CHECK((*after)[0].BitwiseEquals((*reference)[0]));
}

TEST_CASE("device=cuda without a usable GPU is one clear error; auto falls back to the CPU") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2});
  Relu(root.WithOpName("y"), x);
  REQUIRE(root.ok());
  auto gpu_present = OpenAccelerator(DevicePolicy::kAuto);
  REQUIRE(gpu_present.ok());
  auto automatic = Session::Create(*root.graph());
  REQUIRE(automatic.ok());
  auto cuda = Session::Create(*root.graph(), OnDevice(DevicePolicy::kCuda));
  if (*gpu_present == nullptr) {
    CHECK((*automatic)->accelerator() == nullptr);
    REQUIRE_FALSE(cuda.ok());
    CHECK(cuda.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(cuda.status().message()),
               Catch::Matchers::StartsWith("device 'cuda' was requested, but "));
  } else {
    CHECK((*automatic)->accelerator()->name() == "cuda:0");
    REQUIRE(cuda.ok());
  }
  auto y = (*automatic)->Run({{"x", *Tensor::FromVector<float>({-1, 2}, Shape{2})}}, {"y"});
  REQUIRE(y.ok());
  CHECK((*y)[0].ToVector<float>() == std::vector<float>{0, 2});
}

TEST_CASE("Device policies parse from their names and nothing else") {
  CHECK(*ParseDevicePolicy("auto") == DevicePolicy::kAuto);
  CHECK(*ParseDevicePolicy("cpu") == DevicePolicy::kCpu);
  CHECK(*ParseDevicePolicy("cuda") == DevicePolicy::kCuda);
  auto bad = ParseDevicePolicy("gpu");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message() == "unknown device 'gpu': expected auto, cpu or cuda");
}

}  // namespace
}  // namespace sluice
