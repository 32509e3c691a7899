// Linear regression written out by hand: y = w * x + b, fitted by gradient
// descent on 1000 points scattered around y = 4 + 3x. It shows the bare
// session loop (feed a batch, run the train op) that the Trainer of the
// Fashion-MNIST examples wraps.
//
//   build/bin/example_linear_regression              # last line: w=3.00.. b=4.00..
//   build/bin/example_linear_regression --epochs 0 --save-graph linreg.pbtxt
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_replace.h"
#include "graph/losses.h"
#include "graph/ops/math.h"
#include "graph/ops/state.h"
#include "graph/optimizers.h"
#include "graph/status_macros.h"
#include "runtime/session.h"
#include "examples/example_cli.h"
#include "runtime/openmp_env.h"

ABSL_FLAG(int, epochs, 20, "passes over the data; 0 builds (and saves) the graph only");
ABSL_FLAG(int, seed, 1, "seed of the synthetic data");
ABSL_FLAG(std::string, save_graph, "", "write the graph to this .pb or .pbtxt file");

namespace {

using namespace sluice;

constexpr int64_t kExamples = 1000;
constexpr int64_t kBatch = 50;

struct Data {
  std::vector<float> x, y;
};

// x uniform in [0, 2), y = 4 + 3x plus Gaussian noise of standard deviation
// 0.1: the least-squares fit of the sample then lies within about 0.02 of
// (3, 4).
Data MakeData(int seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(0.0f, 2.0f);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  Data data;
  for (int64_t i = 0; i < kExamples; ++i) {
    data.x.push_back(uniform(rng));
    data.y.push_back(4.0f + 3.0f * data.x.back() + noise(rng));
  }
  return data;
}

// x and y are fed as [batch]; w and b start at 0.
absl::StatusOr<std::shared_ptr<Graph>> BuildGraph() {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim});
  Output y = Placeholder(root.WithOpName("y"), DType::kF32, Shape{kUnknownDim});
  Output w = Variable(root.WithOpName("w"), Shape{}, DType::kF32, Const(root, 0.0f));
  Output b = Variable(root.WithOpName("b"), Shape{}, DType::kF32, Const(root, 0.0f));
  Output prediction = Add(root.WithOpName("prediction"), Mul(root, w, x), b);
  Output loss = Identity(root.WithOpName("loss"), losses::MeanSquaredError(root, y, prediction));
  GradientDescentOptimizer sgd({.learning_rate = 0.1});
  RETURN_IF_ERROR(sgd.Minimize(root, loss).status());
  InitAllVariables(root);
  RETURN_IF_ERROR(root.status());
  return root.graph_as_shared_ptr();
}

absl::Status Train(const Graph& graph, const Data& data, int epochs) {
  ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(graph));
  RETURN_IF_ERROR(session->Run(FeedList{}, {}, {"init"}).status());
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    double loss_sum = 0;
    std::vector<Tensor> out;
    for (int64_t start = 0; start < kExamples; start += kBatch) {
      std::vector<float> xs(data.x.begin() + start, data.x.begin() + start + kBatch);
      std::vector<float> ys(data.y.begin() + start, data.y.begin() + start + kBatch);
      ASSIGN_OR_RETURN(out,
                       session->Run({{"x", Tensor::FromVector(xs)}, {"y", Tensor::FromVector(ys)}},
                                    {"loss", "w", "b"}, {"train"}));
      loss_sum += out[0].data<float>()[0];
    }
    std::printf("epoch %d loss=%.3e w=%.4f b=%.4f\n", epoch, loss_sum / (kExamples / kBatch),
                out[1].data<float>()[0], out[2].data<float>()[0]);
  }
  ASSIGN_OR_RETURN(std::vector<Tensor> wb, session->Run(FeedList{}, {"w", "b"}));
  std::printf("w=%.4f b=%.4f\n", wb[0].data<float>()[0], wb[1].data<float>()[0]);
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  sluice::ApplyOpenMpSpinLimit(argv);
  sluice::examples::UnderscoreFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  const int seed = absl::GetFlag(FLAGS_seed);
  return sluice::examples::BuildSaveAndTrain(
      "example_linear_regression", absl::GetFlag(FLAGS_epochs), absl::GetFlag(FLAGS_save_graph),
      BuildGraph,
      [seed](const sluice::Graph& graph, int epochs) {
        return Train(graph, MakeData(seed), epochs);
      });
}
