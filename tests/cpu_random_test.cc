// Philox and the random CPU kernels: known answers, reproducibility, fresh
// numbers per step, seeding, and the statistics of each distribution.
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "graph/graph.h"
#include "kernels/philox.h"
#include "kernels/variable_store.h"
#include "runtime/kernel_setup.h"

namespace sluice {
namespace {

TEST_CASE("Philox4x32-10 reproduces the published known answers") {
  // Random123's kat_vectors for philox4x32 with 10 rounds.
  struct Kat {
    philox::Block counter;
    philox::Key key;
    philox::Block expected;
  };
  const Kat kats[] = {
      {{{0, 0, 0, 0}}, {{0, 0}}, {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}}},
      {{{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}},
       {{0xffffffff, 0xffffffff}},
       {{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}}},
      {{{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}},
       {{0xa4093822, 0x299f31d0}},
       {{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}}},
  };
  for (const Kat& k : kats) {
    const philox::Block out = philox::Philox4x32(k.counter, k.key);
    for (int i = 0; i < 4; ++i) CHECK(out[i] == k.expected[i]);
  }
}

TEST_CASE("Uniform conversions stay in [0, 1)") {
  CHECK(philox::UniformFloat(0) == 0.0f);
  CHECK(philox::UniformFloat(0xffffffffu) < 1.0f);
  CHECK(philox::UniformDouble(0xffffffffu, 0xffffffffu) < 1.0);
  CHECK(philox::UniformWithBits(0xffffffffu, 11) == 2047.0f / 2048.0f);
}

// A graph holding one random op, to make kernels from.
struct RandomGraph {
  Graph graph;
  Node* node = nullptr;
};

std::unique_ptr<RandomGraph> MakeRandomGraph(const std::string& op,
                                             const std::vector<int32_t>& shape, DType dtype,
                                             int64_t seed = 0, int64_t seed2 = 0,
                                             const std::string& name = "random") {
  auto g = std::make_unique<RandomGraph>();
  Tensor shape_value = Tensor::FromVector(shape);
  NodeSpec c;
  c.name = name + "_shape";
  c.op = "Const";
  c.attrs = {{"value", shape_value}, {"dtype", DType::kI32}};
  Node* shape_node = *g->graph.AddNode(std::move(c));
  NodeSpec spec;
  spec.name = name;
  spec.op = op;
  spec.inputs = {Output(shape_node, 0)};
  spec.attrs = {{"dtype", dtype}, {"seed", seed}, {"seed2", seed2}};
  auto node = g->graph.AddNode(std::move(spec));
  REQUIRE(node.ok());
  g->node = *node;
  return g;
}

std::unique_ptr<OpKernel> MakeKernel(const Node& node, uint64_t graph_seed = 0) {
  VariableStore variables;
  KernelInit init{node, DeviceType::kCpu, &variables, graph_seed, 1};
  auto kernel = GlobalKernelRegistry().CreateKernel(init);
  REQUIRE(kernel.ok());
  return std::move(*kernel);
}

Tensor Draw(OpKernel& kernel, const Node& node) {
  Tensor shape = *node.input(0).node->output_value(0);
  Tensor out(node.output_dtype(0), node.output_shape(0));
  const Tensor* in[] = {&shape};
  Tensor* outs[] = {&out};
  REQUIRE(kernel.Compute(KernelContext{in, outs, nullptr}).ok());
  return out;
}

std::vector<double> AsDoubles(const Tensor& t) {
  std::vector<double> v(t.num_elements());
  for (int64_t i = 0; i < t.num_elements(); ++i) v[i] = t.ElementAsDouble(i);
  return v;
}

TEST_CASE("Two kernels of one node draw the same sequence; each step draws fresh numbers") {
  for (const char* op : {"RandomUniform", "RandomNormal", "TruncatedNormal"}) {
    for (DType dtype : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16}) {
      INFO(op << " " << DTypeName(dtype));
      auto g = MakeRandomGraph(op, {3, 7}, dtype, 5, 9);
      auto a = MakeKernel(*g->node, 42);
      auto b = MakeKernel(*g->node, 42);
      const Tensor a1 = Draw(*a, *g->node);
      const Tensor a2 = Draw(*a, *g->node);
      const Tensor b1 = Draw(*b, *g->node);
      const Tensor b2 = Draw(*b, *g->node);
      CHECK(a1.BitwiseEquals(b1));
      CHECK(a2.BitwiseEquals(b2));
      CHECK_FALSE(a1.BitwiseEquals(a2));
      // Values are spread out, not repeated.
      const std::vector<double> v = AsDoubles(a1);
      CHECK(std::set<double>(v.begin(), v.end()).size() > 15);
    }
  }
}

TEST_CASE("Seeds: graph seed, op seeds and node names all change the numbers") {
  auto first = [](const std::string& name, int64_t seed, int64_t seed2, uint64_t graph_seed) {
    auto g = MakeRandomGraph("RandomUniform", {16}, DType::kF32, seed, seed2, name);
    auto k = MakeKernel(*g->node, graph_seed);
    return Draw(*k, *g->node);
  };
  const Tensor base = first("a", 0, 0, 1);
  // Unseeded ops: reproducible, but different per node name and graph seed.
  CHECK(base.BitwiseEquals(first("a", 0, 0, 1)));
  CHECK_FALSE(base.BitwiseEquals(first("b", 0, 0, 1)));
  CHECK_FALSE(base.BitwiseEquals(first("a", 0, 0, 2)));
  // Seeded ops: the name does not matter; each seed does.
  const Tensor seeded = first("a", 3, 4, 1);
  CHECK(seeded.BitwiseEquals(first("b", 3, 4, 1)));
  CHECK_FALSE(seeded.BitwiseEquals(first("a", 3, 5, 1)));
  CHECK_FALSE(seeded.BitwiseEquals(first("a", 4, 4, 1)));
  CHECK_FALSE(seeded.BitwiseEquals(first("a", 3, 4, 2)));
  CHECK_FALSE(seeded.BitwiseEquals(first("a", 4, 3, 1)));
}

TEST_CASE("A step continues the stream where the previous one stopped") {
  // Drawing 8 values twice gives the same numbers as drawing 16 once.
  auto small = MakeRandomGraph("RandomNormal", {8}, DType::kF32, 1, 2);
  auto large = MakeRandomGraph("RandomNormal", {16}, DType::kF32, 1, 2);
  auto ks = MakeKernel(*small->node);
  auto kl = MakeKernel(*large->node);
  const std::vector<double> s1 = AsDoubles(Draw(*ks, *small->node));
  const std::vector<double> s2 = AsDoubles(Draw(*ks, *small->node));
  const std::vector<double> l = AsDoubles(Draw(*kl, *large->node));
  std::vector<double> joined = s1;
  joined.insert(joined.end(), s2.begin(), s2.end());
  CHECK(joined == l);
}

TEST_CASE("Concurrent steps of one kernel never share numbers") {
  auto g = MakeRandomGraph("RandomUniform", {64}, DType::kF64, 7, 7);
  auto kernel = MakeKernel(*g->node);
  constexpr int kThreads = 4, kSteps = 50;
  std::vector<std::vector<double>> drawn(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Tensor shape = *g->node->input(0).node->output_value(0);
      Tensor out(DType::kF64, Shape{64});
      const Tensor* in[] = {&shape};
      Tensor* outs[] = {&out};
      for (int s = 0; s < kSteps; ++s) {
        if (!kernel->Compute(KernelContext{in, outs, nullptr}).ok()) return;
        for (double v : out.ToVector<double>()) drawn[t].push_back(v);
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<double> all;
  size_t total = 0;
  for (const auto& d : drawn) {
    total += d.size();
    all.insert(d.begin(), d.end());
  }
  CHECK(total == size_t{kThreads} * kSteps * 64);
  CHECK(all.size() == total);
}

struct Moments {
  double mean = 0, variance = 0, min = INFINITY, max = -INFINITY;
};
Moments MomentsOf(const Tensor& t) {
  Moments m;
  const std::vector<double> v = AsDoubles(t);
  for (double x : v) {
    m.mean += x;
    m.min = std::min(m.min, x);
    m.max = std::max(m.max, x);
  }
  m.mean /= static_cast<double>(v.size());
  for (double x : v) m.variance += (x - m.mean) * (x - m.mean);
  m.variance /= static_cast<double>(v.size());
  return m;
}

TEST_CASE("Distributions have the right statistics") {
  // 100k samples: the standard error of the mean is about 0.003 for the
  // normal and 0.001 for the uniform.
  for (DType dtype : {DType::kF32, DType::kF64, DType::kF16, DType::kBF16}) {
    INFO(DTypeName(dtype));
    {
      auto g = MakeRandomGraph("RandomUniform", {100, 1000}, dtype);
      auto k = MakeKernel(*g->node);
      const Moments m = MomentsOf(Draw(*k, *g->node));
      CHECK(m.min >= 0.0);
      CHECK(m.max < 1.0);
      CHECK(std::fabs(m.mean - 0.5) < 0.01);
      CHECK(std::fabs(m.variance - 1.0 / 12) < 0.005);
    }
    {
      auto g = MakeRandomGraph("RandomNormal", {100, 1000}, dtype);
      auto k = MakeKernel(*g->node);
      const Moments m = MomentsOf(Draw(*k, *g->node));
      CHECK(std::fabs(m.mean) < 0.02);
      CHECK(std::fabs(m.variance - 1.0) < 0.03);
      CHECK(m.max > 3.5);  // the tails are there
      CHECK(m.min < -3.5);
    }
    {
      auto g = MakeRandomGraph("TruncatedNormal", {100, 1000}, dtype);
      auto k = MakeKernel(*g->node);
      const Moments m = MomentsOf(Draw(*k, *g->node));
      CHECK(m.max <= 2.0);
      CHECK(m.min >= -2.0);
      CHECK(m.max > 1.9);
      CHECK(std::fabs(m.mean) < 0.02);
      // The variance of a standard normal truncated to [-2, 2].
      CHECK(std::fabs(m.variance - 0.7737) < 0.02);
    }
  }
}

TEST_CASE("Odd sizes and empty outputs") {
  for (int32_t n : {0, 1, 3, 5, 7}) {
    for (const char* op : {"RandomUniform", "RandomNormal", "TruncatedNormal"}) {
      for (DType dtype : {DType::kF32, DType::kF64}) {
        INFO(op << " " << DTypeName(dtype) << " n=" << n);
        auto g = MakeRandomGraph(op, {n}, dtype, 1, 1);
        auto k = MakeKernel(*g->node);
        const Tensor t = Draw(*k, *g->node);
        CHECK(t.num_elements() == n);
        for (double v : AsDoubles(t)) CHECK(std::isfinite(v));
      }
    }
  }
}

}  // namespace
}  // namespace sluice
