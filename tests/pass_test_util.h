// Helpers for pass tests: run one pass on a graph the way plan compilation
// does, run a graph unoptimised through a Session, and compare results.
#ifndef SLUICE_TESTS_PASS_TEST_UTIL_H_
#define SLUICE_TESTS_PASS_TEST_UTIL_H_

#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "passes/pass.h"
#include "runtime/kernel_setup.h"
#include "runtime/session.h"

namespace sluice::testing {

// Runs `pass` on `graph` with the named fetches and targets, checks the graph
// with VerifyGraph afterwards, and returns the context (whose fetches follow
// the rewrite). `changed` receives what the pass returned.
inline PassContext RunPass(Pass& pass, Graph& graph, const std::vector<std::string>& fetches,
                           const std::vector<std::string>& targets = {},
                           bool* changed = nullptr) {
  PassContext context;
  for (const std::string& name : fetches) {
    Node* node = graph.FindNode(name);
    REQUIRE(node != nullptr);
    context.fetches.push_back(Output(node, 0));
  }
  for (const std::string& name : targets) {
    Node* node = graph.FindNode(name);
    REQUIRE(node != nullptr);
    context.targets.push_back(node);
  }
  context.kernels = &GlobalKernelRegistry();
  absl::StatusOr<bool> result = pass.Run(graph, context);
  INFO(result.status().ToString());
  REQUIRE(result.ok());
  if (changed != nullptr) *changed = *result;
  absl::Status verified = VerifyGraph(graph);
  INFO(verified.ToString());
  REQUIRE(verified.ok());
  return context;
}

// "node" or "node:i" for each output.
inline std::vector<std::string> Names(const std::vector<Output>& outputs) {
  std::vector<std::string> names;
  for (const Output& o : outputs) names.push_back(o.name());
  return names;
}

// Runs `graph` with no optimisation (the reference for what a pass may not
// change).
inline std::vector<Tensor> RunUnoptimised(const Graph& graph, const FeedList& feeds,
                                          const std::vector<std::string>& fetches,
                                          const std::vector<std::string>& targets = {}) {
  SessionOptions options;
  options.optimization.level = 0;
  auto session = Session::Create(graph, options);
  INFO(session.status().ToString());
  REQUIRE(session.ok());
  auto out = (*session)->Run(feeds, fetches, targets);
  INFO(out.status().ToString());
  REQUIRE(out.ok());
  return *std::move(out);
}

// Runs `graph` with `optimization` (verifying the graph after every pass).
inline std::vector<Tensor> RunWith(const Graph& graph, const OptimizationOptions& optimization,
                                   const FeedList& feeds, const std::vector<std::string>& fetches) {
  SessionOptions options;
  options.optimization = optimization;
  options.optimization.verify = true;
  auto session = Session::Create(graph, options);
  INFO(session.status().ToString());
  REQUIRE(session.ok());
  auto out = (*session)->Run(feeds, fetches);
  INFO(out.status().ToString());
  REQUIRE(out.ok());
  return *std::move(out);
}

// Same dtypes and shapes, and every element within `tolerance` (relative to
// the larger magnitude, absolute below 1).
inline void CheckClose(const std::vector<Tensor>& expected, const std::vector<Tensor>& actual,
                       double tolerance = 1e-5) {
  REQUIRE(expected.size() == actual.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO("result " << i);
    REQUIRE(expected[i].dtype() == actual[i].dtype());
    REQUIRE(expected[i].shape() == actual[i].shape());
    for (int64_t k = 0; k < expected[i].num_elements(); ++k) {
      const double a = expected[i].ElementAsDouble(k);
      const double b = actual[i].ElementAsDouble(k);
      if (std::isnan(a) && std::isnan(b)) continue;
      INFO("element " << k << ": " << a << " vs " << b);
      REQUIRE(std::abs(a - b) <= tolerance * std::max({1.0, std::abs(a), std::abs(b)}));
    }
  }
}

inline int CountOp(const Graph& graph, const std::string& op) {
  int n = 0;
  for (const Node* node : graph.nodes()) n += node->op() == op;
  return n;
}

}  // namespace sluice::testing

#endif  // SLUICE_TESTS_PASS_TEST_UTIL_H_
