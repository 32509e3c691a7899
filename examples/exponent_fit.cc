// Fits the exponent of f(x) = x^phi to samples of x^2.5 with x in [0.5, 2],
// by momentum gradient descent on the mean squared error. The loss is not
// quadratic in phi (its gradient is mean(2 (x^phi - y) x^phi ln x)), so this
// is nonlinear least squares with one parameter.
//
//   build/bin/example_exponent_fit                   # last line: phi=2.50..
//   build/bin/example_exponent_fit --epochs 0 --save-graph exponent.pbtxt
#include <cmath>
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

ABSL_FLAG(int, epochs, 10, "passes over the data; 0 builds (and saves) the graph only");
ABSL_FLAG(int, seed, 1, "seed of the synthetic data (the x values)");
ABSL_FLAG(std::string, save_graph, "", "write the graph to this .pb or .pbtxt file");

namespace {

using namespace sluice;

constexpr int64_t kExamples = 1000;
constexpr int64_t kBatch = 50;
constexpr float kTruePhi = 2.5f;

struct Data {
  std::vector<float> x, y;
};

// x uniform in [0.5, 2), y = x^2.5 exactly: the fit should find phi itself.
Data MakeData(int seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(0.5f, 2.0f);
  Data data;
  for (int64_t i = 0; i < kExamples; ++i) {
    data.x.push_back(uniform(rng));
    data.y.push_back(std::pow(data.x.back(), kTruePhi));
  }
  return data;
}

// x and y are fed as [batch]; phi starts at 1 (a straight line).
absl::StatusOr<std::shared_ptr<Graph>> BuildGraph() {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{kUnknownDim});
  Output y = Placeholder(root.WithOpName("y"), DType::kF32, Shape{kUnknownDim});
  Output phi = Variable(root.WithOpName("phi"), Shape{}, DType::kF32, Const(root, 1.0f));
  Output prediction = Pow(root.WithOpName("prediction"), x, phi);
  Output loss = Identity(root.WithOpName("loss"), losses::MeanSquaredError(root, y, prediction));
  // The curvature in phi grows like x^(2 phi) ln(x)^2, about 15 at x = 2 and
  // phi = 2.5; a learning rate of 0.01 with momentum 0.9 stays well inside
  // the stable range lr * curvature < 2 (1 + momentum).
  MomentumOptimizer momentum({.learning_rate = 0.01, .momentum = 0.9});
  RETURN_IF_ERROR(momentum.Minimize(root, loss).status());
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
                                    {"loss", "phi"}, {"train"}));
      loss_sum += out[0].data<float>()[0];
    }
    std::printf("epoch %d loss=%.3e phi=%.4f\n", epoch, loss_sum / (kExamples / kBatch),
                out[1].data<float>()[0]);
  }
  ASSIGN_OR_RETURN(std::vector<Tensor> phi, session->Run(FeedList{}, {"phi"}));
  std::printf("phi=%.4f\n", phi[0].data<float>()[0]);
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  sluice::ApplyOpenMpSpinLimit(argv);
  sluice::examples::UnderscoreFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  const int seed = absl::GetFlag(FLAGS_seed);
  return sluice::examples::BuildSaveAndTrain(
      "example_exponent_fit", absl::GetFlag(FLAGS_epochs), absl::GetFlag(FLAGS_save_graph),
      BuildGraph,
      [seed](const sluice::Graph& graph, int epochs) {
        return Train(graph, MakeData(seed), epochs);
      });
}
