// Builds a 784-256-10 MLP classifier with the C++ API and saves it.
//
//   build/bin/example_build_graph --out mlp.pbtxt
//   build/bin/sluice dump mlp.pbtxt
#include <cmath>
#include <cstdio>
#include <string>

#include "absl/status/status.h"
#include "graph/graph_io.h"
#include "graph/ops/array.h"
#include "graph/ops/math.h"
#include "graph/ops/nn.h"
#include "graph/ops/random.h"
#include "graph/ops/state.h"
#include "runtime/npy.h"
#include "runtime/openmp_env.h"

namespace {

using namespace sluice;

// y = activation(x @ w + b), with w drawn from a truncated normal scaled by
// 1/sqrt(fan_in) and b starting at zero.
Output Dense(const Scope& parent, const std::string& name, Output x, int64_t in, int64_t out,
             bool relu) {
  Scope s = parent.NewSubScope(name);
  const float scale = 1.0f / std::sqrt(static_cast<float>(in));
  Output w_init = Mul(s, TruncatedNormal(s, {in, out}, DType::kF32, {.seed = 1}), Const(s, scale));
  Output w = Variable(s.WithOpName("kernel"), Shape{in, out}, DType::kF32, w_init);
  Output b = Variable(s.WithOpName("bias"), Shape{out}, DType::kF32,
                      Fill(s, {out}, Const(s, 0.0f)));
  Output y = BiasAdd(s, MatMul(s, x, w), b);
  return relu ? Relu(s, y) : y;
}

absl::Status BuildAndSave(const std::string& path) {
  Scope root = Scope::NewRootScope();
  Output images = Placeholder(root.WithOpName("images"), DType::kF32, Shape{kUnknownDim, 784});
  Output labels = Placeholder(root.WithOpName("labels"), DType::kI64, Shape{kUnknownDim});
  Output hidden = Dense(root, "hidden", images, 784, 256, /*relu=*/true);
  Output logits = Dense(root, "logits", hidden, 256, 10, /*relu=*/false);
  Softmax(root.WithOpName("probabilities"), logits);
  auto xent = SparseSoftmaxCrossEntropyWithLogits(root.WithOpName("xent"), logits, labels);
  Mean(root.WithOpName("loss"), xent.loss, {0});
  Output predicted = ArgMax(root.WithOpName("predicted"), logits, Const(root, int32_t{1}));
  Output correct = Cast(root, Equal(root, predicted, labels), DType::kF32);
  Mean(root.WithOpName("accuracy"), correct, {0});
  if (!root.ok()) return root.status();
  return SaveGraph(*root.graph(), path);
}

// A few made-up 28x28 "images" (a bright square at a different place in
// each) and labels, to feed the graph with `sluice run`.
absl::Status WriteSampleInputs(const std::string& dir) {
  constexpr int64_t kImages = 4;
  Tensor images = Tensor::Zeros(DType::kF32, Shape{kImages, 784});
  for (int64_t i = 0; i < kImages; ++i) {
    for (int r = 0; r < 8; ++r) {
      for (int c = 0; c < 8; ++c) images.data<float>()[i * 784 + (4 + 5 * i + r) * 28 + 6 + c] = 1;
    }
  }
  absl::Status s = WriteNpy(images, dir + "/images.npy");
  if (!s.ok()) return s;
  return WriteNpy(Tensor::FromVector<int64_t>({0, 1, 2, 3}), dir + "/labels.npy");
}

}  // namespace

int main(int argc, char** argv) {
  sluice::ApplyOpenMpSpinLimit(argv);
  std::string out = "mlp.pbtxt";
  std::string inputs_dir;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else if (arg.rfind("--out=", 0) == 0) {
      out = arg.substr(6);
    } else if (arg == "--inputs" && i + 1 < argc) {
      inputs_dir = argv[++i];
    } else {
      std::fprintf(stderr, "example_build_graph: unknown argument '%s' (usage: --out PATH [--inputs DIR])\n",
                   arg.c_str());
      return 2;
    }
  }
  absl::Status status = BuildAndSave(out);
  if (!status.ok()) {
    std::fprintf(stderr, "example_build_graph: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  std::printf("wrote %s\n", out.c_str());
  if (!inputs_dir.empty()) {
    status = WriteSampleInputs(inputs_dir);
    if (!status.ok()) {
      std::fprintf(stderr, "example_build_graph: %s\n", std::string(status.message()).c_str());
      return 1;
    }
    std::printf("wrote %s/images.npy and %s/labels.npy\n", inputs_dir.c_str(), inputs_dir.c_str());
  }
  return 0;
}
