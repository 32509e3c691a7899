// The pass pipeline: statistics, fixed points, verification between passes,
// the standard pipeline's options, and the prune pass.
#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "graph/ops/math.h"
#include "graph/ops/state.h"
#include "passes/pipeline.h"
#include "passes/prune.h"
#include "runtime/session.h"

namespace sluice {
namespace {

// Replaces the first Neg it finds by an Identity of the Neg's input (and so
// changes the graph once per Neg); counts its runs.
class RemoveOneNeg final : public Pass {
 public:
  explicit RemoveOneNeg(int* runs) : runs_(runs) {}
  absl::string_view name() const override { return "remove-one-neg"; }

 protected:
  absl::StatusOr<bool> RunImpl(Graph& graph, PassContext& context) override {
    ++*runs_;
    for (Node* n : graph.nodes()) {
      if (n->op() != "Neg") continue;
      Output in = n->input(0);
      NodeSpec spec;
      spec.name = graph.UniqueName("replacement");
      spec.op = "Identity";
      spec.inputs = {in};
      auto identity = graph.AddNode(std::move(spec));
      if (!identity.ok()) return identity.status();
      absl::Status s = ReplaceOutput(graph, context, Output(n, 0), Output(*identity, 0));
      if (!s.ok()) return s;
      s = graph.RemoveNode(n);
      if (!s.ok()) return s;
      return true;
    }
    return false;
  }

 private:
  int* runs_;
};

// Tries to wire a [3] tensor into an Add of [2]s, which the graph refuses.
class BreakShapes final : public Pass {
 public:
  absl::string_view name() const override { return "break-shapes"; }

 protected:
  absl::StatusOr<bool> RunImpl(Graph& graph, PassContext&) override {
    Node* three = graph.FindNode("three");
    Node* sum = graph.FindNode("sum");
    absl::Status s = graph.UpdateInput(sum, 0, Output(three, 0));
    if (!s.ok()) return s;
    return true;
  }
};

TEST_CASE("A fixed-point group repeats until nothing changes") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2});
  Output y = Neg(root.WithOpName("n3"), Neg(root.WithOpName("n2"), Neg(root.WithOpName("n1"), x)));
  REQUIRE(root.ok());
  int runs = 0;
  std::vector<std::unique_ptr<Pass>> group;
  group.push_back(std::make_unique<RemoveOneNeg>(&runs));
  Pipeline pipeline;
  pipeline.AddFixedPoint(std::move(group), 10);
  pipeline.set_verify(true);
  PassContext context;
  context.fetches = {y};
  auto stats = pipeline.Run(*root.graph(), context);
  REQUIRE(stats.ok());
  REQUIRE(stats->size() == 1);
  const PassStats& s = (*stats)[0];
  CHECK(s.pass == "remove-one-neg");
  CHECK(runs == 4);  // three changes, then one run that finds nothing
  CHECK(s.iterations == 4);
  CHECK(s.changed);
  CHECK(s.nodes_added == 3);
  CHECK(s.nodes_removed == 3);
  CHECK(s.nodes_before == s.nodes_after);
  // The fetch followed the rewrite.
  CHECK(context.fetches[0].node->op() == "Identity");
}

TEST_CASE("A failing pass is named in the error") {
  Scope root = Scope::NewRootScope();
  Output two = Const(root.WithOpName("two"), std::vector<float>{1, 2}, Shape{2});
  Const(root.WithOpName("three"), std::vector<float>{1, 2, 3}, Shape{3});
  Output sum = Add(root.WithOpName("sum"), two, two);
  REQUIRE(root.ok());
  Pipeline pipeline;
  pipeline.Add(std::make_unique<BreakShapes>());
  pipeline.set_verify(true);
  PassContext context;
  context.fetches = {sum};
  auto stats = pipeline.Run(*root.graph(), context);
  REQUIRE_FALSE(stats.ok());
  CHECK(std::string(stats.status().message()) ==
        "pass break-shapes: sum (Add): shapes cannot be broadcast: [3] vs [2]");
  // The graph is still whole.
  CHECK(VerifyGraph(*root.graph()).ok());
}

TEST_CASE("Prune keeps what fetches and targets need, and the placeholders") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2});
  Output unused_feed = Placeholder(root.WithOpName("unused_feed"), DType::kF32, Shape{2});
  Output kept = Square(root.WithOpName("kept"), x);
  Square(root.WithOpName("dead"), Neg(root.WithOpName("dead_input"), x));
  Node* target = NoOp(root.WithOpName("target").WithControlDependencies(std::vector<Output>{Exp(root.WithOpName("effect"), x)}));
  REQUIRE(root.ok());
  PassContext context;
  context.fetches = {kept};
  context.targets = {target};
  PrunePass prune;
  auto changed = prune.Run(*root.graph(), context);
  REQUIRE(changed.ok());
  CHECK(*changed);
  Graph& g = *root.graph();
  for (const char* name : {"x", "unused_feed", "kept", "target", "effect"}) {
    INFO(name);
    CHECK(g.FindNode(name) != nullptr);
  }
  CHECK(g.FindNode("dead") == nullptr);
  CHECK(g.FindNode("dead_input") == nullptr);
  auto again = prune.Run(g, context);
  REQUIRE(again.ok());
  CHECK_FALSE(*again);
  (void)unused_feed;
}

TEST_CASE("The standard pipeline takes a level and passes to turn off") {
  OptimizationOptions options;
  options.disabled = {"no-such-pass"};
  auto bad = StandardPipeline(options);
  REQUIRE_FALSE(bad.ok());
  CHECK(absl::StartsWith(bad.status().message(), "unknown pass 'no-such-pass' (passes: prune"));
  options.disabled = {};
  options.level = 3;
  auto bad_level = StandardPipeline(options);
  REQUIRE_FALSE(bad_level.ok());
  CHECK(std::string(bad_level.status().message()) == "optimisation level must be 0 or 1, got 3");
  options.level = 0;
  auto none = StandardPipeline(options);
  REQUIRE(none.ok());
  CHECK(none->PassNames().empty());
  options.level = 1;
  options.disabled = {"prune"};
  auto without = StandardPipeline(options);
  REQUIRE(without.ok());
  for (const std::string& name : without->PassNames()) CHECK(name != "prune");
  auto all = StandardPipeline({});
  REQUIRE(all.ok());
  CHECK(all->PassNames() == StandardPassNames());
  CHECK(StandardPassNames() == std::vector<std::string>{"prune", "constant-folding", "cse",
                                                        "simplify", "fusion", "layout", "prune"});
}

TEST_CASE("A session reports a bad pipeline option when it compiles") {
  Scope root = Scope::NewRootScope();
  Output x = Placeholder(root.WithOpName("x"), DType::kF32, Shape{2});
  Square(root.WithOpName("y"), x);
  SessionOptions options;
  options.optimization.disabled = {"nonsense"};
  auto session = Session::Create(*root.graph(), options);
  REQUIRE(session.ok());
  auto run = (*session)->Run({{"x", Tensor::FromVector(std::vector<float>{1, 2})}}, {"y"});
  REQUIRE_FALSE(run.ok());
  CHECK(absl::StrContains(run.status().message(), "unknown pass 'nonsense'"));
}

}  // namespace
}  // namespace sluice
