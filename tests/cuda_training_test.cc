// CUDA kernels of the training family against the CPU ones: the optimizer
// apply ops over variables held in device memory, and the softmax
// cross-entropy losses.
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/graph.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/random.h"
#include "graph/ops/state.h"
#include "graph/ops/training.h"
#include "graph/status_macros.h"
#include "kernels/device_context.h"
#include "kernels/variable_store.h"
#include "runtime/kernel_setup.h"
#include "runtime/session.h"
#include "tests/cuda_test_util.h"
#include "tests/kernel_test_util.h"

namespace sluice::testing {
namespace {

// ---------------------------------------------------------------------------
// Apply ops. A graph with Variable nodes for the refs and Consts for the
// scalars and the gradient; one kernel per device, each with its own
// variable store, both initialised with the same values.

struct ApplyInput {
  enum Kind { kRef, kScalar, kGrad };
  Kind kind;
  double scalar = 0;  // the value of a kScalar input
};

ApplyInput Ref() { return {ApplyInput::kRef}; }
ApplyInput Scalar(double value) { return {ApplyInput::kScalar, value}; }
ApplyInput Grad() { return {ApplyInput::kGrad}; }

Tensor ScalarOf(DType dtype, double value) {
  return dtype == DType::kF64 ? Tensor::Scalar(value) : Tensor::Scalar(static_cast<float>(value));
}

// The initial value of ref k: the variable anywhere in [-1, 1), the slots
// positive (Adagrad without update_slots takes the root of its accum).
Tensor InitialValue(DType dtype, const Shape& shape, int k) {
  return k == 0 ? RandomTensor(dtype, shape, 100, -1, 1)
                : RandomTensor(dtype, shape, 100 + k, 0.1, 1);
}

struct ApplyGraph {
  Graph graph;
  Node* node = nullptr;
  std::vector<std::string> ref_names;
};

absl::StatusOr<std::unique_ptr<ApplyGraph>> MakeApplyGraph(const std::string& op, DType dtype,
                                                           const Shape& shape,
                                                           const std::vector<ApplyInput>& inputs,
                                                           const AttrMap& attrs) {
  auto g = std::make_unique<ApplyGraph>();
  NodeSpec spec;
  spec.name = "apply";
  spec.op = op;
  spec.attrs = attrs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    NodeSpec in;
    in.name = absl::StrCat("input_", i);
    if (inputs[i].kind == ApplyInput::kRef) {
      in.op = "Variable";
      in.attrs = {{"shape", shape}, {"dtype", dtype}};
      g->ref_names.push_back(in.name);
    } else {
      const Tensor value = inputs[i].kind == ApplyInput::kScalar
                               ? ScalarOf(dtype, inputs[i].scalar)
                               : RandomTensor(dtype, shape, 7, -2, 2);
      in.op = "Const";
      in.attrs = {{"value", value}, {"dtype", dtype}};
    }
    ASSIGN_OR_RETURN(Node * n, g->graph.AddNode(std::move(in)));
    spec.inputs.emplace_back(n, 0);
  }
  ASSIGN_OR_RETURN(g->node, g->graph.AddNode(std::move(spec)));
  return g;
}

// One device's kernel of the apply node, its variables and its inputs.
struct ApplyRun {
  VariableStore variables;
  std::unique_ptr<OpKernel> kernel;
  std::vector<Tensor> inputs;

  // The value of variable `name`, on the host.
  absl::StatusOr<Tensor> HostValue(const std::string& name, bool on_cuda) const {
    VariableSlot* slot = variables.Find(name);
    if (slot == nullptr) return absl::NotFoundError(name);
    if (!on_cuda) return slot->value();
    return CopyTensorToHost(TestCudaContext(), slot->value());
  }
};

// Creates the kernel on `device`, initialises the refs (when `initialise`)
// and gathers its inputs: the refs' values, the Consts' values (uploaded on
// CUDA).
absl::Status SetUp(const ApplyGraph& g, DeviceType device, bool initialise, ApplyRun& run) {
  const bool on_cuda = device == DeviceType::kCuda;
  cuda::CudaContext& context = TestCudaContext();
  KernelInit init{*g.node, device, &run.variables, 1, 1, on_cuda ? &context : nullptr};
  ASSIGN_OR_RETURN(run.kernel, GlobalKernelRegistry().CreateKernel(init));
  const Node& node = *g.node;
  for (int i = 0; i < node.num_inputs(); ++i) {
    const Node& in = *node.input(i).node;
    if (in.op() == "Variable") {
      ASSIGN_OR_RETURN(
          VariableSlot * slot,
          run.variables.GetOrCreate(in.name(), in.attr("dtype").dtype(), in.attr("shape").shape()));
      const int k = static_cast<int>(run.inputs.size());
      if (initialise) {
        Tensor value = InitialValue(in.attr("dtype").dtype(), in.attr("shape").shape(), k);
        if (on_cuda) {
          ASSIGN_OR_RETURN(value, CopyTensorToDevice(context, value));
        }
        slot->Set(std::move(value));
      }
      run.inputs.push_back(slot->initialized() ? slot->value() : Tensor());
    } else {
      Tensor value = *in.output_value(0);
      if (on_cuda) {
        ASSIGN_OR_RETURN(value, CopyTensorToDevice(context, value));
      }
      run.inputs.push_back(std::move(value));
    }
  }
  return absl::OkStatus();
}

// Runs one step; returns the output (the variable) on the host.
absl::StatusOr<Tensor> Step(ApplyRun& run, bool on_cuda) {
  std::vector<const Tensor*> in;
  for (const Tensor& t : run.inputs) in.push_back(&t);
  Tensor out;
  Tensor* outs[] = {&out};
  RETURN_IF_ERROR(run.kernel->Compute(KernelContext{in, outs, nullptr}));
  if (!on_cuda) return out;
  return CopyTensorToHost(TestCudaContext(), out);
}

// Runs `op` for `steps` steps on both devices from equal variables and
// compares the output and every variable after each step; "" when all agree
// within |cuda - cpu| <= atol + rtol * |cpu|.
std::string CompareApply(const std::string& op, DType dtype, const Shape& shape,
                         const std::vector<ApplyInput>& inputs, AttrMap attrs, int steps = 3) {
  attrs["T"] = dtype;
  const double rtol = dtype == DType::kF64 ? 1e-12 : 1e-5;
  const double atol = dtype == DType::kF64 ? 1e-12 : 1e-6;
  absl::StatusOr<std::unique_ptr<ApplyGraph>> g = MakeApplyGraph(op, dtype, shape, inputs, attrs);
  if (!g.ok()) return absl::StrCat("graph: ", g.status().ToString());
  ApplyRun cpu, gpu;
  if (absl::Status s = SetUp(**g, DeviceType::kCpu, true, cpu); !s.ok()) {
    return absl::StrCat("CPU kernel: ", s.ToString());
  }
  if (absl::Status s = SetUp(**g, DeviceType::kCuda, true, gpu); !s.ok()) {
    return absl::StrCat("CUDA kernel: ", s.ToString());
  }
  if (gpu.kernel->ForwardedOutputs() != std::vector<int>{0}) return "output 0 is not forwarded";
  for (int step = 0; step < steps; ++step) {
    absl::StatusOr<Tensor> expected = Step(cpu, false);
    if (!expected.ok()) return absl::StrCat("CPU step: ", expected.status().ToString());
    absl::StatusOr<Tensor> actual = Step(gpu, true);
    if (!actual.ok()) return absl::StrCat("CUDA step: ", actual.status().ToString());
    std::string mismatch = CompareTensors(*actual, *expected, rtol, atol);
    if (!mismatch.empty()) return absl::StrCat("step ", step, ", output: ", mismatch);
    for (const std::string& name : (*g)->ref_names) {
      absl::StatusOr<Tensor> want = cpu.HostValue(name, false);
      absl::StatusOr<Tensor> got = gpu.HostValue(name, true);
      if (!want.ok() || !got.ok()) return absl::StrCat("no value for ", name);
      mismatch = CompareTensors(*got, *want, rtol, atol);
      if (!mismatch.empty()) return absl::StrCat("step ", step, ", ", name, ": ", mismatch);
    }
  }
  return "";
}

const DType kApplyTypes[] = {DType::kF32, DType::kF64};
const Shape kApplyShapes[] = {Shape{1}, Shape{7, 13}, Shape{100003}};

TEST_CASE("CUDA ApplyGradientDescent matches the CPU") {
  for (DType dtype : kApplyTypes) {
    for (const Shape& shape : kApplyShapes) {
      for (bool locking : {false, true}) {
        INFO(DTypeName(dtype) << shape.ToString() << " use_locking=" << locking);
        CHECK(CompareApply("ApplyGradientDescent", dtype, shape, {Ref(), Scalar(0.3), Grad()},
                           {{"use_locking", locking}}) == "");
      }
    }
  }
}

TEST_CASE("CUDA ApplyMomentum matches the CPU, with and without Nesterov") {
  for (DType dtype : kApplyTypes) {
    for (const Shape& shape : kApplyShapes) {
      for (bool nesterov : {false, true}) {
        INFO(DTypeName(dtype) << shape.ToString() << " use_nesterov=" << nesterov);
        CHECK(CompareApply("ApplyMomentum", dtype, shape,
                           {Ref(), Ref(), Scalar(0.05), Grad(), Scalar(0.9)},
                           {{"use_nesterov", nesterov}}) == "");
      }
    }
  }
}

TEST_CASE("CUDA ApplyAdagrad matches the CPU, with and without slot updates") {
  for (DType dtype : kApplyTypes) {
    for (const Shape& shape : kApplyShapes) {
      for (bool update_slots : {true, false}) {
        INFO(DTypeName(dtype) << shape.ToString() << " update_slots=" << update_slots);
        CHECK(CompareApply("ApplyAdagrad", dtype, shape, {Ref(), Ref(), Scalar(0.1), Grad()},
                           {{"update_slots", update_slots}}) == "");
      }
    }
  }
}

TEST_CASE("CUDA ApplyRMSProp matches the CPU") {
  for (DType dtype : kApplyTypes) {
    for (const Shape& shape : kApplyShapes) {
      INFO(DTypeName(dtype) << shape.ToString());
      CHECK(CompareApply(
                "ApplyRMSProp", dtype, shape,
                {Ref(), Ref(), Ref(), Scalar(0.01), Scalar(0.9), Scalar(0.5), Scalar(1e-6), Grad()},
                {}) == "");
    }
  }
}

TEST_CASE("CUDA ApplyAdam matches the CPU, with and without Nesterov") {
  for (DType dtype : kApplyTypes) {
    for (const Shape& shape : kApplyShapes) {
      for (bool nesterov : {false, true}) {
        INFO(DTypeName(dtype) << shape.ToString() << " use_nesterov=" << nesterov);
        // beta1_power, beta2_power, lr, beta1, beta2, epsilon
        CHECK(CompareApply("ApplyAdam", dtype, shape,
                           {Ref(), Ref(), Ref(), Scalar(0.729), Scalar(0.997002999), Scalar(0.01),
                            Scalar(0.9), Scalar(0.999), Scalar(1e-7), Grad()},
                           {{"use_nesterov", nesterov}}) == "");
      }
    }
  }
}

TEST_CASE("CUDA ApplyGradientDescent changes the variable in place") {
  absl::StatusOr<std::unique_ptr<ApplyGraph>> g =
      MakeApplyGraph("ApplyGradientDescent", DType::kF32, Shape{5}, {Ref(), Scalar(0.5), Grad()},
                     {{"T", DType::kF32}});
  REQUIRE(g.ok());
  ApplyRun gpu;
  REQUIRE(SetUp(**g, DeviceType::kCuda, true, gpu).ok());
  VariableSlot* slot = gpu.variables.Find("input_0");
  REQUIRE(slot != nullptr);
  CHECK(slot->device() == &TestCudaContext());
  const void* buffer = slot->value().raw_data();
  absl::StatusOr<Tensor> out = Step(gpu, true);
  REQUIRE(out.ok());
  CHECK(slot->value().raw_data() == buffer);
  // var -= 0.5 * grad, from the values SetUp and MakeApplyGraph used.
  const Tensor var = InitialValue(DType::kF32, Shape{5}, 0);
  const Tensor grad = RandomTensor(DType::kF32, Shape{5}, 7, -2, 2);
  for (int64_t i = 0; i < 5; ++i) {
    CHECK(out->data<float>()[i] ==
          Approx(var.data<float>()[i] - 0.5f * grad.data<float>()[i]).epsilon(1e-6));
  }
}

TEST_CASE("CUDA apply ops fail as the CPU ones do") {
  SECTION("an uninitialised variable") {
    absl::StatusOr<std::unique_ptr<ApplyGraph>> g =
        MakeApplyGraph("ApplyMomentum", DType::kF32, Shape{4},
                       {Ref(), Ref(), Scalar(0.1), Grad(), Scalar(0.9)}, {{"T", DType::kF32}});
    REQUIRE(g.ok());
    ApplyRun cpu, gpu;
    REQUIRE(SetUp(**g, DeviceType::kCpu, false, cpu).ok());
    REQUIRE(SetUp(**g, DeviceType::kCuda, false, gpu).ok());
    const absl::StatusOr<Tensor> want = Step(cpu, false);
    const absl::StatusOr<Tensor> got = Step(gpu, true);
    REQUIRE_FALSE(want.ok());
    REQUIRE_FALSE(got.ok());
    CHECK(got.status() == want.status());
  }
  SECTION("one variable as two refs") {
    Graph graph;
    NodeSpec var;
    var.name = "var";
    var.op = "Variable";
    var.attrs = {{"shape", Shape{4}}, {"dtype", DType::kF32}};
    Node* v = *graph.AddNode(std::move(var));
    std::vector<Output> ins = {Output(v, 0), Output(v, 0)};
    for (const Tensor& t : {Tensor::Scalar(0.1f), RandomTensor(DType::kF32, Shape{4}, 1)}) {
      NodeSpec c;
      c.name = absl::StrCat("c", ins.size());
      c.op = "Const";
      c.attrs = {{"value", t}, {"dtype", DType::kF32}};
      ins.emplace_back(*graph.AddNode(std::move(c)), 0);
    }
    NodeSpec apply;
    apply.name = "apply";
    apply.op = "ApplyAdagrad";
    apply.inputs = ins;
    apply.attrs = {{"T", DType::kF32}};
    absl::StatusOr<Node*> node = graph.AddNode(std::move(apply));
    REQUIRE(node.ok());
    VariableStore cpu_store, gpu_store;
    const auto want =
        GlobalKernelRegistry().CreateKernel(KernelInit{**node, DeviceType::kCpu, &cpu_store, 1, 1});
    const auto got = GlobalKernelRegistry().CreateKernel(
        KernelInit{**node, DeviceType::kCuda, &gpu_store, 1, 1, &TestCudaContext()});
    REQUIRE_FALSE(want.ok());
    REQUIRE_FALSE(got.ok());
    CHECK(got.status() == want.status());
  }
}

// ---------------------------------------------------------------------------
// Losses.

const Shape kLossShapes[] = {Shape{4, 10}, Shape{3, 1}, Shape{1, 257}, Shape{5, 3000},
                             Shape{600, 33}};

// The CPU sums a row in order, the device in a tree: f32 sums over thousands
// of classes differ in the last few digits.
double LossTolerance(DType dtype) { return dtype == DType::kF64 ? 1e-11 : 1e-4; }

TEST_CASE("CUDA SoftmaxCrossEntropyWithLogits matches the CPU") {
  for (DType dtype : kApplyTypes) {
    for (const Shape& shape : kLossShapes) {
      for (double scale : {5.0, 1000.0}) {
        INFO(DTypeName(dtype) << shape.ToString() << " logits in +-" << scale);
        const Tensor logits = RandomTensor(dtype, shape, 3, -scale, scale);
        const Tensor labels = RandomTensor(dtype, shape, 4, 0, 1);
        const double tol = LossTolerance(dtype);
        CHECK(CompareCudaWithCpu("SoftmaxCrossEntropyWithLogits", {logits, labels}, {{"T", dtype}},
                                 tol, tol * 0.1) == "");
      }
    }
  }
}

TEST_CASE("CUDA SoftmaxCrossEntropyWithLogits of one class is zero loss") {
  const Tensor logits = RandomTensor(DType::kF32, Shape{6, 1}, 3, -1000, 1000);
  const Tensor labels = *Tensor::FromVector(std::vector<float>(6, 1.0f), Shape{6, 1});
  absl::StatusOr<std::vector<Tensor>> out =
      RunCudaKernel("SoftmaxCrossEntropyWithLogits", {logits, labels}, {{"T", DType::kF32}});
  INFO(out.status().message());
  REQUIRE(out.ok());
  for (int64_t r = 0; r < 6; ++r) {
    CHECK((*out)[0].data<float>()[r] == 0.0f);
    CHECK((*out)[1].data<float>()[r] == 0.0f);
  }
}

TEST_CASE("CUDA SparseSoftmaxCrossEntropyWithLogits matches the CPU") {
  for (DType dtype : kApplyTypes) {
    for (DType label_type : {DType::kI32, DType::kI64}) {
      for (const Shape& shape : kLossShapes) {
        for (double scale : {5.0, 1000.0}) {
          INFO(DTypeName(dtype) << shape.ToString() << " labels " << DTypeName(label_type)
                                << " logits in +-" << scale);
          const Tensor logits = RandomTensor(dtype, shape, 3, -scale, scale);
          const Tensor labels = RandomTensor(label_type, Shape{shape.dim(0)}, 5, 0,
                                             static_cast<double>(shape.dim(1)));
          const double tol = LossTolerance(dtype);
          CHECK(CompareCudaWithCpu("SparseSoftmaxCrossEntropyWithLogits", {logits, labels},
                                   {{"T", dtype}, {"Tlabels", label_type}}, tol, tol * 0.1) == "");
        }
      }
    }
  }
}

TEST_CASE("CUDA SparseSoftmaxCrossEntropyWithLogits gives NaN rows for labels out of range") {
  const int64_t rows = 5, cols = 40;
  const Tensor logits = RandomTensor(DType::kF32, Shape{rows, cols}, 3, -5, 5);
  const std::vector<int64_t> labels = {3, -1, 39, 40, 0};
  std::vector<int64_t> valid = labels;
  for (int64_t& l : valid) l = (l < 0 || l >= cols) ? 0 : l;
  const AttrMap attrs = {{"T", DType::kF32}, {"Tlabels", DType::kI64}};
  absl::StatusOr<std::vector<Tensor>> got = RunCudaKernel(
      "SparseSoftmaxCrossEntropyWithLogits", {logits, Tensor::FromVector(labels)}, attrs);
  INFO(got.status().message());
  REQUIRE(got.ok());
  // The CPU refuses the bad labels; rows are independent, so compare the
  // good rows with a run where the bad labels are replaced.
  CHECK_FALSE(RunCpuKernel("SparseSoftmaxCrossEntropyWithLogits",
                           {logits, Tensor::FromVector(labels)}, attrs)
                  .ok());
  absl::StatusOr<std::vector<Tensor>> want = RunCpuKernel(
      "SparseSoftmaxCrossEntropyWithLogits", {logits, Tensor::FromVector(valid)}, attrs);
  REQUIRE(want.ok());
  for (int64_t r = 0; r < rows; ++r) {
    INFO("row " << r);
    const bool bad = labels[r] != valid[r];
    const float loss = (*got)[0].data<float>()[r];
    CHECK(std::isnan(loss) == bad);
    if (!bad) CHECK(loss == Approx((*want)[0].data<float>()[r]).epsilon(1e-5));
    for (int64_t j = 0; j < cols; ++j) {
      const float g = (*got)[1].data<float>()[r * cols + j];
      CHECK(std::isnan(g) == bad);
      if (!bad) CHECK(g == Approx((*want)[1].data<float>()[r * cols + j]).margin(1e-6));
    }
  }
}

// ---------------------------------------------------------------------------
// The family together in a session: a softmax regression whose weights start
// from TruncatedNormal and are trained with each optimizer, placed on the GPU
// (variables, random initializer, loss and update) and on the CPU.

enum class Optimizer { kSgd, kMomentum, kAdagrad, kRmsProp, kAdam };

// Builds the model into `root`; "step" is the update, "ce" the loss.
void BuildRegression(const Scope& root, Optimizer optimizer) {
  Output x = Const(root, RandomTensor(DType::kF32, Shape{16, 5}, 21, -1, 1));
  Output labels = Const(root, RandomTensor(DType::kI32, Shape{16}, 22, 0, 3));
  auto zeros = [&](const char* name) {
    return Variable(root.WithOpName(name), Shape{5, 3}, DType::kF32,
                    Const(root, Tensor::Zeros(DType::kF32, Shape{5, 3})));
  };
  auto ones = [&](const char* name) {
    return Variable(root.WithOpName(name), Shape{5, 3}, DType::kF32,
                    Const(root, *Tensor::FromVector(std::vector<float>(15, 0.1f), Shape{5, 3})));
  };
  Output w = Variable(root.WithOpName("w"), Shape{5, 3}, DType::kF32,
                      TruncatedNormal(root.WithOpName("w_init"), {5, 3}, DType::kF32));
  CrossEntropyOutputs ce =
      SparseSoftmaxCrossEntropyWithLogits(root.WithOpName("ce"), MatMul(root, x, w), labels);
  Output grad = MatMul(root, x, ce.backprop, {.transpose_a = true});
  const Scope step = root.WithOpName("step");
  auto scalar = [&](float v) { return Const(root, v); };
  switch (optimizer) {
    case Optimizer::kSgd:
      ApplyGradientDescent(step, w, scalar(0.1f), grad);
      break;
    case Optimizer::kMomentum:
      ApplyMomentum(step, w, zeros("accum"), scalar(0.1f), grad, scalar(0.9f),
                    {.use_nesterov = true});
      break;
    case Optimizer::kAdagrad:
      ApplyAdagrad(step, w, ones("accum"), scalar(0.1f), grad);
      break;
    case Optimizer::kRmsProp:
      ApplyRMSProp(step, w, ones("ms"), zeros("mom"), scalar(0.01f), scalar(0.9f), scalar(0.5f),
                   scalar(1e-6f), grad);
      break;
    case Optimizer::kAdam:
      ApplyAdam(step, w, zeros("m"), zeros("v"), scalar(0.9f), scalar(0.999f), scalar(0.01f),
                scalar(0.9f), scalar(0.999f), scalar(1e-7f), grad);
      break;
  }
}

// The loss of each of `steps` steps and the final weights.
std::vector<Tensor> Train(Optimizer optimizer, DevicePolicy device, int steps) {
  Scope root = Scope::NewRootScope();
  BuildRegression(root, optimizer);
  Node* init = InitAllVariables(root);
  INFO(root.status().message());
  REQUIRE(root.ok());
  SessionOptions options;
  options.device = device;
  absl::StatusOr<std::unique_ptr<Session>> session = Session::Create(*root.graph(), options);
  INFO(session.status().message());
  REQUIRE(session.ok());
  if (device == DevicePolicy::kCuda) REQUIRE((*session)->accelerator() != nullptr);
  REQUIRE((*session)->Run(FeedList{}, {}, {init->name()}).ok());
  std::vector<Tensor> results;
  for (int i = 0; i < steps; ++i) {
    absl::StatusOr<std::vector<Tensor>> loss = (*session)->Run(FeedList{}, {"ce"}, {"step"});
    INFO(loss.status().message());
    REQUIRE(loss.ok());
    results.push_back((*loss)[0]);
  }
  absl::StatusOr<std::vector<Tensor>> w = (*session)->Run(FeedList{}, {"w"});
  REQUIRE(w.ok());
  results.push_back((*w)[0]);
  return results;
}

TEST_CASE("A CUDA session trains a softmax regression as a CPU session does") {
  for (Optimizer optimizer : {Optimizer::kSgd, Optimizer::kMomentum, Optimizer::kAdagrad,
                              Optimizer::kRmsProp, Optimizer::kAdam}) {
    INFO("optimizer " << static_cast<int>(optimizer));
    const std::vector<Tensor> cpu = Train(optimizer, DevicePolicy::kCpu, 4);
    const std::vector<Tensor> gpu = Train(optimizer, DevicePolicy::kCuda, 4);
    REQUIRE(cpu.size() == gpu.size());
    for (size_t i = 0; i < cpu.size(); ++i) {
      const std::string mismatch = CompareTensors(gpu[i], cpu[i], 1e-4, 1e-5);
      INFO("result " << i << ": " << mismatch);
      CHECK(mismatch.empty());
    }
  }
}

}  // namespace
}  // namespace sluice::testing
