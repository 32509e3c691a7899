// Session compile and run of a graph loaded from arbitrary bytes (tried as a
// text .pbtxt, then as a binary .pb): pruning, shape specialisation from the
// feeds, the optimisation pipeline (with the graph verifier after every
// pass), scheduling, kernel instantiation, memory planning and the kernels
// themselves. Every Placeholder gets a small random feed; the sink nodes are
// run (those without outputs as targets, the rest fetched).
//
// Inputs are bounded so that one stays well under a second: at most 64
// nodes; placeholders with an unknown rank become vectors and unknown dims
// become 2, at most 4096 fed elements in all; no inferred output may hold
// more than 65536 elements; integer feeds are 0..3, so data-dependent shapes
// (Fill, Reshape, Range) stay small. Inputs outside the bounds are skipped.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "fuzz/fuzz_util.h"
#include "graph/graph_io.h"
#include "runtime/session.h"

namespace sluice {
namespace {

constexpr int kMaxNodes = 64;
constexpr int64_t kMaxFedElements = 4096;
constexpr int64_t kMaxOutputElements = 65536;
constexpr size_t kMaxSinks = 8;

// SplitMix64: feeds depend only on the input bytes, so crashes reproduce.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [-2, 2).
  float Float() { return static_cast<float>(Next() >> 40) / static_cast<float>(1 << 24) * 4 - 2; }

 private:
  uint64_t state_;
};

uint64_t Hash(absl::string_view bytes) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

Tensor RandomTensor(DType dtype, const Shape& shape, Random& random) {
  Tensor t(dtype, shape);
  VisitDType(dtype, [&]<typename T>() {
    T* data = t.data<T>();
    for (int64_t i = 0; i < t.num_elements(); ++i) {
      if constexpr (std::is_same_v<T, Half>) {
        data[i] = FloatToHalf(random.Float());
      } else if constexpr (std::is_same_v<T, BFloat16>) {
        data[i] = FloatToBFloat16(random.Float());
      } else if constexpr (std::is_same_v<T, bool>) {
        data[i] = (random.Next() & 1) != 0;
      } else if constexpr (std::is_floating_point_v<T>) {
        data[i] = static_cast<T>(random.Float());
      } else {
        data[i] = static_cast<T>(random.Next() % 4);
      }
    }
  });
  return t;
}

std::unique_ptr<Graph> Load(absl::string_view bytes) {
  auto graph = ParseGraph(bytes, GraphFileFormat::kText);
  if (!graph.ok()) graph = ParseGraph(bytes, GraphFileFormat::kBinary);
  return graph.ok() ? std::move(*graph) : nullptr;
}

// Whether every inferred output is small enough to compute quickly.
bool OutputsAreSmall(const Graph& graph) {
  for (const Node* node : graph.nodes()) {
    for (int i = 0; i < node->num_outputs(); ++i) {
      const Shape& shape = node->output_shape(i);
      if (shape.unknown_rank()) continue;
      int64_t known = 1;
      for (int64_t d : shape.dims()) {
        if (d == kUnknownDim) continue;
        if (d > kMaxOutputElements) return false;
        known *= d;
        if (known > kMaxOutputElements) return false;
      }
    }
  }
  return true;
}

// A small random feed for every Placeholder, or false when they would be too
// large.
bool MakeFeeds(const Graph& graph, Random& random, FeedList* feeds) {
  int64_t total = 0;
  for (const Node* node : graph.nodes()) {
    if (node->op() != "Placeholder") continue;
    Shape shape = node->attr("shape").shape();
    if (shape.unknown_rank()) shape = Shape{2};
    for (int i = 0; i < shape.rank(); ++i) {
      if (shape.dim(i) == kUnknownDim) shape.set_dim(i, 2);
    }
    auto elements = shape.CheckedNumElements();
    if (!elements.ok() || *elements > kMaxFedElements - total) return false;
    total += *elements;
    feeds->emplace_back(node->name(), RandomTensor(node->attr("dtype").dtype(), shape, random));
  }
  return true;
}

void RunGraph(const Graph& graph, absl::string_view bytes) {
  if (graph.num_nodes() > kMaxNodes || !OutputsAreSmall(graph)) return;
  Random random(Hash(bytes));
  FeedList feeds;
  if (!MakeFeeds(graph, random, &feeds)) return;

  std::vector<std::string> fetches;
  std::vector<std::string> targets;
  for (const Node* node : graph.nodes()) {
    if (!node->out_edges().empty() || !node->control_outputs().empty()) continue;
    if (node->num_outputs() == 0) {
      if (targets.size() < kMaxSinks) targets.push_back(node->name());
    } else if (fetches.size() < kMaxSinks) {
      fetches.push_back(node->name());
    }
  }

  SessionOptions options;
  options.intra_op_threads = 1;
  options.optimization.verify = true;
  auto session = Session::Create(graph, options);
  if (!session.ok()) return;
  // Targets first (variable initialisers), then the fetches twice: the
  // second run reuses the compiled plan.
  if (!targets.empty()) (void)(*session)->Run(feeds, {}, targets);
  if (fetches.empty()) return;
  auto first = (*session)->Run(feeds, fetches);
  if (first.ok()) {
    if (first->size() != fetches.size()) fuzz::PropertyFailed("wrong number of fetches", "");
    (void)(*session)->Run(feeds, fetches);
  } else if (first.status().message().empty()) {
    fuzz::PropertyFailed("an error without a message", "");
  } else {
    // One failing fetch (an uninitialised variable, say) hides the others.
    for (const std::string& fetch : fetches) (void)(*session)->Run(feeds, {fetch});
  }
}

}  // namespace
}  // namespace sluice

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::unique_ptr<sluice::Graph> graph = sluice::Load(bytes);
  if (graph != nullptr) sluice::RunGraph(*graph, bytes);
  return 0;
}
